/*
 * bench_merge_mem.c: not a test.  What the snapshot merge keeps for one
 * node of bench/agent_realistic.sh's size (1,000 model aggregates with
 * 13-bucket histograms, 1,068 autovacuum tables), in heap bytes held
 * (mallinfo2, glibc's per-thread cache off), and what one poll costs it:
 * a delta of 270 models and 30 tables applied, then the sets lent to the
 * node's readers and taken back (callgrind: toggle on measured_poll).
 *
 * Built against snapshot_merge.c as it is and, with MERGE_BEFORE, as it
 * was before the records (bench/merge_cost.sh prints both), when apply
 * itself lent the kept messages.  Each build prints a hash of the sets the
 * readers saw on the last poll: the two must match.
 */
#include "collect/snapshot_merge.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODELS 1000
#define TABLES 1068
#define POLLS 40
#define CHANGED_MODELS 270
#define CHANGED_TABLES 30

static double bounds[13] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
static char model_names[MODELS][24];
static char table_names[TABLES][24];
static unsigned seed = 42;

static double
frand(double max)
{
	return max * (double) rand_r(&seed) / (double) RAND_MAX;
}

static void
fill_model(OdooRetailGuard__ModelStat *m, uint64_t *counts, int k, uint64_t gen)
{
	uint64_t	c = 0;

	odoo_retail_guard__model_stat__init(m);
	m->database = "odoo";
	m->model = model_names[k];
	m->operation = "select";
	m->statements = 5;
	for (int b = 0; b < 13; b++)
		counts[b] = c += (uint64_t) (rand_r(&seed) % 50);
	m->calls = c + (uint64_t) (rand_r(&seed) % 5);
	m->total_ms = frand(100000);
	m->mean_ms = m->total_ms / (double) (m->calls ? m->calls : 1);
	m->p50_ms = frand(10);
	m->p95_ms = frand(100);
	m->p99_ms = frand(1000);
	m->max_ms = frand(5000);
	m->rows = (uint64_t) (rand_r(&seed) % 100000);
	m->generation = gen;
	m->n_duration_le_ms = 13;
	m->duration_le_ms = bounds;
	m->n_duration_le_count = 13;
	m->duration_le_count = counts;
}

static void
fill_table(OdooRetailGuard__AutovacuumLag *v, int k, uint64_t gen)
{
	odoo_retail_guard__autovacuum_lag__init(v);
	v->database = "odoo";
	v->relation = table_names[k];
	v->live_tuples = rand_r(&seed) % 1000;
	v->dead_tuples = rand_r(&seed) % 500;
	v->threshold = 50 + 0.2 * (double) v->live_tuples;
	v->dead_over_threshold = (double) v->dead_tuples / v->threshold;
	v->lag_s = frand(600);
	v->xid_age = 1000 + rand_r(&seed) % 100000;
	v->mxid_age = 1;
	v->freeze_max_age = 200000000;
	v->generation = gen;
}

/* a snapshot as the agent decodes one: packed, then unpacked by protobuf-c */
static OdooRetailGuard__Snapshot *
snapshot(bool delta, uint64_t since, uint64_t gen, int models, int tables, int first)
{
	static OdooRetailGuard__ModelStat m[MODELS];
	static uint64_t counts[MODELS][13];
	static OdooRetailGuard__ModelStat *mp[MODELS];
	static OdooRetailGuard__AutovacuumLag v[TABLES];
	static OdooRetailGuard__AutovacuumLag *vp[TABLES];
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	OdooRetailGuard__NodeIdentity id = ODOO_RETAIL_GUARD__NODE_IDENTITY__INIT;
	size_t		len;
	uint8_t    *buf;
	OdooRetailGuard__Snapshot *out;

	id.system_identifier = 7;
	id.shmem_incarnation = 1;
	s.node = &id;
	s.delta = delta;
	s.since_generation = since;
	s.generation = gen;
	for (int i = 0; i < models; i++)
	{
		fill_model(&m[i], counts[i], (first + i * 7) % MODELS, gen);
		mp[i] = &m[i];
	}
	for (int i = 0; i < tables; i++)
	{
		fill_table(&v[i], (first + i * 11) % TABLES, gen);
		vp[i] = &v[i];
	}
	s.n_models = (size_t) models;
	s.models = mp;
	s.n_autovacuum_lag = (size_t) tables;
	s.autovacuum_lag = vp;
	len = odoo_retail_guard__snapshot__get_packed_size(&s);
	buf = malloc(len);
	odoo_retail_guard__snapshot__pack(&s, buf);
	out = odoo_retail_guard__snapshot__unpack(NULL, len, buf);
	free(buf);
	return out;
}

