/*-------------------------------------------------------------------------
 *
 * destructive.c
 *		Journal of statements that destroy business data: DROP TABLE,
 *		TRUNCATE, and DELETE or UPDATE hitting more rows than
 *		odoo_retail_guard.destructive_min_rows.  Each entry carries the WAL
 *		insert LSN taken before the statement ran: the recovery target for a
 *		point-in-time restore to just before it.
 *
 * Hooks installed (all chained): ProcessUtility (DROP TABLE, TRUNCATE),
 * ExecutorStart (takes the LSN of a DELETE or UPDATE) and ExecutorEnd (counts
 * its rows).
 *
 * Locking: entries go to a ring (ring.c) whose spinlock is held only to take
 * an id and copy one slot; destructive statements are rare.  Nothing here
 * may fail the user's statement: buffers are allocated once per backend
 * without failing, catalog lookups run only for statements that qualify.
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

/* DML statements in flight whose LSN was taken at ExecutorStart */
#define PENDING_SLOTS			16

/*
 * A destructive event as stored in the ring: the reader's struct (its id
 * and text pointer unused here) followed by the normalized text itself.
 */
typedef struct DestructivePayload
{
	OrgDestructiveEvent ev;
	int			text_len;
	char		text[FLEXIBLE_ARRAY_MEMBER];
} DestructivePayload;

/* what a relation is, read before the statement can remove it */
typedef struct TargetRel
{
	char		relation[NAMEDATALEN * 2];
	char		model[NAMEDATALEN];
	int64		rows_estimate;
} TargetRel;

typedef struct PendingDml
{
	QueryDesc  *queryDesc;
	XLogRecPtr	lsn;
} PendingDml;

static OrgRing *ring = NULL;
static DestructivePayload *payload_buf = NULL;
static PendingDml pending[PENDING_SLOTS];
static int	pending_next = 0;

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

static void
record(OrgDestructiveKind kind, const TargetRel *t, int64 rows,
	   XLogRecPtr lsn, const char *source, int location, int len)
{
	DestructivePayload *p;
	const char *src;

	if (payload_buf == NULL)
	{
		payload_buf = MemoryContextAllocExtended(TopMemoryContext, payload_size(),
												 MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
		if (payload_buf == NULL)
			return;
	}
	p = payload_buf;
	p->ev.ts = GetCurrentTimestamp();
	p->ev.kind = kind;
	p->ev.pid = MyProcPid;
	p->ev.dbid = MyDatabaseId;
	p->ev.userid = GetUserId();
	p->ev.xid = GetTopTransactionIdIfAny();
	p->ev.lsn_before = lsn;
	p->ev.rows = rows;
	strlcpy(p->ev.appname, application_name ? application_name : "", sizeof(p->ev.appname));
	strlcpy(p->ev.relation, t->relation, sizeof(p->ev.relation));
	strlcpy(p->ev.model, t->model, sizeof(p->ev.model));
	p->text_len = 0;
	p->text[0] = '\0';
	if (source != NULL)
	{
		src = CleanQuerytext(source, &location, &len);
		p->text_len = org_normalize_query(src, len, p->text, org_query_text_length + 1);
	}
	/* statement time, none of our locks held: see cron_jobs.h */
	p->ev.origin = org_cron_event_origin(p->text, p->ev.relation,
										 &p->ev.cron_job_id, &p->ev.cron_pid);
	org_ring_push(ring, p);
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

	/* only statements that succeeded are journaled */
	if (targets != NIL)
	{
		ListCell   *lc;

		foreach(lc, targets)
		{
			TargetRel  *t = (TargetRel *) lfirst(lc);

			record(kind, t, t->rows_estimate, lsn, queryString,
				   pstmt->stmt_location, pstmt->stmt_len);
		}
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
	if (is_dml_journaled(queryDesc) && !(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		journal_enabled())
	{
		int			i;
		int			slot = -1;

		/* a descriptor that errored out earlier may have left its slot */
		for (i = 0; i < PENDING_SLOTS; i++)
		{
			if (pending[i].queryDesc == queryDesc || pending[i].queryDesc == NULL)
			{
				slot = i;
				break;
			}
		}
		if (slot < 0)
		{
			slot = pending_next;
			pending_next = (pending_next + 1) % PENDING_SLOTS;
		}
		pending[slot].queryDesc = queryDesc;
		pending[slot].lsn = GetXLogInsertRecPtr();
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static Oid
dml_target(PlannedStmt *stmt)
{
	Index		rti = linitial_int(stmt->resultRelations);

	/* a partitioned or inherited table: name the root, not a leaf */
	if (stmt->planTree != NULL && IsA(stmt->planTree, ModifyTable) &&
		((ModifyTable *) stmt->planTree)->rootRelation != 0)
		rti = ((ModifyTable *) stmt->planTree)->rootRelation;
	return rt_fetch(rti, stmt->rtable)->relid;
}

/* journal the DML statement if it hit enough rows; forget its LSN */
static void
finish_dml(QueryDesc *queryDesc)
{
	int			i;

	for (i = 0; i < PENDING_SLOTS; i++)
	{
		TargetRel	t;

		if (pending[i].queryDesc != queryDesc)
			continue;
		pending[i].queryDesc = NULL;
		if (!journal_enabled() || queryDesc->estate == NULL ||
			queryDesc->estate->es_processed <= (uint64) org_destructive_min_rows ||
			!IsTransactionState())
			return;

		memset(&t, 0, sizeof(t));
		if (target_rel(dml_target(queryDesc->plannedstmt), &t))
			record(queryDesc->operation == CMD_DELETE ? ORG_DESTRUCTIVE_DELETE
				   : ORG_DESTRUCTIVE_UPDATE,
				   &t, (int64) queryDesc->estate->es_processed,
				   pending[i].lsn, queryDesc->sourceText,
				   queryDesc->plannedstmt->stmt_location,
				   queryDesc->plannedstmt->stmt_len);
		return;
	}
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

void
org_destructive_install_hooks(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = org_destructive_ProcessUtility;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = org_destructive_ExecutorStart;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = org_destructive_ExecutorEnd;
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
		Datum		values[17];
		bool		nulls[17];
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
		Assert(c == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
