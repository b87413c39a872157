/*-------------------------------------------------------------------------
 *
 * destructive.c
 *		Journal of changes that destroy business data: DROP TABLE,
 *		TRUNCATE, and DELETE or UPDATE rows of one transaction on one
 *		relation past odoo_retail_guard.destructive_min_rows, summed over its
 *		statements (destructive_xact.c).  Each event carries the WAL insert
 *		LSN taken before the first statement that made it: the recovery
 *		target for a point-in-time restore to just before it.
 *
 * Hooks installed (all chained): ProcessUtility (DROP TABLE, TRUNCATE),
 * ExecutorStart (takes the LSN before the outermost DELETE or UPDATE) and
 * ExecutorEnd (counts its rows, and those of DELETE or UPDATE run inside it,
 * such as ON DELETE CASCADE, under it as their cause).
 *
 * Locking: events go to a ring (ring.c) whose LWLock is held only to take
 * an id and copy one slot, by org_destructive_write(), the one function
 * that writes an event.  Nothing here may fail the user's statement:
 * allocations do not fail, catalog lookups run only before a statement or
 * when its relation crosses the threshold, never after the commit.
 * Temporary tables are not business data and are not journaled.  A standby
 * runs no destructive statement, so nothing is recorded there.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/queryjumble.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "catalog/pg_authid.h"

#include "cron_jobs.h"
#include "destructive.h"
#include "normalize.h"
#include "odoo_classify.h"
#include "odoo_retail_guard.h"
#include "relation_label.h"
#include "sql_values.h"
#include "ring.h"

#define DESTRUCTIVE_RING_NAME	"odoo_retail_guard destructive events"

#define DESTRUCTIVE_COUNTERS_NAME	"odoo_retail_guard destructive counters"

/*
 * A destructive event as stored in the ring: the reader's struct (its id
 * and text pointer unused here) followed by the normalized text itself.
 */
struct DestructivePayload
{
	OrgDestructiveEvent ev;
	int			text_len;
	char		text[FLEXIBLE_ARRAY_MEMBER];
};

typedef struct DestructiveCounters
{
	pg_atomic_uint64 rolled_back;
	pg_atomic_uint64 untracked;
} DestructiveCounters;

/* what a relation is, read before the statement can remove it */
typedef struct TargetRel
{
	Oid			relid;
	char		relation[NAMEDATALEN * 2];
	char		model[NAMEDATALEN];
	int64		rows_estimate;
} TargetRel;

/* the outermost DELETE or UPDATE executing now: the cause of nested ones */
typedef struct OuterDml
{
	QueryDesc  *queryDesc;		/* NULL: none */
	int			level;			/* subtransaction level it started in */
	XLogRecPtr	lsn;
} OuterDml;

static OrgRing *ring = NULL;
static DestructiveCounters *counters = NULL;
static OuterDml outer;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

PG_FUNCTION_INFO_V1(org_destructive_events);

static Size
payload_size(void)
{
	return offsetof(DestructivePayload, text) + org_query_text_length + 1;
}

void
org_destructive_shmem_request(void)
{
	RequestAddinShmemSpace(org_ring_shmem_size(org_destructive_events_size,
											   payload_size()));
	RequestAddinShmemSpace(MAXALIGN(sizeof(DestructiveCounters)));
}

void
org_destructive_shmem_startup(void)
{
	bool		found;

	ring = ShmemInitStruct(DESTRUCTIVE_RING_NAME,
						   org_ring_shmem_size(org_destructive_events_size,
											   payload_size()),
						   &found);
	if (!found)
		org_ring_init(ring, org_destructive_events_size, payload_size());
	counters = ShmemInitStruct(DESTRUCTIVE_COUNTERS_NAME,
							   sizeof(DestructiveCounters), &found);
	if (!found)
	{
		pg_atomic_init_u64(&counters->rolled_back, 0);
		pg_atomic_init_u64(&counters->untracked, 0);
	}
}

/* lock-free: called as a transaction ends */
void
org_destructive_count(uint64 rolled_back, uint64 untracked)
{
	if (counters == NULL)
		return;
	if (rolled_back > 0)
		pg_atomic_fetch_add_u64(&counters->rolled_back, rolled_back);
	if (untracked > 0)
		pg_atomic_fetch_add_u64(&counters->untracked, untracked);
}

