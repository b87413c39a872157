/*-------------------------------------------------------------------------
 *
 * vacuum.c
 *		Autovacuum lag tracker and xmin horizon holders.
 *
 * Why dynamic workers: in PostgreSQL 15 a process reads only its own
 * database's catalogs and per-table statistics, and the sampler is
 * connected to no database.  On each vacuum interval the sampler lists
 * the databases (pg_database is a shared catalog it can read), picks the
 * next one in turn and starts one short-lived background worker connected
 * to it.  The worker reads pg_class, the reloptions and the cumulative
 * statistics in one query, computes the threshold autovacuum would use
 * (relation_needs_vacanalyze() in autovacuum.c is static, so its dead-tuple
 * formula is repeated here), writes one entry per table into a fixed
 * shared hash and exits.  Only one scan runs at a time; a database with
 * many tables costs one catalog query per visit, never a connection held
 * open.  Starting a backend is the main cost, so a database whose row
 * counters (inserted, updated, deleted) and last autovacuum time have not
 * moved since its last scan is skipped, up to VACUUM_RESCAN_S seconds (freeze
 * ages grow with other databases' transactions).
 *
 * Locking discipline: vac_shared->lock (LWLock) protects the table hash
 * and the per-database list.  The scan worker takes it exclusively once
 * per scan to write its results; readers take it shared to copy.  User
 * statements never take it.
 *
 * Horizon holders are read live, when asked, from PostgreSQL's own views
 * of the proc array, prepared transactions and slots, so they are never
 * older than the call.
 *
 * Both SPI queries run with search_path = pg_catalog, pg_temp: the
 * horizon query runs as whoever reads the view, and the scan worker as the
 * bootstrap superuser with the database's own settings, which its owner
 * may choose (ALTER DATABASE ... SET search_path).  A function or operator
 * planted in a schema earlier in the path must never be called.
 *
 * The sampler is one process that also samples locks and replication, so
 * its vacuum tick never waits for pg_database: when someone holds a
 * conflicting lock on it (LOCK pg_database, VACUUM FULL pg_database), the
 * tick is skipped and counted (sampler_status.vacuum_skips).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/resource.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "normalize.h"
#include "odoo_classify.h"
#include "odoo_cron.h"
#include "odoo_retail_guard.h"
#include "relation_label.h"
#include "text_clip.h"
#include "generation.h"
#include "vacuum.h"

#define VACUUM_TRANCHE		"odoo_retail_guard_vacuum"
#define VACUUM_SHMEM_NAME	"odoo_retail_guard vacuum"
#define VACUUM_HASH_NAME	"odoo_retail_guard vacuum tables"
#define VACUUM_MAX_DBS		512
#define VACUUM_RESCAN_S		10

typedef struct VacKey
{
	Oid			dbid;
	Oid			relid;
} VacKey;

typedef struct VacEntry
{
	VacKey		key;			/* hash key, must be first */
	uint64		generation;		/* scan of its database that wrote it */
	OrgAutovacuumLag lag;		/* query pointer unused */
} VacEntry;

typedef struct VacDb
{
	Oid			dbid;
	uint64		generation;
	TimestampTz scanned_at;
} VacDb;

typedef struct OrgVacuumShared
{
	LWLock	   *lock;
	int			capacity;
	uint64		untracked;
	uint64		scans;
	uint64		skipped_ticks;	/* pg_database was locked */
	double		scan_cpu_us;	/* CPU used by scan workers, start-up included */
	int			ndbs;
	VacDb		dbs[VACUUM_MAX_DBS];
} OrgVacuumShared;

static OrgVacuumShared *vac_shared = NULL;
static HTAB *vac_hash = NULL;
static SPIPlanPtr horizon_plan = NULL;	/* per backend, kept */

static void log_vacuum_removal(const VacEntry *e);

/* sampler-local */
typedef struct DbActivity
{
	Oid			dbid;
	uint64		signature;		/* row counters + last autovacuum at the scan */
	TimestampTz scanned;		/* when its last scan was started */
} DbActivity;

