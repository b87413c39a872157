/*-------------------------------------------------------------------------
 *
 * vacuum_rank.h
 *	  Which tables the autovacuum lag tracker keeps when it cannot keep
 *	  them all (max_tracked_tables, max_tracked_tables_per_database), and
 *	  the transaction ages it computes between two catalog scans.
 *
 * The worst tables are kept: over the autovacuum threshold first, then the
 * highest of dead tuples / threshold and xid age / freeze max age (the
 * nearer to a forced, anti-wraparound vacuum, the worse).  Ties go to the
 * lower database and relation oid, so two rankings of the same figures
 * agree.
 *
 * Pure C (libc only, no allocation) so it is unit tested outside the
 * server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_VACUUM_RANK_H
#define ORG_VACUUM_RANK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct OrgVacuumRank
{
	bool		over_threshold;
	double		badness;		/* org_vacuum_badness() */
	unsigned int dbid;
	unsigned int relid;
	int			index;			/* the caller's, carried along */
} OrgVacuumRank;

/* the higher of dead/threshold and xid_age/freeze_max_age; 0 when unknown */
extern double org_vacuum_badness(double dead_tuples, double threshold,
								 int64_t xid_age, int64_t freeze_max_age);

/* worst first; a qsort comparator over OrgVacuumRank */
extern int	org_vacuum_rank_cmp(const void *a, const void *b);

/* whether a ranks strictly worse than b */
extern bool org_vacuum_rank_worse(const OrgVacuumRank *a, const OrgVacuumRank *b);

/*
 * Sort ranks worst first and return how many are kept under cap (cap < 0:
 * no cap).  The kept ones are ranks[0 .. result - 1].
 */
extern int	org_vacuum_rank_keep_worst(OrgVacuumRank *ranks, int n, int cap);

/*
 * age() and mxid_age() of the server: the distance from the next id,
 * modulo 2^32.  A special xid (invalid, bootstrap, frozen) is infinitely
 * old to age() (INT32_MAX); an invalid multixact has age 0.
 */
extern int64_t org_xid_age(uint32_t next_xid, uint32_t xid);
extern int64_t org_mxid_age(uint32_t next_mxid, uint32_t mxid);

#endif							/* ORG_VACUUM_RANK_H */