const char *
org_destructive_kind_name(int kind)
{
	switch (kind)
	{
		case ORG_DESTRUCTIVE_DROP_TABLE:
			return "drop_table";
		case ORG_DESTRUCTIVE_TRUNCATE:
			return "truncate";
		case ORG_DESTRUCTIVE_DELETE:
			return "delete";
		case ORG_DESTRUCTIVE_UPDATE:
			return "update";
		default:
			return "other";
	}
}

static bool
journal_enabled(void)
{
	return ring != NULL && !RecoveryInProgress();
}

/*
 * Name, model and row estimate of a relation.  False for what is not
 * journaled: gone, temporary, or not a table.
 */
static bool
target_rel(Oid relid, TargetRel *t)
{
	HeapTuple	tp;
	Form_pg_class cls;
	bool		keep;

	if (!OidIsValid(relid))
		return false;
	t->relid = relid;
	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tp))
		return false;
	cls = (Form_pg_class) GETSTRUCT(tp);
	keep = (cls->relpersistence != RELPERSISTENCE_TEMP &&
			(cls->relkind == RELKIND_RELATION ||
			 cls->relkind == RELKIND_PARTITIONED_TABLE));
	if (keep)
	{
		const char *relname = NameStr(cls->relname);

		t->rows_estimate = cls->reltuples < 0 ? -1 : (int64) cls->reltuples;
		org_relation_label(cls->relnamespace,
						   org_relation_label_needs_schema(cls->relnamespace) ?
						   get_namespace_name(cls->relnamespace) : NULL,
						   relname, t->relation, sizeof(t->relation),
						   t->model, sizeof(t->model));
	}
	ReleaseSysCache(tp);
	return keep;
}

/*
 * An event ready to be written but for its counts, at statement time:
 * catalog, text normalization and allocation are allowed here, not at
 * commit.  NULL when memory is short.
 */
static DestructivePayload *
prepare_payload(int16 kind, const TargetRel *t, const char *text,
				MemoryContext cxt)
{
	DestructivePayload *p;

	p = MemoryContextAllocExtended(cxt, payload_size(),
								   MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
	if (p == NULL)
		return NULL;
	p->ev.kind = kind;
	p->ev.xid = GetTopTransactionIdIfAny();
	strlcpy(p->ev.relation, t->relation, sizeof(p->ev.relation));
	strlcpy(p->ev.model, t->model, sizeof(p->ev.model));
	if (text != NULL)
		p->text_len = strlcpy(p->text, text, org_query_text_length + 1);
	p->text_len = Min(p->text_len, org_query_text_length);
	/* statement time, none of our locks held: see cron_jobs.h */
	p->ev.origin = org_cron_event_origin(p->text, p->ev.relation,
										 &p->ev.cron_job_id, &p->ev.cron_pid);
	return p;
}

DestructivePayload *
org_destructive_prepare(Oid relid, int16 kind, const char *text,
						MemoryContext cxt)
{
	TargetRel	t;

	memset(&t, 0, sizeof(t));
	if (!target_rel(relid, &t))
		return NULL;
	return prepare_payload(kind, &t, text, cxt);
}

/*
 * The one function that writes an event into the ring.  It runs after the
 * commit record (destructive_xact.c): it must not ERROR, read the catalog
 * or allocate; whatever an event needs from those is set in
 * prepare_payload().
 */
uint64
org_destructive_write(DestructivePayload *p, int64 rows, int32 statements,
					  XLogRecPtr lsn_before, uint64 cause_event_id)
{
	p->ev.ts = GetCurrentTimestamp();
	p->ev.pid = MyProcPid;
	p->ev.dbid = MyDatabaseId;
	p->ev.userid = GetUserId();
	strlcpy(p->ev.appname, application_name ? application_name : "", sizeof(p->ev.appname));
	p->ev.rows = rows;
	p->ev.statements = statements;
	p->ev.lsn_before = lsn_before;
	p->ev.cause_event_id = cause_event_id;
	return org_ring_push(ring, p);
}

/* ---- DROP TABLE and TRUNCATE ---- */

static List *
utility_targets(Node *stmt, OrgDestructiveKind *kind)
{
	List	   *targets = NIL;
	ListCell   *lc;

	if (IsA(stmt, TruncateStmt))
	{
		*kind = ORG_DESTRUCTIVE_TRUNCATE;
		foreach(lc, ((TruncateStmt *) stmt)->relations)
		{
			TargetRel  *t = palloc0(sizeof(TargetRel));

			if (target_rel(RangeVarGetRelid((RangeVar *) lfirst(lc), NoLock, true), t))
				targets = lappend(targets, t);
		}
	}
	else if (IsA(stmt, DropStmt) && ((DropStmt *) stmt)->removeType == OBJECT_TABLE)
	{
		*kind = ORG_DESTRUCTIVE_DROP_TABLE;
		foreach(lc, ((DropStmt *) stmt)->objects)
		{
			TargetRel  *t = palloc0(sizeof(TargetRel));
			RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));

			if (target_rel(RangeVarGetRelid(rv, NoLock, true), t))
				targets = lappend(targets, t);
		}
	}
	return targets;
}

