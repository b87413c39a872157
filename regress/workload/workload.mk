# regress/workload/workload.mk: orguard-workload, the Odoo statement
# generator used by the demo and the integration tests.  Included by the
# top-level Makefile; built by `make` (all) with libpq only.

WORKLOAD_DIR  := regress/workload
WORKLOAD_BIN  := $(WORKLOAD_DIR)/orguard-workload
WORKLOAD_SRCS := $(sort $(wildcard $(WORKLOAD_DIR)/*.c))
WORKLOAD_OBJS := $(WORKLOAD_SRCS:.c=.o)
WORKLOAD_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE
WORKLOAD_CPPFLAGS := -I$(WORKLOAD_DIR) -I$(shell pg_config --includedir 2>/dev/null)

.PHONY: workload clean-workload

all: workload
clean: clean-workload

workload: $(WORKLOAD_BIN)

$(WORKLOAD_DIR)/%.o: $(WORKLOAD_DIR)/%.c $(wildcard $(WORKLOAD_DIR)/*.h)
	$(AGENT_CC) $(WORKLOAD_CFLAGS) $(WORKLOAD_CPPFLAGS) -c -o $@ $<

$(WORKLOAD_BIN): $(WORKLOAD_OBJS)
	$(AGENT_CC) $(WORKLOAD_CFLAGS) -o $@ $(WORKLOAD_OBJS) -lpq

clean-workload:
	rm -f $(WORKLOAD_BIN) $(WORKLOAD_DIR)/*.o
