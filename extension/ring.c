/*-------------------------------------------------------------------------
 *
 * ring.c
 *		Shared-memory ring buffers with ids from one per-node sequence.
 *		See ring.h for the reading protocol.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/atomics.h"
#include "storage/shmem.h"

#include "ring.h"

#define SEQUENCE_SHMEM_NAME "odoo_retail_guard event sequence"

typedef struct OrgRingSlot
{
	uint64		id;				/* 0: empty */
	char		payload[FLEXIBLE_ARRAY_MEMBER];
} OrgRingSlot;

static pg_atomic_uint64 *next_id = NULL;

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

Size
org_ring_shmem_size(int capacity, Size payload_size)
{
	return add_size(MAXALIGN(offsetof(OrgRing, slots)),
					mul_size(capacity, slot_size(payload_size)));
}

void
org_ring_init(OrgRing *ring, int capacity, Size payload_size)
{
	int			i;

	SpinLockInit(&ring->mutex);
	ring->capacity = capacity;
	ring->payload_size = payload_size;
	ring->writes = 0;
	ring->max_lost_id = 0;
	for (i = 0; i < capacity; i++)
		slot_at(ring, i)->id = 0;
}

uint64
org_ring_push(OrgRing *ring, const void *payload)
{
	OrgRingSlot *slot;
	uint64		id;

	SpinLockAcquire(&ring->mutex);
	slot = slot_at(ring, ring->writes++);
	if (slot->id > ring->max_lost_id)
		ring->max_lost_id = slot->id;
	/* the id is taken under the ring's lock: see the reading protocol */
	id = pg_atomic_fetch_add_u64(next_id, 1);
	slot->id = id;
	memcpy(slot->payload, payload, ring->payload_size);
	SpinLockRelease(&ring->mutex);
	return id;
}

void *
org_ring_read(OrgRing *ring, uint64 cursor, uint64 horizon, uint64 **ids,
			  int *count, bool *gap)
{
	char	   *out;
	uint64	   *outids;
	int			n = 0;
	uint64		writes;
	uint64		first;
	uint64		pos;

	out = palloc(ring->payload_size * Max(ring->capacity, 1));
	outids = palloc(sizeof(uint64) * Max(ring->capacity, 1));

	SpinLockAcquire(&ring->mutex);
	writes = ring->writes;
	*gap = (ring->max_lost_id > cursor);
	SpinLockRelease(&ring->mutex);

	/*
	 * Slots in write order.  Ids are taken under the ring's lock in the same
	 * order, so the result is oldest first.
	 */
	first = (writes > (uint64) ring->capacity) ? writes - ring->capacity : 0;
	for (pos = first; pos < writes; pos++)
	{
		OrgRingSlot *slot = slot_at(ring, pos);

		SpinLockAcquire(&ring->mutex);
		if (slot->id > cursor && slot->id < horizon)
		{
			outids[n] = slot->id;
			memcpy(out + n * ring->payload_size, slot->payload, ring->payload_size);
			n++;
		}
		else if (slot->id >= horizon)
		{
			/* overwritten by a newer entry while we read: the older one is lost */
			if (ring->max_lost_id > cursor)
				*gap = true;
		}
		SpinLockRelease(&ring->mutex);
	}

	*ids = outids;
	*count = n;
	return out;
}

void
org_ring_clear(OrgRing *ring)
{
	int			i;

	SpinLockAcquire(&ring->mutex);
	for (i = 0; i < ring->capacity; i++)
		slot_at(ring, i)->id = 0;
	ring->writes = 0;
	SpinLockRelease(&ring->mutex);
}

uint64
org_ring_writes(OrgRing *ring)
{
	uint64		w;

	SpinLockAcquire(&ring->mutex);
	w = ring->writes;
	SpinLockRelease(&ring->mutex);
	return w;
}

int64
org_ring_used(OrgRing *ring)
{
	return (int64) Min(org_ring_writes(ring), (uint64) ring->capacity);
}
