/*-------------------------------------------------------------------------
 *
 * odoo_cron.h
 *	  Odoo's scheduler as PostgreSQL sees it: which statement text marks a
 *	  cron cursor, which backends run a job, and which mass deletes are
 *	  Odoo's own scheduled garbage collection.
 *
 * Odoo (odoo/addons/base/models/ir_cron.py, 16.0 to 18.0) acquires a job on
 * a "cron cursor" with a SELECT ... FROM ir_cron ... FOR NO KEY UPDATE SKIP
 * LOCKED (18.0 then deletes the job's triggers on it), leaves that cursor
 * idle in transaction while the job runs, and runs the job on another
 * connection of the same process (same application_name, odoo-<pid>).
 *
 * Everything here is pure C (libc only, no allocation) so it is unit tested
 * outside the server.  Only the kind of statement and the job id are taken
 * from a statement's text; no other constant is kept.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_ODOO_CRON_H
#define ORG_ODOO_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* job connections kept per job; more are counted, not listed */
#define ORG_CRON_MAX_JOB_PIDS	8

typedef enum OrgCronStatement
{
	ORG_CRON_STMT_OTHER = 0,
	ORG_CRON_STMT_ACQUIRE,		/* SELECT/WITH ... FROM ir_cron ... FOR NO
								 * KEY UPDATE SKIP LOCKED */
	ORG_CRON_STMT_CLEAR_TRIGGERS,	/* DELETE FROM ir_cron_trigger WHERE
									 * cron_id = N ... */
	ORG_CRON_STMT_LISTEN		/* LISTEN channel */
} OrgCronStatement;

/* the state of a backend, as far as job matching cares */
typedef enum OrgCronBackendState
{
	ORG_CRON_BE_OTHER = 0,
	ORG_CRON_BE_ACTIVE,
	ORG_CRON_BE_IDLE,
	ORG_CRON_BE_IDLE_IN_XACT,
	ORG_CRON_BE_IDLE_IN_XACT_ABORTED
} OrgCronBackendState;

/* one client backend, its statement already classified */
typedef struct OrgCronBackend
{
	int32_t		pid;
	uint32_t	dbid;
	const char *appname;		/* NULL or "" never matches */
	OrgCronBackendState state;
	OrgCronStatement stmt;
	int64_t		stmt_job_id;	/* from the statement; 0 unknown */
} OrgCronBackend;

/* a running job: indexes into the backend array */
typedef struct OrgCronJobMatch
{
	int			cron;			/* the cron cursor */
	int64_t		job_id;			/* 0 unknown */
	int			n_jobs;			/* job connections listed */
	int			jobs[ORG_CRON_MAX_JOB_PIDS];	/* busiest first */
	int			n_jobs_total;	/* job connections seen */
} OrgCronJobMatch;

/*
 * Kind of statement, from a backend's statement text (raw or normalized;
 * case, whitespace, comments and identifier quotes do not matter).  When
 * job_id is not NULL it receives the ir_cron id the statement names, or 0
 * when it names none or several different ones.
 */
extern OrgCronStatement org_cron_classify_statement(const char *sql,
													int64_t *job_id);

/* True for a backend that is the cron cursor of a job */
extern bool org_cron_is_cron_cursor(const OrgCronBackend *be);

/*
 * Find the jobs running among n backends.  A cron cursor is a backend idle
 * in transaction whose last statement is an acquire or a trigger clean-up;
 * its job connections are the other backends of the same database and
 * application_name that are neither LISTEN-only connections nor cron
 * cursors.  Writes at most max_out matches, in backend order; returns how
 * many it wrote.
 */
extern int	org_cron_match_jobs(const OrgCronBackend *be, int n,
								OrgCronJobMatch *out, int max_out);

/*
 * Index of the first match whose job connections include backend index
 * (listed or only counted), or -1.
 */
extern int	org_cron_job_of(const OrgCronBackend *be, const OrgCronJobMatch *m,
							int n_matches, int index);

/*
 * The unqualified name of the main table of a statement (FROM of a SELECT,
 * INTO of an INSERT, the target of UPDATE and DELETE), lower-cased unless
 * quoted.  False and "" when there is none or it does not fit.
 */
extern bool org_sql_main_table(const char *sql, char *out, size_t outlen);

/*
 * Which of Odoo's own garbage-collection statements (@api.autovacuum
 * methods run by the daily ir.autovacuum job) a normalized statement on
 * relation is; -1 when none.  org_housekeeping_source() names the Odoo file
 * the shape comes from.
 */
extern int	org_housekeeping_shape(const char *sql, const char *relation);
extern const char *org_housekeeping_source(int shape);

#endif							/* ORG_ODOO_CRON_H */