static BackgroundWorkerHandle *scan_handle = NULL;
static Oid	last_scanned_db = InvalidOid;
static DbActivity *activity = NULL;
static int	nactivity = 0;

/*
 * One query per database.  Thresholds follow relation_needs_vacanalyze():
 * per-table reloptions override the GUCs; reltuples of -1 (never vacuumed
 * or analyzed) counts as 0; a per-table freeze max age can only lower the
 * global one.
 */
static const char *const scan_query =
"SELECT c.oid, n.nspname, c.relname, "
"       greatest(c.reltuples, 0)::float8 AS reltuples, "
"       pg_stat_get_live_tuples(c.oid), pg_stat_get_dead_tuples(c.oid), "
"       (coalesce(o.thresh, current_setting('autovacuum_vacuum_threshold')::float8) "
"        + coalesce(o.scale, current_setting('autovacuum_vacuum_scale_factor')::float8) "
"          * greatest(c.reltuples, 0))::float8 AS threshold, "
"       coalesce(o.enabled, true) AND current_setting('autovacuum')::bool, "
"       pg_stat_get_last_vacuum_time(c.oid), pg_stat_get_last_autovacuum_time(c.oid), "
"       pg_stat_get_last_analyze_time(c.oid), pg_stat_get_last_autoanalyze_time(c.oid), "
"       age(c.relfrozenxid)::int8, mxid_age(c.relminmxid)::int8, "
"       least(coalesce(o.fmax, current_setting('autovacuum_freeze_max_age')::int8), "
"             current_setting('autovacuum_freeze_max_age')::int8), "
"       p.pid, p.phase::int4, c.relnamespace "
"FROM pg_catalog.pg_class c "
"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
"LEFT JOIN LATERAL ("
"   SELECT max(CASE WHEN option_name = 'autovacuum_vacuum_threshold' THEN option_value::float8 END) AS thresh, "
"          max(CASE WHEN option_name = 'autovacuum_vacuum_scale_factor' THEN option_value::float8 END) AS scale, "
"          bool_and(CASE WHEN option_name = 'autovacuum_enabled' THEN option_value::bool END) AS enabled, "
"          max(CASE WHEN option_name = 'autovacuum_freeze_max_age' THEN option_value::int8 END) AS fmax "
"   FROM pg_catalog.pg_options_to_table(c.reloptions)) o ON true "
"LEFT JOIN (SELECT pid, relid, param1 AS phase FROM pg_catalog.pg_stat_get_progress_info('VACUUM') "
"           WHERE datid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) p "
"       ON p.relid = c.oid "
"WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'";

static const char *const horizon_query =
"SELECT CASE WHEN a.backend_type = 'walsender' THEN 'standby_feedback' ELSE 'backend' END, "
"       a.pid, a.datid, a.application_name, a.state, a.xact_start, "
"       CASE WHEN a.backend_xid IS NULL THEN a.backend_xmin "
"            WHEN a.backend_xmin IS NULL THEN a.backend_xid "
"            WHEN age(a.backend_xid) >= age(a.backend_xmin) THEN a.backend_xid "
"            ELSE a.backend_xmin END, "
"       greatest(age(a.backend_xid), age(a.backend_xmin))::int8, "
"       NULL::text, a.query "
"FROM pg_catalog.pg_stat_activity a "
"WHERE (a.backend_xmin IS NOT NULL OR a.backend_xid IS NOT NULL) "
"  AND a.pid <> pg_catalog.pg_backend_pid() "
"  AND a.backend_type NOT IN ('autovacuum worker', 'odoo_retail_guard vacuum scan') "
"UNION ALL "
"SELECT 'prepared_xact', NULL, d.oid, NULL, NULL, p.prepared, p.transaction, "
"       age(p.transaction)::int8, p.gid, NULL "
"FROM pg_catalog.pg_prepared_xacts p LEFT JOIN pg_catalog.pg_database d ON d.datname = p.database "
"UNION ALL "
"SELECT 'replication_slot', s.active_pid, s.datoid, NULL, NULL, NULL, "
"       CASE WHEN s.xmin IS NULL THEN s.catalog_xmin "
"            WHEN s.catalog_xmin IS NULL THEN s.xmin "
"            WHEN age(s.xmin) >= age(s.catalog_xmin) THEN s.xmin ELSE s.catalog_xmin END, "
"       greatest(age(s.xmin), age(s.catalog_xmin))::int8, s.slot_name::text, NULL "
"FROM pg_catalog.pg_replication_slots s "
"WHERE s.xmin IS NOT NULL OR s.catalog_xmin IS NOT NULL "
"ORDER BY 8 DESC";