/* what the readers see: the models summed (in any order), the tables in order */
static uint64_t
seen_hash(const OdooRetailGuard__Snapshot *s)
{
	uint64_t	h = 1469598103934665603ULL;
	uint64_t	models = 0;

	for (size_t i = 0; i < s->n_models; i++)
		models += s->models[i]->calls * 31 + (uint64_t) (s->models[i]->total_ms * 1000) +
			s->models[i]->duration_le_count[12];
	h = (h ^ models) * 1099511628211ULL;
	for (size_t i = 0; i < s->n_autovacuum_lag; i++)
	{
		for (const char *r = s->autovacuum_lag[i]->relation; *r; r++)
			h = (h ^ (unsigned char) *r) * 1099511628211ULL;
		h = (h ^ (uint64_t) s->autovacuum_lag[i]->dead_tuples) * 1099511628211ULL;
	}
	return h;
}

static uint64_t last_seen;

static void
poll(snapshot_merge *m, OdooRetailGuard__Snapshot *snap, int64_t now_ms)
{
	snapshot_merge_apply(m, snap, now_ms, NULL, 0);
#ifndef MERGE_BEFORE
	snapshot_merge_lend(m, snap);
#endif
	last_seen = seen_hash(snap);
	snapshot_merge_release(m, snap);
	odoo_retail_guard__snapshot__free_unpacked(snap, NULL);
}

/* one poll of the steady state: a delta merged, its sets lent to the readers and taken back */
__attribute__((noinline)) static void
measured_poll(snapshot_merge *m, OdooRetailGuard__Snapshot *snap, int64_t now_ms)
{
	poll(m, snap, now_ms);
}

int
main(void)
{
	struct mallinfo2 before;
	struct mallinfo2 after;
	snapshot_merge *other;
	snapshot_merge *m;
	uint64_t	gen = 1;

	for (int i = 0; i < MODELS; i++)
		snprintf(model_names[i], sizeof(model_names[i]), "x.table.%d", i + 1);
	for (int i = 0; i < TABLES; i++)
		snprintf(table_names[i], sizeof(table_names[i]), "x_table_%d", i + 1);
	/* another node of the fleet first: the same names, the block sets are lent in */
	other = snapshot_merge_new(0);
	poll(other, snapshot(false, 0, gen, MODELS, TABLES, 0), 0);
	before = mallinfo2();
	m = snapshot_merge_new(0);
	poll(m, snapshot(false, 0, gen, MODELS, TABLES, 0), 0);
	for (int p = 1; p <= POLLS; p++)
	{
		OdooRetailGuard__Snapshot *s = snapshot(true, gen, gen + 1, CHANGED_MODELS, CHANGED_TABLES, p * 37);

		gen++;
		measured_poll(m, s, p);
	}
	after = mallinfo2();
	printf("measured polls %d\n", POLLS);
	printf("kept for one node of %d models and %d tables (names shared with the fleet): %zu bytes\n",
		   MODELS, TABLES, after.uordblks - before.uordblks);
	printf("sets seen by the readers, hash %016llx\n", (unsigned long long) last_seen);
	snapshot_merge_free(m);
	snapshot_merge_free(other);
	return 0;
}
