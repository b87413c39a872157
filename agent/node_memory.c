/*
 * node_memory.c: the agent's per-node memory, matched to the collector's
 * nodes by serial (see node_memory.h).
 */
#include "node_memory.h"

#include <stdlib.h>

static void
node_memory_free(node_memory *m)
{
	facts_memory_free(m->facts);
	mset_free(&m->metrics);
}

void
node_memories_sync(node_memories *m, const collector *c)
{
	node_memory *nv = xcalloc((size_t) (c->n ? c->n : 1), sizeof(node_memory));

	for (int i = 0; i < c->n; i++)
	{
		node	   *n = c->v[i];

		for (int j = 0; j < m->n; j++)
			if (m->v[j].facts && m->v[j].node_serial == n->serial)
			{
				nv[i] = m->v[j];
				m->v[j].facts = NULL;
			}
		if (!nv[i].facts)
		{
			nv[i].node_serial = n->serial;
			nv[i].facts = facts_memory_new();
			facts_memory_use_crons(nv[i].facts, &n->crons);
		}
	}
	for (int j = 0; j < m->n; j++)
		if (m->v[j].facts)
			node_memory_free(&m->v[j]);
	free(m->v);
	m->v = nv;
	m->n = c->n;
}

void
node_memories_free(node_memories *m)
{
	for (int i = 0; i < m->n; i++)
		node_memory_free(&m->v[i]);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}
