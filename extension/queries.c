/*-------------------------------------------------------------------------
 *
 * queries.c
 *		Slow Odoo query tracking: executor hooks, the per-statement stats
 *		table and the ring of recent slow executions.
 *
 * Hooks installed: ExecutorStart, ExecutorRun, ExecutorFinish, ExecutorEnd
 * and ProcessUtility (only to count nesting, so statements run inside DO
 * blocks and procedures are not taken for top-level ones; an SQL EXECUTE
 * stays at its caller's level, as in pg_stat_statements); all chained.
 * Statements of our own background workers are never tracked.
 *
 * Locking discipline (as in pg_stat_statements):
 *	- The stats hash is looked up under the tracker's LWLock in shared mode;
 *	  an entry's counters are updated under its own spinlock.  This is the
 *	  common path and takes no exclusive lock.
 *	- Creating an entry, evicting and resetting need the LWLock exclusively.
 *	  Texts are normalized before the exclusive lock is taken.
 *	- Slow samples go to a ring (ring.c) whose LWLock is held only to take
 *	  an id and copy one slot.  Slow executions are rare, so it never contends.
 *	- Readers copy under the shared lock and resolve names, build tuples or
 *	  protobuf messages only after releasing it (org_queries_foreach): no
 *	  catalog access, tuplestore write or elog while any of our locks is held.
 *
 * Nothing here may fail the user's statement: shared hash inserts use
 * HASH_ENTER_NULL, buffers are allocated once per backend, and catalog
 * lookups happen only inside a valid transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_namespace.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "postmaster/bgworker.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/queryjumble.h"
#include "utils/timestamp.h"

#include "histogram.h"
#include "normalize.h"
#include "odoo_classify.h"
#include "odoo_retail_guard.h"
#include "generation.h"
#include "queries.h"
#include "relation_label.h"
#include "ring.h"

#define QUERIES_TRANCHE		"odoo_retail_guard_queries"
#define QUERIES_SHMEM_NAME	"odoo_retail_guard queries"
#define QUERIES_HASH_NAME	"odoo_retail_guard query hash"
#define SLOW_RING_NAME		"odoo_retail_guard slow samples"

/* eviction drops this share of the entries, least used first */
#define EVICT_PERCENT		5
#define EVICT_MIN			10
#define USAGE_DECAY			0.99

typedef struct OrgQueryEntry
{
	OrgQueryKey key;			/* hash key, must be first */
	slock_t		mutex;			/* protects the fields below */
	OrgQueryCounters c;
	TimestampTz first_seen;
	TimestampTz last_seen;
	uint64		generation;		/* when it last changed (generation.h) */
	uint32		group_hash;		/* of its model group, for delta filters */
	int16		operation;
	bool		has_row_lock;
	char		relation[NAMEDATALEN * 2];
	char		model[NAMEDATALEN];
	int			text_len;
	char		text[FLEXIBLE_ARRAY_MEMBER];	/* org_query_text_length + 1 */
} OrgQueryEntry;

/*
 * One slow sample as stored in the ring: the reader's struct (its id and
 * text pointer unused here) followed by the text itself.
 */
typedef struct OrgSlowPayload
{
	OrgSlowSample s;
	int			text_len;
	char		text[FLEXIBLE_ARRAY_MEMBER];
} OrgSlowPayload;

typedef struct OrgQueriesShared
{
	LWLock	   *lock;			/* protects the hash's membership */
	slock_t		mutex;			/* protects the fields below */
	uint64		evictions;
	uint64		eviction_runs;
	TimestampTz stats_reset;
	int			text_length;
} OrgQueriesShared;

static OrgQueriesShared *qshared = NULL;
static OrgRing *slow_ring = NULL;
static HTAB *qhash = NULL;

static int	nesting_level = 0;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * Per-backend cache of what a relation means to Odoo, so the hot path does
 * no catalog lookup for relations it has seen.  Invalidated by relcache
 * callbacks (rename, drop).
 */
#define RELCACHE_SLOTS 256

typedef struct RelInfo
{
	Oid			relid;
	bool		is_model;
	char		table[NAMEDATALEN];	/* bare name, for Odoo shape rules */
	char		relation[NAMEDATALEN * 2];	/* schema-qualified unless public */
	char		model[NAMEDATALEN];
} RelInfo;

static RelInfo *relinfo_cache = NULL;
static bool relcache_callback_registered = false;

/* per-backend worker class, recomputed when application_name changes */
static char cached_appname[NAMEDATALEN] = "";
static char cached_prefix[NAMEDATALEN] = "";
static bool cached_valid = false;
static bool cached_is_odoo = false;
static OrgWorkerClass cached_class = ORG_WORKER_OTHER;

/* per-backend buffers, allocated on first use */
static char *norm_buf = NULL;
static OrgSlowPayload *slow_buf = NULL;

