/*
 * rules.c: alert instances and their transitions.
 *
 *   inactive --value >= threshold--> pending --held for `for`--> firing
 *   pending  --value < threshold---> inactive
 *   firing   --value < clear, for keep_firing_for--> resolved (inactive)
 *
 * A firing alert is notified again every `renotify`, and at once when its
 * effective severity changes.  An alert that fired flap_count times within
 * flap_window is flapping: it then stays firing until it has been clear
 * for the whole flap_window, so the receiver sees one long alert instead
 * of a storm.  A muted alert is tracked but not notified; it is notified
 * when the mute window ends if it still fires, and its resolution is only
 * sent when its firing was.
 */
#include "rules.h"

#include <stdlib.h>
#include <string.h>

#define FLAP_HISTORY 16

typedef enum inst_state
{
	INST_INACTIVE,
	INST_PENDING,
	INST_FIRING
} inst_state;

typedef struct instance
{
	char	   *key;
	char	   *rule;
	char	   *node;
	char	   *cluster;
	char	   *subject;
	inst_state	state;
	bool		seen;			/* had a fact in the current evaluation */
	bool		notified;		/* the receivers know it fires */
	severity	notified_sev;
	int64_t		active_since;
	int64_t		last_active;
	int64_t		fired_at;
	int64_t		last_notified;
	int64_t		fires[FLAP_HISTORY];
	int			n_fires;
	double		value;
	char	   *summary;
	labelset	labels;			/* of the latest fact */
} instance;

struct rule_engine
{
	instance   *v;
	int			n;
};

rule_engine *
rules_new(void)
{
	return xcalloc(1, sizeof(rule_engine));
}

static void
inst_free(instance *in)
{
	free(in->key);
	free(in->rule);
	free(in->node);
	free(in->cluster);
	free(in->subject);
	free(in->summary);
	labels_free(&in->labels);
}

void
rules_free(rule_engine *re)
{
	if (!re)
		return;
	for (int i = 0; i < re->n; i++)
		inst_free(&re->v[i]);
	free(re->v);
	free(re);
}

severity
rules_effective_severity(const rule_cfg *r, int64_t now_us)
{
	severity	s = r->sev;

	if (r->raise_during.n > 0 && schedule_active_at(&r->raise_during, (time_t) (now_us / 1000000)) &&
		r->raise_severity > s)
		s = r->raise_severity;
	return s;
}

bool
rules_muted(const rule_cfg *r, severity sev, int64_t now_us)
{
	return sev < SEV_CRITICAL && r->mute_during.n > 0 &&
		schedule_active_at(&r->mute_during, (time_t) (now_us / 1000000));
}

static instance *
find(rule_engine *re, const char *key)
{
	for (int i = 0; i < re->n; i++)
		if (!strcmp(re->v[i].key, key))
			return &re->v[i];
	return NULL;
}

static void
emit(const instance *in, const rule_cfg *r, const node_cfg *node, alert_status st, severity sev,
	 int64_t now, event_list *out)
{
	alert_event *ev = events_push(out);

	ev->status = st;
	ev->dedup_key = xstrdup(in->key);
	ev->rule = xstrdup(in->rule);
	ev->cluster = xstrdup(in->cluster);
	ev->node = xstrdup(in->node);
	ev->subject = xstrdup(in->subject);
	ev->summary = xasprintf("%s on %s: %s", in->rule, in->node, in->summary ? in->summary : in->subject);
	ev->sev = sev;
	ev->value = in->value;
	ev->starts_at_us = in->fired_at;
	ev->ends_at_us = st == ALERT_RESOLVED ? now : 0;
	ev->event_at_us = now;
	labels_set(&ev->labels, "alertname", in->rule);
	labels_set(&ev->labels, "severity", severity_name(sev));
	labels_set(&ev->labels, "cluster", in->cluster);
	labels_set(&ev->labels, "node", in->node);
	labels_set(&ev->labels, "subject", in->subject);
	if (r)
		labels_merge(&ev->labels, &r->labels);
	if (node)
		labels_merge(&ev->labels, &node->tags);
	labels_merge(&ev->labels, &in->labels);
}

