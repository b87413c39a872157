/*
 * snapshot_merge.h: a node's statements, models, lock contention and
 * autovacuum tables kept between polls, so that delta snapshots (only what
 * changed since a generation, plus what was removed) reach rules, /metrics
 * and remote write as the same whole snapshot a full poll gives.
 *
 * Pure: no I/O.  The state takes the entries of each snapshot it is given
 * and keeps them as records (entry_record.h); snapshot_merge_lend() reads
 * the merged sets back into the snapshot for as long as its readers look
 * at them, until snapshot_merge_release().  Every other field of the
 * snapshot is left as it came.  Lend one node's snapshot at a time: the
 * read-back sets take about 250 bytes an entry, the records about 66.
 */
#ifndef ORGUARD_SNAPSHOT_MERGE_H
#define ORGUARD_SNAPSHOT_MERGE_H

#include "odoo_retail_guard.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct snapshot_merge snapshot_merge;

/* full_every_ms: a full snapshot at least this often (the safety net); 0 never */
snapshot_merge *snapshot_merge_new(int64_t full_every_ms);
void		snapshot_merge_free(snapshot_merge *m);

/* forget everything: the next poll asks for a full snapshot */
void		snapshot_merge_reset(snapshot_merge *m);

/* since_generation for the next poll: 0 asks for a full snapshot */
uint64_t	snapshot_merge_since(const snapshot_merge *m, int64_t now_ms);

/*
 * Applies a decoded snapshot: a full one replaces the state, a delta is
 * merged into it.  Afterwards snap's four sets are empty until
 * snapshot_merge_lend.  Returns false, with why in err, when a delta
 * cannot be merged (no state, or another node or shared-memory
 * incarnation): the state is dropped so the next poll asks for a full one,
 * and snap keeps only what it carried.
 */
bool		snapshot_merge_apply(snapshot_merge *m, OdooRetailGuard__Snapshot *snap,
								 int64_t now_ms, char *err, size_t errlen);

/*
 * Sets snap's four sets to the merged ones, read back from the records
 * (the autovacuum tables in the extension's order), until
 * snapshot_merge_release.  Nothing without a merged state (a refused
 * delta: snap keeps what it carried).
 */
void		snapshot_merge_lend(snapshot_merge *m, OdooRetailGuard__Snapshot *snap);

/*
 * Takes the lent sets back from snap (and frees them); nothing for a
 * snapshot not lent.  Lending again, or applying the next snapshot, takes
 * them back from the one lent before (its sets are then empty).
 */
void		snapshot_merge_release(snapshot_merge *m, OdooRetailGuard__Snapshot *snap);

/* counters, for /metrics and the benchmark */
typedef struct snapshot_merge_stats
{
	uint64_t	fulls;			/* full snapshots applied */
	uint64_t	deltas;			/* deltas merged */
	uint64_t	refused;		/* deltas that could not be merged */
	size_t		entries;		/* kept now, all four sets */
} snapshot_merge_stats;

void		snapshot_merge_get_stats(const snapshot_merge *m, snapshot_merge_stats *st);

#endif
