/*-------------------------------------------------------------------------
 *
 * vacuum.c
 *		Autovacuum lag tracker and xmin horizon holders.
 *
 * Two sources, read at different rates.
 *
 * Figures that move (live and dead tuples, the vacuum and analyze times)
 * are read on every vacuum tick by the sampler, for all databases in one
 * pass, from PostgreSQL 15's cumulative statistics in shared memory: the
 * sampler walks the shared statistics hash the way pgstat_build_snapshot()
 * does (shared lock on each entry, copy, release) and computes nothing
 * under those locks.  Freeze ages are computed on the same tick from each
 * table's cached relfrozenxid and relminmxid against the next transaction
 * and multixact ids, as age() and mxid_age() do; running vacuums come from
 * the backends' progress slots.  So a table of any database is seen over
 * its threshold, or near its freeze max age, one tick after its statistics
 * are flushed, without starting anything.
 *
 * Catalog facts (reltuples, reloptions, relfrozenxid, names) need a process
 * connected to the table's database: in PostgreSQL 15 a process reads only
 * its own database's catalogs.  The sampler starts a short-lived background
 * worker connected to one database, which reads pg_class, the reloptions
 * and the statistics in one query, computes the threshold autovacuum would
 * use (relation_needs_vacanalyze() in autovacuum.c is static, so its
 * dead-tuple formula is repeated here), writes the database's entries into
 * a fixed shared hash and exits.  Such a catalog scan is only started when
 * the facts of a database may have changed: never scanned; a tracked
 * table's vacuum or analyze time moved (reltuples and relfrozenxid move
 * with them); its set of relation statistics entries changed (a table
 * dropped, or created and used); or vacuum_catalog_refresh has passed (a
 * reloption changed by ALTER TABLE leaves no other trace).  Shared
 * catalogs, listed in every database's pg_class, are tracked once, with the
 * tracked database of lowest OID, and their statistics are read from where
 * PostgreSQL keeps them, under database 0.  Never-scanned databases go
 * first, then changed ones, then the oldest refresh.  At most one scan
 * runs, and at most one starts per second.
 *
 * Caps: max_tracked_tables over all databases (the shared hash) and
 * max_tracked_tables_per_database.  A scan keeps its database's worst
 * tables (vacuum_rank.h); a table it drops, or an entry of another database
 * it displaces when the hash is full, is an eviction, logged as a removal
 * for delta snapshots and counted.
 *
 * Locking discipline: vac_shared->lock (LWLock) protects the table hash
 * and the per-database list.  The scan worker takes it exclusively once
 * per scan to write its results, the sampler once per tick to apply the
 * statistics it copied; readers take it shared to copy.  Arrays are sized
 * before it is taken.  User statements never take it.
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
#include "access/multixact.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "common/hashfn.h"
#include "commands/progress.h"
#include "executor/spi.h"
#include "lib/dshash.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/backend_progress.h"
#include "utils/backend_status.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/pgstat_internal.h"
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
#include "vacuum_rank.h"

#define VACUUM_TRANCHE		"odoo_retail_guard_vacuum"
#define VACUUM_SHMEM_NAME	"odoo_retail_guard vacuum"
#define VACUUM_HASH_NAME	"odoo_retail_guard vacuum tables"
#define VACUUM_MAX_DBS		2048
#define VACUUM_START_GAP_MS	1000	/* at most one scan-worker start per second */

/* the four statistics times, in this order: a move means a catalog change */
#define VAC_TIMES			4

typedef struct VacKey
{
	Oid			dbid;
	Oid			relid;
} VacKey;

typedef struct VacEntry
{
	VacKey		key;			/* hash key, must be first */
	uint64		generation;		/* scan of its database that wrote it */
	TransactionId relfrozenxid; /* catalog facts of the last scan */
	MultiXactId relminmxid;
	TimestampTz scan_times[VAC_TIMES];	/* vacuum/analyze times the scan saw */
	OrgAutovacuumLag lag;		/* query pointer unused */
} VacEntry;

typedef struct VacDb
{
	Oid			dbid;
	uint64		generation;
	TimestampTz scanned_at;
	uint64		scans;			/* catalog scans written */
	int			untracked;		/* its tables left out by the caps at the last scan */
} VacDb;

