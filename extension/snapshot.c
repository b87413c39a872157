/*-------------------------------------------------------------------------
 *
 * snapshot.c
 *		odoo_retail_guard.snapshot(since_cursor): every tracker's state on this
 *		node as one protobuf message (proto/odoo_retail_guard.proto), for the
 *		agent.
 *
 * The snapshot reads shared memory only through the trackers' read
 * accessors, the same functions the SQL views call; where a view combines
 * several of them (the memory areas, memory_areas.c) both call one
 * function.  It installs no hook and owns no shared memory.
 *
 * Memory: the message tree is built in a private memory context (palloc) and
 * packed straight into the result bytea, whose size protobuf-c computes
 * first; protobuf-c packs without allocating, so nothing it does can leak
 * malloc'd memory on an error.  The context is dropped before returning.
 *
 * Ring cursors: the horizon of the node's event sequence is read once,
 * before any ring; every ring then returns ids in (since_cursor, horizon)
 * and next_cursor is horizon - 1.  Entries written while the snapshot is
 * built get ids >= horizon and come with the next call (see ring.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/postmaster.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "odoo_retail_guard.pb-c.h"

#include "cron_jobs.h"
#include "lockcheck.h"
#include "odoo_classify.h"
#include "odoo_retail_guard.h"
#include "queries.h"
#include "ring.h"
#include "destructive.h"
#include "generation.h"
#include "locks.h"
#include "memory_areas.h"
#include "replication.h"
#include "vacuum.h"
#include "snapshot.h"
#include "throttle.h"
#include "throttle_match.h"

#define SNAPSHOT_SCHEMA_VERSION 1

#ifndef ORG_EXTVERSION
#define ORG_EXTVERSION ""
#endif

PG_FUNCTION_INFO_V1(org_snapshot);

/* oid -> name, remembered for one snapshot (few databases and roles) */
typedef struct NameMemo
{
	int			n;
	int			cap;
	Oid		   *oids;
	char	  **names;
} NameMemo;

typedef struct SnapshotBuild
{
	bool		show_text;
	bool		with_statements;	/* false: models only, no QueryStat */
	NameMemo	dbs;
	NameMemo	roles;
	/* a delta: only entries changed after since, and removals */
	bool		delta;
	uint64		since;
	OrgRemoval *removals;
	int			nremovals;
	List	   *removed;		/* of OdooRetailGuard__RemovedEntry */
} SnapshotBuild;

