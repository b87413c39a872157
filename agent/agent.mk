# agent/agent.mk: plain make rules for orguard-agent, included by the
# top-level Makefile (which builds the extension with PGXS).  Uses its own
# variables so that PGXS's CFLAGS never leak into the agent and back.
#
#   make agent            build agent/orguard-agent
#   make agent-man        its man pages orguard-agent(1) (help2man, from
#                         --help) and agent.conf(5) (pandoc, from the
#                         configuration part of docs/agent.md)
#   make install-agent    install into $(DESTDIR)$(PREFIX)/bin and the man
#                         pages into $(DESTDIR)$(MANDIR)
#   make clean-agent

AGENT_DIR      := agent
AGENT_BIN      := $(AGENT_DIR)/orguard-agent
AGENT_PROTOS   := proto/odoo_retail_guard.proto proto/remote_write.proto
AGENT_PB_C     := $(patsubst proto/%.proto,$(AGENT_DIR)/%.pb-c.c,$(AGENT_PROTOS))
AGENT_PB_H     := $(AGENT_PB_C:.c=.h)
# the stages a poll goes through, each in its own directory (docs/agent.md);
# main.c and what it wires them with stay at the top
AGENT_STAGES   := common collect alert deliver export
AGENT_SRCS     := $(filter-out %.pb-c.c,$(sort $(wildcard $(AGENT_DIR)/*.c)))
AGENT_SRCS     += $(sort $(wildcard $(foreach s,$(AGENT_STAGES),$(AGENT_DIR)/$(s)/*.c)))
# agent/runbooks: backup, point-in-time recovery, promotion and rejoin
AGENT_SRCS     += $(sort $(wildcard $(AGENT_DIR)/runbooks/*.c))
AGENT_OBJS     := $(AGENT_SRCS:.c=.o) $(AGENT_PB_C:.c=.o)

PREFIX         ?= /usr/local
MANDIR         ?= $(PREFIX)/share/man
AGENT_MAN1     := $(AGENT_DIR)/orguard-agent.1
AGENT_MAN5     := $(AGENT_DIR)/agent.conf.5
AGENT_CC       ?= cc
AGENT_VERSION  := $(shell sed -n 's/^\#define ORGUARD_VERSION "\(.*\)"/\1/p' $(AGENT_DIR)/common/util.h)
# libsystemd: sd_notify() readiness, reload and watchdog (Type=notify unit)
AGENT_PKGS     := libpq libprotobuf-c libcurl jansson libmicrohttpd snappy libcrypto libsystemd
AGENT_PKG_CFLAGS := $(shell pkg-config --cflags $(AGENT_PKGS) 2>/dev/null)
AGENT_PKG_LIBS   := $(shell pkg-config --libs $(AGENT_PKGS) 2>/dev/null)
AGENT_CFLAGS   ?= -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE
AGENT_CPPFLAGS := -I$(AGENT_DIR) -I$(shell pg_config --includedir 2>/dev/null) $(AGENT_PKG_CFLAGS)
AGENT_LIBS     := $(AGENT_PKG_LIBS) -lsnappy -lcrypt -lpthread -lm

.PHONY: agent install-agent clean-agent agent-proto agent-man

all: agent
install: install-agent
clean: clean-agent

agent: $(AGENT_BIN)

agent-proto: $(AGENT_PB_C) $(AGENT_PB_H)

$(AGENT_DIR)/%.pb-c.c $(AGENT_DIR)/%.pb-c.h: proto/%.proto
	protoc-c --c_out=$(AGENT_DIR) -Iproto $<

# every agent object may include a generated header
$(AGENT_SRCS:.c=.o): $(AGENT_PB_H) $(wildcard $(AGENT_DIR)/*.h $(AGENT_DIR)/runbooks/*.h \
	$(foreach s,$(AGENT_STAGES),$(AGENT_DIR)/$(s)/*.h))

# the status page's HTML as a C string literal, embedded in the binary
$(AGENT_DIR)/export/status_page.html.h: $(AGENT_DIR)/export/status_page.html
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@.tmp && mv $@.tmp $@

$(AGENT_DIR)/export/status_page.o: $(AGENT_DIR)/export/status_page.html.h

$(AGENT_DIR)/%.o: $(AGENT_DIR)/%.c
	$(AGENT_CC) $(AGENT_CFLAGS) $(AGENT_CPPFLAGS) -c -o $@ $<

# generated code is not ours to lint
$(AGENT_DIR)/%.pb-c.o: $(AGENT_DIR)/%.pb-c.c
	$(AGENT_CC) $(AGENT_CFLAGS) -Wno-unused-parameter $(AGENT_CPPFLAGS) -c -o $@ $<

$(AGENT_BIN): $(AGENT_OBJS)
	$(AGENT_CC) $(AGENT_CFLAGS) -o $@ $(AGENT_OBJS) $(AGENT_LIBS)

agent-man: $(AGENT_MAN1) $(AGENT_MAN5)

# orguard-agent(1): what --help and --version print, the runbook commands'
# --help when it answers without a configuration file, and the sections of
# packaging/man/orguard-agent.h2m
$(AGENT_MAN1): $(AGENT_BIN) packaging/man/orguard-agent.h2m
	cp packaging/man/orguard-agent.h2m $@.h2m
	if ./$(AGENT_BIN) --config /nonexistent/agent.conf runbook --help >$@.rb 2>/dev/null && [ -s $@.rb ]; then \
		{ printf '[RUNBOOK COMMANDS]\n.nf\n'; sed -e 's/\\/\\e/g' -e 's/^[.'"'"']/\\\&&/' $@.rb; printf '.fi\n'; } >>$@.h2m; \
	fi
	help2man --no-info --section=1 --include=$@.h2m --output=$@ ./$(AGENT_BIN)
	rm -f $@.h2m $@.rb

# agent.conf(5): the "Configuration" part of docs/agent.md (up to "Spool")
# between a NAME/SYNOPSIS head and a FILES/SEE ALSO tail
$(AGENT_MAN5): docs/agent.md packaging/man/agent.conf.5.head.md packaging/man/agent.conf.5.tail.md
	{ cat packaging/man/agent.conf.5.head.md; \
	  sed -n '/^## Configuration$$/,/^## Spool$$/p' docs/agent.md | sed '$$d'; \
	  cat packaging/man/agent.conf.5.tail.md; } | \
	pandoc -f gfm -t man -s --shift-heading-level-by=-1 -M title=AGENT.CONF -M section=5 \
		-M header="Odoo retail guard" -M footer="orguard-agent $(AGENT_VERSION)" -o $@

install-agent: $(AGENT_BIN) $(AGENT_MAN1) $(AGENT_MAN5)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(AGENT_BIN) $(DESTDIR)$(PREFIX)/bin/orguard-agent
	install -m 0644 $(AGENT_MAN1) $(DESTDIR)$(MANDIR)/man1/orguard-agent.1
	install -m 0644 $(AGENT_MAN5) $(DESTDIR)$(MANDIR)/man5/agent.conf.5

clean-agent:
	rm -f $(AGENT_BIN) $(AGENT_DIR)/*.o $(AGENT_DIR)/runbooks/*.o $(AGENT_PB_C) $(AGENT_PB_H) \
		$(foreach s,$(AGENT_STAGES),$(AGENT_DIR)/$(s)/*.o) \
		$(AGENT_MAN1) $(AGENT_MAN5) $(AGENT_MAN1).h2m $(AGENT_MAN1).rb \
		$(AGENT_DIR)/export/status_page.html.h
