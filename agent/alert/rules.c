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
 *
 * Receivers such as Alertmanager identify an alert by its label set, so
 * labels carry only identity (facts.c keeps values in annotations) and an
 * alert keeps the exact label set it fired with.  When that set must change
 * (raise_during changes the severity, a reload changes a rule's labels or
 * the node's tags), the old set is resolved before the new one fires, in
 * the same evaluation, so exactly one stays active.
 */
#include "alert/rules.h"
#include "common/utf8.h"

#include <jansson.h>
#include <math.h>
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
	bool		was_notified;	/* notified before the latest firing notification */
	bool		retry;			/* that notification was not spooled: send it again */
	severity	notified_sev;
	int64_t		active_since;
	int64_t		last_active;
	int64_t		fired_at;
	int64_t		last_notified;
	int64_t		fires[FLAP_HISTORY];
	int			n_fires;
	double		value;
	char	   *summary;
	labelset	labels;			/* of the fact it fired with (frozen while firing) */
	labelset	annotations;	/* of the latest fact that held it */
	labelset	fired_labels;	/* the exact set the receivers were told, empty before */
	bool		housekeeping;	/* Odoo's scheduled housekeeping: the rule's housekeeping_severity */
	uint64_t	hash;			/* of key */
	struct instance *next;		/* every instance, oldest first */
	struct instance *prev;
	struct instance *node_next;	/* its node's instances, oldest first */
	struct instance *node_prev;
	struct instance *bucket_next;	/* the next of its key's bucket */
	struct node_instances *owner;	/* the list node_next threads */
} instance;

/* one node's instances: what an evaluation of that node walks */
typedef struct node_instances
{
	char	   *node;
	uint64_t	hash;			/* of node */
	instance   *head;
	instance   *tail;
	struct node_instances *bucket_next;
} node_instances;

/*
 * Instances are found by key through a chained hash table and walked per
 * node through node_instances, so one node's evaluation costs what that
 * node has, not what 500 nodes have.  The list of all instances keeps
 * creation order for the persisted state, the counts and the re-posts.
 *
 * Garbage: an evaluation changes only its node's instances (and whatever
 * its facts' keys name), so it collects those; an inactive instance of
 * another node only goes when its flap history ages out, at next_expiry
 * at the earliest, and then the whole engine is collected.
 */
struct rule_engine
{
	instance   *head;			/* every instance, oldest first */
	instance   *tail;
	int			n;
	instance  **buckets;		/* by key hash; nbuckets a power of two */
	size_t		nbuckets;
	node_instances **nodes;		/* by node name hash; nnodes a power of two */
	size_t		nnodes;
	int			n_nodes;
	int64_t		next_expiry;	/* no other node's inactive instance goes before */
	bool		collect_all;	/* collect the whole engine at the next evaluation */
	const agent_cfg *collected_with;	/* the configuration of the last collection */
	uint64_t	visits;			/* instances walked by evaluations (tests, benchmarks) */
	event_list	owed;			/* resolutions that could not be spooled, oldest first */
};

rule_engine *
rules_new(void)
{
	rule_engine *re = xcalloc(1, sizeof(rule_engine));

	re->next_expiry = INT64_MAX;
	return re;
}

