/*-------------------------------------------------------------------------
 *
 * memory_areas.c
 *	  Capacity, use and evictions of every shared-memory area, read through
 *	  the trackers' accessors (each takes its own lock only to copy).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "destructive.h"
#include "locks.h"
#include "memory_areas.h"
#include "queries.h"
#include "replication.h"
#include "throttle.h"
#include "vacuum.h"

static void
put(OrgMemoryArea *out, int *n, const char *area, int64 capacity,
	int64 used, int64 evicted)
{
	Assert(*n < ORG_MEMORY_AREAS);
	out[*n].area = area;
	out[*n].capacity = capacity;
	out[*n].used = used;
	out[*n].evicted = evicted;
	(*n)++;
}

/* for a ring, "evicted" is what has been overwritten so far */
static void
put_ring(OrgMemoryArea *out, int *n, const char *area, int64 capacity,
		 int64 written)
{
	put(out, n, area, capacity, Min(written, capacity),
		Max(written - capacity, 0));
}

void
org_memory_areas(OrgMemoryArea *out)
{
	OrgQueriesInfo info;
	OrgThrottleInfo tinfo;
	OrgDestructiveInfo dinfo;
	OrgLocksInfo locks_info;
	OrgReplicationInfo repl_info;
	OrgVacuumInfo vac_info;
	int			n = 0;

	org_queries_info(&info);
	org_throttle_info(&tinfo);
	org_destructive_info(&dinfo);
	org_locks_info(&locks_info);
	org_replication_info(&repl_info);
	org_vacuum_info(&vac_info);

	put(out, &n, "queries", info.max_entries, info.entries,
		(int64) info.evictions);
	put_ring(out, &n, "slow_query_samples", info.slow_capacity,
			 (int64) info.slow_written);
	put(out, &n, "throttle_rules", tinfo.rule_capacity, tinfo.rules_active, 0);
	put_ring(out, &n, "throttle_events", tinfo.event_capacity,
			 (int64) tinfo.events_written);
	put_ring(out, &n, "destructive_events", dinfo.capacity,
			 (int64) dinfo.written);
	put(out, &n, "lock_contention", locks_info.contention_capacity,
		locks_info.contention_entries, (int64) locks_info.contention_evictions);
	put(out, &n, "blocking_chains", locks_info.chains_capacity,
		locks_info.chains, 0);
	put_ring(out, &n, "lock_wait_events", locks_info.events_capacity,
			 (int64) locks_info.events_written);
	put(out, &n, "lock_conflict_databases", locks_info.conflict_capacity,
		locks_info.conflict_databases, 0);
	put(out, &n, "replication_history",
		(int64) repl_info.series_capacity * repl_info.samples_per_series,
		repl_info.samples_used, (int64) repl_info.series_evictions);
	/* for tracked tables: dropped for worse ones, or seen while full */
	put(out, &n, "autovacuum_tables", vac_info.capacity, vac_info.tables,
		(int64) (vac_info.evicted + vac_info.untracked));
	Assert(n == ORG_MEMORY_AREAS);
}