typedef struct OrgVacuumShared
{
	LWLock	   *lock;
	int			capacity;
	uint64		untracked;		/* tables a scan could not place (hash full) */
	uint64		evicted;		/* tracked tables dropped for worse ones */
	uint64		scans;
	uint64		scan_starts;	/* scan workers started */
	uint64		stat_passes;	/* statistics passes applied */
	uint64		skipped_ticks;	/* pg_database was locked */
	double		scan_cpu_us;	/* CPU used by scan workers, start-up included */
	int			ndbs;
	VacDb		dbs[VACUUM_MAX_DBS];
} OrgVacuumShared;

static OrgVacuumShared *vac_shared = NULL;
static HTAB *vac_hash = NULL;
static SPIPlanPtr horizon_plan = NULL;	/* per backend, kept */

static void log_vacuum_removal(const VacEntry *e);
static const char *vacuum_phase_name(int phase);
static OrgAutovacuumLag lag_with_generation(const OrgAutovacuumLag *old,
											const OrgAutovacuumLag *row);

/* sampler-local, one per listed database, sorted by oid */
typedef struct DbActivity
{
	Oid			dbid;
	uint64		stat_entries;	/* fingerprint of its relation statistics
								 * entries (which relations have one) */
	bool		stat_entries_known;
	bool		changed;		/* catalog facts may have changed */
	TimestampTz scanned;		/* when its last scan was started; 0 never */
} DbActivity;

static BackgroundWorkerHandle *scan_handle = NULL;
static Oid	scanning_db = InvalidOid;
static Oid	shared_home = InvalidOid;	/* the database whose scans list shared
										 * catalogs */
static TimestampTz last_start = 0;
static DbActivity *activity = NULL;
static int	nactivity = 0;

/* one table's moving figures, copied from the shared statistics */
typedef struct StatRow
{
	Oid			dbid;
	Oid			relid;
	int64		live_tuples;
	int64		dead_tuples;
	TimestampTz times[VAC_TIMES];
} StatRow;

/* a vacuum in progress, from a backend's progress slot */
typedef struct VacProgress
{
	Oid			dbid;
	Oid			relid;
	int32		pid;
	int			phase;
} VacProgress;

/* a scan worker's row: the figures and the catalog facts kept beside them */
typedef struct ScanRow
{
	OrgAutovacuumLag lag;
	TransactionId relfrozenxid;
	MultiXactId relminmxid;
} ScanRow;

/*
 * One query per database.  Thresholds follow relation_needs_vacanalyze():
 * per-table reloptions override the GUCs; reltuples of -1 (never vacuumed
 * or analyzed) counts as 0; a per-table freeze max age can only lower the
 * global one.
 */
#define SCAN_QUERY \
"SELECT c.oid, n.nspname, c.relname, " \
"       greatest(c.reltuples, 0)::float8 AS reltuples, " \
"       pg_stat_get_live_tuples(c.oid), pg_stat_get_dead_tuples(c.oid), " \
"       (coalesce(o.thresh, current_setting('autovacuum_vacuum_threshold')::float8) " \
"        + coalesce(o.scale, current_setting('autovacuum_vacuum_scale_factor')::float8) " \
"          * greatest(c.reltuples, 0))::float8 AS threshold, " \
"       coalesce(o.enabled, true) AND current_setting('autovacuum')::bool, " \
"       pg_stat_get_last_vacuum_time(c.oid), pg_stat_get_last_autovacuum_time(c.oid), " \
"       pg_stat_get_last_analyze_time(c.oid), pg_stat_get_last_autoanalyze_time(c.oid), " \
"       age(c.relfrozenxid)::int8, mxid_age(c.relminmxid)::int8, " \
"       least(coalesce(o.fmax, current_setting('autovacuum_freeze_max_age')::int8), " \
"             current_setting('autovacuum_freeze_max_age')::int8), " \
"       p.pid, p.phase::int4, c.relnamespace, c.relfrozenxid, c.relminmxid " \
"FROM pg_catalog.pg_class c " \
"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " \
"LEFT JOIN LATERAL (" \
"   SELECT max(CASE WHEN option_name = 'autovacuum_vacuum_threshold' THEN option_value::float8 END) AS thresh, " \
"          max(CASE WHEN option_name = 'autovacuum_vacuum_scale_factor' THEN option_value::float8 END) AS scale, " \
"          bool_and(CASE WHEN option_name = 'autovacuum_enabled' THEN option_value::bool END) AS enabled, " \
"          max(CASE WHEN option_name = 'autovacuum_freeze_max_age' THEN option_value::int8 END) AS fmax " \
"   FROM pg_catalog.pg_options_to_table(c.reloptions)) o ON true " \
"LEFT JOIN (SELECT pid, relid, param1 AS phase FROM pg_catalog.pg_stat_get_progress_info('VACUUM') " \
"           WHERE datid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) p " \
"       ON p.relid = c.oid " \
"WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'"

