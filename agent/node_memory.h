/*
 * node_memory.h: what the agent keeps of each polled node beside the
 * collector's own state: the facts' memory between polls (slow-call
 * counters, p95 baselines: facts.h) and the node's metrics from its last
 * poll (stats.h).  Kept here, not in the node, so that the collector knows
 * nothing of the stages that read its polls.
 *
 * A node the collector keeps across a reload keeps its memory; a node it
 * replaces (new connection target) or adds starts afresh, as before.
 */
#ifndef ORGUARD_NODE_MEMORY_H
#define ORGUARD_NODE_MEMORY_H

#include "alert/facts.h"
#include "export/metrics.h"
#include "collect/node.h"

typedef struct node_memory
{
	uint64_t	node_serial;	/* whose: node.serial */
	facts_memory *facts;
	metric_set	metrics;		/* built by stats.c from the last poll */
} node_memory;

typedef struct node_memories
{
	node_memory *v;				/* in the collector's order */
	int			n;
} node_memories;

/* one memory per node of c, in its order: kept nodes keep theirs */
void		node_memories_sync(node_memories *m, const collector *c);
void		node_memories_free(node_memories *m);

#endif
