/*
 * test_snapshot_merge.c: delta snapshots merged into a node's kept sets give
 * the same statements, models, lock contention and autovacuum tables as the
 * full snapshot would; deltas that cannot be merged are refused and the next
 * poll asks for a full one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collect/name_pool.h"
#include "collect/snapshot_merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYSID 7311234567890123456ULL
#define INC1 42
#define INC2 43

/* what a test snapshot holds before it is packed */
typedef struct spec
{
	bool		delta;
	uint64_t	generation;
	uint64_t	since;
	uint64_t	incarnation;
	int			nq;
	OdooRetailGuard__QueryStat q[8];
	int			nm;
	OdooRetailGuard__ModelStat m[64];
	int			nl;
	OdooRetailGuard__LockContention l[4];
	int			nv;
	OdooRetailGuard__AutovacuumLag v[64];
	int			nr;
	OdooRetailGuard__RemovedEntry r[64];
} spec;

static void
add_query(spec *s, uint64_t queryid, uint64_t calls)
{
	OdooRetailGuard__QueryStat *q = &s->q[s->nq++];

	odoo_retail_guard__query_stat__init(q);
	q->database = "retail";
	q->role = "odoo";
	q->worker_class = "http";
	q->queryid = queryid;
	q->toplevel = true;
	q->model = "stock.quant";
	q->calls = calls;
}

static void
add_model(spec *s, const char *model, uint64_t calls)
{
	OdooRetailGuard__ModelStat *m = &s->m[s->nm++];

	odoo_retail_guard__model_stat__init(m);
	m->database = "retail";
	m->model = (char *) model;
	m->operation = "select";
	m->calls = calls;
}

static void
add_lock(spec *s, const char *relation, uint64_t waits)
{
	OdooRetailGuard__LockContention *l = &s->l[s->nl++];

	odoo_retail_guard__lock_contention__init(l);
	l->database = "retail";
	l->relation = (char *) relation;
	l->lock_type = "transactionid";
	l->mode = "ShareLock";
	l->waits = waits;
}

static void
add_vacuum(spec *s, const char *relation, int64_t dead, int64_t over_since, double lag_s)
{
	OdooRetailGuard__AutovacuumLag *v = &s->v[s->nv++];

	odoo_retail_guard__autovacuum_lag__init(v);
	v->database = "retail";
	v->relation = (char *) relation;
	v->dead_tuples = dead;
	v->over_threshold_since_us = over_since;
	v->lag_s = lag_s;
}

static OdooRetailGuard__RemovedEntry *
add_removed(spec *s, const char *kind)
{
	OdooRetailGuard__RemovedEntry *r = &s->r[s->nr++];

	odoo_retail_guard__removed_entry__init(r);
	r->kind = (char *) kind;
	r->database = "retail";
	return r;
}