/*
 * Shared catalogs (pg_database, pg_shdepend, pg_authid, ...) are listed in
 * every database's pg_class but are one set of tables for the cluster:
 * tracked once, by the scan of the database with the lowest OID among those
 * tracked (shared_home), so 300 tenants give one entry and one alert for
 * pg_shdepend, not 300.
 */
static const char *const scan_query_with_shared = SCAN_QUERY;
static const char *const scan_query_local = SCAN_QUERY " AND NOT c.relisshared";

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
		memset(vac_shared, 0, sizeof(OrgVacuumShared));
		vac_shared->lock = &(GetNamedLWLockTranche(VACUUM_TRANCHE))->lock;
		vac_shared->capacity = org_max_tracked_tables;
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
 * sorted by oid.  NULL when pg_database cannot be read without waiting.
 */
static Oid *
list_databases(int *count)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid		   *oids = NULL;
	int			n = 0;
	int			cap = 16;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

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
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);

	*count = n;
	return oids;
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

static int
stat_row_cmp(const void *a, const void *b)
{
	const StatRow *x = a;
	const StatRow *y = b;

	if (x->dbid != y->dbid)
		return x->dbid < y->dbid ? -1 : 1;
	if (x->relid != y->relid)
		return x->relid < y->relid ? -1 : 1;
	return 0;
}

static int
progress_cmp(const void *a, const void *b)
{
	const VacProgress *x = a;
	const VacProgress *y = b;

	if (x->dbid != y->dbid)
		return x->dbid < y->dbid ? -1 : 1;
	if (x->relid != y->relid)
		return x->relid < y->relid ? -1 : 1;
	return 0;
}

/*
 * The listed databases' activity, carried over from the previous tick by
 * oid: both lists are sorted.  A database seen for the first time has
 * never been scanned.
 */
static void
sync_activity(const Oid *oids, int n)
{
	DbActivity *next = MemoryContextAllocZero(TopMemoryContext,
											  sizeof(DbActivity) * Max(n, 1));
	int			i;
	int			j = 0;

	for (i = 0; i < n; i++)
	{
		while (j < nactivity && activity[j].dbid < oids[i])
			j++;
		if (j < nactivity && activity[j].dbid == oids[i])
			next[i] = activity[j];
		else
		{
			next[i].dbid = oids[i];
			next[i].stat_entries_known = false;
		}
	}
	if (activity != NULL)
		pfree(activity);
	activity = next;
	nactivity = n;
}

static DbActivity *
activity_of(Oid dbid)
{
	DbActivity	key;

	key.dbid = dbid;
	return bsearch(&key, activity, nactivity, sizeof(DbActivity), oid_cmp);
}

/*
 * The shared catalogs' home is the tracked database of lowest OID.  When it
 * moves (dropped, left out by vacuum_databases), both databases are scanned
 * again: the new home takes the shared catalogs in, the old one lets them go.
 */
static void
move_shared_home(Oid home)
{
	DbActivity *a;

	if (home == shared_home)
		return;
	if ((a = activity_of(shared_home)) != NULL)
		a->changed = true;
	if ((a = activity_of(home)) != NULL)
		a->changed = true;
	shared_home = home;
}

/*
 * Copy the relation statistics of the listed databases, and of the shared
 * catalogs (database 0), out of the shared statistics hash, as
 * pgstat_build_snapshot() reads it: each entry under its own shared lock,
 * copied, released.  Sorted by (database, relation).
 * The copies are allocated while a partition of the statistics hash is
 * locked, as the server's own snapshot does; never under our lock.
 */
