/*
 * regress/workload/cron.h: Odoo 17.0's cron protocol (cron.c).
 */
#ifndef ORGUARD_WORKLOAD_CRON_H
#define ORGUARD_WORKLOAD_CRON_H

#include "workload.h"

/* one cron worker process: its connections share application_name odoo-<pid> */
typedef struct cron_worker
{
	const workload_opts *o;
	rng		   *r;
	odoo_cursor listen_cr;		/* on "postgres": LISTEN cron_trigger */
	odoo_cursor cron_cr;		/* holds the job's ir_cron row for the whole job */
	odoo_cursor job_cr;			/* the job's work, committed per batch */
	double		job_seconds;	/* stretch the job to this long (cron-job mode), 0: natural length */
	double		hour_seconds;	/* wall seconds per store hour: compresses rescheduling */
	bool		only_triggered; /* run only the jobs this worker triggered */
	long		triggered[16];
	int			ntriggered;
	long		jobs_run;
	long		batches;
	long		rows_deleted;
} cron_worker;

bool		cron_worker_open(cron_worker *w, const workload_opts *o, rng *r);
void		cron_worker_close(cron_worker *w);
/* find a job by its name (the tool's own lookup); -1 when there is none */
long		cron_find(cron_worker *w, const char *name);
/* ir.cron _trigger(): an ir_cron_trigger row and the NOTIFY on "postgres" */
bool		cron_trigger(cron_worker *w, long cron_id);
/* ir.cron _process_jobs: run the ready jobs; false on an unexpected error */
bool		cron_process_jobs(cron_worker *w);

#endif