/* FNV-1a 64, continued from h: keys are hashed in pieces by the fact gate */
static uint64_t
hash_more(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

#define HASH_START 1469598103934665603ULL

static node_instances *
node_list(const rule_engine *re, const char *node)
{
	uint64_t	h = hash_more(HASH_START, node);

	if (!re->nnodes)
		return NULL;
	for (node_instances *l = re->nodes[h & (re->nnodes - 1)]; l; l = l->bucket_next)
		if (l->hash == h && !strcmp(l->node, node))
			return l;
	return NULL;
}

static node_instances *
node_list_add(rule_engine *re, const char *node)
{
	node_instances *l = node_list(re, node);

	if (l)
		return l;
	if ((size_t) re->n_nodes + 1 > re->nnodes)
	{
		size_t		n = re->nnodes ? re->nnodes * 2 : 16;
		node_instances **b = xcalloc(n, sizeof(node_instances *));

		for (size_t i = 0; i < re->nnodes; i++)
			for (node_instances *x = re->nodes[i], *next; x; x = next)
			{
				next = x->bucket_next;
				x->bucket_next = b[x->hash & (n - 1)];
				b[x->hash & (n - 1)] = x;
			}
		free(re->nodes);
		re->nodes = b;
		re->nnodes = n;
	}
	l = xcalloc(1, sizeof(node_instances));
	l->node = xstrdup(node);
	l->hash = hash_more(HASH_START, node);
	l->bucket_next = re->nodes[l->hash & (re->nnodes - 1)];
	re->nodes[l->hash & (re->nnodes - 1)] = l;
	re->n_nodes++;
	return l;
}

static instance *
find_hashed(const rule_engine *re, const char *key, uint64_t h)
{
	if (!re->nbuckets)
		return NULL;
	for (instance *in = re->buckets[h & (re->nbuckets - 1)]; in; in = in->bucket_next)
		if (in->hash == h && !strcmp(in->key, key))
			return in;
	return NULL;
}

static instance *
find(const rule_engine *re, const char *key)
{
	return find_hashed(re, key, hash_more(HASH_START, key));
}

/* links in (its key, node and fields set) as the newest instance */
static instance *
inst_link(rule_engine *re, instance *in)
{
	node_instances *l = node_list_add(re, in->node);

	if ((size_t) re->n + 1 > re->nbuckets)
	{
		size_t		n = re->nbuckets ? re->nbuckets * 2 : 64;

		free(re->buckets);
		re->buckets = xcalloc(n, sizeof(instance *));
		re->nbuckets = n;
		for (instance *x = re->head; x; x = x->next)
		{
			x->bucket_next = re->buckets[x->hash & (n - 1)];
			re->buckets[x->hash & (n - 1)] = x;
		}
	}
	in->hash = hash_more(HASH_START, in->key);
	in->bucket_next = re->buckets[in->hash & (re->nbuckets - 1)];
	re->buckets[in->hash & (re->nbuckets - 1)] = in;
	in->prev = re->tail;
	in->next = NULL;
	if (re->tail)
		re->tail->next = in;
	else
		re->head = in;
	re->tail = in;
	in->owner = l;
	in->node_prev = l->tail;
	in->node_next = NULL;
	if (l->tail)
		l->tail->node_next = in;
	else
		l->head = in;
	l->tail = in;
	re->n++;
	return in;
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
	labels_free(&in->annotations);
	labels_free(&in->fired_labels);
}

/* unlinks in from every list and frees it */
static void
inst_drop(rule_engine *re, instance *in)
{
	instance  **b = &re->buckets[in->hash & (re->nbuckets - 1)];
	node_instances *l = in->owner;

	while (*b != in)
		b = &(*b)->bucket_next;
	*b = in->bucket_next;
	if (in->prev)
		in->prev->next = in->next;
	else
		re->head = in->next;
	if (in->next)
		in->next->prev = in->prev;
	else
		re->tail = in->prev;
	if (in->node_prev)
		in->node_prev->node_next = in->node_next;
	else
		l->head = in->node_next;
	if (in->node_next)
		in->node_next->node_prev = in->node_prev;
	else
		l->tail = in->node_prev;
	re->n--;
	inst_free(in);
	free(in);
}

void
rules_free(rule_engine *re)
{
	if (!re)
		return;
	for (instance *in = re->head, *next; in; in = next)
	{
		next = in->next;
		inst_free(in);
		free(in);
	}
	for (size_t i = 0; i < re->nnodes; i++)
		for (node_instances *l = re->nodes[i], *next; l; l = next)
		{
			next = l->bucket_next;
			free(l->node);
			free(l);
		}
	free(re->buckets);
	free(re->nodes);
	events_free(&re->owed);
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

/* an instance's severity now: housekeeping keeps its own, unraised by schedules */
static severity
inst_severity(const instance *in, const rule_cfg *r, int64_t now)
{
	return in->housekeeping ? r->housekeeping_sev : rules_effective_severity(r, now);
}

/* the identity an alert of this instance has at severity sev under the current configuration */
static void
identity_labels(const instance *in, const rule_cfg *r, const node_cfg *node, severity sev,
				labelset *out)
{
	labels_set(out, "alertname", in->rule);
	labels_set(out, "severity", severity_name(sev));
	labels_set(out, "cluster", in->cluster);
	labels_set(out, "node", in->node);
	labels_set(out, "subject", in->subject);
	if (r)
		labels_merge(out, &r->labels);
	if (node)
		labels_merge(out, &node->tags);
	labels_merge(out, &in->labels);
}

static bool
labels_equal(const labelset *a, const labelset *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
	{
		const char *v = labels_get(b, a->v[i].name);

		if (!v || strcmp(v, a->v[i].value))
			return false;
	}
	return true;
}

/* the facts, one "name: value" line each, for receivers that show one text */
static char *
describe(const labelset *annotations)
{
	strbuf		sb;

	sb_init(&sb);
	for (int i = 0; i < annotations->n; i++)
		sb_printf(&sb, "%s%s: %s", i ? "\n" : "", annotations->v[i].name, annotations->v[i].value);
	return sb_steal(&sb);
}

/*
 * One notification.  labels NULL: the identity under the current
 * configuration; else exactly that set (what the receivers were told).
 */
static void
emit(const instance *in, const agent_cfg *cfg, const rule_cfg *r, const node_cfg *node,
	 alert_status st, severity sev, const labelset *labels, int64_t now, event_list *out)
{
	alert_event *ev = events_push(out);
	char	   *text;

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
	if (labels)
		labels_copy(&ev->labels, labels);
	else
		identity_labels(in, r, node, sev, &ev->labels);
	labels_set(&ev->annotations, "summary", ev->summary);
	text = describe(&in->annotations);
	if (*text)
		labels_set(&ev->annotations, "description", text);
	free(text);
	text = xasprintf("%s#%s", cfg->runbook_base_url ? cfg->runbook_base_url : ORGUARD_DEFAULT_RUNBOOK_BASE_URL,
					 r ? rule_kind_name(r->kind) : in->rule);
	labels_set(&ev->annotations, "runbook_url", text);
	free(text);
	labels_merge(&ev->annotations, &in->annotations);
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

/* the label set the receivers know this alert by, NULL before it was notified */
static const labelset *
told(const instance *in)
{
	return in->fired_labels.n > 0 ? &in->fired_labels : NULL;
}

/* the receivers know this alert by another label set than it has now (a reload changed labels) */
static bool
identity_changed(const instance *in, const rule_cfg *r, const node_cfg *node, severity sev)
{
	labelset	labels = {0};
	bool		changed;

	if (!in->notified || !told(in))
		return false;
	identity_labels(in, r, node, sev, &labels);
	changed = !labels_equal(&labels, told(in));
	labels_free(&labels);
	return changed;
}

static void
notify_firing(instance *in, const agent_cfg *cfg, const rule_cfg *r, const node_cfg *node,
			  int64_t now, event_list *out)
{
	severity	sev = inst_severity(in, r, now);
	labelset	labels = {0};

	if (rules_muted(r, sev, now))
		return;
	identity_labels(in, r, node, sev, &labels);
	/* a new identity: the receivers must drop the old one first */
	if (in->notified && told(in) && !labels_equal(&labels, told(in)))
		emit(in, cfg, r, node, ALERT_RESOLVED, in->notified_sev, told(in), now, out);
	emit(in, cfg, r, node, ALERT_FIRING, sev, &labels, now, out);
	labels_free(&in->fired_labels);
	in->fired_labels = labels;
	in->was_notified = in->notified;
	in->retry = false;
	in->notified = true;
	in->notified_sev = sev;
	in->last_notified = now;
}

static void
resolve(instance *in, const agent_cfg *cfg, const rule_cfg *r, const node_cfg *node, int64_t now,
		event_list *out)
{
	if (in->notified)
		emit(in, cfg, r, node, ALERT_RESOLVED, in->notified_sev, told(in), now, out);
	in->state = INST_INACTIVE;
	in->notified = false;
	in->retry = false;
	labels_free(&in->fired_labels);
}

/* one instance, one evaluation; present says whether a fact was seen */
static void
step(instance *in, const agent_cfg *cfg, const rule_cfg *r, const node_cfg *node, bool present,
	 int64_t now, event_list *out)
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
				notify_firing(in, cfg, r, node, now, out);
			}
			return;
		case INST_FIRING:
			if (holding)
			{
				severity	sev = inst_severity(in, r, now);

				in->last_active = now;
				if (!in->notified || in->retry ||
					sev != in->notified_sev || identity_changed(in, r, node, sev) ||
					(r->renotify_s > 0 && now - in->last_notified >= (int64_t) (r->renotify_s * 1e6)))
					notify_firing(in, cfg, r, node, now, out);
				return;
			}
			{
				double		hold = r->keep_firing_for_s;

				if (flapping(in, r, now) && r->flap_window_s > hold)
					hold = r->flap_window_s;
				if (now - in->last_active >= (int64_t) (hold * 1e6))
					resolve(in, cfg, r, node, now, out);
				else if (!in->notified || in->retry ||
						 identity_changed(in, r, node, inst_severity(in, r, now)))
					notify_firing(in, cfg, r, node, now, out);	/* a mute window ended, or a retry */
			}
			return;
	}
}