static Size
vacuum_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(OrgVacuumShared)),
					hash_estimate_size(org_max_tracked_tables, sizeof(VacEntry)));
}

void
org_vacuum_shmem_request(void)
{
	RequestAddinShmemSpace(vacuum_shmem_size());
	RequestNamedLWLockTranche(VACUUM_TRANCHE, 1);
}

void
org_vacuum_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	vac_shared = ShmemInitStruct(VACUUM_SHMEM_NAME, sizeof(OrgVacuumShared), &found);
	if (!found)
	{
		vac_shared->lock = &(GetNamedLWLockTranche(VACUUM_TRANCHE))->lock;
		vac_shared->capacity = org_max_tracked_tables;
		vac_shared->untracked = 0;
		vac_shared->scans = 0;
		vac_shared->skipped_ticks = 0;
		vac_shared->scan_cpu_us = 0;
		vac_shared->ndbs = 0;
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(VacKey);
	info.entrysize = sizeof(VacEntry);
	vac_hash = ShmemInitHash(VACUUM_HASH_NAME,
							 org_max_tracked_tables, org_max_tracked_tables,
							 &info, HASH_ELEM | HASH_BLOBS);
}

/* ---------------------------------------------------------------------
 * Sampler side
 * ---------------------------------------------------------------------
 */

static bool
database_wanted(const char *datname)
{
	char	   *raw;
	List	   *names;
	ListCell   *lc;
	bool		wanted = false;

	if (org_vacuum_databases == NULL || org_vacuum_databases[0] == '\0' ||
		strcmp(org_vacuum_databases, "*") == 0)
		return true;
	raw = pstrdup(org_vacuum_databases);
	if (!SplitIdentifierString(raw, ',', &names))
		return false;
	foreach(lc, names)
	{
		if (strcmp((char *) lfirst(lc), datname) == 0)
			wanted = true;
	}
	return wanted;
}

/* what changes in a database when its tables may need a new look */
static uint64
database_signature(Oid dbid)
{
	PgStat_StatDBEntry *db = pgstat_fetch_stat_dbentry(dbid);

	if (db == NULL)
		return 0;
	return (uint64) db->n_tuples_inserted + (uint64) db->n_tuples_updated +
		(uint64) db->n_tuples_deleted + (uint64) db->last_autovac_time;
}

/*
 * Our read-only queries, with a search_path that only reaches pg_catalog
 * (pg_temp last, and never for functions and operators).  An error on the
 * way restores the caller's setting with the (sub)transaction's abort.
 */
static int
spi_execute_pinned(const char *query)
{
	int			nestlevel = NewGUCNestLevel();
	int			ret;

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	ret = SPI_execute(query, true, 0);
	AtEOXact_GUC(true, nestlevel);
	return ret;
}

/*
 * As spi_execute_pinned, with a plan prepared once per backend and kept: a
 * snapshot runs the horizon query at every poll, and parsing and planning
 * it each time cost half of a delta snapshot.  The plan cache replans it
 * when the catalogs it uses change.
 */
static int
spi_execute_pinned_kept(SPIPlanPtr *plan, const char *query)
{
	int			nestlevel = NewGUCNestLevel();
	int			ret;

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(query, 0, NULL);

		if (p == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("odoo_retail_guard could not prepare a query: %s",
							SPI_result_code_string(SPI_result))));
		if (SPI_keepplan(p) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("odoo_retail_guard could not keep a query plan")));
		*plan = p;
	}
	ret = SPI_execute_plan(*plan, NULL, NULL, true, 0);
	AtEOXact_GUC(true, nestlevel);
	return ret;
}

