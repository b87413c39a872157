/*
 * bench_facts_mem.c: the heap one node's facts memory (slow-call counters,
 * p95 baselines) holds between polls, with 1,000 model entries (250 models
 * of four operations each, as bench_rules_cost.c's node) after 40 polls:
 * "make -C regress/unit/agent bench-facts-mem".  Not a test (it asserts
 * nothing and is not run by make test).
 *
 * Measured as the change in glibc's bytes in use (mallinfo2: arena chunks
 * in use plus mapped blocks) from before facts_memory_new() to after the
 * last poll, each poll's facts freed: what stays is the memory's own.
 * Chunk overhead counts, as it does for the agent's RSS; glibc's per-thread
 * cache is off (the make target sets GLIBC_TUNABLES), or the freed facts
 * it holds would count as in use.
 */
#include "alert/facts.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#define N_MODELS 1000
#define POLLS 40
#define T0 ((int64_t) 1795435200 * 1000000)

static OdooRetailGuard__ModelStat ms[N_MODELS];
static OdooRetailGuard__ModelStat *msp[N_MODELS];
static char names[N_MODELS][40];

static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

int
main(void)
{
	static const char *const ops[] = {"read", "write", "create", "unlink"};
	OdooRetailGuard__Snapshot snap = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	facts_memory *mem;
	size_t		before;
	size_t		after;

	for (int i = 0; i < N_MODELS; i++)
	{
		OdooRetailGuard__ModelStat m = ODOO_RETAIL_GUARD__MODEL_STAT__INIT;

		snprintf(names[i], sizeof(names[i]), "x_model.m%03d", i / 4);
		m.database = "odoo";
		m.model = names[i];
		m.operation = (char *) ops[i % 4];
		ms[i] = m;
		msp[i] = &ms[i];
	}
	snap.n_models = N_MODELS;
	snap.models = msp;
	before = heap_in_use();
	mem = facts_memory_new();
	for (int p = 0; p < POLLS; p++)
	{
		fact_list	facts = {0};

		for (int i = 0; i < N_MODELS; i++)
		{
			ms[i].slow_calls += (uint64_t) ((i + p) % 3 == 0);
			ms[i].p95_ms = 40 + (i + p) % 7;
		}
		facts_from_snapshot(&snap, mem, T0 + (int64_t) (p + 1) * 10000000, &facts);
		facts_free(&facts);
	}
	after = heap_in_use();
	printf("facts memory of one node, %d model entries, after %d polls: %zu bytes on the heap\n",
		   N_MODELS, POLLS, after - before);
	facts_memory_free(mem);
	return 0;
}