/*
 * The configured nodes by name, for the walks of every alert: searching
 * all nodes for each of them cost alerts times nodes (10,000 alerts of
 * 500 nodes: millions of comparisons per cycle).  The first node of a
 * name wins.
 */
typedef struct node_index
{
	const node_cfg **slot;
	size_t		mask;
} node_index;

static size_t
node_index_slot(const node_index *x, const char *name)
{
	size_t		j = str_hash(name) & x->mask;

	while (x->slot[j] && strcmp(x->slot[j]->name, name))
		j = (j + 1) & x->mask;
	return j;
}

static void
node_index_build(node_index *x, const agent_cfg *cfg)
{
	size_t		n = 16;

	while (n < 2 * (size_t) cfg->n_nodes)
		n *= 2;
	x->slot = xcalloc(n, sizeof(*x->slot));
	x->mask = n - 1;
	for (int i = 0; i < cfg->n_nodes; i++)
	{
		size_t		j = node_index_slot(x, cfg->nodes[i].name);

		if (!x->slot[j])
			x->slot[j] = &cfg->nodes[i];
	}
}

static const node_cfg *
node_index_find(const node_index *x, const char *name)
{
	return x->slot[node_index_slot(x, name)];
}

/*
 * Whether an instance is worth keeping: not inactive, or with flap history
 * still inside its rule's flap_window.  *expiry is lowered to when such an
 * inactive one stops being worth it.
 */
