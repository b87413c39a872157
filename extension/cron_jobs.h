/*-------------------------------------------------------------------------
 *
 * cron_jobs.h
 *		Odoo scheduled jobs running now, read from the backend status
 *		entries (pg_stat_activity) with the recogniser in odoo_cron.h: the
 *		odoo_jobs view, Snapshot.cron_jobs, the throttle's drain exemption and
 *		the origin of destructive events.
 *
 * OrgCronJob maps onto CronJob in proto/odoo_retail_guard.proto.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_CRON_JOBS_H
#define ORG_CRON_JOBS_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "odoo_cron.h"

typedef struct OrgCronJob
{
	int32		cron_pid;
	int			n_job_pids;
	int32		job_pids[ORG_CRON_MAX_JOB_PIDS];
	int			n_job_connections;	/* seen; may exceed n_job_pids */
	Oid			dbid;
	char		appname[NAMEDATALEN];
	int64		job_id;			/* 0 unknown */
	TimestampTz started;		/* the cron cursor's transaction start */
	double		running_s;
	char		job_state[32];	/* of the busiest job connection */
	char	   *job_query;		/* normalized; NULL unless asked for */
	char		job_model[NAMEDATALEN];
	bool		holds_horizon;	/* the cron cursor holds the oldest xmin */
	int64		xmin_age;		/* of the cron cursor, in transactions */
	uint32		blocked_sessions;	/* waiting on the cron cursor or a job
									 * connection, at the last lock sample */
} OrgCronJob;

/* where a destructive event comes from */
typedef enum OrgEventOrigin
{
	ORG_ORIGIN_ADHOC = 0,
	ORG_ORIGIN_CRON,
	ORG_ORIGIN_HOUSEKEEPING
} OrgEventOrigin;

/* jobs running now: palloc'd, shared by the view and the snapshot */
extern OrgCronJob *org_cron_jobs_collect(int *count, bool with_text);

/*
 * Whether pid is the cron cursor of a job whose job connection is alive,
 * as of the backend status entries this transaction has read.
 */
extern bool org_cron_cursor_of_running_job(int pid);

/*
 * Origin of a destructive statement run by this backend: housekeeping when
 * the normalized text on relation is one of Odoo's garbage-collection
 * shapes, else cron when this backend is a job connection of a running
 * job, else adhoc.  job_id and cron_pid are set whenever this backend is a
 * job connection (0 otherwise).  Reads backend status entries: call it at
 * statement time, with none of our locks held.
 */
extern OrgEventOrigin org_cron_event_origin(const char *normalized_text,
											const char *relation,
											int64 *job_id, int32 *cron_pid);

/* "adhoc", "cron", "housekeeping" */
extern const char *org_event_origin_name(int origin);

#endif							/* ORG_CRON_JOBS_H */
