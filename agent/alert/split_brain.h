/*
 * split_brain.h: two primaries in one cluster.  A node's own poll only
 * says whether that node is in recovery; whether two nodes of a cluster
 * accept writes at once is a fact about the cluster, so the agent keeps
 * the latest role each node reported here and derives the `two_primaries`
 * fact from all of them.  Pure: time is an argument.
 *
 * The fact is evaluated under one node of the cluster (its anchor, the
 * first configured), so that the cluster has one alert instance, not one
 * per node that happens to be polled.
 */
#ifndef ORGUARD_SPLIT_BRAIN_H
#define ORGUARD_SPLIT_BRAIN_H

#include "common/config.h"
#include "alert/facts.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct role_report
{
	char	   *node;
	char	   *cluster;
	bool		reachable;
	bool		in_recovery;
	uint32_t	timeline;		/* from the extension's node identity; 0 unknown */
	uint64_t	system_id;		/* the server's identity, 0 unknown: several */
	int64_t		start_us;		/* [node]s may be databases of one server */
	int64_t		at_us;			/* when the poll finished */
} role_report;

typedef struct role_table
{
	role_report *v;
	int			n;
	/*
	 * found by name rather than searched: every poll of every node records
	 * its role and its cluster's anchor reads the cluster's reports, which
	 * at hundreds of nodes was a search of all of them per poll
	 */
	int		   *by_node;		/* open addressing: report index + 1, 0 empty */
	int		   *by_cluster;		/* the same for the first report of each cluster */
	int		   *cluster_next;	/* next report of the same cluster, in table order; -1 none */
	size_t		nslots;			/* a power of two, at least twice n */
} role_table;

/* records the outcome of one poll of one node (replaces its previous one) */
void		role_table_set(role_table *t, const char *node, const char *cluster, bool reachable,
						   bool in_recovery, uint32_t timeline, uint64_t system_id,
						   int64_t start_us, int64_t at_us);
void		role_table_free(role_table *t);

/*
 * Appends one RULE_TWO_PRIMARIES fact with subject `cluster`: its value is
 * the number of the cluster's servers that last answered as a primary (not
 * in recovery) no longer than max_age_us before now_us; the summary and
 * the label `primaries` name them with their timelines.  Nodes with the
 * same system identifier and postmaster start are one server (two Odoo
 * databases of one instance): they count once.
 */
void		split_brain_facts(const role_table *t, const char *cluster, int64_t now_us,
							  int64_t max_age_us, fact_list *out);

/* true when node is the first configured node of its cluster */
bool		split_brain_anchor(const agent_cfg *cfg, const node_cfg *node);

#endif
