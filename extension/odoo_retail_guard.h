/*-------------------------------------------------------------------------
 *
 * odoo_retail_guard.h
 *		Declarations shared by the rooms of the odoo_retail_guard module:
 *		the GUC variables and each tracker's shared-memory entry points.
 *
 * Every tracker owns one named shared-memory struct.  It asks for its space
 * and locks in <tracker>_shmem_request() (called from shmem_request_hook)
 * and sets the struct up in <tracker>_shmem_startup() (called from
 * shmem_startup_hook, under AddinShmemInitLock).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ODOO_RETAIL_GUARD_H
#define ODOO_RETAIL_GUARD_H

#include "postgres.h"

#define ORG_NAME "odoo_retail_guard"

/* GUC variables (defined in odoo_retail_guard.c) */
typedef enum OrgTrackLevel
{
	ORG_TRACK_NONE,
	ORG_TRACK_TOP,
	ORG_TRACK_ALL
} OrgTrackLevel;

extern int	org_track;
extern int	org_max_queries;
extern int	org_slow_query_ms;
extern int	org_slow_samples;
extern int	org_query_text_length;
extern char *org_odoo_appname_prefix;

/* connection throttle GUCs (odoo_retail_guard.c) */
extern int	org_throttle_events_size;
extern int	org_throttle_max_ttl_s;
extern char *org_throttle_exempt_roles;

/* destructive-statement journal GUCs (odoo_retail_guard.c) */
extern int	org_destructive_min_rows;
extern int	org_destructive_events_size;
extern int	org_destructive_max_relations;
/* sampler GUCs (defined in odoo_retail_guard.c) */
extern bool org_sampler_enabled;
extern int	org_lock_sample_interval;
extern int	org_replication_sample_interval;
extern int	org_lock_wait_event_threshold;
extern int	org_lock_wait_events;
extern int	org_max_lock_contention;
extern int	org_replication_history_size;
extern int	org_vacuum_sample_interval;
extern char *org_vacuum_databases;
extern int	org_max_tracked_tables;
extern int	org_max_tracked_tables_per_database;
extern int	org_vacuum_catalog_refresh;

/* true once our shared memory exists in this process */
extern bool org_shmem_ready(void);
extern void org_require_shmem(void);

/* a random value set whenever our shared memory is initialized (never 0) */
extern uint64 org_shmem_incarnation(void);

/* queries.c: slow Odoo query tracking */
extern void org_queries_shmem_request(void);
extern void org_queries_shmem_startup(void);
extern void org_queries_install_hooks(void);

/* throttle.c: connection throttle (see throttle.h for its readers) */
extern void org_throttle_shmem_request(void);
extern void org_throttle_shmem_startup(void);
extern void org_throttle_install_hooks(void);

/* destructive.c: destructive-statement journal (see destructive.h) */
extern void org_destructive_shmem_request(void);
extern void org_destructive_shmem_startup(void);
extern void org_destructive_install_hooks(void);

#endif							/* ODOO_RETAIL_GUARD_H */