int64
org_unix_us(TimestampTz ts)
{
	if (ts == 0)
		return 0;
	return (int64) ts +
		((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
}

static const char *
memo_name(NameMemo *m, Oid oid, bool is_db)
{
	char	   *name;
	int			i;

	for (i = 0; i < m->n; i++)
		if (m->oids[i] == oid)
			return m->names[i];

	/* both may read the catalogs: never while one of our locks is held */
	if (is_db)
		name = org_database_name(oid);
	else
		name = org_role_name(oid);
	if (name == NULL)
		name = psprintf("%u", oid);

	if (m->n == m->cap)
	{
		m->cap = Max(8, m->cap * 2);
		m->oids = m->oids ? repalloc(m->oids, sizeof(Oid) * m->cap)
			: palloc(sizeof(Oid) * m->cap);
		m->names = m->names ? repalloc(m->names, sizeof(char *) * m->cap)
			: palloc(sizeof(char *) * m->cap);
	}
	m->oids[m->n] = oid;
	m->names[m->n] = name;
	m->n++;
	return name;
}

static const char *
org_snapshot_dbname(SnapshotBuild *b, Oid dbid)
{
	if (!OidIsValid(dbid))
		return "";
	return memo_name(&b->dbs, dbid, true);
}

static const char *
org_snapshot_rolname(SnapshotBuild *b, Oid roleid)
{
	if (!OidIsValid(roleid))
		return "";
	return memo_name(&b->roles, roleid, false);
}

/* protobuf-c wants a string, never NULL */
static char *
str(const char *s)
{
	return (char *) (s ? s : "");
}

/* p50, p95 and p99 in one pass over the histogram; 0 when there is none */
static void
percentiles(const uint64 *hist, double min_ms, double max_ms, double *out)
{
	static const double qs[3] = {0.50, 0.95, 0.99};
	int			k;

	org_hist_percentiles(hist, 3, qs, min_ms, max_ms, out);
	for (k = 0; k < 3; k++)
		if (out[k] < 0)
			out[k] = 0.0;
}

static OdooRetailGuard__NodeIdentity *
build_node(void)
{
	OdooRetailGuard__NodeIdentity *n = palloc(sizeof(*n));
	OrgNodeStatus st;

	/* the same facts as the node_status view */
	org_node_status(&st);
	odoo_retail_guard__node_identity__init(n);
	n->system_identifier = st.system_identifier;
	n->in_recovery = st.in_recovery;
	n->timeline = st.timeline;
	if (st.in_recovery)
		n->replay_lsn = st.replay_lsn;
	else
		n->current_lsn = st.current_lsn;
	n->server_version_num = st.server_version_num;
	n->time_us = org_unix_us(st.now);
	n->extension_version = str(ORG_EXTVERSION);
	n->postmaster_start_us = org_unix_us(st.postmaster_start);
	n->shmem_incarnation = org_shmem_incarnation();
	return n;
}

/* client backends by state, as pg_stat_activity shows them */
static OdooRetailGuard__ConnectionStats *
build_connections(void)
{
	OdooRetailGuard__ConnectionStats *c = palloc(sizeof(*c));
	int			nbackends = pgstat_fetch_stat_numbackends();
	int			i;

	odoo_retail_guard__connection_stats__init(c);
	c->max_connections = MaxConnections;
	c->superuser_reserved = ReservedBackends;

	for (i = 1; i <= nbackends; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;
		PGPROC	   *proc;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (be->st_backendType != B_BACKEND)
			continue;
		c->total++;
		switch (be->st_state)
		{
			case STATE_RUNNING:
			case STATE_FASTPATH:
				c->active++;
				break;
			case STATE_IDLE:
				c->idle++;
				break;
			case STATE_IDLEINTRANSACTION:
			case STATE_IDLEINTRANSACTION_ABORTED:
				c->idle_in_transaction++;
				break;
			default:
				break;
		}
		/* an unlocked read, as pg_stat_activity does */
		proc = BackendPidGetProc(be->st_procpid);
		if (proc != NULL &&
			(proc->wait_event_info & 0xFF000000) == PG_WAIT_LOCK)
			c->waiting_on_lock++;
	}
	return c;
}

/* the model's 96 buckets folded to the exported bounds (histogram.h) */
static void
fold_histogram(OdooRetailGuard__ModelStat *m, const uint64 *hist)
{
	m->n_duration_le_ms = ORG_HIST_FOLD_N;
	m->n_duration_le_count = ORG_HIST_FOLD_N;
	m->duration_le_ms = palloc(sizeof(double) * ORG_HIST_FOLD_N);
	m->duration_le_count = palloc(sizeof(uint64_t) * ORG_HIST_FOLD_N);
	for (int j = 0; j < ORG_HIST_FOLD_N; j++)
		m->duration_le_ms[j] = org_hist_fold_le_ms(j);
	org_hist_fold(hist, m->duration_le_count);
}

static void
build_models(OdooRetailGuard__Snapshot *snap, SnapshotBuild *b,
			 OrgModelStat *ms, int n)
{
	OdooRetailGuard__ModelStat *msgs;
	int			i;

	msgs = palloc(sizeof(*msgs) * Max(n, 1));
	snap->models = palloc(sizeof(*snap->models) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__ModelStat *m = &msgs[i];
		OrgModelStat *s = &ms[i];
		double		p[3];

		odoo_retail_guard__model_stat__init(m);
		m->database = str(org_snapshot_dbname(b, s->dbid));
		m->model = s->model;
		m->operation = str(org_operation_name(s->operation));
		m->statements = s->statements;
		m->calls = s->calls;
		m->total_ms = s->total_ms;
		m->mean_ms = s->calls > 0 ? s->total_ms / s->calls : 0;
		percentiles(s->hist, s->min_ms, s->max_ms, p);
		m->p50_ms = p[0];
		m->p95_ms = p[1];
		m->p99_ms = p[2];
		m->max_ms = s->max_ms;
		m->slow_calls = s->slow_calls;
		m->rows = s->rows;
		m->generation = s->generation;
		fold_histogram(m, s->hist);
		snap->models[i] = m;
	}
	snap->n_models = n;
}

typedef struct QueryMsgState
{
	SnapshotBuild *b;
	OdooRetailGuard__QueryStat **msgs;
	int			count;
	int			capacity;
	OrgModelAgg models;			/* full: every statement's sums */
	OrgQueryFilter groups;		/* delta: the model groups that changed */
} QueryMsgState;

/* one statement into a QueryStat message, and into its model's sums */
static void
add_query_msg(const OrgQueryStat *s, void *arg)
{
	QueryMsgState *st = (QueryMsgState *) arg;
	SnapshotBuild *b = st->b;
	OdooRetailGuard__QueryStat *m;
	double		p[3];

	if (b->delta)
		org_model_groups_add(&st->groups, s->key.dbid, s->operation, s->model);
	else
		org_model_agg_add(&st->models, s);
	if (!b->with_statements)
		return;

	m = palloc(sizeof(*m));
	odoo_retail_guard__query_stat__init(m);
	m->database = str(org_snapshot_dbname(b, s->key.dbid));
	m->role = str(org_snapshot_rolname(b, s->key.userid));
	m->worker_class = str(org_worker_class_name(s->key.worker_class));
	m->queryid = s->key.queryid;
	m->toplevel = s->key.toplevel;
	/* the visitor's strings live only during the visit: copy them */
	m->model = pstrdup(s->model);
	m->relation = pstrdup(s->relation);
	m->operation = str(org_operation_name(s->operation));
	m->row_lock = s->has_row_lock;
	m->calls = s->c.calls;
	m->total_ms = s->c.total_ms;
	m->min_ms = s->c.min_ms;
	m->max_ms = s->c.max_ms;
	m->mean_ms = org_query_mean_ms(&s->c);
	m->stddev_ms = org_query_stddev_ms(&s->c);
	percentiles(s->c.hist, s->c.min_ms, s->c.max_ms, p);
	m->p50_ms = p[0];
	m->p95_ms = p[1];
	m->p99_ms = p[2];
	m->rows = s->c.rows;
	m->slow_calls = s->c.slow_calls;
	m->first_seen_us = org_unix_us(s->first_seen);
	m->last_seen_us = org_unix_us(s->last_seen);
	m->query = b->show_text ? pstrdup(s->text) : "";
	m->generation = s->generation;

	if (st->count == st->capacity)
	{
		st->capacity *= 2;
		st->msgs = repalloc(st->msgs, sizeof(*st->msgs) * st->capacity);
	}
	st->msgs[st->count++] = m;
}

static OdooRetailGuard__RemovedEntry *
add_removed(SnapshotBuild *b, const char *kind, Oid dbid)
{
	OdooRetailGuard__RemovedEntry *m = palloc(sizeof(*m));

	odoo_retail_guard__removed_entry__init(m);
	m->kind = (char *) kind;
	m->database = str(org_snapshot_dbname(b, dbid));
	b->removed = lappend(b->removed, m);
	return m;
}

/*
 * Delta: statements changed after b->since, the removed ones, and the
 * model groups either touched, whole (a model's sums cover all its
 * statements); a group none of whose statements is left is removed.
 */
static void
build_queries_and_models_delta(OdooRetailGuard__Snapshot *snap,
							   SnapshotBuild *b, QueryMsgState *st)
{
	OrgQueryFilter since;
	OrgQueryFilter gone;
	OrgModelStat *ms;
	int			n;
	int			i;

	org_model_groups_init(&st->groups);
	org_model_groups_init(&gone);
	memset(&since, 0, sizeof(since));
	since.since = b->since;
	org_queries_foreach_filtered(add_query_msg, st,
								 b->show_text && b->with_statements, &since);
	snap->queries = st->msgs;
	snap->n_queries = st->count;

	for (i = 0; i < b->nremovals; i++)
	{
		OrgRemoval *r = &b->removals[i];
		OdooRetailGuard__RemovedEntry *m;

		if (r->kind != ORG_REMOVED_QUERY)
			continue;
		org_model_groups_add(&st->groups, r->dbid, r->operation, r->model);
		org_model_groups_add(&gone, r->dbid, r->operation, r->model);
		if (!b->with_statements)
			continue;
		m = add_removed(b, "query", r->dbid);
		m->role = str(org_snapshot_rolname(b, r->userid));
		m->worker_class = str(org_worker_class_name(r->worker_class));
		m->queryid = r->queryid;
		m->toplevel = r->toplevel;
	}

	ms = org_model_stats_of_groups(&st->groups, &n);
	build_models(snap, b, ms, n);

	/* groups with a removal and no statement left */
	for (i = 0; i < n; i++)
		org_model_groups_forget(&gone, ms[i].dbid, ms[i].operation, ms[i].model);
	for (i = 0; i < b->nremovals; i++)
	{
		OrgRemoval *r = &b->removals[i];
		OdooRetailGuard__RemovedEntry *m;

		if (r->kind != ORG_REMOVED_QUERY || r->model[0] == '\0' ||
			!org_model_groups_contains(&gone, r->dbid, r->operation, r->model))
			continue;
		org_model_groups_forget(&gone, r->dbid, r->operation, r->model);
		m = add_removed(b, "model", r->dbid);
		m->model = pstrdup(r->model);
		m->operation = str(org_operation_name(r->operation));
	}
}

/* statements and models from one pass over the statement table */
static void
build_queries_and_models(OdooRetailGuard__Snapshot *snap, SnapshotBuild *b)
{
	QueryMsgState st;
	OrgModelStat *ms;
	int			n;

	st.b = b;
	st.count = 0;
	st.capacity = 256;
	st.msgs = palloc(sizeof(*st.msgs) * st.capacity);
	if (b->delta)
	{
		build_queries_and_models_delta(snap, b, &st);
		return;
	}
	org_model_agg_init(&st.models);
	org_queries_foreach(add_query_msg, &st, b->show_text && b->with_statements);
	snap->queries = st.msgs;
	snap->n_queries = st.count;

	ms = org_model_agg_finish(&st.models, &n);
	build_models(snap, b, ms, n);
}

static void
build_slow_samples(OdooRetailGuard__Snapshot *snap, SnapshotBuild *b,
				   uint64 cursor, uint64 horizon)
{
	OrgSlowSample *ss;
	OdooRetailGuard__SlowSample *msgs;
	bool		gap;
	int			n;
	int			i;

	ss = org_slow_samples_since(cursor, horizon, &n, &gap, b->show_text);
	msgs = palloc(sizeof(*msgs) * Max(n, 1));
	snap->slow_samples = palloc(sizeof(*snap->slow_samples) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__SlowSample *m = &msgs[i];
		OrgSlowSample *s = &ss[i];

		odoo_retail_guard__slow_sample__init(m);
		m->id = s->id;
		m->time_us = org_unix_us(s->ts);
		m->pid = s->pid;
		m->database = str(org_snapshot_dbname(b, s->dbid));
		m->role = str(org_snapshot_rolname(b, s->userid));
		m->application_name = s->appname;
		m->worker_class = str(org_worker_class_name(s->worker_class));
		m->duration_ms = s->duration_ms;
		m->rows = s->rows;
		m->model = s->model;
		m->relation = s->relation;
		m->operation = str(org_operation_name(s->operation));
		m->queryid = s->queryid;
		m->query = str(s->text);
		snap->slow_samples[i] = m;
	}
	snap->n_slow_samples = n;
	snap->slow_samples_gap = gap;
}

static void
build_throttle(OdooRetailGuard__Snapshot *snap, uint64 cursor, uint64 horizon)
{
	OrgThrottleRule *rules;
	OrgThrottleEvent *events;
	OdooRetailGuard__ThrottleRule *rmsgs;
	OdooRetailGuard__ThrottleEvent *emsgs;
	bool		gap;
	int			n;
	int			i;

	rules = org_throttle_rules_collect(&n);
	rmsgs = palloc(sizeof(*rmsgs) * Max(n, 1));
	snap->throttle_rules = palloc(sizeof(*snap->throttle_rules) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__ThrottleRule *m = &rmsgs[i];
		OrgThrottleRule *r = &rules[i];

		odoo_retail_guard__throttle_rule__init(m);
		m->id = r->id;
		m->name = r->name;
		m->application_name_pattern = r->appname_pattern;
		m->role = r->role;
		m->database = r->database;
		m->worker_class = str(r->worker_class == ORG_THROTTLE_ANY_CLASS ? ""
							  : org_worker_class_name(r->worker_class));
		m->max_connections = r->max_connections;
		m->expires_us = org_unix_us(r->expires);
		m->reason = r->reason;
		m->set_by = r->set_by;
		m->current_connections = r->current;
		m->refused = r->refused;
		m->drain_idle_s = r->drain_idle_s;
		m->drain_action = str(r->drain_idle_s > 0 ? "terminate" : "");
		m->drained = r->drained;
		m->created_us = org_unix_us(r->created);
		snap->throttle_rules[i] = m;
	}
	snap->n_throttle_rules = n;

	events = org_throttle_events_since(cursor, horizon, &n, &gap);
	emsgs = palloc(sizeof(*emsgs) * Max(n, 1));
	snap->throttle_events = palloc(sizeof(*snap->throttle_events) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__ThrottleEvent *m = &emsgs[i];
		OrgThrottleEvent *e = &events[i];

		odoo_retail_guard__throttle_event__init(m);
		m->id = e->id;
		m->time_us = org_unix_us(e->ts);
		m->kind = str(org_throttle_event_kind_name(e->kind));
		m->rule_id = e->rule_id;
		m->rule_name = e->rule_name;
		m->pid = e->pid;
		m->database = e->database;
		m->role = e->role;
		m->application_name = e->appname;
		m->worker_class = str(org_worker_class_name(e->worker_class));
		snap->throttle_events[i] = m;
	}
	snap->n_throttle_events = n;
	snap->throttle_events_gap = gap;
}

static void
build_destructive(OdooRetailGuard__Snapshot *snap, SnapshotBuild *b,
				  uint64 cursor, uint64 horizon)
{
	OrgDestructiveEvent *events;
	OdooRetailGuard__DestructiveEvent *msgs;
	bool		gap;
	int			n;
	int			i;

	events = org_destructive_events_since(cursor, horizon, &n, &gap, b->show_text);
	msgs = palloc(sizeof(*msgs) * Max(n, 1));
	snap->destructive_events = palloc(sizeof(*snap->destructive_events) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__DestructiveEvent *m = &msgs[i];
		OrgDestructiveEvent *e = &events[i];

		odoo_retail_guard__destructive_event__init(m);
		m->id = e->id;
		m->time_us = org_unix_us(e->ts);
		m->kind = str(org_destructive_kind_name(e->kind));
		m->database = str(org_snapshot_dbname(b, e->dbid));
		m->role = str(org_snapshot_rolname(b, e->userid));
		m->application_name = e->appname;
		m->relation = e->relation;
		m->model = e->model;
		m->rows = e->rows;
		m->query = str(e->text);
		m->lsn_before = e->lsn_before;
		m->pid = e->pid;
		m->xid = e->xid;
		m->origin = str(org_event_origin_name(e->origin));
		m->cron_job_id = e->cron_job_id;
		m->cron_pid = e->cron_pid;
		m->statements = e->statements;
		m->cause_event_id = e->cause_event_id;
		snap->destructive_events[i] = m;
	}
	snap->n_destructive_events = n;
	snap->destructive_events_gap = gap;
	{
		OrgDestructiveInfo info;

		org_destructive_info(&info);
		snap->destructive_rolled_back = info.rolled_back;
		snap->destructive_untracked_relations = info.untracked_relations;
	}
}

/* ---- lock, vacuum and replication trackers (filled by the sampler) ---- */

/* a palloc'd copy of a fixed array of pids for a repeated int32 field */
static int32_t *
pid_array(const int32 *pids, int n)
{
	int32_t    *out = palloc(sizeof(int32_t) * Max(n, 1));

	memcpy(out, pids, sizeof(int32_t) * n);
	return out;
}

static void
build_locks(OdooRetailGuard__Snapshot *snap, SnapshotBuild *b,
			uint64 cursor, uint64 horizon)
{
	OrgBlockingChain *chains;
	OrgLockContention *cont;
	OrgLockWaitEvent *events;
	OrgLockConflicts *conf;
	bool		gap;
	int			n;
	int			i;

	chains = org_blocking_chains_collect(&n, b->show_text);
	snap->blocking_chains = palloc(sizeof(*snap->blocking_chains) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__BlockingChain *m = palloc(sizeof(*m));
		OrgBlockingChain *c = &chains[i];

		odoo_retail_guard__blocking_chain__init(m);
		m->waiter_pid = c->waiter_pid;
		m->database = str(org_snapshot_dbname(b, c->dbid));
		m->waiter_application_name = c->waiter_appname;
		m->waiter_worker_class = str(org_worker_class_name(c->waiter_worker_class));
		m->lock_type = c->lock_type;
		m->mode = c->mode;
		m->relation = c->relation;
		m->model = c->model;
		m->wait_ms = c->wait_ms;
		m->wait_started_us = org_unix_us(c->wait_start);
		m->n_chain = c->chain_len;
		m->chain = pid_array(c->chain, c->chain_len);
		m->chain_cut = c->chain_cut;
		m->n_hard_blockers = c->n_hard;
		m->hard_blockers = pid_array(c->hard_blockers, c->n_hard);
		m->n_soft_blockers = c->n_soft;
		m->soft_blockers = pid_array(c->soft_blockers, c->n_soft);
		m->root_pid = c->root_pid;
		m->root_application_name = c->root_appname;
		m->root_worker_class = str(org_worker_class_name(c->root_worker_class));
		m->root_state = c->root_state;
		m->root_xact_age_ms = c->root_xact_age_ms;
		m->root_query = str(c->root_query);
		m->waiter_query = str(c->waiter_query);
		snap->blocking_chains[i] = m;
	}
	snap->n_blocking_chains = n;

	cont = org_lock_contention_collect(&n);
	snap->lock_contention = palloc(sizeof(*snap->lock_contention) * Max(n, 1));
	snap->n_lock_contention = 0;
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__LockContention *m;

		if (b->delta && cont[i].generation <= b->since)
			continue;
		m = palloc(sizeof(*m));
		odoo_retail_guard__lock_contention__init(m);
		m->database = str(org_snapshot_dbname(b, cont[i].dbid));
		m->relation = cont[i].relation;
		m->model = cont[i].model;
		m->lock_type = cont[i].lock_type;
		m->mode = cont[i].mode;
		m->waits = cont[i].waits;
		m->total_wait_ms = cont[i].total_wait_ms;
		m->max_wait_ms = cont[i].max_wait_ms;
		m->distinct_waiters = cont[i].distinct_waiters;
		m->generation = cont[i].generation;
		snap->lock_contention[snap->n_lock_contention++] = m;
	}
	for (i = 0; i < b->nremovals; i++)
	{
		OrgRemoval *r = &b->removals[i];
		OdooRetailGuard__RemovedEntry *m;
		char		relation[NAMEDATALEN * 2];
		char		model[NAMEDATALEN];

		if (r->kind != ORG_REMOVED_LOCK_CONTENTION)
			continue;
		/* the same name the entry was sent under */
		org_resolve_relation(r->dbid, r->relid, relation, sizeof(relation),
							 model, sizeof(model));
		m = add_removed(b, "lock_contention", r->dbid);
		m->relation = pstrdup(relation);
		m->lock_type = pstrdup(r->lock_type);
		m->mode = pstrdup(r->mode);
	}

	events = org_lock_wait_events_since(cursor, horizon, &n, &gap);
	snap->lock_wait_events = palloc(sizeof(*snap->lock_wait_events) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__LockWaitEvent *m = palloc(sizeof(*m));
		OrgLockWaitEvent *e = &events[i];

		odoo_retail_guard__lock_wait_event__init(m);
		m->id = e->id;
		m->time_us = org_unix_us(e->ts);
		m->wait_started_us = org_unix_us(e->wait_start);
		m->waiter_pid = e->waiter_pid;
		m->root_pid = e->root_pid;
		m->database = str(org_snapshot_dbname(b, e->dbid));
		m->relation = e->relation;
		m->model = e->model;
		m->lock_type = e->lock_type;
		m->mode = e->mode;
		m->wait_ms = e->wait_ms;
		m->waiter_application_name = e->waiter_appname;
		m->root_application_name = e->root_appname;
		m->waiter_worker_class = str(org_worker_class_name(e->waiter_worker_class));
		m->root_worker_class = str(org_worker_class_name(e->root_worker_class));
		snap->lock_wait_events[i] = m;
	}
	snap->n_lock_wait_events = n;
	snap->lock_wait_events_gap = gap;

	conf = org_lock_conflicts_collect(&n);
	snap->database_conflicts = palloc(sizeof(*snap->database_conflicts) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__DatabaseConflicts *m = palloc(sizeof(*m));

		odoo_retail_guard__database_conflicts__init(m);
		m->database = str(org_snapshot_dbname(b, conf[i].dbid));
		m->deadlocks = conf[i].deadlocks;
		m->deadlocks_logged = conf[i].deadlocks_logged;
		m->lock_timeouts = conf[i].lock_not_available;
		m->serialization_failures = conf[i].serialization_failures;
		snap->database_conflicts[i] = m;
	}
	snap->n_database_conflicts = n;
}

static void
build_vacuum(OdooRetailGuard__Snapshot *snap, SnapshotBuild *b)
{
	OrgAutovacuumLag *lag;
	OrgVacuumHorizon *hz;
	int			n;
	int			i;

	lag = org_autovacuum_lag_collect(&n);
	snap->autovacuum_lag = palloc(sizeof(*snap->autovacuum_lag) * Max(n, 1));
	snap->n_autovacuum_lag = 0;
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__AutovacuumLag *m;
		OrgAutovacuumLag *t = &lag[i];

		/* over threshold: its lag grows with every snapshot */
		if (b->delta && t->changed_generation <= b->since &&
			t->over_threshold_since == 0)
			continue;
		m = palloc(sizeof(*m));
		odoo_retail_guard__autovacuum_lag__init(m);
		m->database = str(org_snapshot_dbname(b, t->dbid));
		m->relation = t->relation;
		m->model = t->model;
		m->live_tuples = t->live_tuples;
		m->dead_tuples = t->dead_tuples;
		m->threshold = t->threshold;
		m->dead_over_threshold = t->dead_over_threshold;
		m->over_threshold_since_us = org_unix_us(t->over_threshold_since);
		m->lag_s = t->lag_s;
		m->last_vacuum_us = org_unix_us(t->last_vacuum);
		m->last_autovacuum_us = org_unix_us(t->last_autovacuum);
		m->last_analyze_us = org_unix_us(t->last_analyze);
		m->last_autoanalyze_us = org_unix_us(t->last_autoanalyze);
		m->vacuum_running = t->vacuum_running;
		m->vacuum_phase = t->vacuum_phase;
		m->xid_age = t->xid_age;
		m->mxid_age = t->mxid_age;
		m->freeze_max_age = t->freeze_max_age;
		m->generation = t->changed_generation;
		snap->autovacuum_lag[snap->n_autovacuum_lag++] = m;
	}
	for (i = 0; i < b->nremovals; i++)
	{
		OdooRetailGuard__RemovedEntry *m;

		if (b->removals[i].kind != ORG_REMOVED_AUTOVACUUM_LAG)
			continue;
		m = add_removed(b, "autovacuum_lag", b->removals[i].dbid);
		m->relation = pstrdup(b->removals[i].relation);
	}

	/* the oldest holder comes first */
	hz = org_vacuum_horizon_collect(&n, b->show_text);
	if (n > 0)
	{
		OdooRetailGuard__VacuumHorizon *m = palloc(sizeof(*m));

		odoo_retail_guard__vacuum_horizon__init(m);
		m->holder_kind = hz[0].holder_kind;
		m->pid = hz[0].pid;
		m->database = str(org_snapshot_dbname(b, hz[0].dbid));
		m->application_name = hz[0].application_name;
		m->worker_class = str(org_worker_class_name(hz[0].worker_class));
		m->state = hz[0].state;
		m->xmin_age = hz[0].xmin_age;
		m->age_s = hz[0].age_s;
		m->name = hz[0].name;
		m->query = str(hz[0].query);
		snap->vacuum_horizon = m;
	}
}

