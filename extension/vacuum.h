/*-------------------------------------------------------------------------
 *
 * vacuum.h
 *		Autovacuum lag tracker: per table of every tracked database, dead
 *		tuples against the threshold autovacuum computes, since when the
 *		table has been over it, vacuum progress and freeze ages; and the
 *		cluster's xmin horizon holders.
 *
 * The sampler reads every database's table statistics from PostgreSQL's
 * shared cumulative statistics on each vacuum tick; catalog facts
 * (reltuples, reloptions, relfrozenxid) come from a short-lived worker
 * connected to one database, started only when they may have changed (see
 * vacuum.c).  Entries live in a fixed shared hash (max_tracked_tables,
 * max_tracked_tables_per_database; the worst tables kept, vacuum_rank.h).
 * Holders of the xmin horizon are read live from the proc array and the
 * slot array when asked.
 *
 * OrgAutovacuumLag maps onto AutovacuumLag and OrgVacuumHorizon onto
 * VacuumHorizon in proto/odoo_retail_guard.proto (the snapshot carries the
 * first, oldest holder).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_VACUUM_H
#define ORG_VACUUM_H

#include "postgres.h"

#include "datatype/timestamp.h"

#define ORG_VACUUM_PHASE_LEN	32
#define ORG_HOLDER_KIND_LEN		24

typedef struct OrgAutovacuumLag
{
	Oid			dbid;
	Oid			relid;
	char		relation[NAMEDATALEN * 2];	/* schema-qualified unless public */
	char		model[NAMEDATALEN];
	int64		live_tuples;
	int64		dead_tuples;
	double		reltuples;
	double		threshold;		/* base threshold + scale factor * reltuples */
	double		dead_over_threshold;	/* dead_tuples / threshold */
	bool		autovacuum_enabled;
	TimestampTz over_threshold_since;	/* 0 when under threshold */
	double		lag_s;			/* now - over_threshold_since; 0 under */
	TimestampTz last_vacuum;
	TimestampTz last_autovacuum;
	TimestampTz last_analyze;
	TimestampTz last_autoanalyze;
	bool		vacuum_running;
	int32		vacuum_pid;
	char		vacuum_phase[ORG_VACUUM_PHASE_LEN];
	int64		xid_age;
	int64		mxid_age;
	int64		freeze_max_age;
	TimestampTz scanned_at;		/* when these figures were read */
	uint64		changed_generation; /* when a figure last changed (generation.h) */
} OrgAutovacuumLag;

/* something that keeps vacuum from removing dead tuples */
typedef struct OrgVacuumHorizon
{
	char		holder_kind[ORG_HOLDER_KIND_LEN];	/* backend, prepared_xact,
													 * replication_slot,
													 * standby_feedback */
	int32		pid;
	Oid			dbid;
	char		application_name[NAMEDATALEN];
	int16		worker_class;	/* OrgWorkerClass */
	char		state[32];
	TransactionId xmin;			/* the older of its xmin and xid */
	int64		xmin_age;		/* in transactions */
	TimestampTz since;			/* transaction start; 0 unknown */
	double		age_s;			/* now - since; -1 unknown */
	char		name[NAMEDATALEN];	/* slot name */
	char	   *query;			/* normalized; NULL unless asked for */
} OrgVacuumHorizon;

typedef struct OrgVacuumInfo
{
	int64		tables;
	int64		capacity;
	uint64		untracked;		/* tables seen while the hash was full */
	int64		databases;		/* databases scanned at least once */
	uint64		scans;
	uint64		skipped_ticks;	/* sampler ticks skipped: pg_database locked */
	double		scan_cpu_ms;	/* CPU used by scan workers since start */
	uint64		scan_starts;	/* scan workers started */
	uint64		stat_passes;	/* statistics passes applied by the sampler */
	uint64		evicted;		/* tracked tables dropped for worse ones */
	int64		untracked_tables;	/* left out by the caps at the last scans */
} OrgVacuumInfo;

extern void org_vacuum_shmem_request(void);
extern void org_vacuum_shmem_startup(void);

/* sampler side: start the next database's scan if none is running */
extern void org_vacuum_sample(void);
extern PGDLLEXPORT void org_vacuum_scan_main(Datum main_arg);

/* read accessors: palloc'd copies, shared by the views and the snapshot */
extern OrgAutovacuumLag *org_autovacuum_lag_collect(int *count);
extern OrgVacuumHorizon *org_vacuum_horizon_collect(int *count, bool with_text);
extern void org_vacuum_info(OrgVacuumInfo *info);

#endif							/* ORG_VACUUM_H */
