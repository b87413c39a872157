/*-------------------------------------------------------------------------
 *
 * odoo_retail_guard.c
 *		Module entry point: GUCs, shared-memory requests and hook chaining.
 *
 * The module must be loaded through shared_preload_libraries: every
 * tracker lives in fixed shared memory sized at postmaster start.  This
 * file holds no tracking logic; it wires the rooms together.
 *
 * Hooks installed here: shmem_request_hook, shmem_startup_hook.  The
 * executor hooks belong to queries.c, emit_log_hook to locks.c.  The
 * sampler background worker (sampler.c) is registered here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/queryjumble.h"
#include "utils/timestamp.h"

#include "locks.h"
#include "odoo_retail_guard.h"
#include "generation.h"
#include "replication.h"
#include "ring.h"
#include "sampler.h"
#include "vacuum.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			org_track = ORG_TRACK_TOP;
int			org_max_queries = 5000;
int			org_slow_query_ms = 500;
int			org_slow_samples = 1000;
int			org_query_text_length = 1024;
char	   *org_odoo_appname_prefix = NULL;

int			org_throttle_events_size = 1000;
int			org_throttle_max_ttl_s = 4 * 3600;
char	   *org_throttle_exempt_roles = NULL;

int			org_destructive_min_rows = 1000;
int			org_destructive_events_size = 1000;
int			org_destructive_max_relations = 256;
bool		org_sampler_enabled = true;
int			org_lock_sample_interval = 100;
int			org_replication_sample_interval = 1000;
int			org_lock_wait_event_threshold = 1000;
int			org_lock_wait_events = 1000;
int			org_max_lock_contention = 1000;
int			org_replication_history_size = 3600;
int			org_vacuum_sample_interval = 1000;
char	   *org_vacuum_databases = NULL;
int			org_max_tracked_tables = 50000;
int			org_max_tracked_tables_per_database = 1000;
int			org_vacuum_catalog_refresh = 900;

static bool shmem_started = false;

#define INCARNATION_SHMEM_NAME "odoo_retail_guard incarnation"

/*
 * Which life of our shared memory this is.  Set when the postmaster
 * initializes it: at start, and again after a crash-restart, which empties
 * every ring, restarts the event id sequence at 1 and drops the throttle
 * rules while postmaster_start stays the same.  Readers compare it between
 * two reads to know that cursors and rules are from an earlier life.
 * Written once before any backend exists, read without a lock.
 */
static uint64 *shmem_incarnation = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static const struct config_enum_entry track_options[] = {
	{"none", ORG_TRACK_NONE, false},
	{"top", ORG_TRACK_TOP, false},
	{"all", ORG_TRACK_ALL, false},
	{NULL, 0, false}
};

static void org_shmem_request(void);
static void org_shmem_startup(void);
static void define_gucs(void);
static void define_throttle_gucs(void);
static void define_destructive_gucs(void);
static void define_sampler_gucs(void);

void
_PG_init(void)
{
	/*
	 * Loaded by a plain LOAD or by CREATE FUNCTION: do nothing.  The SQL
	 * functions report the missing preload with a hint.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	/* before define_gucs(), which reserves the prefix */
	define_throttle_gucs();
	define_destructive_gucs();
	define_sampler_gucs();
	define_gucs();

	/* the query fingerprint is PostgreSQL's own query id */
	EnableQueryId();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = org_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = org_shmem_startup;

	org_queries_install_hooks();
	org_throttle_install_hooks();
	org_destructive_install_hooks();
	org_locks_install_hooks();
	org_sampler_register();
}