static bool
flapping(const instance *in, const rule_cfg *r, int64_t now)
{
	int			recent = 0;

	if (r->flap_count <= 0)
		return false;
	for (int i = 0; i < in->n_fires && i < FLAP_HISTORY; i++)
		if (now - in->fires[i] <= (int64_t) (r->flap_window_s * 1e6))
			recent++;
	return recent >= r->flap_count;
}

static void
record_fire(instance *in, int64_t now)
{
	in->fires[in->n_fires % FLAP_HISTORY] = now;
	in->n_fires++;
}

static void
notify_firing(instance *in, const rule_cfg *r, const node_cfg *node, int64_t now, event_list *out)
{
	severity	sev = rules_effective_severity(r, now);

	if (rules_muted(r, sev, now))
		return;
	emit(in, r, node, ALERT_FIRING, sev, now, out);
	in->notified = true;
	in->notified_sev = sev;
	in->last_notified = now;
}

static void
resolve(instance *in, const rule_cfg *r, const node_cfg *node, int64_t now, event_list *out)
{
	if (in->notified)
		emit(in, r, node, ALERT_RESOLVED, in->notified_sev, now, out);
	in->state = INST_INACTIVE;
	in->notified = false;
}

/* one instance, one evaluation; present says whether a fact was seen */
static void
step(instance *in, const rule_cfg *r, const node_cfg *node, bool present, int64_t now, event_list *out)
{
	bool		above = present && in->value >= r->threshold;
	bool		holding = present && in->value >= r->clear;

	switch (in->state)
	{
		case INST_INACTIVE:
			if (!above)
				return;
			in->state = INST_PENDING;
			in->active_since = now;
			/* fall through */
		case INST_PENDING:
			if (!above)
			{
				in->state = INST_INACTIVE;
				return;
			}
			if (now - in->active_since >= (int64_t) (r->for_s * 1e6))
			{
				in->state = INST_FIRING;
				in->fired_at = now;
				in->last_active = now;
				record_fire(in, now);
				notify_firing(in, r, node, now, out);
			}
			return;
		case INST_FIRING:
			if (holding)
			{
				severity	sev = rules_effective_severity(r, now);

				in->last_active = now;
				if (!in->notified ||
					sev != in->notified_sev ||
					(r->renotify_s > 0 && now - in->last_notified >= (int64_t) (r->renotify_s * 1e6)))
					notify_firing(in, r, node, now, out);
				return;
			}
			{
				double		hold = r->keep_firing_for_s;

				if (flapping(in, r, now) && r->flap_window_s > hold)
					hold = r->flap_window_s;
				if (now - in->last_active >= (int64_t) (hold * 1e6))
					resolve(in, r, node, now, out);
				else if (!in->notified)
					notify_firing(in, r, node, now, out);	/* a mute window ended */
			}
			return;
	}
}

static const node_cfg *
cfg_node(const agent_cfg *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_nodes; i++)
		if (!strcmp(cfg->nodes[i].name, name))
			return &cfg->nodes[i];
	return NULL;
}

/* drops inactive instances with no flap history worth keeping */
static void
collect_garbage(rule_engine *re, const agent_cfg *cfg, int64_t now)
{
	int			j = 0;

	for (int i = 0; i < re->n; i++)
	{
		instance   *in = &re->v[i];
		const rule_cfg *r = config_rule(cfg, in->rule);
		bool		keep = in->state != INST_INACTIVE;

		if (!keep && r && in->n_fires > 0)
		{
			int64_t		last = in->fires[(in->n_fires - 1) % FLAP_HISTORY];

			keep = now - last <= (int64_t) (r->flap_window_s * 1e6);
		}
		if (keep)
			re->v[j++] = *in;
		else
			inst_free(in);
	}
	re->n = j;
}