static bool
inst_keep(const instance *in, const agent_cfg *cfg, int64_t now, int64_t *expiry)
{
	const rule_cfg *r;
	int64_t		last,
				window;

	if (in->state != INST_INACTIVE)
		return true;
	if (in->n_fires <= 0 || !(r = config_rule(cfg, in->rule)))
		return false;
	last = in->fires[(in->n_fires - 1) % FLAP_HISTORY];
	window = (int64_t) (r->flap_window_s * 1e6);
	if (now - last > window)
		return false;
	if (window > 0 && last > INT64_MAX - window)
		return true;
	if (last + window < *expiry)
		*expiry = last + window;
	return true;
}

/*
 * Drops inactive instances with no flap history worth keeping: those of
 * the node just evaluated (node_only; mine, NULL when it has none), unless
 * another node's may have aged out (next_expiry passed), the configuration
 * is another one or the engine was loaded: then all.
 */
static void
collect_garbage(rule_engine *re, const agent_cfg *cfg, int64_t now, bool node_only,
				node_instances *mine)
{
	instance   *in,
			   *next;

	if (!node_only || re->collect_all || cfg != re->collected_with || now > re->next_expiry)
	{
		int64_t		expiry = INT64_MAX;

		for (in = re->head; in; in = next)
		{
			next = in->next;
			re->visits++;
			if (!inst_keep(in, cfg, now, &expiry))
				inst_drop(re, in);
		}
		re->next_expiry = expiry;
		re->collect_all = false;
		re->collected_with = cfg;
		return;
	}
	for (in = mine ? mine->head : NULL; in; in = next)
	{
		next = in->node_next;
		re->visits++;
		if (!inst_keep(in, cfg, now, &re->next_expiry))
			inst_drop(re, in);
	}
}

/* resolutions owed from a failed spool write go first, before anything newer for the same alert */
static void
emit_owed(rule_engine *re, event_list *out)
{
	for (int i = 0; i < re->owed.n; i++)
		alert_copy(events_push(out), &re->owed.v[i]);
	events_free(&re->owed);
}

/*
 * The deduplication key alert_dedup_key makes of (cluster, node, rule,
 * subject), built in buf when it is plain (valid UTF-8 within
 * DEDUP_KEY_MAX: nothing to clean or shorten, as for nearly every alert),
 * else malloc'd into *heap.  Looking an instance up then allocates nothing.
 */
static const char *
key_text(char *buf, const char *cluster, const char *node, const char *rule, const char *subject,
		 char **heap)
{
	const char *part[4] = {cluster, node, rule, subject};
	size_t		len[4];
	size_t		total = 3;

	*heap = NULL;
	for (int i = 0; i < 4; i++)
	{
		if (!part[i])
			total = DEDUP_KEY_MAX + 1;	/* as printf shows it: the slow way */
		else
			total += len[i] = strlen(part[i]);
	}
	if (total <= DEDUP_KEY_MAX)
	{
		char	   *p = buf;

		for (int i = 0; i < 4; i++)
		{
			if (i)
				*p++ = '/';
			memcpy(p, part[i], len[i]);
			p += len[i];
		}
		*p = '\0';
		if (utf8_valid(buf))
			return buf;
	}
	*heap = alert_dedup_key(cluster, node, rule, subject);
	return *heap;
}