static void org_ExecutorStart(QueryDesc *queryDesc, int eflags);
static void org_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
							uint64 count, bool execute_once);
static void org_ExecutorFinish(QueryDesc *queryDesc);
static void org_ExecutorEnd(QueryDesc *queryDesc);
static void org_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
							   bool readOnlyTree,
							   ProcessUtilityContext context,
							   ParamListInfo params,
							   QueryEnvironment *queryEnv,
							   DestReceiver *dest, QueryCompletion *qc);

static Size
entry_size(void)
{
	return MAXALIGN(offsetof(OrgQueryEntry, text) + org_query_text_length + 1);
}

static Size
slow_payload_size(void)
{
	return offsetof(OrgSlowPayload, text) + org_query_text_length + 1;
}

static Size
queries_shmem_size(void)
{
	Size		size;

	size = MAXALIGN(sizeof(OrgQueriesShared));
	size = add_size(size, org_ring_shmem_size(org_slow_samples, slow_payload_size()));
	size = add_size(size, hash_estimate_size(org_max_queries, entry_size()));
	return size;
}

void
org_queries_shmem_request(void)
{
	RequestAddinShmemSpace(queries_shmem_size());
	RequestNamedLWLockTranche(QUERIES_TRANCHE, 1);
}

void
org_queries_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	qshared = ShmemInitStruct(QUERIES_SHMEM_NAME, sizeof(OrgQueriesShared),
							  &found);
	if (!found)
	{
		qshared->lock = &(GetNamedLWLockTranche(QUERIES_TRANCHE))->lock;
		SpinLockInit(&qshared->mutex);
		qshared->evictions = 0;
		qshared->eviction_runs = 0;
		qshared->stats_reset = GetCurrentTimestamp();
		qshared->text_length = org_query_text_length;
	}

	slow_ring = ShmemInitStruct(SLOW_RING_NAME,
								org_ring_shmem_size(org_slow_samples,
													slow_payload_size()),
								&found);
	if (!found)
		org_ring_init(slow_ring, org_slow_samples, slow_payload_size());

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(OrgQueryKey);
	info.entrysize = entry_size();
	qhash = ShmemInitHash(QUERIES_HASH_NAME,
						  org_max_queries, org_max_queries,
						  &info, HASH_ELEM | HASH_BLOBS);
}

void
org_queries_install_hooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = org_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = org_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = org_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = org_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = org_ProcessUtility;
}

/*
 * Our own background workers (the sampler, the vacuum scan) run queries
 * through SPI at nesting level 0: they are not the workload and must never
 * show up as its statements.
 */
static bool
is_own_worker(void)
{
	static int	own = -1;

	if (own < 0)
		own = (MyBgworkerEntry != NULL &&
			   strcmp(MyBgworkerEntry->bgw_library_name, ORG_NAME) == 0);
	return own == 1;
}

static bool
tracking_enabled(int level)
{
	if (qshared == NULL || IsParallelWorker() || is_own_worker())
		return false;
	return org_track == ORG_TRACK_ALL ||
		(org_track == ORG_TRACK_TOP && level == 0);
}

static void
org_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (tracking_enabled(nesting_level) &&
		queryDesc->plannedstmt->queryId != UINT64CONST(0) &&
		queryDesc->totaltime == NULL)
	{
		MemoryContext oldcxt;

		/*
		 * Allocated in the query context, so freed with the query.  Others
		 * (pg_stat_statements, auto_explain) allocate totaltime only when it
		 * is NULL and read their buffer and WAL counters from ours: it must
		 * count everything, as theirs would.
		 */
		oldcxt = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
		queryDesc->totaltime = InstrAlloc(1, INSTRUMENT_ALL, false);
		MemoryContextSwitchTo(oldcxt);
	}
}

static void
org_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
				bool execute_once)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

static void
org_ExecutorFinish(QueryDesc *queryDesc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

static void
org_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	/*
	 * An SQL-level EXECUTE runs its prepared statement as the client's own
	 * statement: counted at the caller's level, as pg_stat_statements does,
	 * so that track = top sees it.
	 */
	if (IsA(pstmt->utilityStmt, ExecuteStmt))
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		return;
	}

	nesting_level++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

static void
relinfo_invalidate(Datum arg, Oid relid)
{
	int			i;

	if (relinfo_cache == NULL)
		return;
	for (i = 0; i < RELCACHE_SLOTS; i++)
	{
		if (relid == InvalidOid || relinfo_cache[i].relid == relid)
			relinfo_cache[i].relid = InvalidOid;
	}
}

/*
 * What the relation means to Odoo.  Returns NULL when it cannot be known
 * now (outside a valid transaction, or the relation is gone).
 */
