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

void
role_table_set(role_table *t, const char *node, const char *cluster, bool reachable, bool in_recovery,
			   uint32_t timeline, uint64_t system_id, int64_t start_us, int64_t at_us)
{
	role_report *r = NULL;

	for (int i = 0; i < t->n && !r; i++)
		if (!strcmp(t->v[i].node, node))
			r = &t->v[i];
	if (!r)
	{
		t->v = xrealloc(t->v, sizeof(role_report) * (size_t) (t->n + 1));
		r = &t->v[t->n++];
		memset(r, 0, sizeof(*r));
		r->node = xstrdup(node);
	}
	/* a reload may move a node to another cluster */
	free(r->cluster);
	r->cluster = xstrdup(cluster);
	r->reachable = reachable;
	r->in_recovery = in_recovery;
	r->timeline = timeline;
	r->system_id = system_id;
	r->start_us = start_us;
	r->at_us = at_us;
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
	t->v = NULL;
	t->n = 0;
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
	for (int i = 0; i < t->n; i++)
	{
		const role_report *r = &t->v[i];
		bool		seen = false;

		if (!counts(r, cluster, now_us, max_age_us))
			continue;
		for (int k = 0; k < i && !seen; k++)
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