static void
org_destructive_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
							   bool readOnlyTree, ProcessUtilityContext context,
							   ParamListInfo params, QueryEnvironment *queryEnv,
							   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	List	   *targets = NIL;
	OrgDestructiveKind kind = ORG_DESTRUCTIVE_TRUNCATE;
	XLogRecPtr	lsn = InvalidXLogRecPtr;

	if ((IsA(stmt, TruncateStmt) || IsA(stmt, DropStmt)) && journal_enabled())
	{
		/* before it runs: a dropped table is gone afterwards */
		targets = utility_targets(stmt, &kind);
		if (targets != NIL)
			lsn = GetXLogInsertRecPtr();
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	/* only statements that succeeded, journaled when their transaction commits */
	if (targets != NIL)
	{
		ListCell   *lc;
		char	   *text = palloc(org_query_text_length + 1);
		int			location = pstmt->stmt_location;
		int			len = pstmt->stmt_len;
		const char *src = CleanQuerytext(queryString, &location, &len);

		org_normalize_query(src, len, text, org_query_text_length + 1);
		foreach(lc, targets)
		{
			TargetRel  *t = (TargetRel *) lfirst(lc);
			DestructivePayload *p = prepare_payload(kind, t, text,
													org_journal_context());

			if (p != NULL)
				org_journal_add_event(t->relid, kind, lsn, t->rows_estimate, p);
		}
		pfree(text);
		list_free_deep(targets);
	}
}

/* ---- large DELETE and UPDATE ---- */

static bool
is_dml_journaled(QueryDesc *queryDesc)
{
	return (queryDesc->operation == CMD_DELETE ||
			queryDesc->operation == CMD_UPDATE) &&
		queryDesc->plannedstmt->resultRelations != NIL;
}