/* packs and unpacks the spec: a snapshot owned by protobuf-c, as the agent reads one */
static OdooRetailGuard__Snapshot *
decoded(spec *s)
{
	OdooRetailGuard__Snapshot snap = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	OdooRetailGuard__NodeIdentity id = ODOO_RETAIL_GUARD__NODE_IDENTITY__INIT;
	OdooRetailGuard__QueryStat *qp[8];
	OdooRetailGuard__ModelStat *mp[64];
	OdooRetailGuard__LockContention *lp[4];
	OdooRetailGuard__AutovacuumLag *vp[64];
	OdooRetailGuard__RemovedEntry *rp[64];
	OdooRetailGuard__Snapshot *out;
	uint8_t    *buf;
	size_t		len;

	id.system_identifier = SYSID;
	id.shmem_incarnation = s->incarnation ? s->incarnation : INC1;
	snap.node = &id;
	snap.delta = s->delta;
	snap.generation = s->generation;
	snap.since_generation = s->since;
	for (int i = 0; i < s->nq; i++)
		qp[i] = &s->q[i];
	for (int i = 0; i < s->nm; i++)
		mp[i] = &s->m[i];
	for (int i = 0; i < s->nl; i++)
		lp[i] = &s->l[i];
	for (int i = 0; i < s->nv; i++)
		vp[i] = &s->v[i];
	for (int i = 0; i < s->nr; i++)
		rp[i] = &s->r[i];
	snap.n_queries = s->nq;
	snap.queries = qp;
	snap.n_models = s->nm;
	snap.models = mp;
	snap.n_lock_contention = s->nl;
	snap.lock_contention = lp;
	snap.n_autovacuum_lag = s->nv;
	snap.autovacuum_lag = vp;
	snap.n_removed = s->nr;
	snap.removed = rp;
	len = odoo_retail_guard__snapshot__get_packed_size(&snap);
	buf = malloc(len ? len : 1);
	odoo_retail_guard__snapshot__pack(&snap, buf);
	out = odoo_retail_guard__snapshot__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

/* applies snap and lends the merged sets to it, as the agent does before its readers look */
static bool
merged(snapshot_merge *m, OdooRetailGuard__Snapshot *snap, int64_t now_ms, char *err, size_t errlen)
{
	bool		ok = snapshot_merge_apply(m, snap, now_ms, err, errlen);

	snapshot_merge_lend(m, snap);
	return ok;
}

static void
done(snapshot_merge *m, OdooRetailGuard__Snapshot *snap)
{
	snapshot_merge_release(m, snap);
	odoo_retail_guard__snapshot__free_unpacked(snap, NULL);
}

static const OdooRetailGuard__QueryStat *
find_query(const OdooRetailGuard__Snapshot *s, uint64_t queryid)
{
	for (size_t i = 0; i < s->n_queries; i++)
		if (s->queries[i]->queryid == queryid)
			return s->queries[i];
	return NULL;
}

/* a full snapshot with one of each kind, generation 10 */
static OdooRetailGuard__Snapshot *
first_full(void)
{
	spec		s = {0};

	s.generation = 10;
	add_query(&s, 1, 5);
	add_query(&s, 2, 7);
	add_query(&s, 3, 9);
	add_model(&s, "stock.quant", 21);
	add_model(&s, "sale.order", 3);
	add_lock(&s, "stock_quant", 2);
	add_vacuum(&s, "stock_move", 10, 0, 0);
	add_vacuum(&s, "stock_quant", 5000, 1000, 30);
	return decoded(&s);
}

static void
test_full_then_delta(void **state)
{
	snapshot_merge *m = snapshot_merge_new(300000);
	OdooRetailGuard__Snapshot *snap;
	spec		d = {0};
	OdooRetailGuard__RemovedEntry *r;
	char		err[256];

	(void) state;
	assert_true(snapshot_merge_since(m, 0) == 0);	/* nothing kept: a full one first */
	snap = first_full();
	assert_true(merged(m, snap, 1000, err, sizeof(err)));
	assert_int_equal(snap->n_queries, 3);
	assert_int_equal(snap->n_autovacuum_lag, 2);
	/* over threshold first, as the extension orders them */
	assert_string_equal(snap->autovacuum_lag[0]->relation, "stock_quant");
	done(m, snap);
	assert_true(snapshot_merge_since(m, 2000) == 10);

	/* query 2 ran again, query 4 is new, query 3 was evicted with sale.order's last statement */
	d.delta = true;
	d.since = 10;
	d.generation = 11;
	add_query(&d, 2, 8);
	add_query(&d, 4, 1);
	add_model(&d, "stock.quant", 23);
	add_lock(&d, "stock_quant", 3);
	add_vacuum(&d, "stock_quant", 6000, 1000, 40);
	r = add_removed(&d, "query");
	r->role = "odoo";
	r->worker_class = "http";
	r->queryid = 3;
	r->toplevel = true;
	r = add_removed(&d, "model");
	r->model = "sale.order";
	r->operation = "select";
	r = add_removed(&d, "autovacuum_lag");
	r->relation = "stock_move";
	snap = decoded(&d);
	assert_true(merged(m, snap, 3000, err, sizeof(err)));
	assert_int_equal(snap->n_queries, 3);
	assert_true(find_query(snap, 1)->calls == 5);
	assert_true(find_query(snap, 2)->calls == 8);
	assert_true(find_query(snap, 4)->calls == 1);
	assert_null(find_query(snap, 3));
	assert_int_equal(snap->n_models, 1);
	assert_string_equal(snap->models[0]->model, "stock.quant");
	assert_true(snap->models[0]->calls == 23);
	assert_int_equal(snap->n_lock_contention, 1);
	assert_true(snap->lock_contention[0]->waits == 3);
	assert_int_equal(snap->n_autovacuum_lag, 1);
	assert_true(snap->autovacuum_lag[0]->dead_tuples == 6000);
	done(m, snap);
	assert_true(snapshot_merge_since(m, 4000) == 11);

	/* a lock entry evicted: only it goes */
	memset(&d, 0, sizeof(d));
	d.delta = true;
	d.since = 11;
	d.generation = 12;
	r = add_removed(&d, "lock_contention");
	r->relation = "stock_quant";
	r->lock_type = "transactionid";
	r->mode = "ShareLock";
	add_removed(&d, "a_kind_from_a_newer_extension");
	snap = decoded(&d);
	assert_true(merged(m, snap, 5000, err, sizeof(err)));
	assert_int_equal(snap->n_lock_contention, 0);
	assert_int_equal(snap->n_queries, 3);
	done(m, snap);
	snapshot_merge_free(m);
}

/* a full snapshot replaces everything: entries it lacks are gone */
static void
test_full_replaces(void **state)
{
	snapshot_merge *m = snapshot_merge_new(300000);
	OdooRetailGuard__Snapshot *snap = first_full();
	spec		f = {0};
	snapshot_merge_stats st;

	(void) state;
	assert_true(merged(m, snap, 0, NULL, 0));
	done(m, snap);
	f.generation = 20;
	add_query(&f, 9, 1);
	snap = decoded(&f);
	assert_true(merged(m, snap, 10, NULL, 0));
	assert_int_equal(snap->n_queries, 1);
	assert_int_equal(snap->n_models, 0);
	assert_int_equal(snap->n_autovacuum_lag, 0);
	done(m, snap);
	snapshot_merge_get_stats(m, &st);
	assert_int_equal(st.fulls, 2);
	assert_int_equal(st.entries, 1);
	snapshot_merge_free(m);
}

static const OdooRetailGuard__ModelStat *
find_model(const OdooRetailGuard__Snapshot *s, const char *model)
{
	const OdooRetailGuard__ModelStat *found = NULL;

	for (size_t i = 0; i < s->n_models; i++)
		if (!strcmp(s->models[i]->model, model))
		{
			assert_null(found);	/* each model once */
			found = s->models[i];
		}
	return found;
}

/* a delta on generation since, to generation since + 1 */
static spec
next_delta(uint64_t since)
{
	spec		d = {0};

	d.delta = true;
	d.since = since;
	d.generation = since + 1;
	return d;
}

/*
 * The merged arrays are kept between polls and patched: a replaced entry
 * takes its own place, an entry that comes or goes rebuilds the array, and
 * the autovacuum tables are sorted again when one of them changed.
 */
static void
test_kept_arrays_follow_changes(void **state)
{
	snapshot_merge *m = snapshot_merge_new(300000);
	OdooRetailGuard__Snapshot *snap;
	spec		f = {0};
	spec		d;
	OdooRetailGuard__RemovedEntry *r;

	(void) state;
	f.generation = 10;
	add_model(&f, "stock.quant", 21);
	add_model(&f, "sale.order", 3);
	add_model(&f, "pos.order", 8);
	add_vacuum(&f, "stock_move", 10, 0, 0);
	add_vacuum(&f, "stock_quant", 5000, 1000, 30);
	snap = decoded(&f);
	assert_true(merged(m, snap, 0, NULL, 0));
	done(m, snap);

	/* nothing changed */
	d = next_delta(10);
	snap = decoded(&d);
	assert_true(merged(m, snap, 1, NULL, 0));
	assert_int_equal(snap->n_models, 3);
	assert_true(find_model(snap, "stock.quant")->calls == 21);
	assert_true(find_model(snap, "sale.order")->calls == 3);
	assert_true(find_model(snap, "pos.order")->calls == 8);
	assert_string_equal(snap->autovacuum_lag[0]->relation, "stock_quant");
	done(m, snap);

	/* one model replaced, twice: each time in its own place */
	for (uint64_t calls = 4; calls <= 5; calls++)
	{
		d = next_delta(10 + calls - 3);
		add_model(&d, "sale.order", calls);
		snap = decoded(&d);
		assert_true(merged(m, snap, 2, NULL, 0));
		assert_int_equal(snap->n_models, 3);
		assert_true(find_model(snap, "stock.quant")->calls == 21);
		assert_true(find_model(snap, "sale.order")->calls == calls);
		assert_true(find_model(snap, "pos.order")->calls == 8);
		done(m, snap);
	}

	/* a table replaced goes to its place in the extension's order */
	d = next_delta(13);
	add_vacuum(&d, "stock_move", 9000, 2000, 100);
	snap = decoded(&d);
	assert_true(merged(m, snap, 3, NULL, 0));
	assert_int_equal(snap->n_autovacuum_lag, 2);
	assert_string_equal(snap->autovacuum_lag[0]->relation, "stock_move");
	assert_true(snap->autovacuum_lag[0]->dead_tuples == 9000);
	assert_string_equal(snap->autovacuum_lag[1]->relation, "stock_quant");
	done(m, snap);

	/* a model removed and one added, then one replaced in the rebuilt array */
	d = next_delta(14);
	r = add_removed(&d, "model");
	r->model = "stock.quant";
	r->operation = "select";
	add_model(&d, "account.move", 1);
	snap = decoded(&d);
	assert_true(merged(m, snap, 4, NULL, 0));
	assert_int_equal(snap->n_models, 3);
	assert_null(find_model(snap, "stock.quant"));
	assert_true(find_model(snap, "account.move")->calls == 1);
	done(m, snap);
	d = next_delta(15);
	add_model(&d, "pos.order", 9);
	snap = decoded(&d);
	assert_true(merged(m, snap, 5, NULL, 0));
	assert_int_equal(snap->n_models, 3);
	assert_true(find_model(snap, "pos.order")->calls == 9);
	assert_true(find_model(snap, "sale.order")->calls == 5);
	assert_true(find_model(snap, "account.move")->calls == 1);
	done(m, snap);
	snapshot_merge_free(m);
}

#define N_TABLES 40

/* table k of the order test: over threshold when k is odd, lag from lags[k] */
static void
add_table(spec *s, int k, const double *lags)
{
	static char names[N_TABLES][16];

	snprintf(names[k], sizeof(names[k]), "t%02d", k);
	add_vacuum(s, names[k], 100 + k, k % 2 ? 1000 : 0, lags[k]);
	s->v[s->nv - 1].xid_age = k % 3 ? 500 : 900;	/* ties on lag and ratio: broken by xid, then name */
}

/* the order of the delta-fed merge's tables is the one a full snapshot of the same tables gets */
static void
assert_same_order(const OdooRetailGuard__Snapshot *fed, const double *lags)
{
	snapshot_merge *m = snapshot_merge_new(0);
	spec	   *f = calloc(1, sizeof(spec));
	OdooRetailGuard__Snapshot *full;

	f->generation = 1;
	for (int k = N_TABLES - 1; k >= 0; k--)
		add_table(f, k, lags);
	full = decoded(f);
	assert_true(merged(m, full, 0, NULL, 0));
	assert_int_equal(fed->n_autovacuum_lag, full->n_autovacuum_lag);
	for (size_t i = 0; i < full->n_autovacuum_lag; i++)
		assert_string_equal(fed->autovacuum_lag[i]->relation, full->autovacuum_lag[i]->relation);
	done(m, full);
	snapshot_merge_free(m);
	free(f);
}

/*
 * The autovacuum tables keep the extension's order when deltas replace a
 * few of them (sorted again in place) or many (sorted whole).
 */
static void
test_table_order_after_deltas(void **state)
{
	snapshot_merge *m = snapshot_merge_new(300000);
	spec	   *d = calloc(1, sizeof(spec));
	OdooRetailGuard__Snapshot *snap;
	double		lags[N_TABLES];
	uint64_t	gen = 1;

	(void) state;
	for (int k = 0; k < N_TABLES; k++)
		lags[k] = (k * 7) % 5;
	d->generation = gen;
	for (int k = 0; k < N_TABLES; k++)
		add_table(d, k, lags);
	snap = decoded(d);
	assert_true(merged(m, snap, 0, NULL, 0));
	assert_same_order(snap, lags);
	done(m, snap);

	/* a few tables move: one to the top, one to the bottom, one among its ties */
	*d = next_delta(gen++);
	lags[4] = 1000;
	lags[7] = 0;
	lags[12] = 3;
	add_table(d, 4, lags);
	add_table(d, 7, lags);
	add_table(d, 12, lags);
	snap = decoded(d);
	assert_true(merged(m, snap, 1, NULL, 0));
	assert_same_order(snap, lags);
	done(m, snap);

	/* most tables move */
	*d = next_delta(gen++);
	for (int k = 0; k < 36; k++)
	{
		lags[k] = (k * 13) % 11;
		add_table(d, k, lags);
	}
	snap = decoded(d);
	assert_true(merged(m, snap, 2, NULL, 0));
	assert_same_order(snap, lags);
	done(m, snap);
	snapshot_merge_free(m);
	free(d);
}

/*
 * Entries are told apart by their fields, not by a key string joining
 * them: a name holding the byte that once separated the parts does not
 * make two entries one, and a statement's level is part of its identity.
 */
static void
test_keys_by_fields(void **state)
{
	snapshot_merge *m = snapshot_merge_new(300000);
	spec		f = {0};
	spec		d = {0};
	OdooRetailGuard__Snapshot *snap;
	OdooRetailGuard__RemovedEntry *r;

	(void) state;
	f.generation = 1;
	add_model(&f, "x\x1fy", 1);
	f.m[0].operation = "z";
	add_model(&f, "x", 2);
	f.m[1].operation = "y\x1fz";
	add_query(&f, 5, 10);
	add_query(&f, 5, 20);
	f.q[1].toplevel = false;
	snap = decoded(&f);
	assert_true(merged(m, snap, 0, NULL, 0));
	assert_int_equal(snap->n_models, 2);
	assert_int_equal(snap->n_queries, 2);
	done(m, snap);

	/* the nested statement goes; the top-level one with the same queryid stays */
	d.delta = true;
	d.since = 1;
	d.generation = 2;
	r = add_removed(&d, "query");
	r->role = "odoo";
	r->worker_class = "http";
	r->queryid = 5;
	r->toplevel = false;
	r = add_removed(&d, "model");
	r->model = "x";
	r->operation = "y\x1fz";
	snap = decoded(&d);
	assert_true(merged(m, snap, 1, NULL, 0));
	assert_int_equal(snap->n_queries, 1);
	assert_true(snap->queries[0]->toplevel);
	assert_true(snap->queries[0]->calls == 10);
	assert_int_equal(snap->n_models, 1);
	assert_string_equal(snap->models[0]->model, "x\x1fy");
	assert_true(snap->models[0]->calls == 1);
	done(m, snap);
	snapshot_merge_free(m);
}

/* deltas that cannot be merged are refused, and the next poll asks for a full one */
static void
test_refused(void **state)
{
	snapshot_merge *m = snapshot_merge_new(300000);
	OdooRetailGuard__Snapshot *snap;
	spec		d = {0};
	char		err[256];

	(void) state;
	d.delta = true;
	d.since = 10;
	d.generation = 11;
	add_query(&d, 2, 8);
	snap = decoded(&d);
	assert_false(merged(m, snap, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "without a full one"));
	assert_int_equal(snap->n_queries, 1);	/* its own entries, untouched */
	done(m, snap);

	snap = first_full();
	assert_true(merged(m, snap, 0, err, sizeof(err)));
	done(m, snap);
	/* the shared memory was re-initialized: its generations are not ours */
	d.incarnation = INC2;
	snap = decoded(&d);
	assert_false(merged(m, snap, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "incarnation"));
	done(m, snap);
	assert_true(snapshot_merge_since(m, 0) == 0);

	/* a delta from a generation other than the one asked for */
	snap = first_full();
	assert_true(merged(m, snap, 0, err, sizeof(err)));
	done(m, snap);
	d.incarnation = INC1;
	d.since = 9;
	snap = decoded(&d);
	assert_false(merged(m, snap, 0, err, sizeof(err)));
	done(m, snap);
	assert_true(snapshot_merge_since(m, 0) == 0);
	snapshot_merge_free(m);
}

/* the safety net: a full snapshot at least every full_every_ms */
static void
test_full_every(void **state)
{
	snapshot_merge *m = snapshot_merge_new(300000);
	OdooRetailGuard__Snapshot *snap = first_full();

	(void) state;
	assert_true(merged(m, snap, 1000, NULL, 0));
	done(m, snap);
	assert_true(snapshot_merge_since(m, 1000 + 299999) == 10);
	assert_true(snapshot_merge_since(m, 1000 + 300000) == 0);
	snapshot_merge_free(m);
}

/*
 * Random deltas against a full snapshot of the same state, round after
 * round: the delta-fed merge holds what the full-fed one holds, tables in
 * the same order (the extension's), and the names of dropped entries leave
 * the shared pool.
 */
#define RANDOM_KEYS 40

typedef struct ref_state
{
	bool		model_on[RANDOM_KEYS];
	uint64_t	calls[RANDOM_KEYS];
	bool		table_on[RANDOM_KEYS];
	int64_t		dead[RANDOM_KEYS];
	double		lag[RANDOM_KEYS];
} ref_state;

static char model_names[RANDOM_KEYS][24];
static char table_names[RANDOM_KEYS][24];

static void
ref_model(spec *s, const ref_state *r, int k)
{
	add_model(s, model_names[k], r->calls[k]);
}

static void
ref_table(spec *s, const ref_state *r, int k)
{
	/* ties on purpose: lag and dead take few values, the names decide */
	add_vacuum(s, table_names[k], r->dead[k], r->lag[k] > 2 ? 1000 : 0, r->lag[k]);
}

static bool
table_before(const OdooRetailGuard__AutovacuumLag *x, const OdooRetailGuard__AutovacuumLag *y)
{
	if ((x->over_threshold_since_us != 0) != (y->over_threshold_since_us != 0))
		return x->over_threshold_since_us != 0;
	if (x->lag_s != y->lag_s)
		return x->lag_s > y->lag_s;
	if (x->dead_over_threshold != y->dead_over_threshold)
		return x->dead_over_threshold > y->dead_over_threshold;
	if (x->xid_age != y->xid_age)
		return x->xid_age > y->xid_age;
	return strcmp(x->relation, y->relation) < 0;
}

static void
test_random_deltas_match_full(void **state)
{
	name_pool  *names = name_pool_shared_acquire();
	snapshot_merge *fed = snapshot_merge_new(0);
	ref_state	ref = {0};
	unsigned	seed = 20261207;
	uint64_t	gen = 1;

	(void) state;
	for (int k = 0; k < RANDOM_KEYS; k++)
	{
		snprintf(model_names[k], sizeof(model_names[k]), "model.%02d", k);
		snprintf(table_names[k], sizeof(table_names[k]), "table_%02d", k);
	}
	for (int round = 0; round < 200; round++)
	{
		spec		d = {0};
		spec		f = {0};
		snapshot_merge *full = snapshot_merge_new(0);
		OdooRetailGuard__Snapshot *a;
		OdooRetailGuard__Snapshot *b;
		size_t		on_models = 0;
		size_t		on_tables = 0;
		bool		touched[2][RANDOM_KEYS] = {{false}};

		d.delta = round > 0;
		d.since = gen;
		d.generation = ++gen;
		for (int c = 0; c < (round == 0 ? RANDOM_KEYS : 1 + (int) (rand_r(&seed) % 20)); c++)
		{
			int			k = round == 0 ? c : (int) (rand_r(&seed) % RANDOM_KEYS);
			bool		table = rand_r(&seed) % 2;
			bool		drop = round > 0 && rand_r(&seed) % 3 == 0;

			/* once per key and delta: the extension sends an entry's removal or its state */
			if (touched[table][k])
				continue;
			touched[table][k] = true;

			if (!table && drop && ref.model_on[k])
			{
				OdooRetailGuard__RemovedEntry *r = add_removed(&d, "model");

				r->model = model_names[k];
				r->operation = "select";
				ref.model_on[k] = false;
			}
			else if (table && drop && ref.table_on[k])
			{
				add_removed(&d, "autovacuum_lag")->relation = table_names[k];
				ref.table_on[k] = false;
			}
			else if (!table && !drop && d.nm < 64)
			{
				ref.model_on[k] = true;
				ref.calls[k] = rand_r(&seed);
				ref_model(&d, &ref, k);
			}
			else if (table && !drop && d.nv < 64)
			{
				ref.table_on[k] = true;
				ref.dead[k] = rand_r(&seed) % 3;
				ref.lag[k] = rand_r(&seed) % 5;
				ref_table(&d, &ref, k);
			}
		}
		f.generation = gen;
		for (int k = 0; k < RANDOM_KEYS; k++)
		{
			if (ref.model_on[k])
				ref_model(&f, &ref, k), on_models++;
			if (ref.table_on[k])
				ref_table(&f, &ref, k), on_tables++;
		}
		a = decoded(&d);
		b = decoded(&f);
		assert_true(merged(fed, a, round, NULL, 0));
		assert_true(merged(full, b, round, NULL, 0));
		assert_int_equal(a->n_models, on_models);
		assert_int_equal(b->n_models, on_models);
		for (size_t i = 0; i < a->n_models; i++)
		{
			int			k = atoi(a->models[i]->model + 6);

			assert_true(ref.model_on[k]);
			assert_true(a->models[i]->calls == ref.calls[k]);
			assert_non_null(find_model(b, a->models[i]->model));
		}
		assert_int_equal(a->n_autovacuum_lag, on_tables);
		assert_int_equal(b->n_autovacuum_lag, on_tables);
		for (size_t i = 0; i < a->n_autovacuum_lag; i++)
		{
			assert_string_equal(a->autovacuum_lag[i]->relation, b->autovacuum_lag[i]->relation);
			assert_true(a->autovacuum_lag[i]->dead_tuples == b->autovacuum_lag[i]->dead_tuples);
			if (i > 0)
				assert_true(table_before(a->autovacuum_lag[i - 1], a->autovacuum_lag[i]));
		}
		done(full, b);
		snapshot_merge_free(full);
		done(fed, a);
	}
	snapshot_merge_free(fed);
	/* every name went with the last entry that held it */
	assert_int_equal(name_pool_count(names), 0);
	name_pool_shared_release();
}

/*
 * A snapshot still lent when the next one is applied (or lent) is taken
 * back, left with empty sets rather than messages whose names the merge
 * may have freed; releasing it afterwards, or a snapshot never lent, is
 * harmless (asan and valgrind).
 */
static void
test_lent_taken_back(void **state)
{
	snapshot_merge *m = snapshot_merge_new(0);
	OdooRetailGuard__Snapshot *first = first_full();
	OdooRetailGuard__Snapshot *next;
	spec		d = {0};

	(void) state;
	assert_true(merged(m, first, 0, NULL, 0));
	assert_int_equal(first->n_autovacuum_lag, 2);
	d.delta = true;
	d.since = 10;
	d.generation = 11;
	add_removed(&d, "autovacuum_lag")->relation = "stock_move";
	add_vacuum(&d, "stock_quant", 7000, 1000, 50);
	next = decoded(&d);
	assert_true(snapshot_merge_apply(m, next, 1, NULL, 0));
	assert_int_equal(first->n_autovacuum_lag, 0);
	assert_null(first->autovacuum_lag);
	snapshot_merge_lend(m, next);
	assert_int_equal(next->n_autovacuum_lag, 1);
	assert_string_equal(next->autovacuum_lag[0]->relation, "stock_quant");
	done(m, first);
	assert_int_equal(next->n_autovacuum_lag, 1);	/* not first's: left as lent */
	snapshot_merge_lend(m, next);	/* again: the same sets */
	assert_true(next->autovacuum_lag[0]->dead_tuples == 7000);
	done(m, next);
	snapshot_merge_free(m);
}

/*
 * n tables named t0..t(n-1) with dead tuples i, packed and decoded; with
 * since, a delta of tables named t(first) downwards with dead tuples
 * generation
 */
static OdooRetailGuard__Snapshot *
many_tables(int n, uint64_t since, uint64_t generation, const char *removed, int first)
{
	OdooRetailGuard__Snapshot snap = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	OdooRetailGuard__NodeIdentity id = ODOO_RETAIL_GUARD__NODE_IDENTITY__INIT;
	OdooRetailGuard__AutovacuumLag *v = calloc((size_t) n + 1, sizeof(*v));
	OdooRetailGuard__AutovacuumLag **vp = calloc((size_t) n + 1, sizeof(*vp));
	char	  (*names)[16] = calloc((size_t) n + 1, sizeof(*names));
	OdooRetailGuard__RemovedEntry r = ODOO_RETAIL_GUARD__REMOVED_ENTRY__INIT;
	OdooRetailGuard__RemovedEntry *rp = &r;
	OdooRetailGuard__Snapshot *out;
	uint8_t    *buf;
	size_t		len;

	id.system_identifier = SYSID;
	id.shmem_incarnation = INC1;
	snap.node = &id;
	snap.delta = since != 0;
	snap.since_generation = since;
	snap.generation = generation;
	for (int i = 0; i < n; i++)
	{
		odoo_retail_guard__autovacuum_lag__init(&v[i]);
		snprintf(names[i], sizeof(names[i]), "t%d", since ? first - i : i);
		v[i].database = "retail";
		v[i].relation = names[i];
		v[i].dead_tuples = since ? (int64_t) generation : i;
		vp[i] = &v[i];
	}
	snap.n_autovacuum_lag = (size_t) n;
	snap.autovacuum_lag = vp;
	if (removed)
	{
		r.kind = "autovacuum_lag";
		r.database = "retail";
		r.relation = (char *) removed;
		snap.n_removed = 1;
		snap.removed = &rp;
	}
	len = odoo_retail_guard__snapshot__get_packed_size(&snap);
	buf = malloc(len);
	odoo_retail_guard__snapshot__pack(&snap, buf);
	out = odoo_retail_guard__snapshot__unpack(NULL, len, buf);
	free(buf);
	free(v);
	free(vp);
	free(names);
	assert_non_null(out);
	return out;
}

/*
 * A set of more than 65,534 records: its index moves from 16-bit to
 * 32-bit slots and every record is still found (replaced, removed) by key.
 */
static void
test_index_past_16_bits(void **state)
{
	snapshot_merge *m = snapshot_merge_new(0);
	OdooRetailGuard__Snapshot *snap = many_tables(65530, 0, 1, NULL, 0);
	int64_t		sum = 0;
	int			found = 0;

	(void) state;
	assert_true(merged(m, snap, 0, NULL, 0));
	assert_int_equal(snap->n_autovacuum_lag, 65530);
	done(m, snap);
	/* ten new tables (t70000 .. t69991) cross the line; t5 goes */
	snap = many_tables(10, 1, 2, "t5", 70000);
	assert_true(merged(m, snap, 1, NULL, 0));
	assert_int_equal(snap->n_autovacuum_lag, 65539);
	for (size_t i = 0; i < snap->n_autovacuum_lag; i++)
	{
		assert_string_not_equal(snap->autovacuum_lag[i]->relation, "t5");
		sum += snap->autovacuum_lag[i]->dead_tuples;
	}
	/* 0 + .. + 65529, less t5, plus ten 2s; the last in the extension's order is t9999 */
	assert_true(sum == (int64_t) 65529 * 65530 / 2 - 5 + 20);
	assert_string_equal(snap->autovacuum_lag[65538]->relation, "t9999");
	done(m, snap);
	/* the table lent last (tables tie on every figure, so they go by name), past the line, is found by key */
	snap = many_tables(1, 2, 3, NULL, 9999);
	assert_true(merged(m, snap, 2, NULL, 0));
	assert_int_equal(snap->n_autovacuum_lag, 65539);
	for (size_t i = 0; i < snap->n_autovacuum_lag; i++)
		if (!strcmp(snap->autovacuum_lag[i]->relation, "t9999"))
		{
			found++;
			assert_true(snap->autovacuum_lag[i]->dead_tuples == 3);
		}
	assert_int_equal(found, 1);
	done(m, snap);
	snapshot_merge_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_then_delta),
		cmocka_unit_test(test_full_replaces),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_full_every),
		cmocka_unit_test(test_kept_arrays_follow_changes),
		cmocka_unit_test(test_table_order_after_deltas),
		cmocka_unit_test(test_keys_by_fields),
		cmocka_unit_test(test_random_deltas_match_full),
		cmocka_unit_test(test_lent_taken_back),
		cmocka_unit_test(test_index_past_16_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