/*
 * Databases that accept connections, are no templates and are wanted,
 * sorted by oid, with their activity signature.  NULL when pg_database
 * cannot be read without waiting.
 */
static Oid *
list_databases(int *count, uint64 **signatures)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid		   *oids = NULL;
	int			n = 0;
	int			cap = 16;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int			i;

	StartTransactionCommand();
	if (!ConditionalLockRelationOid(DatabaseRelationId, AccessShareLock))
	{
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
		*count = 0;
		return NULL;
	}
	oids = MemoryContextAlloc(cxt, sizeof(Oid) * cap);
	rel = table_open(DatabaseRelationId, NoLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (!db->datallowconn || db->datistemplate)
			continue;
		if (!database_wanted(NameStr(db->datname)))
			continue;
		if (n == cap)
		{
			cap *= 2;
			oids = repalloc(oids, sizeof(Oid) * cap);
		}
		oids[n++] = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	qsort(oids, n, sizeof(Oid), oid_cmp);
	*signatures = MemoryContextAlloc(cxt, sizeof(uint64) * Max(n, 1));
	for (i = 0; i < n; i++)
		(*signatures)[i] = database_signature(oids[i]);

	/* also drops the statistics snapshot */
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);

	*count = n;
	return oids;
}

static DbActivity *
activity_of(Oid dbid)
{
	int			i;

	for (i = 0; i < nactivity; i++)
	{
		if (activity[i].dbid == dbid)
			return &activity[i];
	}
	return NULL;
}

/* a database needs a scan when it changed or was not scanned for a while */
static bool
needs_scan(Oid dbid, uint64 signature, TimestampTz now)
{
	DbActivity *a = activity_of(dbid);

	if (a == NULL)
		return true;
	return a->signature != signature ||
		TimestampDifferenceExceeds(a->scanned, now, VACUUM_RESCAN_S * 1000);
}

static void
remember_scan(Oid dbid, uint64 signature, TimestampTz now)
{
	DbActivity *a = activity_of(dbid);

	if (activity == NULL)
		activity = MemoryContextAllocZero(TopMemoryContext,
										  sizeof(DbActivity) * VACUUM_MAX_DBS);
	if (a == NULL)
	{
		if (nactivity >= VACUUM_MAX_DBS)
			nactivity = 0;		/* forget them all: they will be scanned */
		a = &activity[nactivity++];
		a->dbid = dbid;
	}
	a->signature = signature;
	a->scanned = now;
}

/* forget tables of databases no longer listed; caller holds no lock */
static void
forget_other_databases(Oid *oids, int n)
{
	HASH_SEQ_STATUS seq;
	VacEntry   *e;
	int			i;
	int			kept = 0;
	bool		stale = false;

	LWLockAcquire(vac_shared->lock, LW_SHARED);
	for (i = 0; i < vac_shared->ndbs; i++)
	{
		if (bsearch(&vac_shared->dbs[i].dbid, oids, n, sizeof(Oid), oid_cmp) == NULL)
			stale = true;
	}
	LWLockRelease(vac_shared->lock);
	if (!stale)
		return;

	LWLockAcquire(vac_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, vac_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (bsearch(&e->key.dbid, oids, n, sizeof(Oid), oid_cmp) == NULL)
		{
			log_vacuum_removal(e);
			hash_search(vac_hash, &e->key, HASH_REMOVE, NULL);
		}
	}
	for (i = 0; i < vac_shared->ndbs; i++)
	{
		if (bsearch(&vac_shared->dbs[i].dbid, oids, n, sizeof(Oid), oid_cmp) != NULL)
			vac_shared->dbs[kept++] = vac_shared->dbs[i];
	}
	vac_shared->ndbs = kept;
	LWLockRelease(vac_shared->lock);
}

/* index of the first database after the last one scanned */
static int
start_index(Oid *oids, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (oids[i] > last_scanned_db)
			return i;
	}
	return 0;
}

