/*-------------------------------------------------------------------------
 *
 * vacuum_rank.c
 *	  Ranking of tracked tables and transaction ages (see vacuum_rank.h).
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>

#include "vacuum_rank.h"

/* FirstNormalTransactionId: ids below it are special */
#define ORG_FIRST_NORMAL_XID	3

double
org_vacuum_badness(double dead_tuples, double threshold,
				   int64_t xid_age, int64_t freeze_max_age)
{
	double		dead = threshold > 0 ? dead_tuples / threshold : 0;
	double		freeze = freeze_max_age > 0 ? (double) xid_age / (double) freeze_max_age : 0;

	return dead > freeze ? dead : freeze;
}

bool
org_vacuum_rank_worse(const OrgVacuumRank *a, const OrgVacuumRank *b)
{
	return org_vacuum_rank_cmp(a, b) < 0;
}

int
org_vacuum_rank_cmp(const void *pa, const void *pb)
{
	const OrgVacuumRank *a = pa;
	const OrgVacuumRank *b = pb;

	if (a->over_threshold != b->over_threshold)
		return a->over_threshold ? -1 : 1;
	if (a->badness != b->badness)
		return a->badness > b->badness ? -1 : 1;
	if (a->dbid != b->dbid)
		return a->dbid < b->dbid ? -1 : 1;
	if (a->relid != b->relid)
		return a->relid < b->relid ? -1 : 1;
	return 0;
}

int
org_vacuum_rank_keep_worst(OrgVacuumRank *ranks, int n, int cap)
{
	if (n <= 0)
		return 0;
	qsort(ranks, (size_t) n, sizeof(OrgVacuumRank), org_vacuum_rank_cmp);
	if (cap < 0 || cap >= n)
		return n;
	return cap;
}

int64_t
org_xid_age(uint32_t next_xid, uint32_t xid)
{
	if (xid < ORG_FIRST_NORMAL_XID)
		return INT32_MAX;
	return (int32_t) (next_xid - xid);
}

int64_t
org_mxid_age(uint32_t next_mxid, uint32_t mxid)
{
	if (mxid == 0)
		return 0;
	return (int32_t) (next_mxid - mxid);
}
