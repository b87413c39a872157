# agent/agent.mk: plain make rules for orguard-agent, included by the
# top-level Makefile (which builds the extension with PGXS).  Uses its own
# variables so that PGXS's CFLAGS never leak into the agent and back.
#
#   make agent            build agent/orguard-agent
#   make install-agent    install into $(DESTDIR)$(PREFIX)/bin
#   make clean-agent

AGENT_DIR      := agent
AGENT_BIN      := $(AGENT_DIR)/orguard-agent
AGENT_PROTOS   := proto/odoo_retail_guard.proto proto/remote_write.proto
AGENT_PB_C     := $(patsubst proto/%.proto,$(AGENT_DIR)/%.pb-c.c,$(AGENT_PROTOS))
AGENT_PB_H     := $(AGENT_PB_C:.c=.h)
AGENT_SRCS     := $(filter-out %.pb-c.c,$(sort $(wildcard $(AGENT_DIR)/*.c)))
# agent/runbooks: backup, point-in-time recovery, promotion and rejoin
AGENT_SRCS     += $(sort $(wildcard $(AGENT_DIR)/runbooks/*.c))
AGENT_OBJS     := $(AGENT_SRCS:.c=.o) $(AGENT_PB_C:.c=.o)

PREFIX         ?= /usr/local
AGENT_CC       ?= cc
# libsystemd: sd_notify() readiness, reload and watchdog (Type=notify unit)
AGENT_PKGS     := libpq libprotobuf-c libcurl jansson libmicrohttpd snappy libcrypto libsystemd
AGENT_PKG_CFLAGS := $(shell pkg-config --cflags $(AGENT_PKGS) 2>/dev/null)
AGENT_PKG_LIBS   := $(shell pkg-config --libs $(AGENT_PKGS) 2>/dev/null)
AGENT_CFLAGS   ?= -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE
AGENT_CPPFLAGS := -I$(AGENT_DIR) -I$(shell pg_config --includedir 2>/dev/null) $(AGENT_PKG_CFLAGS)
AGENT_LIBS     := $(AGENT_PKG_LIBS) -lsnappy -lpthread -lm

.PHONY: agent install-agent clean-agent agent-proto

all: agent
install: install-agent
clean: clean-agent

agent: $(AGENT_BIN)

agent-proto: $(AGENT_PB_C) $(AGENT_PB_H)

$(AGENT_DIR)/%.pb-c.c $(AGENT_DIR)/%.pb-c.h: proto/%.proto
	protoc-c --c_out=$(AGENT_DIR) -Iproto $<

# every agent object may include a generated header
$(AGENT_SRCS:.c=.o): $(AGENT_PB_H) $(wildcard $(AGENT_DIR)/*.h $(AGENT_DIR)/runbooks/*.h)

$(AGENT_DIR)/%.o: $(AGENT_DIR)/%.c
	$(AGENT_CC) $(AGENT_CFLAGS) $(AGENT_CPPFLAGS) -c -o $@ $<

# generated code is not ours to lint
$(AGENT_DIR)/%.pb-c.o: $(AGENT_DIR)/%.pb-c.c
	$(AGENT_CC) $(AGENT_CFLAGS) -Wno-unused-parameter $(AGENT_CPPFLAGS) -c -o $@ $<

$(AGENT_BIN): $(AGENT_OBJS)
	$(AGENT_CC) $(AGENT_CFLAGS) -o $@ $(AGENT_OBJS) $(AGENT_LIBS)

install-agent: $(AGENT_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(AGENT_BIN) $(DESTDIR)$(PREFIX)/bin/orguard-agent

clean-agent:
	rm -f $(AGENT_BIN) $(AGENT_DIR)/*.o $(AGENT_DIR)/runbooks/*.o $(AGENT_PB_C) $(AGENT_PB_H)
