/*
 * stats.h: builds the agent's metric set from what it knows: per-node
 * figures from the last poll (label cardinality bounded by top_n per
 * kind), alert counts, pager and remote-write counters.
 */
#ifndef ORGUARD_STATS_H
#define ORGUARD_STATS_H

#include "common/config.h"
#include "export/metrics.h"
#include "collect/node.h"
#include "deliver/pager.h"
#include "export/remote_write.h"
#include "alert/rules.h"

/* rebuilds ms, the node's own set, from the poll that just finished */
void		stats_node_update(metric_set *ms, node *n, int top_n);

/*
 * the whole set, with node_sets[i] the set of the collector's node i; the
 * caller frees it with mset_free.  It refers to the node sets' labels
 * (mset_merge_borrowed): free it before any node set changes.
 */
void		stats_build(metric_set *out, const agent_cfg *cfg, const collector *c,
						const metric_set *const *node_sets, const rule_engine *re,
						pager **pagers, int n_pagers, remote_writer *rw);

#endif