void
org_vacuum_sample(void)
{
	BackgroundWorker worker;
	Oid		   *oids;
	uint64	   *signatures;
	uint64		signature = 0;
	Oid			next = InvalidOid;
	TimestampTz now;
	int			first;
	int			n;
	int			i;

	if (scan_handle != NULL)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(scan_handle, &pid) != BGWH_STOPPED)
			return;				/* the previous scan still runs */
		pfree(scan_handle);
		scan_handle = NULL;
	}

	oids = list_databases(&n, &signatures);
	if (oids == NULL)
	{
		LWLockAcquire(vac_shared->lock, LW_EXCLUSIVE);
		vac_shared->skipped_ticks++;
		LWLockRelease(vac_shared->lock);
		ereport(DEBUG1,
				(errmsg("odoo_retail_guard vacuum tick skipped: pg_database is locked")));
		return;
	}
	forget_other_databases(oids, n);
	if (n == 0)
		return;

	/* the next database after the last one scanned, in oid order, that needs it */
	now = GetCurrentTimestamp();
	first = start_index(oids, n);
	for (i = 0; i < n; i++)
	{
		int			k = (first + i) % n;

		if (needs_scan(oids[k], signatures[k], now))
		{
			next = oids[k];
			signature = signatures[k];
			break;
		}
	}
	if (!OidIsValid(next))
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, ORG_NAME, BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "org_vacuum_scan_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "odoo_retail_guard vacuum scan of database %u", next);
	strlcpy(worker.bgw_type, "odoo_retail_guard vacuum scan", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(next);
	worker.bgw_notify_pid = 0;

	/* the handle must outlive the tick's memory */
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		bool		started = RegisterDynamicBackgroundWorker(&worker, &scan_handle);

		MemoryContextSwitchTo(old);
		if (!started)
		{
			/* no free worker slot now: try again next interval */
			scan_handle = NULL;
			return;
		}
	}
	last_scanned_db = next;
	remember_scan(next, signature, now);
}

/* ---------------------------------------------------------------------
 * Scan worker
 * ---------------------------------------------------------------------
 */

static const char *
vacuum_phase_name(int phase)
{
	switch (phase)
	{
		case 0:
			return "initializing";
		case 1:
			return "scanning heap";
		case 2:
			return "vacuuming indexes";
		case 3:
			return "vacuuming heap";
		case 4:
			return "cleaning up indexes";
		case 5:
			return "truncating heap";
		case 6:
			return "performing final cleanup";
	}
	return "unknown";
}

static Datum
spi_value(HeapTuple tup, TupleDesc desc, int col, bool *isnull)
{
	return SPI_getbinval(tup, desc, col, isnull);
}

static TimestampTz
spi_ts(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = spi_value(tup, desc, col, &isnull);

	return isnull ? 0 : DatumGetTimestampTz(d);
}