static RelInfo *
relinfo_lookup(Oid relid)
{
	RelInfo    *ri;
	char	   *relname;
	Oid			nspid;

	if (!OidIsValid(relid))
		return NULL;

	if (relinfo_cache == NULL)
	{
		relinfo_cache = MemoryContextAllocExtended(TopMemoryContext,
												   sizeof(RelInfo) * RELCACHE_SLOTS,
												   MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
		if (relinfo_cache == NULL)
			return NULL;
	}
	if (!relcache_callback_registered)
	{
		CacheRegisterRelcacheCallback(relinfo_invalidate, (Datum) 0);
		relcache_callback_registered = true;
	}

	ri = &relinfo_cache[relid % RELCACHE_SLOTS];
	if (ri->relid == relid)
		return ri;

	/* catalog lookups only in a healthy transaction (not in abort cleanup) */
	if (!IsTransactionState())
		return NULL;

	relname = get_rel_name(relid);
	if (relname == NULL)
		return NULL;
	nspid = get_rel_namespace(relid);

	ri->relid = InvalidOid;
	strlcpy(ri->table, relname, sizeof(ri->table));
	ri->is_model = org_relation_label(nspid,
									  org_relation_label_needs_schema(nspid) ?
									  get_namespace_name(nspid) : NULL,
									  relname,
									  ri->relation, sizeof(ri->relation),
									  ri->model, sizeof(ri->model));
	ri->relid = relid;
	return ri;
}

/* the pure naming rule recognises the public schema by this oid */
StaticAssertDecl(ORG_PUBLIC_NAMESPACE_OID == PG_PUBLIC_NAMESPACE,
				 "relation_label.h disagrees with pg_namespace.h");

/*
 * The relation a statement is about: the first result relation for DML,
 * else the first plain relation in the range table.  Read from the plan,
 * never from the text.
 */
static Oid
main_relation(PlannedStmt *stmt)
{
	ListCell   *lc;

	if (stmt->resultRelations != NIL)
	{
		Index		rti = linitial_int(stmt->resultRelations);

		return rt_fetch(rti, stmt->rtable)->relid;
	}
	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION)
			return rte->relid;
	}
	return InvalidOid;
}

static OrgOperation
operation_of(CmdType cmd)
{
	switch (cmd)
	{
		case CMD_SELECT:
			return ORG_OP_SELECT;
		case CMD_INSERT:
			return ORG_OP_INSERT;
		case CMD_UPDATE:
			return ORG_OP_UPDATE;
		case CMD_DELETE:
			return ORG_OP_DELETE;
		default:
			return ORG_OP_OTHER;
	}
}

/* worker class from application_name, cached until it or the prefix changes */
static OrgWorkerClass
appname_class(bool *is_odoo)
{
	const char *app = application_name ? application_name : "";
	const char *prefix = org_odoo_appname_prefix ? org_odoo_appname_prefix : "";

	if (!cached_valid ||
		strncmp(app, cached_appname, NAMEDATALEN) != 0 ||
		strncmp(prefix, cached_prefix, NAMEDATALEN) != 0)
	{
		strlcpy(cached_appname, app, sizeof(cached_appname));
		strlcpy(cached_prefix, prefix, sizeof(cached_prefix));
		cached_is_odoo = org_appname_is_odoo(cached_appname, cached_prefix);
		cached_class = org_worker_class_from_appname(cached_appname, cached_prefix);
		cached_valid = true;
	}
	*is_odoo = cached_is_odoo;
	return cached_class;
}

/* normalized text of the statement, in the per-backend buffer */
static const char *
normalized_text(QueryDesc *queryDesc, int *len)
{
	const char *src;
	int			location = queryDesc->plannedstmt->stmt_location;
	int			srclen = queryDesc->plannedstmt->stmt_len;

	*len = 0;
	if (queryDesc->sourceText == NULL)
		return NULL;
	if (norm_buf == NULL)
	{
		norm_buf = MemoryContextAllocExtended(TopMemoryContext,
											  org_query_text_length + 1,
											  MCXT_ALLOC_NO_OOM);
		if (norm_buf == NULL)
			return NULL;
	}
	src = CleanQuerytext(queryDesc->sourceText, &location, &srclen);
	*len = org_normalize_query(src, srclen, norm_buf, org_query_text_length + 1);
	return norm_buf;
}

static int
usage_cmp(const void *a, const void *b)
{
	double		ua = (*(OrgQueryEntry *const *) a)->c.usage;
	double		ub = (*(OrgQueryEntry *const *) b)->c.usage;

	if (ua < ub)
		return -1;
	if (ua > ub)
		return 1;
	return 0;
}

/* a model group's hash: a cheap first test of a delta's group filter */
static uint32
group_hash(Oid dbid, int16 operation, const char *model)
{
	uint32		h = hash_bytes_uint32((uint32) dbid) ^ hash_bytes_uint32((uint32) operation);

	return hash_combine(h, hash_bytes((const unsigned char *) model, strlen(model)));
}

