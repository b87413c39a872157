/*-------------------------------------------------------------------------
 *
 * memory_areas.h
 *	  The shared-memory areas and how full they are: one list for the
 *	  memory view and the agent snapshot, so the two cannot drift apart.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_MEMORY_AREAS_H
#define ORG_MEMORY_AREAS_H

typedef struct OrgMemoryArea
{
	const char *area;			/* static string */
	int64		capacity;
	int64		used;
	int64		evicted;		/* rings: overwritten so far; tracked
								 * tables: seen while full */
} OrgMemoryArea;

#define ORG_MEMORY_AREAS 11

/* fill out[ORG_MEMORY_AREAS] from the trackers' read accessors */
extern void org_memory_areas(OrgMemoryArea *out);

#endif							/* ORG_MEMORY_AREAS_H */