static StatRow *
read_relation_stats(const Oid *oids, int noids, int *count)
{
	dshash_seq_status hstat;
	PgStatShared_HashEntry *p;
	int			cap = 1024;
	int			n = 0;
	StatRow    *rows = palloc(sizeof(StatRow) * cap);

	if (pgStatLocal.shared_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("odoo_retail_guard sampler is not attached to the cumulative statistics")));

	dshash_seq_init(&hstat, pgStatLocal.shared_hash, false);
	while ((p = dshash_seq_next(&hstat)) != NULL)
	{
		PgStatShared_Relation *shrel;
		PgStat_StatTabEntry tab;
		StatRow    *r;

		if (p->key.kind != PGSTAT_KIND_RELATION || p->dropped)
			continue;
		/* shared catalogs' statistics live under database 0 */
		if (OidIsValid(p->key.dboid) &&
			bsearch(&p->key.dboid, oids, noids, sizeof(Oid), oid_cmp) == NULL)
			continue;

		shrel = (PgStatShared_Relation *) dsa_get_address(pgStatLocal.dsa, p->body);
		LWLockAcquire(&shrel->header.lock, LW_SHARED);
		memcpy(&tab, &shrel->stats, sizeof(tab));
		LWLockRelease(&shrel->header.lock);

		if (n == cap)
		{
			cap *= 2;
			rows = repalloc_huge(rows, sizeof(StatRow) * cap);
		}
		r = &rows[n++];
		r->dbid = p->key.dboid;
		r->relid = p->key.objoid;
		r->live_tuples = tab.n_live_tuples;
		r->dead_tuples = tab.n_dead_tuples;
		r->times[0] = tab.vacuum_timestamp;
		r->times[1] = tab.autovac_vacuum_timestamp;
		r->times[2] = tab.analyze_timestamp;
		r->times[3] = tab.autovac_analyze_timestamp;
	}
	dshash_seq_term(&hstat);

	qsort(rows, n, sizeof(StatRow), stat_row_cmp);
	*count = n;
	return rows;
}

/* vacuums running now, from the backends' progress slots, sorted */
static VacProgress *
read_vacuum_progress(int *count)
{
	int			nb = pgstat_fetch_stat_numbackends();
	VacProgress *out = palloc(sizeof(VacProgress) * Max(nb, 1));
	int			n = 0;
	int			i;

	for (i = 1; i <= nb; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (be->st_progress_command != PROGRESS_COMMAND_VACUUM)
			continue;
		out[n].dbid = be->st_databaseid;
		out[n].relid = be->st_progress_command_target;
		out[n].pid = be->st_procpid;
		out[n].phase = (int) be->st_progress_param[PROGRESS_VACUUM_PHASE];
		n++;
	}
	/* the snapshot of the backends is not needed past this tick */
	pgstat_clear_backend_activity_snapshot();
	qsort(out, n, sizeof(VacProgress), progress_cmp);
	*count = n;
	return out;
}

/* whether a table's figures differ, as lag_with_generation() compares them */
static bool
figures_differ(const OrgAutovacuumLag *old, const OrgAutovacuumLag *next)
{
	OrgAutovacuumLag a = *next;

	a.scanned_at = old->scanned_at;
	a.lag_s = old->lag_s;
	a.changed_generation = old->changed_generation;
	return memcmp(&a, old, sizeof(a)) != 0;
}

/*
 * Freeze ages move with every transaction of the cluster: taken live, every
 * table would change on every tick and every delta snapshot would carry
 * every table.  So a table's ages are taken when they moved by 1/1000 of
 * its freeze max age (200,000 transactions by default) or when another of
 * its figures changed; the view and the snapshots show the same values.
 */
static OrgAutovacuumLag
stamp_live_figures(VacEntry *e, const OrgAutovacuumLag *next)
{
	OrgAutovacuumLag held = *next;
	int64		step = Max(next->freeze_max_age / 1000, 1);

	if (Abs(next->xid_age - e->lag.xid_age) < step)
		held.xid_age = e->lag.xid_age;
	if (Abs(next->mxid_age - e->lag.mxid_age) < step)
		held.mxid_age = e->lag.mxid_age;
	if (figures_differ(&e->lag, &held))
		return lag_with_generation(&e->lag, next);
	return lag_with_generation(&e->lag, &held);
}

/*
 * Fresh figures of every tracked table from the copied statistics; caller
 * holds the lock exclusively.  A table whose vacuum or analyze time moved
 * since its database's last scan marks the database changed.
 */