static void
define_gucs(void)
{
	DefineCustomEnumVariable("odoo_retail_guard.track",
							 "Which statements the slow query tracker times.",
							 "top: statements sent by clients; all: also statements run inside functions; none: off.",
							 &org_track,
							 ORG_TRACK_TOP,
							 track_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.max_queries",
							"Maximum number of distinct statements tracked in shared memory.",
							"When the table is full the least used entries are evicted and counted.",
							&org_max_queries,
							5000,
							100,
							INT_MAX / 2,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.slow_query_ms",
							"Executions at least this long count as slow and are sampled.",
							"-1 disables slow sampling.",
							&org_slow_query_ms,
							500,
							-1,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.slow_samples",
							"Number of recent slow executions kept in the ring buffer.",
							NULL,
							&org_slow_samples,
							1000,
							16,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.query_text_length",
							"Bytes of normalized query text kept per statement and per sample.",
							"Longer texts are truncated at a character boundary.",
							&org_query_text_length,
							1024,
							64,
							65536,
							PGC_POSTMASTER,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomStringVariable("odoo_retail_guard.odoo_application_name_prefix",
							   "application_name prefix that marks a connection as Odoo's.",
							   "Odoo 16+ sets odoo-<pid>; ODOO_PGAPPNAME can change it. Empty: no connection is Odoo's.",
							   &org_odoo_appname_prefix,
							   "odoo",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("odoo_retail_guard");
}

/* the connection throttle's settings */
static void
define_throttle_gucs(void)
{
	DefineCustomStringVariable("odoo_retail_guard.exempt_roles",
							   "Comma-separated roles the connection throttle never refuses, drains or counts.",
							   "Name the agent's own role here. Superusers and replication connections are always exempt.",
							   &org_throttle_exempt_roles,
							   "",
							   PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.throttle_max_ttl",
							"Longest time-to-live a throttle rule may be given.",
							"Every rule expires, so a stopped agent cannot leave the database throttled.",
							&org_throttle_max_ttl_s,
							4 * 3600,
							1,
							7 * 24 * 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.throttle_events",
							"Number of recent throttle refusals and drains kept in the ring buffer.",
							NULL,
							&org_throttle_events_size,
							1000,
							16,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

/* the destructive-statement journal's settings */
static void
define_destructive_gucs(void)
{
	DefineCustomIntVariable("odoo_retail_guard.destructive_min_rows",
							"DELETE and UPDATE statements hitting more rows than this are journaled as destructive.",
							"DROP TABLE and TRUNCATE are always journaled.",
							&org_destructive_min_rows,
							1000,
							0,
							INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.destructive_events",
							"Number of destructive statements kept in the journal's ring buffer.",
							NULL,
							&org_destructive_events_size,
							1000,
							16,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.destructive_max_relations",
							"Relations one transaction's DELETE and UPDATE rows are counted for.",
							"Relations past it are counted as untracked; a transaction starting uses the new value.",
							&org_destructive_max_relations,
							256,
							1,
							100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}

static void
define_sampler_gucs(void)
{
	DefineCustomBoolVariable("odoo_retail_guard.sampler",
							 "Whether the sampler fills the lock, autovacuum lag and replication trackers.",
							 "When off the sampler process stays up but samples nothing.",
							 &org_sampler_enabled,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.lock_sample_interval",
							"Time between two lock samples.",
							"A sample only asks the lock manager when some backend waits on a lock.",
							&org_lock_sample_interval,
							100,
							10,
							60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.replication_sample_interval",
							"Time between two replication history samples.",
							NULL,
							&org_replication_sample_interval,
							1000,
							100,
							3600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.lock_wait_event_threshold",
							"Finished lock waits at least this long are kept in the lock wait event ring.",
							NULL,
							&org_lock_wait_event_threshold,
							1000,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.lock_wait_events",
							"Number of finished long lock waits kept in the ring buffer.",
							NULL,
							&org_lock_wait_events,
							1000,
							16,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.max_lock_contention",
							"Maximum number of (database, relation, lock type, mode) entries of the lock contention table.",
							"When the table is full the entry seen least recently is evicted and counted.",
							&org_max_lock_contention,
							1000,
							16,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.replication_history_size",
							"Replication samples kept per standby.",
							"At the default interval of 1 s, 3600 samples are one hour.",
							&org_replication_history_size,
							3600,
							16,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.vacuum_sample_interval",
							"Time between two autovacuum lag passes over the shared table statistics of all databases.",
							"A catalog scan worker starts at most once per second, only for a database whose catalog facts may have changed.",
							&org_vacuum_sample_interval,
							1000,
							100,
							3600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("odoo_retail_guard.vacuum_databases",
							   "Comma-separated databases whose autovacuum lag is tracked.",
							   "Empty or * means every database that accepts connections and is not a template.",
							   &org_vacuum_databases,
							   "",
							   PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.max_tracked_tables",
							"Maximum number of tables, over all databases, whose autovacuum lag is tracked.",
							"Tables seen while the table is full are counted as untracked.",
							&org_max_tracked_tables,
							50000,
							100,
							INT_MAX / 2,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.max_tracked_tables_per_database",
							"Maximum number of tables of one database whose autovacuum lag is tracked.",
							"A catalog scan keeps the database's worst tables: over threshold first, then the nearest to a vacuum or a forced freeze.",
							&org_max_tracked_tables_per_database,
							1000,
							1,
							INT_MAX / 2,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("odoo_retail_guard.vacuum_catalog_refresh",
							"Time after which a database's catalog facts are read again even if nothing showed a change.",
							"Dead tuples are read every vacuum_sample_interval; reltuples, reloptions and relfrozenxid are read again when a table is vacuumed, analyzed, created or dropped, or after this time.",
							&org_vacuum_catalog_refresh,
							900,
							1,
							86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}

static void
org_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(MAXALIGN(sizeof(uint64)));
	RequestAddinShmemSpace(org_ring_sequence_shmem_size());
	org_queries_shmem_request();
	org_throttle_shmem_request();
	org_destructive_shmem_request();
	org_locks_shmem_request();
	org_replication_shmem_request();
	org_vacuum_shmem_request();
	org_sampler_shmem_request();
	org_generation_shmem_request();
}

/* a random value, never 0 (0 means "unknown" to readers) */
static uint64
new_incarnation(void)
{
	uint64		v = 0;

	if (!pg_strong_random(&v, sizeof(v)) || v == 0)
		v = (uint64) GetCurrentTimestamp() ^ ((uint64) MyProcPid << 48);
	return v != 0 ? v : 1;
}

static void
incarnation_shmem_startup(void)
{
	bool		found;

	shmem_incarnation = ShmemInitStruct(INCARNATION_SHMEM_NAME, sizeof(uint64),
										&found);
	if (!found)
		*shmem_incarnation = new_incarnation();
}

uint64
org_shmem_incarnation(void)
{
	org_require_shmem();
	return *shmem_incarnation;
}

static void
org_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	incarnation_shmem_startup();
	org_ring_sequence_shmem_startup();
	org_queries_shmem_startup();
	org_throttle_shmem_startup();
	org_destructive_shmem_startup();
	org_locks_shmem_startup();
	org_replication_shmem_startup();
	org_vacuum_shmem_startup();
	org_sampler_shmem_startup();
	org_generation_shmem_startup();
	LWLockRelease(AddinShmemInitLock);

	shmem_started = true;
}

bool
org_shmem_ready(void)
{
	return shmem_started;
}

/*
 * Every SQL entry point calls this first, so a cluster started without the
 * preload gives a clear error instead of a crash or empty views.
 */
void
org_require_shmem(void)
{
	if (!shmem_started)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("odoo_retail_guard must be loaded via shared_preload_libraries"),
				 errhint("Add odoo_retail_guard to shared_preload_libraries in postgresql.conf and restart the server.")));
}