/* a new instance of rule r for subject of node, filed under key (taken) */
static instance *
inst_new(rule_engine *re, char *key, const rule_cfg *r, const node_cfg *node, const char *subject)
{
	instance   *in = xcalloc(1, sizeof(instance));

	in->key = key;
	in->rule = xstrdup(r->name);
	in->node = xstrdup(node->name);
	in->cluster = xstrdup(node->cluster);
	in->subject = xstrdup(subject);
	return inst_link(re, in);
}

static void
eval_node(rule_engine *re, const agent_cfg *cfg, const node_cfg *node, const fact_list *facts,
		  int64_t now, bool unseen_clear, event_list *out)
{
	node_instances *mine = node_list(re, node->name);

	emit_owed(re, out);
	for (instance *in = mine ? mine->head : NULL; in; in = in->node_next)
	{
		re->visits++;
		in->seen = false;
	}

	for (int f = 0; f < facts->n; f++)
	{
		const fact *fa = &facts->v[f];

		for (int ri = 0; ri < cfg->n_rules; ri++)
		{
			const rule_cfg *r = &cfg->rules[ri];
			char		buf[DEDUP_KEY_MAX + 1];
			char	   *heap;
			const char *key;
			instance   *in;

			if (!r->enabled || r->kind != fa->kind)
				continue;
			key = key_text(buf, node->cluster, node->name, r->name, fa->subject, &heap);
			in = find(re, key);
			if (!in)
			{
				if (fa->value < r->threshold)
				{
					free(heap);
					continue;
				}
				in = inst_new(re, heap ? heap : xstrdup(key), r, node, fa->subject);
				heap = NULL;
			}
			else if (strcmp(in->owner->node, node->name))
				re->collect_all = true; /* another node's (names that make one key): collect it too */
			free(heap);
			in->seen = true;
			in->value = fa->value;
			/* a firing alert keeps describing what made it fire */
			if (in->state != INST_FIRING || fa->value >= r->clear)
			{
				free(in->summary);
				in->summary = xstrdup(fa->summary);
				labels_free(&in->annotations);
				labels_copy(&in->annotations, &fa->annotations);
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
				in->housekeeping = fa->housekeeping;
			}
			step(in, cfg, r, node, true, now, out);
		}
	}
	mine = node_list(re, node->name);	/* made by the first instance of the node */
	for (instance *in = mine ? mine->head : NULL; in; in = in->node_next)
	{
		const rule_cfg *r;

		re->visits++;
		if (in->seen || !unseen_clear)
			continue;
		r = config_rule(cfg, in->rule);
		if (r)
			step(in, cfg, r, node, false, now, out);
	}
	collect_garbage(re, cfg, now, true, mine);
}

void
rules_eval_node(rule_engine *re, const agent_cfg *cfg, const node_cfg *node, const fact_list *facts,
				int64_t now, event_list *out)
{
	eval_node(re, cfg, node, facts, now, true, out);
}

void
rules_eval_node_unasked(rule_engine *re, const agent_cfg *cfg, const node_cfg *node,
						const fact_list *facts, int64_t now, event_list *out)
{
	eval_node(re, cfg, node, facts, now, false, out);
}

uint64_t
rules_visits(const rule_engine *re)
{
	return re->visits;
}

/* ---------- the fact gate ---------- */

/* valid UTF-8 (pure ASCII, the usual case, checked in the same pass that measures it); *len its length */
static bool
plain_text(const char *s, size_t *len)
{
	unsigned char high = 0;
	size_t		n = 0;

	for (; s[n]; n++)
		high |= (unsigned char) s[n];
	*len = n;
	return !(high & 0x80) || utf8_valid(s);
}

/* an instance is filed under the key a fact of this subject and kind would have */
static bool
gate_held(const fact_gate *fg, rule_kind kind, const char *subject)
{
	const rules_gate *g = (const rules_gate *) fg;
	const agent_cfg *cfg = g->cfg;
	size_t		len;
	bool		plain;

	if (g->re->n == 0)
		return false;
	plain = plain_text(subject, &len) && g->prefix_plain;
	len += g->prefix_len;
	for (int ri = 0; ri < cfg->n_rules; ri++)
	{
		const rule_cfg *r = &cfg->rules[ri];
		char		buf[DEDUP_KEY_MAX + 1];
		char	   *heap;
		const char *key;
		bool		held;

		if (!r->enabled || r->kind != kind)
			continue;
		if (plain && len + strlen(r->name) + 1 <= DEDUP_KEY_MAX)
		{
			/* hashed in pieces: the key is only built when its bucket has that hash */
			uint64_t	h = hash_more(hash_more(hash_more(g->prefix_hash, r->name), "/"), subject);
			const instance *in;

			for (in = g->re->buckets[h & (g->re->nbuckets - 1)]; in; in = in->bucket_next)
				if (in->hash == h)
					break;
			if (!in)
				continue;
		}
		key = key_text(buf, g->node->cluster, g->node->name, r->name, subject, &heap);
		held = find(g->re, key) != NULL;
		free(heap);
		if (held)
			return true;
	}
	return false;
}