static void
org_destructive_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	/* the LSN before the outermost one: its cascades run inside it */
	if (outer.queryDesc == NULL && is_dml_journaled(queryDesc) &&
		!(eflags & EXEC_FLAG_EXPLAIN_ONLY) && journal_enabled())
	{
		outer.queryDesc = queryDesc;
		outer.level = GetCurrentTransactionNestLevel();
		outer.lsn = GetXLogInsertRecPtr();
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static Index
dml_target_rti(PlannedStmt *stmt)
{
	Index		rti = linitial_int(stmt->resultRelations);

	/* a partitioned or inherited table: name the root, not a leaf */
	if (stmt->planTree != NULL && IsA(stmt->planTree, ModifyTable) &&
		((ModifyTable *) stmt->planTree)->rootRelation != 0)
		rti = ((ModifyTable *) stmt->planTree)->rootRelation;
	return rti;
}

/*
 * The relation a running DELETE or UPDATE changes, InvalidOid when it is
 * not journaled (temporary, not a table).  Read from the executor's open
 * relation: no catalog lookup on the statement's path.
 */
static Oid
dml_target(QueryDesc *queryDesc)
{
	Index		rti = dml_target_rti(queryDesc->plannedstmt);
	EState	   *estate = queryDesc->estate;
	Oid			relid = rt_fetch(rti, queryDesc->plannedstmt->rtable)->relid;
	char		persistence;
	char		relkind;

	if (estate != NULL && estate->es_relations != NULL &&
		rti <= estate->es_range_table_size && estate->es_relations[rti - 1] != NULL)
	{
		Relation	rel = estate->es_relations[rti - 1];

		persistence = rel->rd_rel->relpersistence;
		relkind = rel->rd_rel->relkind;
	}
	else
	{
		persistence = get_rel_persistence(relid);
		relkind = get_rel_relkind(relid);
	}
	if (persistence == RELPERSISTENCE_TEMP ||
		(relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE))
		return InvalidOid;
	return relid;
}

static int16
dml_kind(QueryDesc *queryDesc)
{
	return queryDesc->operation == CMD_DELETE ? ORG_DESTRUCTIVE_DELETE
		: ORG_DESTRUCTIVE_UPDATE;
}

/* the table entry of a statement, added with its text the first time */
static int
dml_entry(QueryDesc *queryDesc, Oid relid, int cause, XLogRecPtr lsn)
{
	int16		kind = dml_kind(queryDesc);
	int			i = org_journal_find(relid, kind, cause);

	if (i < 0)
		i = org_journal_add(relid, kind, cause, lsn, queryDesc->sourceText,
							queryDesc->plannedstmt->stmt_location,
							queryDesc->plannedstmt->stmt_len);
	return i;
}

/* count the rows of a DELETE or UPDATE that ends, under its cause if nested */
static void
finish_dml(QueryDesc *queryDesc)
{
	EState	   *estate = queryDesc->estate;
	bool		is_outer = (outer.queryDesc == queryDesc);
	XLogRecPtr	lsn = outer.lsn;
	int			cause = -1;
	int			i;
	Oid			relid;

	if (is_outer)
		outer.queryDesc = NULL;
	if (estate == NULL || estate->es_processed == 0 ||
		(estate->es_top_eflags & EXEC_FLAG_EXPLAIN_ONLY) ||
		!journal_enabled() || !IsTransactionState())
		return;
	relid = dml_target(queryDesc);
	if (!OidIsValid(relid))
		return;

	if (!is_outer && outer.queryDesc != NULL)
	{
		Oid			cause_relid = dml_target(outer.queryDesc);

		if (OidIsValid(cause_relid))
			cause = dml_entry(outer.queryDesc, cause_relid, -1, outer.lsn);
	}
	else if (!is_outer)
		lsn = GetXLogInsertRecPtr();	/* its start went unseen */

	i = dml_entry(queryDesc, relid, cause, lsn);
	if (i >= 0)
		org_journal_count_rows(i, (int64) estate->es_processed);
}

static void
org_destructive_ExecutorEnd(QueryDesc *queryDesc)
{
	if (is_dml_journaled(queryDesc))
		finish_dml(queryDesc);

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* an outermost statement that errored out never reaches ExecutorEnd */
static void
outer_xact_callback(XactEvent event, void *arg)
{
	outer.queryDesc = NULL;
}

static void
outer_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && outer.queryDesc != NULL &&
		outer.level >= GetCurrentTransactionNestLevel())
		outer.queryDesc = NULL;
}

void
org_destructive_install_hooks(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = org_destructive_ProcessUtility;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = org_destructive_ExecutorStart;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = org_destructive_ExecutorEnd;
	RegisterXactCallback(outer_xact_callback, NULL);
	RegisterSubXactCallback(outer_subxact_callback, NULL);
	org_journal_register_callbacks();
}

/* ---- readers: shared by the SQL view and the snapshot ---- */

typedef struct DestructiveCollect
{
	OrgDestructiveEvent *out;
	int			count;
	int			capacity;
	bool		with_text;
} DestructiveCollect;

