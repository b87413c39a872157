/*-------------------------------------------------------------------------
 *
 * ring.h
 *		Fixed-size ring buffers in shared memory whose entries carry ids from
 *		one per-node sequence, so a single cursor reads every ring without
 *		seeing an entry twice or skipping one.
 *
 * Writers and readers take the ring's spinlock only to assign an id and
 * copy one slot.  Rings are for rare events (slow executions, finished lock
 * waits, refusals, destructive statements), never for every statement.
 *
 * Reading protocol: take the horizon (org_ring_horizon()) first, then read
 * each ring for ids in (cursor, horizon).  An id below the horizon was
 * assigned under its ring's lock before the horizon was read, so its slot is
 * complete by the time the reader takes that lock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_RING_H
#define ORG_RING_H

#include "postgres.h"

#include "storage/spin.h"

typedef struct OrgRing
{
	slock_t		mutex;
	int			capacity;
	Size		payload_size;
	uint64		writes;			/* slots written since start */
	uint64		max_lost_id;	/* highest id overwritten or cleared unread */
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
 * Copies entries with cursor < id < horizon into a palloc'd array of
 * payloads, oldest first; ids[] receives their ids.  *gap is set when an
 * entry newer than the cursor was overwritten before it was read.
 */
extern void *org_ring_read(OrgRing *ring, uint64 cursor, uint64 horizon,
						   uint64 **ids, int *count, bool *gap);

/* forget every entry (ids are never reused) */
extern void org_ring_clear(OrgRing *ring);

extern int64 org_ring_used(OrgRing *ring);
extern uint64 org_ring_writes(OrgRing *ring);

#endif							/* ORG_RING_H */