static void
build_replication(OdooRetailGuard__Snapshot *snap, SnapshotBuild *b)
{
	OrgReplicationStandby *sb;
	OrgReplicationSlot *slots;
	OrgStandbyStatus st;
	int			n;
	int			i;

	sb = org_replication_standbys_collect(&n);
	snap->replication = palloc(sizeof(*snap->replication) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__ReplicationStandby *m = palloc(sizeof(*m));

		odoo_retail_guard__replication_standby__init(m);
		m->pid = sb[i].pid;
		m->application_name = sb[i].application_name;
		m->client_addr = sb[i].client_addr;
		m->client_port = sb[i].client_port;
		m->state = sb[i].state;
		m->sync_state = sb[i].sync_state;
		m->sync_priority = sb[i].sync_priority;
		m->sent_lsn = sb[i].sent_lsn;
		m->write_lsn = sb[i].write_lsn;
		m->flush_lsn = sb[i].flush_lsn;
		m->replay_lsn = sb[i].replay_lsn;
		m->sent_lag_bytes = sb[i].sent_lag_bytes;
		m->write_lag_bytes = sb[i].write_lag_bytes;
		m->flush_lag_bytes = sb[i].flush_lag_bytes;
		m->replay_lag_bytes = sb[i].replay_lag_bytes;
		m->write_lag_ms = sb[i].write_lag_ms;
		m->flush_lag_ms = sb[i].flush_lag_ms;
		m->replay_lag_ms = sb[i].replay_lag_ms;
		m->replay_age_ms = sb[i].replay_age_ms;
		m->reply_time_us = org_unix_us(sb[i].reply_time);
		snap->replication[i] = m;
	}
	snap->n_replication = n;

	slots = org_replication_slots_collect(&n);
	snap->replication_slots = palloc(sizeof(*snap->replication_slots) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__ReplicationSlot *m = palloc(sizeof(*m));

		odoo_retail_guard__replication_slot__init(m);
		m->slot_name = slots[i].slot_name;
		m->slot_type = slots[i].slot_type;
		m->database = str(org_snapshot_dbname(b, slots[i].dbid));
		m->active = slots[i].active;
		m->active_pid = slots[i].active_pid;
		m->restart_lsn = slots[i].restart_lsn;
		m->retained_bytes = slots[i].retained_bytes;
		m->wal_status = slots[i].wal_status;
		snap->replication_slots[i] = m;
	}
	snap->n_replication_slots = n;

	if (org_standby_status(&st))
	{
		OdooRetailGuard__StandbyStatus *m = palloc(sizeof(*m));

		odoo_retail_guard__standby_status__init(m);
		m->receive_lsn = st.receive_lsn;
		m->replay_lsn = st.replay_lsn;
		m->last_replay_commit_us = org_unix_us(st.last_replay_commit);
		m->replay_delay_ms = st.replay_delay_ms;
		m->receiver_state = pstrdup(st.receiver_state);
		m->last_msg_receipt_us = org_unix_us(st.last_msg_receipt);
		m->last_msg_send_us = org_unix_us(st.last_msg_send);
		m->replay_paused = st.replay_paused;
		m->sender_host = pstrdup(st.sender_host);
		m->sender_port = st.sender_port;
		m->slot_name = pstrdup(st.slot_name);
		snap->standby = m;
	}
}

