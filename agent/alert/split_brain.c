/*
 * split_brain.c: the `two_primaries` fact from the latest role of every
 * node of a cluster (see split_brain.h).
 *
 * A report older than max_age counts for nothing: a node that stopped
 * answering is not a primary any more as far as this rule knows (the
 * node_unreachable rule covers it), and a node removed by a reload ages
 * out on its own.
 */
#include "alert/split_brain.h"

#include <stdlib.h>
#include <string.h>

/* the slot of name in slots (index + 1 of the report whose field matches), or the empty one ending its run */
static size_t
find_slot(const role_table *t, const int *slots, const char *name, bool by_cluster)
{
	size_t		mask = t->nslots - 1;

	for (size_t j = str_hash(name) & mask;; j = (j + 1) & mask)
	{
		const role_report *r;

		if (!slots[j])
			return j;
		r = &t->v[slots[j] - 1];
		if (!strcmp(by_cluster ? r->cluster : r->node, name))
			return j;
	}
}

/* both indexes and the cluster chains built anew: after a report is added or changes cluster */
static void
reindex(role_table *t)
{
	size_t		want = 16;

	while (want < 2 * (size_t) t->n)
		want *= 2;
	if (want != t->nslots)
	{
		free(t->by_node);
		free(t->by_cluster);
		t->nslots = want;
		t->by_node = xmalloc(sizeof(int) * want);
		t->by_cluster = xmalloc(sizeof(int) * want);
	}
	memset(t->by_node, 0, sizeof(int) * t->nslots);
	memset(t->by_cluster, 0, sizeof(int) * t->nslots);
	t->cluster_next = xrealloc(t->cluster_next, sizeof(int) * (size_t) (t->n ? t->n : 1));
	/* from the end, each report put in front of its cluster's chain: the chains keep table order */
	for (int i = t->n - 1; i >= 0; i--)
	{
		size_t		c = find_slot(t, t->by_cluster, t->v[i].cluster, true);

		t->by_node[find_slot(t, t->by_node, t->v[i].node, false)] = i + 1;
		t->cluster_next[i] = t->by_cluster[c] ? t->by_cluster[c] - 1 : -1;
		t->by_cluster[c] = i + 1;
	}
}

void
role_table_set(role_table *t, const char *node, const char *cluster, bool reachable, bool in_recovery,
			   uint32_t timeline, uint64_t system_id, int64_t start_us, int64_t at_us)
{
	role_report *r = NULL;
	bool		moved = false;

	if (t->nslots)
	{
		int			at = t->by_node[find_slot(t, t->by_node, node, false)];

		if (at)
			r = &t->v[at - 1];
	}
	if (!r)
	{
		t->v = xrealloc(t->v, sizeof(role_report) * (size_t) (t->n + 1));
		r = &t->v[t->n++];
		memset(r, 0, sizeof(*r));
		r->node = xstrdup(node);
		moved = true;
	}
	/* a reload may move a node to another cluster */
	if (!r->cluster || strcmp(r->cluster, cluster))
	{
		free(r->cluster);
		r->cluster = xstrdup(cluster);
		moved = true;
	}
	r->reachable = reachable;
	r->in_recovery = in_recovery;
	r->timeline = timeline;
	r->system_id = system_id;
	r->start_us = start_us;
	r->at_us = at_us;
	if (moved)
		reindex(t);
}

void
role_table_free(role_table *t)
{
	for (int i = 0; i < t->n; i++)
	{
		free(t->v[i].node);
		free(t->v[i].cluster);
	}
	free(t->v);
	free(t->by_node);
	free(t->by_cluster);
	free(t->cluster_next);
	memset(t, 0, sizeof(*t));
}

static void
append_primary(strbuf *sb, const role_report *r)
{
	if (sb->len)
		sb_append(sb, ", ");
	if (r->timeline)
		sb_printf(sb, "%s (timeline %u)", r->node, r->timeline);
	else
		sb_printf(sb, "%s (timeline unknown)", r->node);
}

/* a and b are databases of one running server */
static bool
same_server(const role_report *a, const role_report *b)
{
	return a->system_id && a->start_us && a->system_id == b->system_id && a->start_us == b->start_us;
}

/* r counts as a primary of cluster at now_us */
static bool
counts(const role_report *r, const char *cluster, int64_t now_us, int64_t max_age_us)
{
	return !strcmp(r->cluster, cluster) && r->reachable && !r->in_recovery &&
		now_us - r->at_us <= max_age_us;
}

/* the first report of cluster in table order, -1 none */
static int
first_of_cluster(const role_table *t, const char *cluster)
{
	return t->nslots ? t->by_cluster[find_slot(t, t->by_cluster, cluster, true)] - 1 : -1;
}

void
split_brain_facts(const role_table *t, const char *cluster, int64_t now_us, int64_t max_age_us,
				  fact_list *out)
{
	strbuf		who,
				names;
	int			primaries = 0;
	fact	   *f;

	sb_init(&who);
	sb_init(&names);
	for (int i = first_of_cluster(t, cluster); i >= 0; i = t->cluster_next[i])
	{
		const role_report *r = &t->v[i];
		bool		seen = false;

		if (!counts(r, cluster, now_us, max_age_us))
			continue;
		/* the cluster's reports before this one */
		for (int k = first_of_cluster(t, cluster); k != i && !seen; k = t->cluster_next[k])
			seen = counts(&t->v[k], cluster, now_us, max_age_us) && same_server(&t->v[k], r);
		if (seen)
			continue;
		primaries++;
		append_primary(&who, r);
		if (names.len)
			sb_append(&names, ",");
		sb_append(&names, r->node);
	}
	if (primaries >= 2)
		f = facts_add(out, RULE_TWO_PRIMARIES, cluster, primaries,
					  "%d nodes of cluster %s accept writes: %s", primaries, cluster, who.data);
	else
		f = facts_add(out, RULE_TWO_PRIMARIES, cluster, primaries, "%d primary in cluster %s%s%s",
					  primaries, cluster, primaries ? ": " : "", primaries ? who.data : "");
	/* which nodes is a value: the incident is the cluster */
	labels_set(&f->annotations, "primaries", names.len ? names.data : "");
	sb_free(&who);
	sb_free(&names);
}

bool
split_brain_anchor(const agent_cfg *cfg, const node_cfg *node)
{
	for (int i = 0; i < cfg->n_nodes; i++)
		if (!strcmp(cfg->nodes[i].cluster, node->cluster))
			return !strcmp(cfg->nodes[i].name, node->name);
	return false;
}