/* one ring entry into the result, its text copied at its real length */
static void
destructive_visit(uint64 id, const void *payload, void *arg)
{
	DestructiveCollect *dc = (DestructiveCollect *) arg;
	const DestructivePayload *p = (const DestructivePayload *) payload;
	OrgDestructiveEvent *e;

	if (dc->count == dc->capacity)
	{
		dc->capacity *= 2;
		dc->out = repalloc_huge(dc->out, sizeof(OrgDestructiveEvent) * dc->capacity);
	}
	e = &dc->out[dc->count++];
	*e = p->ev;
	e->id = id;
	e->text = dc->with_text ?
		pnstrdup(p->text, Min(p->text_len, org_query_text_length)) : NULL;
}

/* read in bounded chunks: memory follows what is returned (ring.h) */
OrgDestructiveEvent *
org_destructive_events_since(uint64 cursor, uint64 horizon, int *count,
							 bool *gap, bool with_text)
{
	DestructiveCollect dc;

	org_require_shmem();
	dc.count = 0;
	dc.capacity = 16;
	dc.with_text = with_text;
	dc.out = palloc0(sizeof(OrgDestructiveEvent) * dc.capacity);
	*gap = org_ring_foreach(ring, cursor, horizon, destructive_visit, &dc);
	*count = dc.count;
	return dc.out;
}

void
org_destructive_info(OrgDestructiveInfo *info)
{
	org_require_shmem();
	info->capacity = ring->capacity;
	info->written = org_ring_writes(ring);
	info->rolled_back = pg_atomic_read_u64(&counters->rolled_back);
	info->untracked_relations = pg_atomic_read_u64(&counters->untracked);
}

PG_FUNCTION_INFO_V1(org_destructive_journal_stats);

Datum
org_destructive_journal_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	OrgDestructiveInfo info;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("return type must be a row type")));
	org_destructive_info(&info);
	values[0] = Int64GetDatum((int64) info.written);
	values[1] = Int64GetDatum((int64) info.rolled_back);
	values[2] = Int64GetDatum((int64) info.untracked_relations);
	values[3] = Int32GetDatum(org_destructive_max_relations);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

Datum
org_destructive_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		cursor = PG_GETARG_INT64(0);
	bool		show_text = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	OrgDestructiveEvent *e;
	bool		gap;
	int			n;
	int			i;

	(void) org_cursor_arg(cursor);

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	e = org_destructive_events_since((uint64) cursor, org_ring_horizon(), &n,
									 &gap, show_text);
	for (i = 0; i < n; i++)
	{
		Datum		values[19];
		bool		nulls[19];
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		values[c++] = Int64GetDatum((int64) e[i].id);
		values[c++] = TimestampTzGetDatum(e[i].ts);
		values[c++] = CStringGetTextDatum(org_destructive_kind_name(e[i].kind));
		values[c++] = ObjectIdGetDatum(e[i].dbid);
		values[c++] = ObjectIdGetDatum(e[i].userid);
		values[c] = org_text_or_null(e[i].appname, &nulls[c]);
		c++;
		values[c++] = CStringGetTextDatum(e[i].relation);
		values[c] = org_text_or_null(e[i].model, &nulls[c]);
		c++;
		values[c] = Int64GetDatum(e[i].rows);
		nulls[c] = (e[i].rows < 0);
		c++;
		values[c++] = LSNGetDatum(e[i].lsn_before);
		values[c] = Int64GetDatum((int64) e[i].xid);
		nulls[c] = !TransactionIdIsValid(e[i].xid);
		c++;
		values[c++] = Int32GetDatum(e[i].pid);
		values[c] = org_text_or_null(e[i].text, &nulls[c]);
		c++;
		values[c++] = BoolGetDatum(gap);
		values[c++] = CStringGetTextDatum(org_event_origin_name(e[i].origin));
		values[c] = Int64GetDatum(e[i].cron_job_id);
		nulls[c] = (e[i].cron_job_id == 0);
		c++;
		values[c] = Int32GetDatum(e[i].cron_pid);
		nulls[c] = (e[i].cron_pid == 0);
		c++;
		values[c++] = Int32GetDatum(e[i].statements);
		values[c] = Int64GetDatum((int64) e[i].cause_event_id);
		nulls[c] = (e[i].cause_event_id == 0);
		c++;
		Assert(c == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