static int64
spi_int8(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = spi_value(tup, desc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static double
spi_float8(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = spi_value(tup, desc, col, &isnull);

	return isnull ? 0 : DatumGetFloat8(d);
}

static void
row_to_lag(HeapTuple tup, TupleDesc desc, OrgAutovacuumLag *l, TimestampTz now)
{
	bool		isnull;
	char	   *nspname = SPI_getvalue(tup, desc, 2);
	char	   *relname = SPI_getvalue(tup, desc, 3);
	Datum		d;

	memset(l, 0, sizeof(OrgAutovacuumLag));
	l->dbid = MyDatabaseId;
	l->relid = DatumGetObjectId(spi_value(tup, desc, 1, &isnull));
	org_relation_label(DatumGetObjectId(spi_value(tup, desc, 18, &isnull)),
					   nspname, relname, l->relation, sizeof(l->relation),
					   l->model, sizeof(l->model));
	l->reltuples = spi_float8(tup, desc, 4);
	l->live_tuples = spi_int8(tup, desc, 5);
	l->dead_tuples = spi_int8(tup, desc, 6);
	l->threshold = spi_float8(tup, desc, 7);
	d = spi_value(tup, desc, 8, &isnull);
	l->autovacuum_enabled = isnull ? true : DatumGetBool(d);
	l->last_vacuum = spi_ts(tup, desc, 9);
	l->last_autovacuum = spi_ts(tup, desc, 10);
	l->last_analyze = spi_ts(tup, desc, 11);
	l->last_autoanalyze = spi_ts(tup, desc, 12);
	l->xid_age = spi_int8(tup, desc, 13);
	l->mxid_age = spi_int8(tup, desc, 14);
	l->freeze_max_age = spi_int8(tup, desc, 15);
	d = spi_value(tup, desc, 16, &isnull);
	if (!isnull)
	{
		l->vacuum_running = true;
		l->vacuum_pid = DatumGetInt32(d);
		d = spi_value(tup, desc, 17, &isnull);
		strlcpy(l->vacuum_phase, vacuum_phase_name(isnull ? -1 : DatumGetInt32(d)),
				ORG_VACUUM_PHASE_LEN);
	}
	l->dead_over_threshold = l->threshold > 0 ? l->dead_tuples / l->threshold : 0;
	l->scanned_at = now;
}

static VacDb *
vac_db(Oid dbid)
{
	int			i;

	for (i = 0; i < vac_shared->ndbs; i++)
	{
		if (vac_shared->dbs[i].dbid == dbid)
			return &vac_shared->dbs[i];
	}
	if (vac_shared->ndbs >= VACUUM_MAX_DBS)
		return NULL;
	i = vac_shared->ndbs++;
	vac_shared->dbs[i].dbid = dbid;
	vac_shared->dbs[i].generation = 0;
	vac_shared->dbs[i].scanned_at = 0;
	return &vac_shared->dbs[i];
}

/*
 * The new figures of a table, stamped with the generation of their last
 * change: the previous stamp when only the scan time moved.
 */
static OrgAutovacuumLag
lag_with_generation(const OrgAutovacuumLag *old, const OrgAutovacuumLag *row)
{
	OrgAutovacuumLag next = *row;

	if (old != NULL)
	{
		/* both were zeroed before filling (row_to_lag): padding compares equal */
		next.scanned_at = old->scanned_at;
		next.lag_s = old->lag_s;
		next.changed_generation = old->changed_generation;
		if (memcmp(&next, old, sizeof(next)) == 0)
		{
			next.scanned_at = row->scanned_at;
			return next;
		}
	}
	next.scanned_at = row->scanned_at;
	next.lag_s = row->lag_s;
	next.changed_generation = org_generation_current();
	return next;
}

/* tells delta snapshots that a table is no longer tracked */
static void
log_vacuum_removal(const VacEntry *e)
{
	OrgRemoval	r;

	memset(&r, 0, sizeof(r));
	r.kind = ORG_REMOVED_AUTOVACUUM_LAG;
	r.dbid = e->key.dbid;
	r.relid = e->key.relid;
	memcpy(r.relation, e->lag.relation, sizeof(r.relation));
	org_removal_log(&r);
}

/* write one database's scan; caller holds the lock exclusively */
static void
store_scan(OrgAutovacuumLag *rows, int n, TimestampTz now)
{
	VacDb	   *db = vac_db(MyDatabaseId);
	HASH_SEQ_STATUS seq;
	VacEntry   *e;
	uint64		generation;
	int			i;

	if (db == NULL)
		return;
	generation = ++db->generation;
	db->scanned_at = now;

	for (i = 0; i < n; i++)
	{
		VacKey		key;
		bool		found;
		TimestampTz since = 0;
		bool		over;

		key.dbid = rows[i].dbid;
		key.relid = rows[i].relid;
		e = hash_search(vac_hash, &key, HASH_FIND, &found);
		if (e == NULL)
		{
			/* the hash is sized by max_tracked_tables: never grow past it */
			if (hash_get_num_entries(vac_hash) < vac_shared->capacity)
				e = hash_search(vac_hash, &key, HASH_ENTER_NULL, &found);
			if (e == NULL)
			{
				vac_shared->untracked++;
				continue;
			}
		}
		if (found)
			since = e->lag.over_threshold_since;

		/* autovacuum's test: dead tuples strictly above the threshold */
		over = rows[i].dead_tuples > rows[i].threshold;
		if (!over)
			since = 0;
		else if (since == 0)
			since = now;
		rows[i].over_threshold_since = since;
		e->generation = generation;
		e->lag = lag_with_generation(found ? &e->lag : NULL, &rows[i]);
	}

	/* tables gone since the last scan */
	hash_seq_init(&seq, vac_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->key.dbid == MyDatabaseId && e->generation != generation)
		{
			log_vacuum_removal(e);
			hash_search(vac_hash, &e->key, HASH_REMOVE, NULL);
		}
	}
	vac_shared->scans++;
}

void
org_vacuum_scan_main(Datum main_arg)
{
	Oid			dbid = DatumGetObjectId(main_arg);
	OrgAutovacuumLag *rows;
	TimestampTz now;
	uint64		n;
	uint64		i;
	int			ret;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("odoo_retail_guard vacuum scan could not connect to SPI")));
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "odoo_retail_guard autovacuum lag scan");

	ret = spi_execute_pinned(scan_query);
	if (ret != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("odoo_retail_guard vacuum scan query failed: %s",
						SPI_result_code_string(ret))));

	now = GetCurrentTimestamp();
	n = SPI_processed;
	rows = palloc(sizeof(OrgAutovacuumLag) * Max(n, 1));
	for (i = 0; i < n; i++)
		row_to_lag(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, &rows[i], now);

	LWLockAcquire(vac_shared->lock, LW_EXCLUSIVE);
	store_scan(rows, (int) n, now);
	LWLockRelease(vac_shared->lock);

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	/* what a scan costs, for the benchmark and the curious */
	{
		struct rusage ru;

		if (getrusage(RUSAGE_SELF, &ru) == 0)
		{
			double		us = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
				ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;

			LWLockAcquire(vac_shared->lock, LW_EXCLUSIVE);
			vac_shared->scan_cpu_us += us;
			LWLockRelease(vac_shared->lock);
		}
	}
	proc_exit(0);
}