static void
apply_stats(const StatRow *stats, int nstats, const VacProgress *prog, int nprog,
			TimestampTz now, TransactionId next_xid, MultiXactId next_mxid)
{
	HASH_SEQ_STATUS seq;
	VacEntry   *e;

	hash_seq_init(&seq, vac_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		OrgAutovacuumLag next = e->lag;
		StatRow		key;
		const StatRow *s;
		VacProgress pkey;
		const VacProgress *pr;
		TimestampTz times[VAC_TIMES];
		bool		shared = false;

		key.dbid = e->key.dbid;
		key.relid = e->key.relid;
		s = bsearch(&key, stats, nstats, sizeof(StatRow), stat_row_cmp);
		if (s == NULL)
		{
			/*
			 * A shared catalog (pg_database, pg_shdepend, ...), listed in
			 * every database's pg_class: its statistics are kept once, under
			 * database 0, as pg_stat_get_dead_tuples() finds them.  Read as
			 * zeros, its vacuum times would differ from the scan's on every
			 * tick and its database would be scanned again every second.
			 */
			key.dbid = InvalidOid;
			s = bsearch(&key, stats, nstats, sizeof(StatRow), stat_row_cmp);
			shared = s != NULL;
		}
		/* no entry reads as zeros, as pg_stat_get_dead_tuples() does */
		if (s != NULL)
			memcpy(times, s->times, sizeof(times));
		else
			memset(times, 0, sizeof(times));
		next.live_tuples = s ? s->live_tuples : 0;
		next.dead_tuples = s ? s->dead_tuples : 0;
		next.last_vacuum = times[0];
		next.last_autovacuum = times[1];
		next.last_analyze = times[2];
		next.last_autoanalyze = times[3];
		if (memcmp(times, e->scan_times, sizeof(times)) != 0 &&
			e->key.dbid != scanning_db)
		{
			DbActivity *a = activity_of(e->key.dbid);

			if (a != NULL)
				a->changed = true;
		}

		/* autovacuum's test: dead tuples strictly above the threshold */
		if (next.dead_tuples <= next.threshold)
			next.over_threshold_since = 0;
		else if (next.over_threshold_since == 0)
			next.over_threshold_since = now;
		next.dead_over_threshold = next.threshold > 0 ?
			next.dead_tuples / next.threshold : 0;
		next.xid_age = org_xid_age(next_xid, e->relfrozenxid);
		next.mxid_age = org_mxid_age(next_mxid, e->relminmxid);

		pkey.dbid = e->key.dbid;
		pkey.relid = e->key.relid;
		pr = bsearch(&pkey, prog, nprog, sizeof(VacProgress), progress_cmp);
		/* a shared catalog is vacuumed by a worker of any database */
		for (int i = 0; shared && pr == NULL && i < nprog; i++)
			if (prog[i].relid == e->key.relid)
				pr = &prog[i];
		next.vacuum_running = pr != NULL;
		next.vacuum_pid = pr ? pr->pid : 0;
		memset(next.vacuum_phase, 0, sizeof(next.vacuum_phase));
		if (pr != NULL)
			strlcpy(next.vacuum_phase, vacuum_phase_name(pr->phase),
					ORG_VACUUM_PHASE_LEN);

		e->lag = stamp_live_figures(e, &next);
	}
	vac_shared->stat_passes++;
}

/*
 * A database whose set of relation statistics entries changed: a table
 * created (once it is used) or dropped.  The set, not its size: a session
 * that drops a table may give first entries to catalog indexes it used, and
 * the count would stay the same.  Rows are sorted, so a running hash of the
 * relation ids is the set's fingerprint.
 */
static void
note_entry_changes(const StatRow *stats, int nstats)
{
	int			i = 0;
	int			k;

	for (k = 0; k < nactivity; k++)
	{
		DbActivity *a = &activity[k];
		uint64		fp = 0;

		while (i < nstats && stats[i].dbid < a->dbid)
			i++;
		while (i < nstats && stats[i].dbid == a->dbid)
		{
			fp = hash_combine64(fp, (uint64) stats[i].relid + 1);
			i++;
		}
		/* a scan under way may or may not see the change: keep the old set */
		if (a->dbid == scanning_db)
			continue;
		if (a->stat_entries_known && a->stat_entries != fp)
			a->changed = true;
		a->stat_entries = fp;
		a->stat_entries_known = true;
	}
}

/*
 * The database to scan next, or NULL: never scanned first, then changed,
 * then the oldest whose refresh is due; the oldest scan first within each.
 */
static DbActivity *
next_to_scan(TimestampTz now)
{
	DbActivity *best = NULL;
	int			best_class = 3;
	int			k;

	for (k = 0; k < nactivity; k++)
	{
		DbActivity *a = &activity[k];
		int			cls;

		if (a->scanned == 0)
			cls = 0;
		else if (a->changed)
			cls = 1;
		else if (TimestampDifferenceExceeds(a->scanned, now,
											org_vacuum_catalog_refresh * 1000))
			cls = 2;
		else
			continue;
		if (cls < best_class || (cls == best_class && a->scanned < best->scanned))
		{
			best = a;
			best_class = cls;
		}
	}
	return best;
}