/*
 * The kinds of which the node holds no alert under an enabled rule: for
 * them gate_held says no whatever the subject, so a table or model below
 * every threshold costs no subject and no lookup.  Walks the node's own
 * alerts only.
 */
static void
gate_holds_none(rules_gate *g)
{
	const node_instances *l = g->node->name ? node_list(g->re, g->node->name) : NULL;

	for (int k = 0; k < RULE_KIND_COUNT; k++)
		g->gate.holds_none[k] = true;
	for (const instance *in = l ? l->head : NULL; in; in = in->node_next)
		for (int ri = 0; ri < g->cfg->n_rules; ri++)
		{
			const rule_cfg *r = &g->cfg->rules[ri];

			if (r->enabled && !strcmp(r->name, in->rule))
				g->gate.holds_none[r->kind] = false;
		}
}

void
rules_gate_init(rules_gate *g, const rule_engine *re, const agent_cfg *cfg, const node_cfg *node)
{
	memset(g, 0, sizeof(*g));
	g->re = re;
	g->cfg = cfg;
	g->node = node;
	for (int k = 0; k < RULE_KIND_COUNT; k++)
		g->gate.floor[k] = INFINITY;
	for (int ri = 0; ri < cfg->n_rules; ri++)
	{
		const rule_cfg *r = &cfg->rules[ri];
		double		low = r->clear < r->threshold ? r->clear : r->threshold;
		double	   *floor = &g->gate.floor[r->kind];

		if (!r->enabled)
			continue;
		/* a NaN bound compares false with everything: then nothing is below */
		if (isnan(r->clear) || isnan(r->threshold))
			low = NAN;
		if (isnan(low) || low < *floor)
			*floor = low;
	}
	g->gate.held = gate_held;
	gate_holds_none(g);
	g->prefix_plain = node->cluster && node->name;
	if (g->prefix_plain)
	{
		g->prefix_hash = hash_more(hash_more(hash_more(hash_more(HASH_START, node->cluster), "/"),
											 node->name), "/");
		g->prefix_len = strlen(node->cluster) + strlen(node->name) + 2;
		g->prefix_plain = utf8_valid(node->cluster) && utf8_valid(node->name);
	}
}

bool
rules_fact_wanted(const rules_gate *g, rule_kind kind, const char *subject, double value)
{
	return fact_wanted(&g->gate, kind, subject, value);
}

void
rules_reconcile(rule_engine *re, const agent_cfg *cfg, int64_t now, event_list *out)
{
	node_index	nodes;

	emit_owed(re, out);
	node_index_build(&nodes, cfg);
	for (instance *in = re->head; in; in = in->next)
	{
		const rule_cfg *r = config_rule(cfg, in->rule);
		const node_cfg *n = node_index_find(&nodes, in->node);

		if (r && r->enabled && n && !strcmp(n->cluster, in->cluster))
			continue;
		if (in->state == INST_FIRING)
			resolve(in, cfg, r, n, now, out);
		in->state = INST_INACTIVE;
		in->n_fires = 0;
	}
	free(nodes.slot);
	collect_garbage(re, cfg, now, false, NULL);
}

void
rules_firing(const rule_engine *re, const agent_cfg *cfg, int64_t now, event_list *out)
{
	node_index	nodes;

	node_index_build(&nodes, cfg);
	for (const instance *in = re->head; in; in = in->next)
	{
		if (in->state == INST_FIRING && in->notified)
			emit(in, cfg, config_rule(cfg, in->rule), node_index_find(&nodes, in->node), ALERT_FIRING,
				 in->notified_sev, told(in), now, out);
	}
	free(nodes.slot);
}

rule_counts
rules_count(const rule_engine *re, const char *rule)
{
	rule_counts c = {0, 0};

	for (const instance *in = re->head; in; in = in->next)
	{
		if (rule && strcmp(in->rule, rule))
			continue;
		if (in->state == INST_PENDING)
			c.pending++;
		else if (in->state == INST_FIRING)
			c.firing++;
	}
	return c;
}