void
rules_eval_node(rule_engine *re, const agent_cfg *cfg, const node_cfg *node, const fact_list *facts,
				int64_t now, event_list *out)
{
	for (int i = 0; i < re->n; i++)
		if (!strcmp(re->v[i].node, node->name))
			re->v[i].seen = false;

	for (int f = 0; f < facts->n; f++)
	{
		const fact *fa = &facts->v[f];

		for (int ri = 0; ri < cfg->n_rules; ri++)
		{
			const rule_cfg *r = &cfg->rules[ri];
			char	   *key;
			instance   *in;

			if (!r->enabled || r->kind != fa->kind)
				continue;
			key = alert_dedup_key(node->cluster, node->name, r->name, fa->subject);
			in = find(re, key);
			if (!in)
			{
				if (fa->value < r->threshold)
				{
					free(key);
					continue;
				}
				re->v = xrealloc(re->v, sizeof(instance) * (size_t) (re->n + 1));
				in = &re->v[re->n++];
				memset(in, 0, sizeof(*in));
				in->key = key;
				in->rule = xstrdup(r->name);
				in->node = xstrdup(node->name);
				in->cluster = xstrdup(node->cluster);
				in->subject = xstrdup(fa->subject);
			}
			else
				free(key);
			in->seen = true;
			in->value = fa->value;
			/* a firing alert keeps describing what made it fire */
			if (in->state != INST_FIRING || fa->value >= r->clear)
			{
				free(in->summary);
				in->summary = xstrdup(fa->summary);
			}

			/*
			 * Labels are frozen once the alert fires: receivers such as
			 * Alertmanager identify an alert by its label set, so the
			 * re-notifications and the resolution must carry the labels it
			 * fired with (a growing duration_seconds would otherwise make
			 * each of them a new alert and leave the first one firing).
			 */
			if (in->state != INST_FIRING)
			{
				labels_free(&in->labels);
				labels_copy(&in->labels, &fa->labels);
			}
			step(in, r, node, true, now, out);
		}
	}
	for (int i = 0; i < re->n; i++)
	{
		instance   *in = &re->v[i];
		const rule_cfg *r;

		if (in->seen || strcmp(in->node, node->name))
			continue;
		r = config_rule(cfg, in->rule);
		if (r)
			step(in, r, node, false, now, out);
	}
	collect_garbage(re, cfg, now);
}

void
rules_reconcile(rule_engine *re, const agent_cfg *cfg, int64_t now, event_list *out)
{
	for (int i = 0; i < re->n; i++)
	{
		instance   *in = &re->v[i];
		const rule_cfg *r = config_rule(cfg, in->rule);
		const node_cfg *n = cfg_node(cfg, in->node);

		if (r && r->enabled && n && !strcmp(n->cluster, in->cluster))
			continue;
		if (in->state == INST_FIRING)
			resolve(in, r, n, now, out);
		in->state = INST_INACTIVE;
		in->n_fires = 0;
	}
	collect_garbage(re, cfg, now);
}

void
rules_firing(const rule_engine *re, const agent_cfg *cfg, int64_t now, event_list *out)
{
	for (int i = 0; i < re->n; i++)
	{
		const instance *in = &re->v[i];

		if (in->state == INST_FIRING && in->notified)
			emit(in, config_rule(cfg, in->rule), cfg_node(cfg, in->node), ALERT_FIRING,
				 in->notified_sev, now, out);
	}
}

rule_counts
rules_count(const rule_engine *re, const char *rule)
{
	rule_counts c = {0, 0};

	for (int i = 0; i < re->n; i++)
	{
		if (rule && strcmp(re->v[i].rule, rule))
			continue;
		if (re->v[i].state == INST_PENDING)
			c.pending++;
		else if (re->v[i].state == INST_FIRING)
			c.firing++;
	}
	return c;
}
