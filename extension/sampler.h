/*-------------------------------------------------------------------------
 *
 * sampler.h
 *		The sampler background worker: one process per node that fills the
 *		lock, replication and autovacuum lag trackers on their own intervals.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_SAMPLER_H
#define ORG_SAMPLER_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* what the sampler reports about itself (sampler_status view) */
typedef struct OrgSamplerStatus
{
	int32		pid;			/* 0 when not running */
	bool		enabled;		/* odoo_retail_guard.sampler as the sampler sees it */
	TimestampTz started_at;
	uint64		starts;			/* since postmaster start */
	uint64		lock_samples;
	uint64		replication_samples;
	uint64		vacuum_samples;
	uint64		errors;			/* samples that failed and were skipped */
	TimestampTz last_lock_sample;
	TimestampTz last_replication_sample;
	TimestampTz last_vacuum_sample;
	double		lock_sample_us_total;	/* time spent sampling locks */
	double		replication_sample_us_total;
	double		vacuum_sample_us_total;
} OrgSamplerStatus;

extern void org_sampler_shmem_request(void);
extern void org_sampler_shmem_startup(void);
extern void org_sampler_register(void);
extern void org_sampler_status(OrgSamplerStatus *status);

extern PGDLLEXPORT void org_sampler_main(Datum main_arg);

#endif							/* ORG_SAMPLER_H */