void
rules_spool_failed(rule_engine *re, const alert_event *ev)
{
	instance   *in;

	if (ev->status == ALERT_RESOLVED)
	{
		/* the instance may be gone already: keep the resolution itself */
		alert_copy(events_push(&re->owed), ev);
		return;
	}
	in = find(re, ev->dedup_key);
	if (in && in->state == INST_FIRING)
	{
		/* as if it had not been sent: a first notification is not owed a resolution yet */
		in->notified = in->was_notified;
		in->retry = true;
	}
}

/* ---------- persisted state ---------- */

#define STATE_VERSION 1

static const char *const state_names[] = {"inactive", "pending", "firing"};

static json_t *
labels_to_json(const labelset *ls)
{
	json_t	   *o = json_object();

	for (int i = 0; i < ls->n; i++)
		json_set_text(o, ls->v[i].name, ls->v[i].value);
	return o;
}

/* an optional object of strings (absent in states saved by older agents) */
static bool
labels_from_json(json_t *o, labelset *ls)
{
	const char *k;
	json_t	   *v;

	if (!o)
		return true;
	if (!json_is_object(o))
		return false;
	json_object_foreach(o, k, v)
	{
		if (!json_is_string(v))
			return false;
		labels_set(ls, k, json_string_value(v));
	}
	return true;
}

char *
rules_to_json(const rule_engine *re)
{
	json_t	   *root = json_object();
	json_t	   *alerts = json_array();
	json_t	   *owed = json_array();
	char	   *s,
			   *r;

	for (const instance *in = re->head; in; in = in->next)
	{
		json_t	   *o = json_object();
		json_t	   *fires = json_array();
		json_t	   *labels = json_object();

		json_object_set_new(o, "annotations", labels_to_json(&in->annotations));
		json_object_set_new(o, "fired_labels", labels_to_json(&in->fired_labels));
		json_object_set_new(o, "key", json_text(in->key));
		json_object_set_new(o, "rule", json_text(in->rule));
		json_object_set_new(o, "node", json_text(in->node));
		json_object_set_new(o, "cluster", json_text(in->cluster));
		json_object_set_new(o, "subject", json_text(in->subject));
		json_object_set_new(o, "state", json_string(state_names[in->state]));
		json_object_set_new(o, "notified", json_boolean(in->notified));
		json_object_set_new(o, "was_notified", json_boolean(in->was_notified));
		json_object_set_new(o, "retry", json_boolean(in->retry));
		json_object_set_new(o, "notified_severity", json_string(severity_name(in->notified_sev)));
		json_object_set_new(o, "active_since_us", json_integer(in->active_since));
		json_object_set_new(o, "last_active_us", json_integer(in->last_active));
		json_object_set_new(o, "fired_at_us", json_integer(in->fired_at));
		json_object_set_new(o, "last_notified_us", json_integer(in->last_notified));
		/* flap history, oldest first */
		for (int k = in->n_fires > FLAP_HISTORY ? in->n_fires - FLAP_HISTORY : 0; k < in->n_fires; k++)
			json_array_append_new(fires, json_integer(in->fires[k % FLAP_HISTORY]));
		json_object_set_new(o, "fires_us", fires);
		json_object_set_new(o, "value", json_real(isfinite(in->value) ? in->value : 0));
		json_object_set_new(o, "summary", json_text(in->summary));
		for (int k = 0; k < in->labels.n; k++)
			json_set_text(labels, in->labels.v[k].name, in->labels.v[k].value);
		json_object_set_new(o, "labels", labels);
		if (in->housekeeping)
			json_object_set_new(o, "housekeeping", json_true());
		json_array_append_new(alerts, o);
	}
	for (int i = 0; i < re->owed.n; i++)
	{
		char	   *ev = alert_to_json(&re->owed.v[i]);

		json_array_append_new(owed, json_loads(ev, 0, NULL));
		free(ev);
	}
	json_object_set_new(root, "version", json_integer(STATE_VERSION));
	json_object_set_new(root, "alerts", alerts);
	json_object_set_new(root, "owed_resolutions", owed);
	s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	r = xstrdup(s ? s : "{}");
	free(s);
	return r;
}

static bool
get_str(json_t *o, const char *k, char **out)
{
	json_t	   *v = json_object_get(o, k);

	if (!json_is_string(v))
		return false;
	*out = xstrdup(json_string_value(v));
	return true;
}

static bool
get_int(json_t *o, const char *k, int64_t *out)
{
	json_t	   *v = json_object_get(o, k);

	if (!json_is_integer(v))
		return false;
	*out = (int64_t) json_integer_value(v);
	return true;
}

