/*-------------------------------------------------------------------------
 *
 * generation.h
 *		The node's change generation and the log of removed entries, which
 *		let snapshot(since_cursor, since_generation) send only what changed.
 *
 * Every statement entry, lock-contention entry and autovacuum table entry
 * carries the generation in which it last changed: the value of one
 * node-wide counter, read (never written) by whoever changes the entry,
 * inside the same critical section as the change.  Each snapshot advances
 * the counter by one and reports the value before the advance, G: every
 * change it could not see is stamped G + 1 or later, so the next delta
 * (entries stamped above G) carries it.  The statement hot path does one
 * atomic read, no write and no extra lock.
 *
 * Removed entries (evicted, or gone tables) are logged with their
 * generation in a bounded ring.  When the ring overwrites a removal newer
 * than a reader's generation, or a reset drops entries without logging
 * them, removals since that generation are no longer known and the reader
 * gets a full snapshot instead.
 *
 * Lock order: a tracker's own lock, then the removal log's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_GENERATION_H
#define ORG_GENERATION_H

#include "postgres.h"

#include "locks.h"

#define ORG_REMOVAL_LOG_SIZE	4096

typedef enum OrgRemovedKind
{
	ORG_REMOVED_QUERY = 1,
	ORG_REMOVED_LOCK_CONTENTION,
	ORG_REMOVED_AUTOVACUUM_LAG
} OrgRemovedKind;

typedef struct OrgRemoval
{
	uint64		generation;
	int16		kind;			/* OrgRemovedKind */
	int16		operation;		/* query: OrgOperation of its model group */
	Oid			dbid;
	Oid			userid;			/* query */
	Oid			relid;			/* lock contention */
	int32		worker_class;	/* query */
	bool		toplevel;		/* query */
	uint64		queryid;		/* query */
	char		model[NAMEDATALEN]; /* query: its model group; "" none */
	char		relation[NAMEDATALEN * 2];	/* autovacuum lag */
	char		lock_type[ORG_LOCK_TYPE_LEN];	/* lock contention */
	char		mode[ORG_LOCK_MODE_LEN];	/* lock contention */
} OrgRemoval;

extern Size org_generation_shmem_size(void);
extern void org_generation_shmem_request(void);
extern void org_generation_shmem_startup(void);

/* the stamp for a change made now */
extern uint64 org_generation_current(void);

/* the first generation of this shared-memory incarnation */
extern uint64 org_generation_first(void);

/* a snapshot's start: returns the generation it covers */
extern uint64 org_generation_advance(void);

/* logs one removal, stamped now; caller holds the tracker's lock */
extern void org_removal_log(OrgRemoval *r);

/* entries were dropped unlogged (reset): removals before now are unknown */
extern void org_removals_forget(void);

/*
 * Removals stamped above since, copied out.  Returns NULL with *complete
 * false when some of them are no longer known.
 */
extern OrgRemoval *org_removals_since(uint64 since, int *count, bool *complete);

#endif							/* ORG_GENERATION_H */