/* Odoo scheduled jobs running now (cron_jobs.c, the odoo_jobs view's reader) */
static void
build_cron_jobs(OdooRetailGuard__Snapshot *snap, SnapshotBuild *b)
{
	OrgCronJob *jobs;
	int			n;
	int			i;

	jobs = org_cron_jobs_collect(&n, b->show_text);
	snap->cron_jobs = palloc(sizeof(*snap->cron_jobs) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OdooRetailGuard__CronJob *m = palloc(sizeof(*m));
		OrgCronJob *j = &jobs[i];

		odoo_retail_guard__cron_job__init(m);
		m->cron_pid = j->cron_pid;
		m->n_job_pids = j->n_job_pids;
		m->job_pids = pid_array(j->job_pids, j->n_job_pids);
		m->database = str(org_snapshot_dbname(b, j->dbid));
		m->application_name = j->appname;
		m->job_id = j->job_id;
		m->started_us = org_unix_us(j->started);
		m->running_s = j->running_s;
		m->job_state = j->job_state;
		m->job_query = str(j->job_query);
		m->job_model = j->job_model;
		m->holds_horizon = j->holds_horizon;
		m->xmin_age = j->xmin_age;
		m->blocked_sessions = j->blocked_sessions;
		m->kind = str("ir_cron");
		snap->cron_jobs[i] = m;
	}
	snap->n_cron_jobs = n;
}

