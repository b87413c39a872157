/*
 * fenced.h: the old primary a cluster's journal says is fenced.
 *
 * A completed promotion fenced its old primary; it stays fenced until a
 * completed rejoin of that node.  Meanwhile a promote runbook that still
 * names it as its primary works from a configuration the failover made
 * stale, and must not act: it could promote another standby next to the
 * new primary.  Pure: reads journal entries only.
 */
#ifndef ORGUARD_RB_FENCED_H
#define ORGUARD_RB_FENCED_H

#include "runbooks/journal.h"

#include <stdbool.h>

typedef struct fenced_primary
{
	const char *node;			/* the old primary */
	const char *run;			/* the promotion that fenced it */
	const char *promoted;		/* the node it promoted ("" when unknown) */
} fenced_primary;

/*
 * True when the newest completed promotion in cluster fenced a node that no
 * completed rejoin has brought back since; fills out (pointers into es).
 */
bool		journal_fenced_primary(const journal_entries *es, const char *cluster, fenced_primary *out);

#endif
