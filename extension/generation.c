/*-------------------------------------------------------------------------
 *
 * generation.c
 *		The node's change generation and the bounded log of removed entries
 *		(see generation.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "utils/timestamp.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "generation.h"
#include "odoo_retail_guard.h"

#define GENERATION_SHMEM_NAME	"odoo_retail_guard generation"
#define GENERATION_TRANCHE		"odoo_retail_guard_generation"

typedef struct OrgGenerationShared
{
	pg_atomic_uint64 generation;
	uint64		first;			/* where this incarnation's generations start */
	LWLock	   *lock;			/* protects the removal log below */
	uint64		written;		/* removals logged since start */
	uint64		unknown_through;	/* removals up to this generation may be lost */
	OrgRemoval	log[ORG_REMOVAL_LOG_SIZE];
} OrgGenerationShared;

static OrgGenerationShared *gshared = NULL;

Size
org_generation_shmem_size(void)
{
	return MAXALIGN(sizeof(OrgGenerationShared));
}

void
org_generation_shmem_request(void)
{
	RequestAddinShmemSpace(org_generation_shmem_size());
	RequestNamedLWLockTranche(GENERATION_TRANCHE, 1);
}

void
org_generation_shmem_startup(void)
{
	bool		found;

	gshared = ShmemInitStruct(GENERATION_SHMEM_NAME, org_generation_shmem_size(),
							  &found);
	if (!found)
	{
		uint64		start = 0;

		/*
		 * A random start, below 2^61 so that a bigint holds it: a generation
		 * from before a crash-restart is then outside this incarnation's
		 * range, and its reader gets a full snapshot.
		 */
		if (!pg_strong_random(&start, sizeof(start)))
			start = (uint64) GetCurrentTimestamp();
		start = (start & ((UINT64CONST(1) << 61) - 1)) + 1;
		gshared->first = start;
		pg_atomic_init_u64(&gshared->generation, start);
		gshared->lock = &(GetNamedLWLockTranche(GENERATION_TRANCHE))->lock;
		gshared->written = 0;
		gshared->unknown_through = 0;
	}
}

uint64
org_generation_current(void)
{
	return pg_atomic_read_u64(&gshared->generation);
}

uint64
org_generation_first(void)
{
	return gshared->first;
}

uint64
org_generation_advance(void)
{
	org_require_shmem();
	return pg_atomic_fetch_add_u64(&gshared->generation, 1);
}

void
org_removal_log(OrgRemoval *r)
{
	OrgRemoval *slot;

	LWLockAcquire(gshared->lock, LW_EXCLUSIVE);
	/* read under the caller's lock: see the ordering in generation.h */
	r->generation = org_generation_current();
	slot = &gshared->log[gshared->written % ORG_REMOVAL_LOG_SIZE];
	if (gshared->written >= ORG_REMOVAL_LOG_SIZE)
		gshared->unknown_through = Max(gshared->unknown_through, slot->generation);
	memcpy(slot, r, sizeof(OrgRemoval));
	gshared->written++;
	LWLockRelease(gshared->lock);
}

void
org_removals_forget(void)
{
	LWLockAcquire(gshared->lock, LW_EXCLUSIVE);
	gshared->unknown_through = Max(gshared->unknown_through,
								   org_generation_current());
	LWLockRelease(gshared->lock);
}

OrgRemoval *
org_removals_since(uint64 since, int *count, bool *complete)
{
	OrgRemoval *out;
	uint64		first;
	uint64		i;
	int			n = 0;

	*count = 0;
	/* allocated before the lock: the whole log at most */
	out = palloc(sizeof(OrgRemoval) * ORG_REMOVAL_LOG_SIZE);

	LWLockAcquire(gshared->lock, LW_SHARED);
	*complete = since >= gshared->unknown_through;
	if (*complete)
	{
		first = gshared->written > ORG_REMOVAL_LOG_SIZE ?
			gshared->written - ORG_REMOVAL_LOG_SIZE : 0;
		for (i = first; i < gshared->written; i++)
		{
			OrgRemoval *r = &gshared->log[i % ORG_REMOVAL_LOG_SIZE];

			if (r->generation > since)
				memcpy(&out[n++], r, sizeof(OrgRemoval));
		}
	}
	LWLockRelease(gshared->lock);

	if (!*complete)
	{
		pfree(out);
		return NULL;
	}
	*count = n;
	return out;
}