static bool
start_scan(Oid dbid, bool with_shared)
{
	BackgroundWorker worker;
	bool		started;
	MemoryContext old;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, ORG_NAME, BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "org_vacuum_scan_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "odoo_retail_guard vacuum scan of database %u", dbid);
	strlcpy(worker.bgw_type, "odoo_retail_guard vacuum scan", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(dbid);
	worker.bgw_extra[0] = with_shared ? 1 : 0;
	worker.bgw_notify_pid = 0;

	/* the handle must outlive the tick's memory */
	old = MemoryContextSwitchTo(TopMemoryContext);
	started = RegisterDynamicBackgroundWorker(&worker, &scan_handle);
	MemoryContextSwitchTo(old);
	if (!started)
	{
		/* no free worker slot now: try again next tick */
		scan_handle = NULL;
		return false;
	}
	return true;
}

void
org_vacuum_sample(void)
{
	Oid		   *oids;
	StatRow    *stats;
	VacProgress *prog;
	DbActivity *next;
	TransactionId next_xid;
	MultiXactId next_mxid;
	TimestampTz now;
	int			nstats;
	int			nprog;
	int			n;

	if (scan_handle != NULL)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(scan_handle, &pid) == BGWH_STOPPED)
		{
			pfree(scan_handle);
			scan_handle = NULL;
			scanning_db = InvalidOid;
		}
	}

	oids = list_databases(&n);
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
	sync_activity(oids, n);
	if (n == 0)
		return;
	move_shared_home(oids[0]);

	/* copy first, then compute and write under our lock only */
	stats = read_relation_stats(oids, n, &nstats);
	prog = read_vacuum_progress(&nprog);
	next_xid = ReadNextTransactionId();
	next_mxid = ReadNextMultiXactId();
	now = GetCurrentTimestamp();

	note_entry_changes(stats, nstats);
	LWLockAcquire(vac_shared->lock, LW_EXCLUSIVE);
	apply_stats(stats, nstats, prog, nprog, now, next_xid, next_mxid);
	LWLockRelease(vac_shared->lock);

	/* one scan at a time, at most one start per second */
	if (scan_handle != NULL)
		return;
	if (last_start != 0 &&
		!TimestampDifferenceExceeds(last_start, now, VACUUM_START_GAP_MS))
		return;
	next = next_to_scan(now);
	if (next == NULL || !start_scan(next->dbid, next->dbid == shared_home))
		return;

	last_start = now;
	scanning_db = next->dbid;
	next->scanned = now;
	next->changed = false;
	LWLockAcquire(vac_shared->lock, LW_EXCLUSIVE);
	vac_shared->scan_starts++;
	LWLockRelease(vac_shared->lock);
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
row_to_scan_row(HeapTuple tup, TupleDesc desc, ScanRow *r, TimestampTz now)
{
	bool		isnull;
	char	   *nspname = SPI_getvalue(tup, desc, 2);
	char	   *relname = SPI_getvalue(tup, desc, 3);
	OrgAutovacuumLag *l = &r->lag;
	Datum		d;

	memset(r, 0, sizeof(ScanRow));
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
	d = spi_value(tup, desc, 19, &isnull);
	r->relfrozenxid = isnull ? InvalidTransactionId : DatumGetTransactionId(d);
	d = spi_value(tup, desc, 20, &isnull);
	r->relminmxid = isnull ? InvalidMultiXactId : DatumGetTransactionId(d);
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
	memset(&vac_shared->dbs[i], 0, sizeof(VacDb));
	vac_shared->dbs[i].dbid = dbid;
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

/* a table's rank from its figures */
static OrgVacuumRank
rank_of(const OrgAutovacuumLag *l, int index)
{
	OrgVacuumRank r;

	memset(&r, 0, sizeof(r));
	r.over_threshold = l->dead_tuples > l->threshold;
	r.badness = org_vacuum_badness((double) l->dead_tuples, l->threshold,
								   l->xid_age, l->freeze_max_age);
	r.dbid = l->dbid;
	r.relid = l->relid;
	r.index = index;
	return r;
}

/*
 * What a scan writes, decided before the lock is taken: its rows ranked
 * worst first, how many the per-database cap keeps, the relations it
 * leaves out, and room for ranking other databases' entries when the
 * hash is full.
 */
typedef struct ScanPlan
{
	ScanRow    *rows;
	int			n;
	OrgVacuumRank *ranks;		/* worst first; [0 .. kept - 1] are kept */
	int			kept;
	Oid		   *kept_relids;	/* sorted */
	Oid		   *dropped_relids; /* sorted: left out by the per-database cap */
	int			ndropped;
	OrgVacuumRank *victims;		/* capacity entries, or NULL when not full */
} ScanPlan;

static void
plan_scan(ScanPlan *plan, ScanRow *rows, int n)
{
	int			i;
	int64		entries;

	memset(plan, 0, sizeof(ScanPlan));
	plan->rows = rows;
	plan->n = n;
	plan->ranks = palloc(sizeof(OrgVacuumRank) * Max(n, 1));
	for (i = 0; i < n; i++)
		plan->ranks[i] = rank_of(&rows[i].lag, i);
	plan->kept = org_vacuum_rank_keep_worst(plan->ranks, n,
											org_max_tracked_tables_per_database);

	plan->kept_relids = palloc(sizeof(Oid) * Max(plan->kept, 1));
	for (i = 0; i < plan->kept; i++)
		plan->kept_relids[i] = plan->ranks[i].relid;
	qsort(plan->kept_relids, plan->kept, sizeof(Oid), oid_cmp);
	plan->ndropped = n - plan->kept;
	plan->dropped_relids = palloc(sizeof(Oid) * Max(plan->ndropped, 1));
	for (i = 0; i < plan->ndropped; i++)
		plan->dropped_relids[i] = plan->ranks[plan->kept + i].relid;
	qsort(plan->dropped_relids, plan->ndropped, sizeof(Oid), oid_cmp);

	LWLockAcquire(vac_shared->lock, LW_SHARED);
	entries = hash_get_num_entries(vac_hash);
	LWLockRelease(vac_shared->lock);
	if (entries + plan->kept > vac_shared->capacity)
		plan->victims = MemoryContextAllocHuge(CurrentMemoryContext,
											   sizeof(OrgVacuumRank) *
											   Max(vac_shared->capacity, 1));
}

/* other databases' entries, worst first; caller holds the lock */
static int
rank_victims(OrgVacuumRank *victims)
{
	HASH_SEQ_STATUS seq;
	VacEntry   *e;
	int			n = 0;

	hash_seq_init(&seq, vac_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->key.dbid == MyDatabaseId || n >= vac_shared->capacity)
			continue;
		victims[n++] = rank_of(&e->lag, 0);
	}
	qsort(victims, n, sizeof(OrgVacuumRank), org_vacuum_rank_cmp);
	return n;
}

