/*-------------------------------------------------------------------------
 *
 * ring.c
 *		Shared-memory ring buffers with ids from one per-node sequence.
 *		See ring.h for the reading protocol and the locking rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "ring.h"

#define SEQUENCE_SHMEM_NAME "odoo_retail_guard event sequence"
#define RING_TRANCHE_NAME	"odoo_retail_guard_ring"

/* slots a reader looks at under one hold of the lock, copied or not */
#define RING_READ_CHUNK_SLOTS	8192

typedef struct OrgRingSlot
{
	uint64		id;				/* 0: empty */
	char		payload[FLEXIBLE_ARRAY_MEMBER];
} OrgRingSlot;

static pg_atomic_uint64 *next_id = NULL;

int			org_ring_locks_held = 0;

Size
org_ring_sequence_shmem_size(void)
{
	return MAXALIGN(sizeof(pg_atomic_uint64));
}

void
org_ring_sequence_shmem_startup(void)
{
	bool		found;

	next_id = ShmemInitStruct(SEQUENCE_SHMEM_NAME, sizeof(pg_atomic_uint64),
							  &found);
	if (!found)
		pg_atomic_init_u64(next_id, 1);
}

uint64
org_ring_horizon(void)
{
	return pg_atomic_read_u64(next_id);
}

static Size
slot_size(Size payload_size)
{
	return MAXALIGN(offsetof(OrgRingSlot, payload) + payload_size);
}

static OrgRingSlot *
slot_at(OrgRing *ring, uint64 pos)
{
	return (OrgRingSlot *) (ring->slots +
							(pos % ring->capacity) * slot_size(ring->payload_size));
}

static void
ring_lock(OrgRing *ring, LWLockMode mode)
{
	LWLockAcquire(&ring->lock, mode);
	org_ring_locks_held++;
}

static void
ring_unlock(OrgRing *ring)
{
	org_ring_locks_held--;
	LWLockRelease(&ring->lock);
}

Size
org_ring_shmem_size(int capacity, Size payload_size)
{
	return add_size(MAXALIGN(offsetof(OrgRing, slots)),
					mul_size(capacity, slot_size(payload_size)));
}

/* runs in the postmaster (shmem_startup_hook), so children inherit the name */
void
org_ring_init(OrgRing *ring, int capacity, Size payload_size)
{
	int			i;

	LWLockInitialize(&ring->lock, LWLockNewTrancheId());
	LWLockRegisterTranche(ring->lock.tranche, RING_TRANCHE_NAME);
	ring->capacity = capacity;
	ring->payload_size = payload_size;
	ring->writes = 0;
	ring->max_lost_id = 0;
	ring->clears = 0;
	for (i = 0; i < capacity; i++)
		slot_at(ring, i)->id = 0;
}

uint64
org_ring_push(OrgRing *ring, const void *payload)
{
	OrgRingSlot *slot;
	uint64		id;

	ring_lock(ring, LW_EXCLUSIVE);
	slot = slot_at(ring, ring->writes++);
	if (slot->id > ring->max_lost_id)
		ring->max_lost_id = slot->id;
	/* the id is taken under the ring's lock: see the reading protocol */
	id = pg_atomic_fetch_add_u64(next_id, 1);
	slot->id = id;
	memcpy(slot->payload, payload, ring->payload_size);
	ring_unlock(ring);
	return id;
}

bool
org_ring_foreach(OrgRing *ring, uint64 cursor, uint64 horizon,
				 OrgRingVisitor visit, void *arg)
{
	Size		psize = ring->payload_size;
	int			chunk = (int) Max(1, Min((Size) ring->capacity,
										 RING_READ_CHUNK_BYTES / Max(psize, 1)));
	char	   *buf;
	uint64	   *ids;
	uint64		writes;
	uint64		clears;
	uint64		pos;
	bool		gap;

	/* the copy buffers are sized before any lock is taken */
	buf = palloc(psize * chunk);
	ids = palloc(sizeof(uint64) * chunk);

	ring_lock(ring, LW_SHARED);
	writes = ring->writes;
	clears = ring->clears;
	gap = (ring->max_lost_id > cursor);
	ring_unlock(ring);

	/*
	 * Slots in write order.  Ids are taken under the ring's lock in the same
	 * order, so the visits are oldest first.
	 */
	pos = (writes > (uint64) ring->capacity) ? writes - ring->capacity : 0;
	while (pos < writes)
	{
		int			n = 0;
		int			looked = 0;
		int			i;

		ring_lock(ring, LW_SHARED);
		if (ring->clears != clears)
		{
			/* cleared between two chunks: what was not read yet is gone */
			if (ring->max_lost_id > cursor)
				gap = true;
			ring_unlock(ring);
			break;
		}
		for (; pos < writes && n < chunk && looked < RING_READ_CHUNK_SLOTS;
			 pos++, looked++)
		{
			OrgRingSlot *slot = slot_at(ring, pos);

			if (slot->id > cursor && slot->id < horizon)
			{
				ids[n] = slot->id;
				memcpy(buf + n * psize, slot->payload, psize);
				n++;
			}
			else if (slot->id >= horizon && ring->max_lost_id > cursor)
			{
				/* overwritten by a newer entry while we read: the older one is lost */
				gap = true;
			}
		}
		ring_unlock(ring);

		for (i = 0; i < n; i++)
			visit(ids[i], buf + i * psize, arg);
	}

	pfree(buf);
	pfree(ids);
	return gap;
}

typedef struct ReadAll
{
	Size		payload_size;
	char	   *out;
	uint64	   *ids;
	int			count;
	int			capacity;
} ReadAll;

static void
read_all_visit(uint64 id, const void *payload, void *arg)
{
	ReadAll    *r = (ReadAll *) arg;

	if (r->count == r->capacity)
	{
		r->capacity *= 2;
		r->out = repalloc_huge(r->out, r->payload_size * r->capacity);
		r->ids = repalloc_huge(r->ids, sizeof(uint64) * r->capacity);
	}
	r->ids[r->count] = id;
	memcpy(r->out + r->count * r->payload_size, payload, r->payload_size);
	r->count++;
}

void *
org_ring_read(OrgRing *ring, uint64 cursor, uint64 horizon, uint64 **ids,
			  int *count, bool *gap)
{
	ReadAll		r;

	r.payload_size = ring->payload_size;
	r.count = 0;
	r.capacity = 16;
	r.out = palloc(r.payload_size * r.capacity);
	r.ids = palloc(sizeof(uint64) * r.capacity);
	*gap = org_ring_foreach(ring, cursor, horizon, read_all_visit, &r);
	*ids = r.ids;
	*count = r.count;
	return r.out;
}

void
org_ring_clear(OrgRing *ring)
{
	int			i;

	ring_lock(ring, LW_EXCLUSIVE);
	for (i = 0; i < ring->capacity; i++)
	{
		OrgRingSlot *slot = slot_at(ring, i);

		/* a reader whose cursor is below a dropped entry has a gap */
		if (slot->id > ring->max_lost_id)
			ring->max_lost_id = slot->id;
		slot->id = 0;
	}
	ring->writes = 0;
	ring->clears++;
	ring_unlock(ring);
}

uint64
org_ring_writes(OrgRing *ring)
{
	uint64		w;

	ring_lock(ring, LW_SHARED);
	w = ring->writes;
	ring_unlock(ring);
	return w;
}

int64
org_ring_used(OrgRing *ring)
{
	return (int64) Min(org_ring_writes(ring), (uint64) ring->capacity);
}