/* every area of the memory view, from the same function */
static void
build_memory(OdooRetailGuard__Snapshot *snap)
{
	OrgMemoryArea areas[ORG_MEMORY_AREAS];
	int			i;

	org_memory_areas(areas);
	snap->memory = palloc(sizeof(*snap->memory) * ORG_MEMORY_AREAS);
	for (i = 0; i < ORG_MEMORY_AREAS; i++)
	{
		OdooRetailGuard__MemoryArea *m = palloc(sizeof(*m));

		odoo_retail_guard__memory_area__init(m);
		m->area = str(areas[i].area);
		m->capacity = areas[i].capacity;
		m->used = areas[i].used;
		m->evicted = areas[i].evicted;
		snap->memory[i] = m;
	}
	snap->n_memory = ORG_MEMORY_AREAS;
}

/*
 * Build and encode one snapshot.  Returns a palloc'd bytea in the caller's
 * memory context.
 */
bytea *
org_snapshot_encode(uint64 cursor, uint64 since_generation, bool show_text,
					bool with_statements)
{
	MemoryContext build_cxt;
	MemoryContext oldcxt;
	OdooRetailGuard__Snapshot snap = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	SnapshotBuild b;
	uint64		horizon;
	uint64		generation;
	size_t		len;
	bytea	   *result;
	ListCell   *lc;
	int			i;

	build_cxt = AllocSetContextCreate(CurrentMemoryContext,
									  "odoo_retail_guard snapshot",
									  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(build_cxt);

	memset(&b, 0, sizeof(b));
	b.show_text = show_text;
	b.with_statements = with_statements;

	/* first, before any ring is read: see the reading protocol in ring.h */
	horizon = org_ring_horizon();

	/*
	 * Before any tracker is read: every change this snapshot may miss is
	 * stamped above generation.  Removals are read next, so one that comes
	 * later is stamped above it too (the reader keeps the entry one poll
	 * longer at worst).
	 */
	generation = org_generation_advance();
	snap.generation = generation;
	snap.since_generation = since_generation;
	if (since_generation > 0)
	{
		bool		complete;

		/* another incarnation's (crash-restart), or made up */
		if (since_generation > generation ||
			since_generation < org_generation_first())
			snap.full_reason = "unknown_generation";
		else
		{
			b.removals = org_removals_since(since_generation, &b.nremovals,
											&complete);
			if (complete)
			{
				b.delta = true;
				b.since = since_generation;
			}
			else
				snap.full_reason = "removals_unknown";
		}
	}
	snap.delta = b.delta;
	snap.statements_omitted = !with_statements;

	snap.schema_version = SNAPSHOT_SCHEMA_VERSION;
	snap.node = build_node();
	snap.since_cursor = cursor;
	snap.next_cursor = horizon - 1;
	snap.connections = build_connections();
	build_queries_and_models(&snap, &b);
	build_slow_samples(&snap, &b, cursor, horizon);
	build_throttle(&snap, cursor, horizon);
	build_destructive(&snap, &b, cursor, horizon);
	build_locks(&snap, &b, cursor, horizon);
	build_vacuum(&snap, &b);
	build_replication(&snap, &b);
	build_cron_jobs(&snap, &b);
	build_memory(&snap);

	snap.removed = palloc(sizeof(*snap.removed) * Max(list_length(b.removed), 1));
	i = 0;
	foreach(lc, b.removed)
		snap.removed[i++] = lfirst(lc);
	snap.n_removed = i;

	MemoryContextSwitchTo(oldcxt);

	len = odoo_retail_guard__snapshot__get_packed_size(&snap);
	if (len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("snapshot of %zu bytes is too large", len),
				 errhint("Lower odoo_retail_guard.max_queries or read query texts less often.")));
	result = palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	if (odoo_retail_guard__snapshot__pack(&snap, (uint8_t *) VARDATA(result)) != len)
		elog(ERROR, "protobuf-c packed a snapshot of unexpected size");

	MemoryContextDelete(build_cxt);
	return result;
}