static bool
get_bool(json_t *o, const char *k, bool *out)
{
	json_t	   *v = json_object_get(o, k);

	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

static instance *
xmemdup_instance(const instance *in)
{
	instance   *copy = xmalloc(sizeof(instance));

	*copy = *in;
	return copy;
}

/* one saved alert; false (and in freed) when anything is missing or out of range */
static bool
inst_from_json(json_t *o, instance *in)
{
	const char *st,
			   *sev;
	json_t	   *fires,
			   *labels,
			   *v;
	const char *k;
	size_t		i;
	bool		ok;

	memset(in, 0, sizeof(*in));
	ok = get_str(o, "key", &in->key) && get_str(o, "rule", &in->rule) &&
		get_str(o, "node", &in->node) && get_str(o, "cluster", &in->cluster) &&
		get_str(o, "subject", &in->subject) && get_str(o, "summary", &in->summary) &&
		get_bool(o, "notified", &in->notified) && get_bool(o, "was_notified", &in->was_notified) &&
		get_bool(o, "retry", &in->retry) &&
		get_int(o, "active_since_us", &in->active_since) && get_int(o, "last_active_us", &in->last_active) &&
		get_int(o, "fired_at_us", &in->fired_at) && get_int(o, "last_notified_us", &in->last_notified);
	st = json_string_value(json_object_get(o, "state"));
	sev = json_string_value(json_object_get(o, "notified_severity"));
	if (ok)
		ok = st && sev && json_is_number(json_object_get(o, "value"));
	if (ok)
	{
		ok = false;
		for (int s = INST_INACTIVE; s <= INST_FIRING; s++)
			if (!strcmp(st, state_names[s]))
			{
				in->state = (inst_state) s;
				ok = true;
			}
	}
	if (ok)
	{
		ok = false;
		for (int s = SEV_INFO; s <= SEV_CRITICAL; s++)
			if (!strcmp(sev, severity_name((severity) s)))
			{
				in->notified_sev = (severity) s;
				ok = true;
			}
	}
	if (ok)
		in->value = json_number_value(json_object_get(o, "value"));
	/* absent in states saved before housekeeping was told apart */
	in->housekeeping = json_is_true(json_object_get(o, "housekeeping"));
	fires = json_object_get(o, "fires_us");
	labels = json_object_get(o, "labels");
	ok = ok && json_is_array(fires) && json_array_size(fires) <= FLAP_HISTORY && json_is_object(labels);
	if (ok)
		json_array_foreach(fires, i, v)
		{
			if (!json_is_integer(v))
				ok = false;
			else
				record_fire(in, (int64_t) json_integer_value(v));
		}
	if (ok)
		json_object_foreach(labels, k, v)
		{
			if (!json_is_string(v))
				ok = false;
			else
				labels_set(&in->labels, k, json_string_value(v));
		}
	ok = ok && labels_from_json(json_object_get(o, "annotations"), &in->annotations) &&
		labels_from_json(json_object_get(o, "fired_labels"), &in->fired_labels);
	if (!ok)
		inst_free(in);
	return ok;
}

bool
rules_from_json(rule_engine *re, const char *text, char **err)
{
	json_error_t jerr;
	json_t	   *root = json_loads(text, 0, &jerr);
	json_t	   *alerts,
			   *owed,
			   *v;
	size_t		i;
	int			bad = 0;

	if (!json_is_object(root) || !json_is_integer(json_object_get(root, "version")) ||
		json_integer_value(json_object_get(root, "version")) != STATE_VERSION ||
		!json_is_array(alerts = json_object_get(root, "alerts")) ||
		!json_is_array(owed = json_object_get(root, "owed_resolutions")))
	{
		*err = xasprintf("not an alert state of version %d%s%s", STATE_VERSION,
						 root ? "" : ": ", root ? "" : jerr.text);
		json_decref(root);
		return false;
	}
	json_array_foreach(alerts, i, v)
	{
		instance	in;

		if (!json_is_object(v) || !inst_from_json(v, &in))
		{
			bad++;
			continue;
		}
		if (find(re, in.key))
		{
			inst_free(&in);
			bad++;
			continue;
		}
		inst_link(re, xmemdup_instance(&in));
		/* loaded alerts may have aged out already: the next evaluation collects them all */
		re->collect_all = true;
	}
	json_array_foreach(owed, i, v)
	{
		char	   *ev = json_dumps(v, JSON_COMPACT);
		alert_event e;

		if (ev && alert_from_json(ev, &e))
		{
			*events_push(&re->owed) = e;
		}
		else
			bad++;
		free(ev);
	}
	json_decref(root);
	if (bad)
	{
		*err = xasprintf("%d malformed entr%s skipped", bad, bad == 1 ? "y" : "ies");
		return false;
	}
	return true;
}