/* ---------------------------------------------------------------------
 * Read accessors
 * ---------------------------------------------------------------------
 */

static int
lag_cmp(const void *a, const void *b)
{
	const OrgAutovacuumLag *x = a;
	const OrgAutovacuumLag *y = b;

	/* over threshold first, longest lag first, then the highest ratio */
	if ((x->over_threshold_since != 0) != (y->over_threshold_since != 0))
		return x->over_threshold_since != 0 ? -1 : 1;
	if (x->lag_s != y->lag_s)
		return x->lag_s > y->lag_s ? -1 : 1;
	if (x->dead_over_threshold != y->dead_over_threshold)
		return x->dead_over_threshold > y->dead_over_threshold ? -1 : 1;
	return (x->xid_age < y->xid_age) - (x->xid_age > y->xid_age);
}

OrgAutovacuumLag *
org_autovacuum_lag_collect(int *count)
{
	OrgAutovacuumLag *out;
	HASH_SEQ_STATUS seq;
	VacEntry   *e;
	TimestampTz now = GetCurrentTimestamp();
	int			n = 0;
	int			cap;

	/* sized under the lock, allocated outside it: it may exceed 1 GB */
	LWLockAcquire(vac_shared->lock, LW_SHARED);
	cap = (int) hash_get_num_entries(vac_hash);
	LWLockRelease(vac_shared->lock);
	cap = (int) Min((int64) cap + cap / 8 + 16, (int64) vac_shared->capacity);
	out = MemoryContextAllocHuge(CurrentMemoryContext,
								 sizeof(OrgAutovacuumLag) * Max(cap, 1));

	LWLockAcquire(vac_shared->lock, LW_SHARED);
	hash_seq_init(&seq, vac_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (n >= cap)
		{
			hash_seq_term(&seq);
			break;
		}
		out[n] = e->lag;
		out[n].lag_s = out[n].over_threshold_since != 0 ?
			Max(0, (now - out[n].over_threshold_since) / 1000000.0) : 0;
		n++;
	}
	LWLockRelease(vac_shared->lock);

	qsort(out, n, sizeof(OrgAutovacuumLag), lag_cmp);
	*count = n;
	return out;
}