#define GROUP_BIT(h)	(UINT64CONST(1) << ((h) % 64))
#define GROUP_WORD(h)	(((h) / 64) % ORG_GROUP_FILTER_WORDS)

/* tells delta snapshots that an entry is gone (and its model changed) */
static void
log_query_removal(const OrgQueryEntry *entry)
{
	OrgRemoval	r;

	memset(&r, 0, sizeof(r));
	r.kind = ORG_REMOVED_QUERY;
	r.dbid = entry->key.dbid;
	r.userid = entry->key.userid;
	r.queryid = entry->key.queryid;
	r.worker_class = entry->key.worker_class;
	r.toplevel = entry->key.toplevel;
	r.operation = entry->operation;
	memcpy(r.model, entry->model, sizeof(r.model));
	org_removal_log(&r);
}

/*
 * Evict the least used entries in one pass.  Caller holds the lock
 * exclusively.
 */
static void
evict_entries(void)
{
	HASH_SEQ_STATUS hstat;
	OrgQueryEntry **entries;
	OrgQueryEntry *entry;
	int			n = 0;
	int			nvictims;
	int			i;
	long		total = hash_get_num_entries(qhash);

	entries = MemoryContextAllocExtended(CurrentMemoryContext,
										 sizeof(OrgQueryEntry *) * Max(total, 1),
										 MCXT_ALLOC_NO_OOM);
	if (entries == NULL)
		return;

	hash_seq_init(&hstat, qhash);
	while ((entry = hash_seq_search(&hstat)) != NULL)
	{
		entries[n++] = entry;
		/* exclusive lock: nobody updates counters now, no spinlock needed */
		entry->c.usage *= USAGE_DECAY;
	}

	nvictims = Max(EVICT_MIN, n * EVICT_PERCENT / 100);
	nvictims = Min(nvictims, n);

	qsort(entries, n, sizeof(OrgQueryEntry *), usage_cmp);

	for (i = 0; i < nvictims; i++)
	{
		log_query_removal(entries[i]);
		hash_search(qhash, &entries[i]->key, HASH_REMOVE, NULL);
	}

	SpinLockAcquire(&qshared->mutex);
	qshared->evictions += nvictims;
	qshared->eviction_runs++;
	SpinLockRelease(&qshared->mutex);

	pfree(entries);
}