/*
 * snapshot(since_cursor), snapshot(since_cursor, since_generation) and
 * snapshot(since_cursor, since_generation, statements)
 */
Datum
org_snapshot(PG_FUNCTION_ARGS)
{
	int64		cursor = PG_GETARG_INT64(0);
	int64		since_generation = PG_NARGS() > 1 ? PG_GETARG_INT64(1) : 0;
	bool		with_statements = PG_NARGS() > 2 ? PG_GETARG_BOOL(2) : true;

	if (cursor < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cursor must not be negative"),
				 errhint("Pass 0 on the first call, then the next_cursor of the previous snapshot.")));
	if (since_generation < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("since_generation must not be negative"),
				 errhint("Pass 0 for a full snapshot, then the generation of the previous snapshot.")));

	org_require_shmem();
	PG_RETURN_BYTEA_P(org_snapshot_encode((uint64) cursor,
										  (uint64) since_generation,
										  has_privs_of_role(GetUserId(),
															ROLE_PG_READ_ALL_STATS),
										  with_statements));
}

PG_FUNCTION_INFO_V1(org_snapshot_generation);

/* the generation now, without advancing it: the last snapshot's plus one */
Datum
org_snapshot_generation(PG_FUNCTION_ARGS)
{
	org_require_shmem();
	PG_RETURN_INT64((int64) org_generation_current());
}