OrgVacuumHorizon *
org_vacuum_horizon_collect(int *count, bool with_text)
{
	OrgVacuumHorizon *out = NULL;
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();
	uint64		n;
	uint64		i;
	int			ret;

	*count = 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("odoo_retail_guard could not connect to SPI")));
	ret = spi_execute_pinned_kept(&horizon_plan, horizon_query);
	if (ret != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("odoo_retail_guard horizon query failed: %s",
						SPI_result_code_string(ret))));

	n = SPI_processed;
	out = MemoryContextAllocZero(cxt, sizeof(OrgVacuumHorizon) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		OrgVacuumHorizon *h = &out[i];
		bool		isnull;
		Datum		d;
		char	   *s;

		s = SPI_getvalue(tup, desc, 1);
		strlcpy(h->holder_kind, s, ORG_HOLDER_KIND_LEN);
		d = SPI_getbinval(tup, desc, 2, &isnull);
		h->pid = isnull ? 0 : DatumGetInt32(d);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		h->dbid = isnull ? InvalidOid : DatumGetObjectId(d);
		s = SPI_getvalue(tup, desc, 4);
		if (s)
			org_text_clip(h->application_name, s, NAMEDATALEN);
		h->worker_class = org_worker_class_from_appname(h->application_name,
														org_odoo_appname_prefix);
		s = SPI_getvalue(tup, desc, 5);
		if (s)
			strlcpy(h->state, s, sizeof(h->state));

		/*
		 * Odoo names every connection of a process odoo-<pid>: a cron
		 * worker's cron cursor is known by what it does, idle in transaction
		 * after acquiring its ir_cron row (odoo_cron.c), not by its name.
		 */
		if (h->worker_class != ORG_WORKER_OTHER &&
			strcmp(h->state, "idle in transaction") == 0 &&
			(s = SPI_getvalue(tup, desc, 10)) != NULL)
		{
			int64_t		job_id;
			OrgCronStatement stmt = org_cron_classify_statement(s, &job_id);

			if (stmt == ORG_CRON_STMT_ACQUIRE || stmt == ORG_CRON_STMT_CLEAR_TRIGGERS)
				h->worker_class = ORG_WORKER_CRON;
		}
		d = SPI_getbinval(tup, desc, 6, &isnull);
		h->since = isnull ? 0 : DatumGetTimestampTz(d);
		h->age_s = h->since != 0 ? Max(0, (now - h->since) / 1000000.0) : -1;
		d = SPI_getbinval(tup, desc, 7, &isnull);
		h->xmin = isnull ? InvalidTransactionId : DatumGetTransactionId(d);
		d = SPI_getbinval(tup, desc, 8, &isnull);
		h->xmin_age = isnull ? 0 : DatumGetInt64(d);
		s = SPI_getvalue(tup, desc, 9);
		/* a prepared transaction's GID may be longer than a name */
		if (s)
			org_text_clip(h->name, s, NAMEDATALEN);
		s = with_text ? SPI_getvalue(tup, desc, 10) : NULL;
		if (s)
		{
			int			len = org_query_text_length + 1;
			char	   *buf = MemoryContextAlloc(cxt, len);

			org_normalize_query(s, -1, buf, len);
			h->query = buf;
		}
	}
	SPI_finish();
	*count = (int) n;
	return out;
}

void
org_vacuum_info(OrgVacuumInfo *info)
{
	memset(info, 0, sizeof(OrgVacuumInfo));
	LWLockAcquire(vac_shared->lock, LW_SHARED);
	info->tables = hash_get_num_entries(vac_hash);
	info->capacity = vac_shared->capacity;
	info->untracked = vac_shared->untracked;
	info->databases = vac_shared->ndbs;
	info->scans = vac_shared->scans;
	info->skipped_ticks = vac_shared->skipped_ticks;
	info->scan_cpu_ms = vac_shared->scan_cpu_us / 1000.0;
	LWLockRelease(vac_shared->lock);
}
