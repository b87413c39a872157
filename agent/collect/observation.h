/*
 * observation.h: what the agent itself measured on a node in one poll, with
 * or without a snapshot (node.c fills it, facts.c reads it).
 */
#ifndef ORGUARD_OBSERVATION_H
#define ORGUARD_OBSERVATION_H

#include <stdbool.h>
#include <stdint.h>

/* what the agent itself measured on the node, with or without a snapshot */
typedef struct node_observation
{
	bool		reachable;
	/*
	 * not asked: the node is backing off after failures in a row, and its
	 * last failure is reported again; nothing was learnt about it
	 */
	bool		paused;
	const char *error;			/* when not reachable */
	int			max_connections;
	int			connections;	/* client backends */
	int			superuser_reserved;
	bool		in_recovery;
	int64_t		now_us;
} node_observation;

#endif