static void
remove_entry(VacEntry *e, bool evicted)
{
	log_vacuum_removal(e);
	if (evicted)
		vac_shared->evicted++;
	hash_search(vac_hash, &e->key, HASH_REMOVE, NULL);
}

/*
 * An entry for a table the scan keeps: the existing one, a free one, or
 * the least bad entry of another database when that ranks below this
 * table.  NULL when there is no room.
 */
static VacEntry *
entry_for(ScanPlan *plan, const OrgVacuumRank *rank, int *nvictims, bool *found)
{
	VacKey		key;
	VacEntry   *e;

	key.dbid = MyDatabaseId;
	key.relid = rank->relid;
	e = hash_search(vac_hash, &key, HASH_FIND, found);
	if (e != NULL)
		return e;
	/* the hash is sized by max_tracked_tables: never grow past it */
	if (hash_get_num_entries(vac_hash) < vac_shared->capacity)
		return hash_search(vac_hash, &key, HASH_ENTER_NULL, found);
	if (plan->victims == NULL)
		return NULL;
	if (*nvictims < 0)
		*nvictims = rank_victims(plan->victims);
	while (*nvictims > 0)
	{
		OrgVacuumRank *least = &plan->victims[*nvictims - 1];
		VacKey		vk;
		VacEntry   *victim;

		if (!org_vacuum_rank_worse(rank, least))
			return NULL;
		(*nvictims)--;
		vk.dbid = least->dbid;
		vk.relid = least->relid;
		victim = hash_search(vac_hash, &vk, HASH_FIND, NULL);
		if (victim == NULL)
			continue;
		remove_entry(victim, true);
		return hash_search(vac_hash, &key, HASH_ENTER_NULL, found);
	}
	return NULL;
}

