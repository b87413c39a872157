/*
 * cron_jobs.h: Odoo's scheduled jobs as the agent knows them.  Pure: no I/O.
 *
 * Two sources meet here.  The snapshot's CronJob entries are the jobs
 * running now, as the extension recognises them in pg_stat_activity: the
 * cron cursor (idle in transaction after acquiring the job's ir_cron row,
 * holding that row lock and a REPEATABLE READ snapshot until the job ends)
 * and the job connection(s) of the same Odoo process doing the work.  The
 * catalog is ir_cron read from the node's database (node.c): job id ->
 * name, and whether the job is Odoo's housekeeping (ir.autovacuum).
 *
 * A cron cursor idle in transaction is how Odoo runs a job, not an
 * abandoned session; terminating it releases the job's lock while the job
 * goes on, so another worker can start the same job.
 */
#ifndef ORGUARD_CRON_JOBS_H
#define ORGUARD_CRON_JOBS_H

#include "odoo_retail_guard.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

/* at most this many jobs and bytes of a name are kept per database */
#define CRON_CATALOG_MAX_JOBS 10000
#define CRON_NAME_MAX_BYTES 200

typedef struct cron_job_info
{
	int64_t		id;
	char	   *name;			/* valid UTF-8, at most CRON_NAME_MAX_BYTES */
	bool		housekeeping;	/* runs ir.autovacuum's _run_vacuum_cleaner */
} cron_job_info;

typedef struct cron_catalog
{
	char	   *database;		/* whose ir_cron; NULL until read */
	cron_job_info *v;			/* ascending id */
	int			n;
} cron_catalog;

void		cron_catalog_free(cron_catalog *c);
/* starts a new catalog of database's jobs (the old one is freed) */
void		cron_catalog_reset(cron_catalog *c, const char *database);
/* rows come sorted by id: an id not above the last one, or one past the cap, is dropped */
bool		cron_catalog_add(cron_catalog *c, int64_t id, const char *name, bool housekeeping);
/* the job of that id in that database, or NULL (other database, unknown id, nothing read) */
const cron_job_info *cron_catalog_find(const cron_catalog *c, const char *database, int64_t id);
/* whether a running job's id is missing from the catalog (a job created since it was read) */
bool		cron_catalog_misses(const cron_catalog *c, const OdooRetailGuard__Snapshot *s);

/* the running job whose cron cursor or job connection is pid; *cron_cursor says which */
const OdooRetailGuard__CronJob *cron_job_by_pid(const OdooRetailGuard__Snapshot *s, int32_t pid,
											   bool *cron_cursor);
/*
 * pid is a running job's session: its cron cursor while a job connection is
 * alive, or a job connection (Odoo computes between its statements).  Idle
 * in transaction by design: cron_job_runtime, lock_wait, blocking_chain and
 * vacuum_horizon cover them and name the job.
 */
bool		cron_running_job_session(const OdooRetailGuard__Snapshot *s, int32_t pid);

/*
 * One phrase naming a job for summaries, malloc'd: `Odoo job 12 "Mail:
 * Email Queue Manager" (cron cursor pid 400, job pid 401)`; the id or the
 * name are left out when unknown.
 */
char	   *cron_job_describe(const cron_catalog *c, const OdooRetailGuard__CronJob *j);

/* the stable identity of a job's alert: "DB/job:ID", or "DB/pid:CRON_PID" when the id is unknown */
char	   *cron_job_subject(const OdooRetailGuard__CronJob *j);

typedef enum destructive_origin
{
	ORIGIN_ADHOC,				/* interactive, a script, an RPC call: paged */
	ORIGIN_CRON,				/* a scheduled job that is not housekeeping: paged */
	ORIGIN_HOUSEKEEPING,		/* Odoo's nightly garbage collection: recorded */
	ORIGIN_COUNT
} destructive_origin;

const char *destructive_origin_name(destructive_origin o);

/*
 * The extension's origin, refined with the catalog: a cron job that runs
 * ir.autovacuum is housekeeping.  An origin the extension did not give (an
 * older extension) or does not know counts as ad hoc: it is paged.
 */
destructive_origin cron_event_origin(const cron_catalog *c, const OdooRetailGuard__DestructiveEvent *d);

#endif