static void
record_slow_sample(const OrgQueryKey *key, OrgOperation op, double ms,
				   int64 rows, RelInfo *ri, const char *text, int text_len)
{
	OrgSlowPayload *p;
	const char *app = application_name ? application_name : "";

	if (slow_buf == NULL)
	{
		slow_buf = MemoryContextAllocExtended(TopMemoryContext,
											  slow_payload_size(),
											  MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
		if (slow_buf == NULL)
			return;
	}
	p = slow_buf;
	p->s.ts = GetCurrentTimestamp();
	p->s.pid = MyProcPid;
	p->s.dbid = key->dbid;
	p->s.userid = key->userid;
	p->s.queryid = key->queryid;
	p->s.duration_ms = ms;
	p->s.rows = rows;
	p->s.operation = op;
	p->s.worker_class = key->worker_class;
	strlcpy(p->s.appname, app, sizeof(p->s.appname));
	strlcpy(p->s.relation, ri ? ri->relation : "", sizeof(p->s.relation));
	strlcpy(p->s.model, (ri && ri->is_model) ? ri->model : "", sizeof(p->s.model));
	text_len = Min(text_len, org_query_text_length);
	if (text != NULL && text_len > 0)
		memcpy(p->text, text, text_len);
	else
		text_len = 0;
	p->text[text_len] = '\0';
	p->text_len = text_len;
	org_ring_push(slow_ring, p);
}

static void
update_entry(OrgQueryEntry *entry, double ms, int64 rows, bool slow,
			 TimestampTz now)
{
	int			bucket = org_hist_bucket(ms);

	SpinLockAcquire(&entry->mutex);
	if (entry->c.calls == 0 || ms < entry->c.min_ms)
		entry->c.min_ms = ms;
	if (entry->c.calls == 0 || ms > entry->c.max_ms)
		entry->c.max_ms = ms;
	entry->c.calls++;
	entry->c.rows += rows;
	entry->c.total_ms += ms;
	entry->c.sum_sq_ms += ms * ms;
	entry->c.usage += 1.0;
	entry->c.hist[bucket]++;
	if (slow)
		entry->c.slow_calls++;
	entry->last_seen = now;
	/* one atomic read: the hot path never writes shared state for deltas */
	entry->generation = org_generation_current();
	SpinLockRelease(&entry->mutex);
}

static void
store_execution(QueryDesc *queryDesc, double ms)
{
	OrgQueryKey key;
	OrgQueryEntry *entry;
	PlannedStmt *stmt = queryDesc->plannedstmt;
	OrgOperation op = operation_of(queryDesc->operation);
	bool		has_row_lock = (stmt->rowMarks != NIL);
	bool		is_odoo;
	OrgWorkerClass wclass = appname_class(&is_odoo);
	RelInfo    *ri = relinfo_lookup(main_relation(stmt));
	int64		rows = queryDesc->estate->es_processed;
	bool		slow = (org_slow_query_ms >= 0 && ms >= org_slow_query_ms);
	TimestampTz now = GetCurrentStatementStartTimestamp();
	const char *text = NULL;
	int			text_len = 0;

	if (is_odoo && ri != NULL)
		wclass = org_worker_class_refine(wclass, is_odoo, ri->table, op,
										 has_row_lock);

	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.userid = GetUserId();
	key.queryid = stmt->queryId;
	key.worker_class = wclass;
	key.toplevel = (nesting_level == 0);

	LWLockAcquire(qshared->lock, LW_SHARED);
	entry = hash_search(qhash, &key, HASH_FIND, NULL);
	if (entry != NULL)
	{
		update_entry(entry, ms, rows, slow, now);
		LWLockRelease(qshared->lock);
	}
	else
	{
		bool		found;

		LWLockRelease(qshared->lock);

		/* normalize outside the exclusive lock */
		text = normalized_text(queryDesc, &text_len);

		LWLockAcquire(qshared->lock, LW_EXCLUSIVE);
		if (hash_get_num_entries(qhash) >= org_max_queries)
			evict_entries();
		entry = hash_search(qhash, &key, HASH_ENTER_NULL, &found);
		if (entry != NULL)
		{
			if (!found)
			{
				SpinLockInit(&entry->mutex);
				memset(&entry->c, 0, sizeof(entry->c));
				entry->first_seen = now;
				entry->last_seen = now;
				entry->operation = op;
				entry->has_row_lock = has_row_lock;
				strlcpy(entry->relation, ri ? ri->relation : "", sizeof(entry->relation));
				strlcpy(entry->model, (ri && ri->is_model) ? ri->model : "", sizeof(entry->model));
				entry->group_hash = group_hash(key.dbid, op, entry->model);
				entry->text_len = 0;
				if (text != NULL)
				{
					entry->text_len = Min(text_len, org_query_text_length);
					memcpy(entry->text, text, entry->text_len);
				}
				entry->text[entry->text_len] = '\0';
				/* new entries start above the least used, as in pgss */
				entry->c.usage = 1.0;
			}
			update_entry(entry, ms, rows, slow, now);
		}
		LWLockRelease(qshared->lock);
	}

	if (slow)
	{
		if (text == NULL)
			text = normalized_text(queryDesc, &text_len);
		record_slow_sample(&key, op, ms, rows, ri, text, text_len);
	}
}

static void
org_ExecutorEnd(QueryDesc *queryDesc)
{
	if (queryDesc->totaltime != NULL &&
		queryDesc->plannedstmt->queryId != UINT64CONST(0) &&
		tracking_enabled(nesting_level))
	{
		/* make sure the timer's totals are final */
		InstrEndLoop(queryDesc->totaltime);
		store_execution(queryDesc, queryDesc->totaltime->total * 1000.0);
	}

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* ---- readers: shared by the SQL views and the snapshot ---- */

/* a model group: (database, model, operation) */
typedef struct ModelKey
{
	Oid			dbid;
	int16		operation;
	char		model[NAMEDATALEN];
} ModelKey;

static void
model_key_set(ModelKey *key, Oid dbid, int16 operation, const char *model)
{
	memset(key, 0, sizeof(*key));
	key->dbid = dbid;
	key->operation = operation;
	strlcpy(key->model, model, sizeof(key->model));
}

/* a lookup in private memory, no allocation: fine under the shared lock */
static bool
entry_in_groups(HTAB *groups, const uint64 *bits, const OrgQueryEntry *entry)
{
	ModelKey	key;
	bool		found;

	if (entry->model[0] == '\0')
		return false;
	if ((bits[GROUP_WORD(entry->group_hash)] & GROUP_BIT(entry->group_hash)) == 0)
		return false;
	model_key_set(&key, entry->key.dbid, entry->operation, entry->model);
	hash_search(groups, &key, HASH_FIND, &found);
	return found;
}

/*
 * One entry as copied under the lock: the strings live here or in the text
 * arena, so the visitor can run with no lock held.
 */
typedef struct CopiedEntry
{
	OrgQueryStat s;
	char		relation[NAMEDATALEN * 2];
	char		model[NAMEDATALEN];
	Size		text_off;		/* into the text arena */
	int			text_len;
} CopiedEntry;

/* entries a delta copy makes room for before sizing the whole table */
#define DELTA_GUESS				512

/* attempts at a copy before taking whatever fits (new entries keep coming) */
#define FOREACH_COPY_ATTEMPTS	3

/*
 * Copies every entry under the shared lock into copies[] (and, with
 * with_text, their texts into the arena).  Returns false when the table
 * outgrew the buffers between sizing and copying; *n is what fitted.
 */
static bool
copy_entries(CopiedEntry *copies, int cap, char *texts, Size text_cap,
			 bool with_text, const OrgQueryFilter *filter, int *n)
{
	HASH_SEQ_STATUS hstat;
	OrgQueryEntry *entry;
	Size		text_used = 0;
	bool		complete = true;

	*n = 0;
	LWLockAcquire(qshared->lock, LW_SHARED);
	hash_seq_init(&hstat, qhash);
	while ((entry = hash_seq_search(&hstat)) != NULL)
	{
		CopiedEntry *c;

		if (*n >= cap ||
			(with_text && text_used + entry->text_len + 1 > text_cap))
		{
			complete = false;
			hash_seq_term(&hstat);
			break;
		}
		if (filter != NULL && filter->groups != NULL &&
			!entry_in_groups(filter->groups, filter->group_bits, entry))
			continue;
		c = &copies[*n];
		SpinLockAcquire(&entry->mutex);
		if (filter != NULL && filter->groups == NULL &&
			entry->generation <= filter->since)
		{
			/* unchanged since the reader's generation */
			SpinLockRelease(&entry->mutex);
			continue;
		}
		c->s.generation = entry->generation;
		c->s.c = entry->c;
		c->s.last_seen = entry->last_seen;
		SpinLockRelease(&entry->mutex);
		(*n)++;
		c->s.key = entry->key;
		c->s.first_seen = entry->first_seen;
		c->s.operation = entry->operation;
		c->s.has_row_lock = entry->has_row_lock;
		memcpy(c->relation, entry->relation, sizeof(c->relation));
		memcpy(c->model, entry->model, sizeof(c->model));
		c->text_off = text_used;
		c->text_len = 0;
		if (with_text)
		{
			/* the text is immutable once the entry exists */
			memcpy(texts + text_used, entry->text, entry->text_len);
			texts[text_used + entry->text_len] = '\0';
			c->text_len = entry->text_len;
			text_used += entry->text_len + 1;
		}
	}
	LWLockRelease(qshared->lock);
	return complete;
}

/*
 * Calls visit() for every statement with a consistent copy of its counters
 * (and its text when with_text; else the text is "").
 *
 * Everything is copied under the shared lock into memory allocated before
 * the lock is taken, and visit() runs after it is released: visitors
 * resolve names (catalog lookups that may wait on heavyweight locks) and
 * write tuplestores (which may spill to disk), and a backend creating a new
 * entry waits for this lock exclusively, where no timeout reaches it.  The
 * lock is held only for memcpy, as long as pg_stat_statements holds it to
 * read its entries.
 */
void
org_queries_foreach(OrgQueryVisitor visit, void *arg, bool with_text)
{
	org_queries_foreach_filtered(visit, arg, with_text, NULL);
}

/*
 * As org_queries_foreach, for the entries the filter selects: those changed
 * after filter->since, or with filter->groups those of the model groups in
 * it (whatever their generation).
 */
void
org_queries_foreach_filtered(OrgQueryVisitor visit, void *arg, bool with_text,
							 const OrgQueryFilter *filter)
{
	CopiedEntry *copies = NULL;
	char	   *texts = NULL;
	int			n = 0;
	int			attempt;
	int			i;

	org_require_shmem();

	for (attempt = 1; attempt <= FOREACH_COPY_ATTEMPTS; attempt++)
	{
		HASH_SEQ_STATUS hstat;
		OrgQueryEntry *entry;
		long		entries;
		Size		text_bytes = 0;
		int			cap;
		Size		text_cap;

		/* size the buffers: the count, and the texts' real lengths */
		LWLockAcquire(qshared->lock, LW_SHARED);
		entries = hash_get_num_entries(qhash);
		if (attempt == 1 && filter != NULL && filter->groups == NULL)
		{
			/*
			 * A delta: few entries changed, so no walk over all texts and no
			 * room for the whole table; room for DELTA_GUESS of them, and the
			 * full sizing if more did.
			 */
			LWLockRelease(qshared->lock);
			cap = (int) Min(entries + 16, DELTA_GUESS);
			text_cap = with_text ? (Size) cap * ((Size) org_query_text_length + 1) : 1;
			goto allocate;
		}
		if (with_text)
		{
			hash_seq_init(&hstat, qhash);
			while ((entry = hash_seq_search(&hstat)) != NULL)
				text_bytes += entry->text_len + 1;
		}
		LWLockRelease(qshared->lock);

		/* room for the entries created before the copy */
		cap = (int) Min((long) org_max_queries + EVICT_MIN,
						entries + entries / 8 + 16);
		text_cap = with_text ? text_bytes + text_bytes / 8 +
			16 * ((Size) org_query_text_length + 1) : 1;

allocate:
		if (copies != NULL)
		{
			pfree(copies);
			pfree(texts);
		}
		copies = MemoryContextAllocHuge(CurrentMemoryContext,
										sizeof(CopiedEntry) * Max(cap, 1));
		texts = MemoryContextAllocHuge(CurrentMemoryContext, text_cap);

		if (copy_entries(copies, cap, texts, text_cap, with_text, filter, &n))
			break;
	}

	for (i = 0; i < n; i++)
	{
		CopiedEntry *c = &copies[i];

		c->s.relation = c->relation;
		c->s.model = c->model;
		c->s.text = with_text ? texts + c->text_off : "";
		visit(&c->s, arg);
	}
	pfree(copies);
	pfree(texts);
}

typedef struct ModelSlot
{
	ModelKey	key;
	int			index;			/* into agg->out */
} ModelSlot;

void
org_model_agg_init(OrgModelAgg *agg)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ModelKey);
	ctl.entrysize = sizeof(ModelSlot);
	ctl.hcxt = CurrentMemoryContext;
	agg->groups = hash_create("odoo_retail_guard model groups", 64, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	agg->capacity = 64;
	agg->count = 0;
	agg->out = palloc(sizeof(OrgModelStat) * agg->capacity);
}

/* adds one statement to its (database, model, operation) group */
void
org_model_agg_add(OrgModelAgg *agg, const OrgQueryStat *q)
{
	ModelKey	key;
	ModelSlot  *slot;
	OrgModelStat *m;
	bool		found;
	int			b;

	if (q->model[0] == '\0' || q->c.calls == 0)
		return;
	model_key_set(&key, q->key.dbid, q->operation, q->model);
	slot = hash_search(agg->groups, &key, HASH_ENTER, &found);
	if (!found)
	{
		if (agg->count == agg->capacity)
		{
			agg->capacity *= 2;
			agg->out = repalloc(agg->out, sizeof(OrgModelStat) * agg->capacity);
		}
		slot->index = agg->count++;
		m = &agg->out[slot->index];
		memset(m, 0, sizeof(*m));
		m->dbid = key.dbid;
		m->operation = key.operation;
		memcpy(m->model, key.model, sizeof(m->model));
		m->min_ms = q->c.min_ms;
		m->max_ms = q->c.max_ms;
	}
	m = &agg->out[slot->index];
	m->statements++;
	m->calls += q->c.calls;
	m->rows += q->c.rows;
	m->slow_calls += q->c.slow_calls;
	m->total_ms += q->c.total_ms;
	m->min_ms = Min(m->min_ms, q->c.min_ms);
	m->max_ms = Max(m->max_ms, q->c.max_ms);
	m->generation = Max(m->generation, q->generation);
	for (b = 0; b < ORG_HIST_NBUCKETS; b++)
		m->hist[b] += q->c.hist[b];
}

OrgModelStat *
org_model_agg_finish(OrgModelAgg *agg, int *count)
{
	hash_destroy(agg->groups);
	*count = agg->count;
	return agg->out;
}

static void
model_agg_visit(const OrgQueryStat *s, void *arg)
{
	org_model_agg_add((OrgModelAgg *) arg, s);
}

OrgModelStat *
org_model_stats_collect(int *count)
{
	OrgModelAgg agg;

	org_model_agg_init(&agg);
	org_queries_foreach(model_agg_visit, &agg, false);
	return org_model_agg_finish(&agg, count);
}

void
org_model_groups_init(OrgQueryFilter *filter)
{
	HASHCTL		ctl;

	memset(filter, 0, sizeof(*filter));
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ModelKey);
	ctl.entrysize = sizeof(ModelKey);
	ctl.hcxt = CurrentMemoryContext;
	filter->groups = hash_create("odoo_retail_guard changed model groups", 64,
								 &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

void
org_model_groups_add(OrgQueryFilter *filter, Oid dbid, int16 operation,
					 const char *model)
{
	ModelKey	key;

	uint32		h;

	if (model[0] == '\0')
		return;
	model_key_set(&key, dbid, operation, model);
	hash_search(filter->groups, &key, HASH_ENTER, NULL);
	h = group_hash(dbid, operation, key.model);
	filter->group_bits[GROUP_WORD(h)] |= GROUP_BIT(h);
}

bool
org_model_groups_contains(const OrgQueryFilter *filter, Oid dbid,
						  int16 operation, const char *model)
{
	ModelKey	key;
	bool		found;

	model_key_set(&key, dbid, operation, model);
	hash_search(filter->groups, &key, HASH_FIND, &found);
	return found;
}

void
org_model_groups_forget(OrgQueryFilter *filter, Oid dbid, int16 operation,
						const char *model)
{
	ModelKey	key;

	model_key_set(&key, dbid, operation, model);
	hash_search(filter->groups, &key, HASH_REMOVE, NULL);
}

long
org_model_groups_count(const OrgQueryFilter *filter)
{
	return hash_get_num_entries(filter->groups);
}

/* the aggregates of the model groups in filter, from all their statements */
OrgModelStat *
org_model_stats_of_groups(const OrgQueryFilter *filter, int *count)
{
	OrgModelAgg agg;

	org_model_agg_init(&agg);
	if (org_model_groups_count(filter) > 0)
		org_queries_foreach_filtered(model_agg_visit, &agg, false, filter);
	return org_model_agg_finish(&agg, count);
}

typedef struct SlowCollect
{
	OrgSlowSample *out;
	int			count;
	int			capacity;
	bool		with_text;
} SlowCollect;

/* one ring entry into the result, its text copied at its real length */
static void
slow_sample_visit(uint64 id, const void *payload, void *arg)
{
	SlowCollect *sc = (SlowCollect *) arg;
	const OrgSlowPayload *p = (const OrgSlowPayload *) payload;
	OrgSlowSample *s;

	if (sc->count == sc->capacity)
	{
		sc->capacity *= 2;
		sc->out = repalloc_huge(sc->out, sizeof(OrgSlowSample) * sc->capacity);
	}
	s = &sc->out[sc->count++];
	*s = p->s;
	s->id = id;
	s->text = sc->with_text ?
		pnstrdup(p->text, Min(p->text_len, org_query_text_length)) : NULL;
}

/*
 * Samples with cursor < id < horizon, oldest first.  *gap is set when the
 * ring lost samples newer than the cursor before they were read.  The ring
 * is read in bounded chunks, so memory follows what is returned, not the
 * ring's size (payload x capacity reaches gigabytes at the GUCs' limits).
 */
OrgSlowSample *
org_slow_samples_since(uint64 cursor, uint64 horizon, int *count, bool *gap,
					   bool with_text)
{
	SlowCollect sc;

	org_require_shmem();

	sc.count = 0;
	sc.capacity = 16;
	sc.with_text = with_text;
	sc.out = palloc0(sizeof(OrgSlowSample) * sc.capacity);
	*gap = org_ring_foreach(slow_ring, cursor, horizon, slow_sample_visit, &sc);
	*count = sc.count;
	return sc.out;
}

void
org_queries_info(OrgQueriesInfo *info)
{
	org_require_shmem();

	LWLockAcquire(qshared->lock, LW_SHARED);
	info->entries = hash_get_num_entries(qhash);
	LWLockRelease(qshared->lock);

	SpinLockAcquire(&qshared->mutex);
	info->evictions = qshared->evictions;
	info->eviction_runs = qshared->eviction_runs;
	info->stats_reset = qshared->stats_reset;
	SpinLockRelease(&qshared->mutex);

	info->slow_written = org_ring_writes(slow_ring);
	info->max_entries = org_max_queries;
	info->slow_capacity = slow_ring->capacity;
	info->text_length = qshared->text_length;
	info->shmem_bytes = queries_shmem_size();
}

/*
 * Forget every statement and every slow sample.  Sample ids come from the
 * node's event sequence and are never reused, so an agent's cursor stays valid.
 */
void
org_queries_reset(void)
{
	HASH_SEQ_STATUS hstat;
	OrgQueryEntry *entry;

	org_require_shmem();

	LWLockAcquire(qshared->lock, LW_EXCLUSIVE);
	hash_seq_init(&hstat, qhash);
	while ((entry = hash_seq_search(&hstat)) != NULL)
		hash_search(qhash, &entry->key, HASH_REMOVE, NULL);
	/* too many to log one by one: delta readers get a full snapshot */
	org_removals_forget();

	org_ring_clear(slow_ring);

	SpinLockAcquire(&qshared->mutex);
	qshared->evictions = 0;
	qshared->eviction_runs = 0;
	qshared->stats_reset = GetCurrentTimestamp();
	SpinLockRelease(&qshared->mutex);
	LWLockRelease(qshared->lock);
}

double
org_query_mean_ms(const OrgQueryCounters *c)
{
	return c->calls > 0 ? c->total_ms / c->calls : 0.0;
}

double
org_query_stddev_ms(const OrgQueryCounters *c)
{
	double		mean = org_query_mean_ms(c);
	double		var;

	if (c->calls == 0)
		return 0.0;
	var = c->sum_sq_ms / c->calls - mean * mean;
	return var > 0 ? sqrt(var) : 0.0;
}

double
org_percentile_or_null(const uint64 *hist, double q, double min_ms,
					   double max_ms, bool *isnull)
{
	double		v = org_hist_percentile(hist, q, min_ms, max_ms);

	*isnull = (v < 0);
	return v;
}