/* write one database's scan; caller holds the lock exclusively */
static void
store_scan(ScanPlan *plan, TimestampTz now)
{
	VacDb	   *db = vac_db(MyDatabaseId);
	HASH_SEQ_STATUS seq;
	VacEntry   *e;
	uint64		generation;
	int			nvictims = -1;
	int			misses = 0;
	int			i;

	if (db == NULL)
	{
		vac_shared->untracked += plan->n;
		return;
	}
	generation = ++db->generation;
	db->scanned_at = now;

	/* tables gone since the last scan, or now left out by the cap */
	hash_seq_init(&seq, vac_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->key.dbid != MyDatabaseId)
			continue;
		if (bsearch(&e->key.relid, plan->kept_relids, plan->kept,
					sizeof(Oid), oid_cmp) != NULL)
			continue;
		remove_entry(e, bsearch(&e->key.relid, plan->dropped_relids,
								plan->ndropped, sizeof(Oid), oid_cmp) != NULL);
	}

	/* worst first, so a full hash keeps the worst */
	for (i = 0; i < plan->kept; i++)
	{
		ScanRow    *row = &plan->rows[plan->ranks[i].index];
		bool		found = false;
		TimestampTz since = 0;

		e = entry_for(plan, &plan->ranks[i], &nvictims, &found);
		if (e == NULL)
		{
			vac_shared->untracked++;
			misses++;
			continue;
		}
		if (found)
			since = e->lag.over_threshold_since;

		/* autovacuum's test: dead tuples strictly above the threshold */
		if (!(row->lag.dead_tuples > row->lag.threshold))
			since = 0;
		else if (since == 0)
			since = now;
		row->lag.over_threshold_since = since;
		e->generation = generation;
		e->relfrozenxid = row->relfrozenxid;
		e->relminmxid = row->relminmxid;
		e->scan_times[0] = row->lag.last_vacuum;
		e->scan_times[1] = row->lag.last_autovacuum;
		e->scan_times[2] = row->lag.last_analyze;
		e->scan_times[3] = row->lag.last_autoanalyze;
		e->lag = lag_with_generation(found ? &e->lag : NULL, &row->lag);
	}
	db->untracked = plan->ndropped + misses;
	db->scans++;
	vac_shared->scans++;
}

void
org_vacuum_scan_main(Datum main_arg)
{
	Oid			dbid = DatumGetObjectId(main_arg);
	ScanRow    *rows;
	ScanPlan	plan;
	TimestampTz now;
	uint64		n;
	uint64		i;
	int			ret;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/*
	 * Our reads of pg_class and the other catalogs, from the connection's
	 * start on, count in nobody's statistics: they would give those catalogs
	 * their first statistics entries in a new database, which the sampler
	 * takes for a new table and scans the database again, and they would add
	 * to the DBA's scan counts.
	 */
	SetConfigOption("track_counts", "off", PGC_SUSET, PGC_S_OVERRIDE);
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("odoo_retail_guard vacuum scan could not connect to SPI")));
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "odoo_retail_guard autovacuum lag scan");

	ret = spi_execute_pinned(MyBgworkerEntry->bgw_extra[0] ?
							 scan_query_with_shared : scan_query_local);
	if (ret != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("odoo_retail_guard vacuum scan query failed: %s",
						SPI_result_code_string(ret))));

	now = GetCurrentTimestamp();
	n = SPI_processed;
	rows = palloc(sizeof(ScanRow) * Max(n, 1));
	for (i = 0; i < n; i++)
		row_to_scan_row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, &rows[i], now);
	plan_scan(&plan, rows, (int) n);

	LWLockAcquire(vac_shared->lock, LW_EXCLUSIVE);
	store_scan(&plan, now);
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
	int			i;

	memset(info, 0, sizeof(OrgVacuumInfo));
	LWLockAcquire(vac_shared->lock, LW_SHARED);
	info->tables = hash_get_num_entries(vac_hash);
	info->capacity = vac_shared->capacity;
	info->untracked = vac_shared->untracked;
	info->databases = vac_shared->ndbs;
	info->scans = vac_shared->scans;
	info->skipped_ticks = vac_shared->skipped_ticks;
	info->scan_cpu_ms = vac_shared->scan_cpu_us / 1000.0;
	info->scan_starts = vac_shared->scan_starts;
	info->stat_passes = vac_shared->stat_passes;
	info->evicted = vac_shared->evicted;
	for (i = 0; i < vac_shared->ndbs; i++)
		info->untracked_tables += vac_shared->dbs[i].untracked;
	LWLockRelease(vac_shared->lock);
}
