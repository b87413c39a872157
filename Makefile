# odoo_retail_guard: one entry point for the extension, the agent and the tests.
#
#   make            build the extension (PGXS) and the agent
#   make install    install both (honours DESTDIR and PG_CONFIG)
#   make test       every test layer against throwaway PostgreSQL clusters
#   make demo       the retail incident demo
#   make bench      benchmarks (print figures, never fail on time)
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS (300) each, then the soak

EXTENSION = odoo_retail_guard
MODULE_big = odoo_retail_guard
EXTVERSION = 1.0

EXT_SRCS = $(sort $(filter-out %.pb-c.c,$(wildcard extension/*.c)))
OBJS = $(EXT_SRCS:.c=.o)

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA = $(wildcard sql/$(EXTENSION)--*--*.sql)

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/extension
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare

# ---- snapshot encoding: C generated from proto/ by protoc-c at build time ----
SNAPSHOT_PB = extension/odoo_retail_guard.pb-c
OBJS += $(SNAPSHOT_PB).o
SHLIB_LINK += -lprotobuf-c
PG_CPPFLAGS += -DORG_EXTVERSION=\"$(EXTVERSION)\"
EXTRA_CLEAN += $(SNAPSHOT_PB).c $(SNAPSHOT_PB).h

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(SNAPSHOT_PB).c $(SNAPSHOT_PB).h &: proto/odoo_retail_guard.proto
	protoc-c --proto_path=proto --c_out=extension proto/odoo_retail_guard.proto

extension/snapshot.o extension/snapshot.bc: $(SNAPSHOT_PB).h
# ---- end of snapshot encoding ----

# PGXS tracks no header dependencies: rebuild every object when a header
# changes, since shared-memory layouts live in headers.
$(OBJS): $(wildcard extension/*.h)

# The install script is assembled from one part per tracker, in name order.
SQL_PARTS = $(sort $(wildcard sql/parts/*.sql))
sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $(SQL_PARTS) > $@

.PHONY: deps test unit demo bench fuzz

deps:
	@bash packaging/install-deps.sh

# Debian packages (packaging/make-deb.sh); the .deb files land in debian-build/
.PHONY: deb
deb:
	@bash packaging/make-deb.sh

unit:
	$(MAKE) -C regress/unit test

test: deps
	$(MAKE) all
	bash regress/run-tests.sh

# libFuzzer harnesses (regress/fuzz), FUZZ_SECONDS each (default 300), then
# the extension's concurrency soak for SOAK_SECONDS (default 600)
FUZZ_SECONDS ?= 300
SOAK_SECONDS ?= 600
fuzz: deps
	$(MAKE) all
	$(MAKE) -k -C regress/fuzz fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	ORG_SOAK_SECONDS=$(SOAK_SECONDS) bash regress/integration/concurrency_soak.sh

demo: deps
	$(MAKE) all
	bash demo/run-demo.sh

bench: deps
	$(MAKE) all
	bash bench/run-bench.sh

include agent/agent.mk

include regress/workload/workload.mk
