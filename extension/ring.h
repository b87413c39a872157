/*-------------------------------------------------------------------------
 *
 * ring.h
 *		Fixed-size ring buffers in shared memory whose entries carry ids from
 *		one per-node sequence, so a single cursor reads every ring without
 *		seeing an entry twice or skipping one.
 *
 * Locking: each ring has its own LWLock.  A writer holds it exclusively to
 * take an id and copy its payload into one slot; a reader holds it shared
 * to copy a bounded chunk of slots (at most RING_READ_CHUNK_BYTES) into
 * private memory, releases it, and only then hands the copies to its
 * visitor.  Payloads reach 64 kB (query texts), too long to copy under a
 * spinlock; nothing but memcpy happens under the ring's lock.  Rings are
 * for rare events (slow executions, finished lock waits, refusals,
 * destructive statements), never for every statement.
 *
 * Reading protocol: take the horizon (org_ring_horizon()) first, then read
 * each ring for ids in (cursor, horizon).  An id below the horizon was
 * assigned under its ring's lock before the horizon was read, so its slot is
 * complete by the time the reader takes that lock.
 *
 * Lost entries: overwriting a slot, or org_ring_clear() (reset()) dropping
 * the entries it holds, raises max_lost_id to the dropped entry's id.  The
 * ring does not know which readers saw an entry: a reader whose cursor is
 * below max_lost_id is told there is a gap, one already past it is not.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_RING_H
#define ORG_RING_H

#include "postgres.h"

#include "storage/lwlock.h"

/* most payload bytes a reader copies under one hold of the ring's lock */
#define RING_READ_CHUNK_BYTES	(256 * 1024)

typedef struct OrgRing
{
	LWLock		lock;			/* protects everything below */
	int			capacity;
	Size		payload_size;
	uint64		writes;			/* slots written since start or clear */
	uint64		max_lost_id;	/* highest id overwritten or cleared */
	uint64		clears;			/* org_ring_clear() calls */
	char		slots[FLEXIBLE_ARRAY_MEMBER];
} OrgRing;

/* shared id sequence */
extern Size org_ring_sequence_shmem_size(void);
extern void org_ring_sequence_shmem_startup(void);
extern uint64 org_ring_horizon(void);

extern Size org_ring_shmem_size(int capacity, Size payload_size);
extern void org_ring_init(OrgRing *ring, int capacity, Size payload_size);

/* copies payload into the next slot; returns the entry's id */
extern uint64 org_ring_push(OrgRing *ring, const void *payload);

/*
 * Called once per entry with cursor < id < horizon, oldest first, with a
 * private copy of its payload; no lock is held during the call.
 */
typedef void (*OrgRingVisitor) (uint64 id, const void *payload, void *arg);

/*
 * Visits the entries with cursor < id < horizon.  Returns true (a gap) when
 * an entry newer than the cursor was lost before it could be read.
 */
extern bool org_ring_foreach(OrgRing *ring, uint64 cursor, uint64 horizon,
							 OrgRingVisitor visit, void *arg);

/*
 * The same entries as one palloc'd array of payloads, oldest first; ids[]
 * receives their ids.  The array grows with the entries actually returned,
 * so use it for small fixed payloads only; payloads that carry texts are
 * better read with org_ring_foreach() and copied at their real length.
 */
extern void *org_ring_read(OrgRing *ring, uint64 cursor, uint64 horizon,
						   uint64 **ids, int *count, bool *gap);

/*
 * Forget every entry: each one dropped counts as lost (for the readers that
 * have not passed it yet).  Ids are never reused.
 */
extern void org_ring_clear(OrgRing *ring);

extern int64 org_ring_used(OrgRing *ring);
extern uint64 org_ring_writes(OrgRing *ring);

/* ring locks this process holds now (for the lock-held checks) */
extern int	org_ring_locks_held;

#endif							/* ORG_RING_H */
