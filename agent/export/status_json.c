/*
 * status_json.c: what the status page shows, kept per node between polls
 * and assembled into one JSON document (see status_json.h).
 */
#include "export/status_json.h"
#include "common/config.h"
#include "common/utf8.h"
#include "common/util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct lag_series
{
	char	   *key;			/* "primary/application_name" */
	char	   *primary;
	char	   *standby;
	int64_t		t_us[STATUS_LAG_POINTS];
	double		bytes[STATUS_LAG_POINTS];
	int			n;				/* points kept, oldest first */
	int64_t		last_us;
} lag_series;

/*
 * A model's key, shared by its totals entry and the points it grew in, and
 * interned by the board: one key per text, so that the top models are
 * summed by key without comparing texts.
 */
typedef struct model_key
{
	int			refs;			/* the board's table holds one */
	int			last_point;		/* its newest point in the board's, -1: none */
	uint64_t	hash;
	double		sum;			/* scratch of top_models_json */
	bool		summed;
	char		text[];			/* node \x1f database \x1f model \x1f operation */
} model_key;

typedef struct model_point
{
	int64_t		t_us;
	model_key  *key;
	double		ms;
} model_point;

/*
 * A model's total_ms as the node's polls list it.  Updated in place: the
 * node's 1,000 models would otherwise be a new key string and a new JSON
 * object entry each per poll.  An entry not listed by a poll is dropped at
 * its end, so an entry found at the start of a poll was in the one before.
 */
typedef struct model_total
{
	model_key  *key;			/* NULL: an empty slot */
	uint64_t	hash;
	uint64_t	seen;			/* the poll that last listed it */
	double		last;			/* total_ms kept at the poll before */
	double		cur;			/* total_ms kept at the poll that last listed it */
	bool		had_last;		/* last holds a value: growth is measured from it */
	bool		has_cur;
	bool		key_utf8;		/* the key is valid UTF-8: only then is a total kept */
} model_total;

typedef struct model_totals
{
	model_total *slots;			/* open addressing, a power of two of them */
	size_t		cap;
	size_t		n;
	uint64_t	poll;
} model_totals;

typedef struct board_node
{
	char	   *name;
	json_t	   *doc;			/* the node's part of the document */
	model_totals totals;
} board_node;

struct status_board
{
	board_node *nodes;
	int			n_nodes;
	lag_series *lags;
	int			n_lags;
	model_point *points;
	int			n_points;
	int			cap_points;
	int64_t		oldest_point_us;	/* no point is older (when n_points > 0) */
	model_key **keys;			/* interned keys, open addressing */
	size_t		keys_cap;
	size_t		n_keys;
	json_t	   *runbook_journals;	/* journal_view_json(), or NULL */
};

status_board *
status_board_new(void)
{
	return xcalloc(1, sizeof(status_board));
}

static uint64_t
key_hash(const char *text, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;	/* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) text[i]) * 1099511628211ULL;
	return h;
}

static model_key **
key_slot(model_key **slots, size_t cap, uint64_t hash, const char *text)
{
	for (size_t i = hash & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!slots[i] || (slots[i]->hash == hash && !strcmp(slots[i]->text, text)))
			return &slots[i];
}

static void key_unref(model_key *k);

/*
 * Rebuilds the board's key table: keys only the table still holds (no
 * totals entry, no point) are freed, and the table is sized for those left
 * plus more.
 */
static void
keys_rebuild(status_board *b, size_t more)
{
	size_t		live = 0,
				cap = 64;
	model_key **slots;

	for (size_t i = 0; i < b->keys_cap; i++)
		if (b->keys[i] && b->keys[i]->refs > 1)
			live++;
	while (cap < (live + more) * 2)
		cap *= 2;
	slots = xcalloc(cap, sizeof(model_key *));
	for (size_t i = 0; i < b->keys_cap; i++)
	{
		model_key  *k = b->keys[i];

		if (!k)
			continue;
		if (k->refs > 1)
			*key_slot(slots, cap, k->hash, k->text) = k;
		else
			key_unref(k);
	}
	free(b->keys);
	b->keys = slots;
	b->keys_cap = cap;
	b->n_keys = live;
}

/* the board's key for text, with a reference for the caller */
static model_key *
key_intern(status_board *b, const char *text, size_t len, uint64_t hash)
{
	model_key **slot;
	model_key  *k;

	if ((b->n_keys + 1) * 2 > b->keys_cap)
		keys_rebuild(b, b->n_keys + 1);
	slot = key_slot(b->keys, b->keys_cap, hash, text);
	if (!*slot)
	{
		k = xmalloc(sizeof(model_key) + len + 1);
		k->refs = 1;			/* the table's */
		k->last_point = -1;
		k->hash = hash;
		k->summed = false;
		memcpy(k->text, text, len);
		k->text[len] = '\0';
		*slot = k;
		b->n_keys++;
	}
	(*slot)->refs++;
	return *slot;
}

static void
key_unref(model_key *k)
{
	if (k && --k->refs == 0)
		free(k);
}

static void
point_free(model_point *p)
{
	key_unref(p->key);
}

static void
totals_free(model_totals *t)
{
	for (size_t i = 0; i < t->cap; i++)
		key_unref(t->slots[i].key);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static model_total *
totals_slot(model_total *slots, size_t cap, uint64_t hash, const char *text)
{
	for (size_t i = hash & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!slots[i].key || (slots[i].hash == hash && !strcmp(slots[i].key->text, text)))
			return &slots[i];
}

/* rebuilds the table with room for want entries, keeping those the current poll listed when seen_only */
static void
totals_rehash(model_totals *t, size_t want, bool seen_only)
{
	size_t		cap = 16;
	model_total *slots;

	while (cap < want * 2)
		cap *= 2;
	slots = xcalloc(cap, sizeof(model_total));
	t->n = 0;
	for (size_t i = 0; i < t->cap; i++)
	{
		model_total *e = &t->slots[i];

		if (!e->key)
			continue;
		if (seen_only && e->seen != t->poll)
		{
			key_unref(e->key);
			continue;
		}
		*totals_slot(slots, cap, e->hash, e->key->text) = *e;
		t->n++;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
}

/* the entry of key, made (without a value) when new */
static model_total *
totals_get(status_board *b, model_totals *t, const char *text, size_t len)
{
	uint64_t	hash = key_hash(text, len);
	model_total *e;

	if ((t->n + 1) * 2 > t->cap)
		totals_rehash(t, t->n + 1, false);
	e = totals_slot(t->slots, t->cap, hash, text);
	if (!e->key)
	{
		memset(e, 0, sizeof(*e));
		e->key = key_intern(b, text, len, hash);
		e->key_utf8 = utf8_valid(text);
		e->hash = hash;
		e->seen = t->poll - 1;
		t->n++;
	}
	return e;
}

int
status_board_model_points(const status_board *b)
{
	return b->n_points;
}

void
status_board_free(status_board *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->n_nodes; i++)
	{
		free(b->nodes[i].name);
		json_decref(b->nodes[i].doc);
		totals_free(&b->nodes[i].totals);
	}
	for (int i = 0; i < b->n_lags; i++)
	{
		free(b->lags[i].key);
		free(b->lags[i].primary);
		free(b->lags[i].standby);
	}
	for (int i = 0; i < b->n_points; i++)
		point_free(&b->points[i]);
	for (size_t i = 0; i < b->keys_cap; i++)
		key_unref(b->keys[i]);
	free(b->keys);
	json_decref(b->runbook_journals);
	free(b->nodes);
	free(b->lags);
	free(b->points);
	free(b);
}

static board_node *
board_node_get(status_board *b, const char *name)
{
	board_node *bn;

	for (int i = 0; i < b->n_nodes; i++)
		if (!strcmp(b->nodes[i].name, name))
			return &b->nodes[i];
	b->nodes = xrealloc(b->nodes, sizeof(board_node) * (size_t) (b->n_nodes + 1));
	bn = &b->nodes[b->n_nodes++];
	memset(bn, 0, sizeof(*bn));
	bn->name = xstrdup(name);
	return bn;
}

static json_t *
time_or_null(int64_t us)
{
	char		buf[64];

	if (us <= 0)
		return json_null();
	format_iso8601(us, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
int_array(const int32_t *v, size_t n)
{
	json_t	   *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *
chains_json(const OdooRetailGuard__Snapshot *s)
{
	json_t	   *a = json_array();

	for (size_t i = 0; i < s->n_blocking_chains; i++)
	{
		const OdooRetailGuard__BlockingChain *c = s->blocking_chains[i];
		json_t	   *root = json_object();
		json_t	   *waiter = json_object();
		json_t	   *o = json_object();

		json_object_set_new(root, "pid", json_integer(c->root_pid));
		json_object_set_new(root, "application_name", json_text(c->root_application_name));
		json_object_set_new(root, "worker_class", json_text(c->root_worker_class));
		json_object_set_new(root, "state", json_text(c->root_state));
		json_object_set_new(root, "xact_age_s", json_real(c->root_xact_age_ms / 1000.0));
		json_object_set_new(root, "query", json_text(c->root_query));
		json_object_set_new(waiter, "pid", json_integer(c->waiter_pid));
		json_object_set_new(waiter, "application_name", json_text(c->waiter_application_name));
		json_object_set_new(waiter, "worker_class", json_text(c->waiter_worker_class));
		json_object_set_new(waiter, "wait_s", json_real(c->wait_ms / 1000.0));
		json_object_set_new(waiter, "query", json_text(c->waiter_query));
		json_object_set_new(o, "database", json_text(c->database));
		json_object_set_new(o, "model", json_text(c->model));
		json_object_set_new(o, "relation", json_text(c->relation));
		json_object_set_new(o, "lock_type", json_text(c->lock_type));
		json_object_set_new(o, "mode", json_text(c->mode));
		json_object_set_new(o, "root", root);
		/* blockers from the direct one up to the root: the tree's middle */
		json_object_set_new(o, "chain", int_array(c->chain, c->n_chain));
		json_object_set_new(o, "waiter", waiter);
		json_object_set_new(o, "cut", json_boolean(c->chain_cut));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
horizon_json(const OdooRetailGuard__Snapshot *s)
{
	const OdooRetailGuard__VacuumHorizon *h = s->vacuum_horizon;
	json_t	   *o;

	if (!h || !h->holder_kind || !*h->holder_kind || !strcmp(h->holder_kind, "none"))
		return json_null();
	o = json_object();
	json_object_set_new(o, "kind", json_text(h->holder_kind));
	json_object_set_new(o, "pid", json_integer(h->pid));
	json_object_set_new(o, "database", json_text(h->database));
	json_object_set_new(o, "application_name", json_text(h->application_name));
	json_object_set_new(o, "worker_class", json_text(h->worker_class));
	json_object_set_new(o, "state", json_text(h->state));
	json_object_set_new(o, "xmin_age", json_integer(h->xmin_age));
	json_object_set_new(o, "age_s", json_real(h->age_s));
	json_object_set_new(o, "name", json_text(h->name));
	json_object_set_new(o, "query", json_text(h->query));
	return o;
}

static json_t *
cron_json(const OdooRetailGuard__Snapshot *s)
{
	json_t	   *a = json_array();

	for (size_t i = 0; i < s->n_cron_jobs; i++)
	{
		const OdooRetailGuard__CronJob *j = s->cron_jobs[i];
		json_t	   *o = json_object();

		json_object_set_new(o, "cron_pid", json_integer(j->cron_pid));
		json_object_set_new(o, "job_pids", int_array(j->job_pids, j->n_job_pids));
		json_object_set_new(o, "database", json_text(j->database));
		json_object_set_new(o, "kind", json_text(j->kind));
		json_object_set_new(o, "job_id", json_integer(j->job_id));
		json_object_set_new(o, "running_s", json_real(j->running_s));
		json_object_set_new(o, "job_state", json_text(j->job_state));
		json_object_set_new(o, "job_model", json_text(j->job_model));
		json_object_set_new(o, "job_query", json_text(j->job_query));
		json_object_set_new(o, "holds_horizon", json_boolean(j->holds_horizon));
		json_object_set_new(o, "blocked_sessions", json_integer(j->blocked_sessions));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
throttle_json(const OdooRetailGuard__Snapshot *s)
{
	json_t	   *a = json_array();

	for (size_t i = 0; i < s->n_throttle_rules; i++)
	{
		const OdooRetailGuard__ThrottleRule *r = s->throttle_rules[i];
		json_t	   *o = json_object();

		json_object_set_new(o, "name", json_text(r->name));
		json_object_set_new(o, "application_name_pattern", json_text(r->application_name_pattern));
		json_object_set_new(o, "role", json_text(r->role));
		json_object_set_new(o, "database", json_text(r->database));
		json_object_set_new(o, "worker_class", json_text(r->worker_class));
		json_object_set_new(o, "max_connections", json_integer(r->max_connections));
		json_object_set_new(o, "current_connections", json_integer(r->current_connections));
		json_object_set_new(o, "refused", json_integer((json_int_t) r->refused));
		json_object_set_new(o, "drained", json_integer((json_int_t) r->drained));
		json_object_set_new(o, "expires", time_or_null(r->expires_us));
		json_object_set_new(o, "reason", json_text(r->reason));
		json_object_set_new(o, "set_by", json_text(r->set_by));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
destructive_json(const OdooRetailGuard__DestructiveEvent *e)
{
	json_t	   *o = json_object();

	json_object_set_new(o, "time", time_or_null(e->time_us));
	json_object_set_new(o, "kind", json_text(e->kind));
	json_object_set_new(o, "origin", json_text(e->origin));
	json_object_set_new(o, "cron_job_id", json_integer(e->cron_job_id));
	json_object_set_new(o, "database", json_text(e->database));
	json_object_set_new(o, "role", json_text(e->role));
	json_object_set_new(o, "application_name", json_text(e->application_name));
	json_object_set_new(o, "relation", json_text(e->relation));
	json_object_set_new(o, "model", json_text(e->model));
	json_object_set_new(o, "rows", json_integer(e->rows));
	json_object_set_new(o, "query", json_text(e->query));
	json_object_set_new(o, "pid", json_integer(e->pid));
	return o;
}

/*
 * Destructive events arrive once each (the cursor moves past them): the
 * node keeps the last few across polls, newest first.
 */
static json_t *
destructive_merge(json_t *old, const OdooRetailGuard__Snapshot *s)
{
	json_t	   *a = json_array();

	for (size_t i = s->n_destructive_events; i > 0 && json_array_size(a) < STATUS_DESTRUCTIVE_KEPT; i--)
		json_array_append_new(a, destructive_json(s->destructive_events[i - 1]));
	for (size_t i = 0; old && i < json_array_size(old) && json_array_size(a) < STATUS_DESTRUCTIVE_KEPT; i++)
		json_array_append(a, json_array_get(old, i));
	return a;
}

/* whether key is "primary/standby", without building it */
static bool
lag_key_is(const char *key, const char *primary, const char *standby)
{
	size_t		pl = strlen(primary);

	return !strncmp(key, primary, pl) && key[pl] == '/' && !strcmp(key + pl + 1, standby);
}

static lag_series *
lag_get(status_board *b, const char *primary, const char *standby)
{
	lag_series *l;

	for (int i = 0; i < b->n_lags; i++)
		if (lag_key_is(b->lags[i].key, primary, standby))
			return &b->lags[i];
	b->lags = xrealloc(b->lags, sizeof(lag_series) * (size_t) (b->n_lags + 1));
	l = &b->lags[b->n_lags++];
	memset(l, 0, sizeof(*l));
	l->key = xasprintf("%s/%s", primary, standby);
	l->primary = xstrdup(primary);
	l->standby = xstrdup(standby);
	return l;
}

static void
lag_add(lag_series *l, int64_t t_us, double bytes)
{
	if (l->n == STATUS_LAG_POINTS)
	{
		memmove(l->t_us, l->t_us + 1, sizeof(l->t_us[0]) * (STATUS_LAG_POINTS - 1));
		memmove(l->bytes, l->bytes + 1, sizeof(l->bytes[0]) * (STATUS_LAG_POINTS - 1));
		l->n--;
	}
	l->t_us[l->n] = t_us;
	l->bytes[l->n] = bytes;
	l->n++;
	l->last_us = t_us;
}

/*
 * Drops model points older than the window.  Not on every poll: each
 * would walk every node's points (hundreds of nodes, hundreds of points
 * each per poll), but once the oldest is a quarter of the window past it.
 * top_models_json skips the points out of the window meanwhile.
 */
static void
points_prune(status_board *b, int64_t now_us)
{
	const int64_t window_us = (int64_t) STATUS_MODEL_WINDOW_S * 1000000;
	int			keep = 0;

	if (b->n_points == 0 || now_us - b->oldest_point_us <= window_us + window_us / 4)
		return;
	for (int i = 0; i < b->n_points; i++)
	{
		model_key  *k = b->points[i].key;

		if (now_us - b->points[i].t_us > window_us)
		{
			/* a key's points are in time order: its newest goes last */
			if (k->last_point == i)
				k->last_point = -1;
			point_free(&b->points[i]);
		}
		else
		{
			if (keep == 0 || b->points[i].t_us < b->oldest_point_us)
				b->oldest_point_us = b->points[i].t_us;
			k->last_point = keep;
			b->points[keep++] = b->points[i];
		}
	}
	b->n_points = keep;
	/* and the keys of models no longer listed nor in the window */
	keys_rebuild(b, 0);
}

/*
 * A model's growth within one STATUS_MODEL_BUCKET_S goes into one point,
 * stamped with the latest poll in it: the points kept are bounded by
 * models x buckets per window, not models x polls (at a 1 s interval and
 * 500 nodes, hundreds of millions of points).
 */
static void
point_add(status_board *b, int64_t t_us, model_key *key, double ms)
{
	const int64_t bucket_us = (int64_t) STATUS_MODEL_BUCKET_S * 1000000;

	if (key->last_point >= 0)
	{
		model_point *p = &b->points[key->last_point];

		if (p->t_us / bucket_us == t_us / bucket_us && t_us >= p->t_us)
		{
			p->t_us = t_us;
			p->ms += ms;
			return;
		}
	}
	if (b->n_points == b->cap_points)
	{
		b->cap_points = b->cap_points ? b->cap_points * 2 : 256;
		b->points = xrealloc(b->points, sizeof(model_point) * (size_t) b->cap_points);
	}
	if (b->n_points == 0 || t_us < b->oldest_point_us)
		b->oldest_point_us = t_us;
	key->refs++;
	key->last_point = b->n_points;
	b->points[b->n_points].t_us = t_us;
	b->points[b->n_points].key = key;
	b->points[b->n_points].ms = ms;
	b->n_points++;
}

static void
key_part(strbuf *sb, const char *s, bool last)
{
	sb_append(sb, s ? s : "(null)");
	if (!last)
		sb_appendc(sb, '\x1f');
}

/*
 * Model time is cumulative in the snapshot: the page wants the time spent
 * over the last minutes, so each poll adds the growth since the previous
 * one (a reset counter counts from zero).  A model's growth is measured
 * from the total the previous poll kept for it (the last of duplicates);
 * a total that is not finite, or a key that is not UTF-8, is not kept (as
 * when the totals were a JSON object).
 */
static void
models_record(status_board *b, board_node *bn, const OdooRetailGuard__Snapshot *s, int64_t now_us)
{
	model_totals *t = &bn->totals;
	strbuf		key;
	size_t		listed = 0;

	sb_init(&key);
	t->poll++;
	for (size_t i = 0; i < s->n_models; i++)
	{
		const OdooRetailGuard__ModelStat *m = s->models[i];
		model_total *e;
		double		grown;

		if (!m->model || !*m->model)
			continue;
		sb_reset(&key);
		key_part(&key, bn->name, false);
		key_part(&key, m->database, false);
		key_part(&key, m->model, false);
		key_part(&key, m->operation, true);
		e = totals_get(b, t, key.data, key.len);
		if (e->seen != t->poll)
		{
			/* first listed by this poll: what the poll before kept becomes the base */
			e->had_last = e->seen == t->poll - 1 && e->has_cur;
			e->last = e->cur;
			e->has_cur = false;
			e->seen = t->poll;
			listed++;
		}
		grown = e->had_last ? m->total_ms - e->last : 0;
		if (grown < 0)
			grown = m->total_ms;
		if (isfinite(m->total_ms) && e->key_utf8)
		{
			e->cur = m->total_ms;
			e->has_cur = true;
		}
		if (grown > 0)
			point_add(b, now_us, e->key, grown);
	}
	sb_free(&key);
	/* models gone from the snapshot: their next listing starts afresh */
	if (listed < t->n)
		totals_rehash(t, listed, true);
}

void
status_board_node(status_board *b, const char *name, const char *cluster,
				  const node_observation *obs, const char *error,
				  const OdooRetailGuard__Snapshot *snap, int64_t now_us)
{
	board_node *bn = board_node_get(b, name);
	json_t	   *d = json_object();
	json_t	   *old_destructive = bn->doc ? json_object_get(bn->doc, "destructive_events") : NULL;
	json_t	   *standbys = json_array();
	bool		in_recovery = snap && snap->node ? snap->node->in_recovery : obs->in_recovery;

	json_object_set_new(d, "name", json_text(name));
	json_object_set_new(d, "cluster", json_text(cluster ? cluster : ""));
	json_object_set_new(d, "up", json_boolean(obs->reachable));
	json_object_set_new(d, "role", json_string(!obs->reachable ? "unknown" : in_recovery ? "standby" : "primary"));
	json_object_set_new(d, "last_poll", time_or_null(now_us));
	json_object_set_new(d, "error", json_text(error ? error : ""));
	json_object_set_new(d, "connections", json_integer(obs->connections));
	json_object_set_new(d, "max_connections", json_integer(obs->max_connections));
	/* a standby's lag to its primary as it sees it: age of its last replayed commit */
	if (snap && snap->standby && snap->standby->replay_delay_ms >= 0)
		json_object_set_new(d, "lag_s", json_real(snap->standby->replay_delay_ms / 1000.0));
	else
		json_object_set_new(d, "lag_s", json_null());
	json_object_set_new(d, "replay_paused", json_boolean(snap && snap->standby && snap->standby->replay_paused));
	if (snap)
	{
		for (size_t i = 0; i < snap->n_replication; i++)
		{
			const OdooRetailGuard__ReplicationStandby *r = snap->replication[i];
			json_t	   *o = json_object();
			char	   *standby = utf8_clean(r->application_name, 0);

			json_object_set_new(o, "application_name", json_text(r->application_name));
			json_object_set_new(o, "state", json_text(r->state));
			json_object_set_new(o, "sync_state", json_text(r->sync_state));
			json_object_set_new(o, "replay_lag_bytes", json_integer(r->replay_lag_bytes));
			json_object_set_new(o, "replay_lag_s", r->replay_lag_ms >= 0 ? json_real(r->replay_lag_ms / 1000.0) : json_null());
			json_array_append_new(standbys, o);
			/*
			 * -1: no replay position (pg_basebackup's WAL stream is one): not
			 * a standby to chart
			 */
			if (r->replay_lag_bytes >= 0)
				lag_add(lag_get(b, name, standby), now_us, (double) r->replay_lag_bytes);
			free(standby);
		}
		json_object_set_new(d, "blocking_chains", chains_json(snap));
		json_object_set_new(d, "vacuum_horizon", horizon_json(snap));
		json_object_set_new(d, "cron_jobs", cron_json(snap));
		json_object_set_new(d, "throttle_rules", throttle_json(snap));
		json_object_set_new(d, "destructive_events", destructive_merge(old_destructive, snap));
		models_record(b, bn, snap, now_us);
	}
	else
	{
		json_object_set_new(d, "blocking_chains", json_array());
		json_object_set_new(d, "vacuum_horizon", json_null());
		json_object_set_new(d, "cron_jobs", json_array());
		json_object_set_new(d, "throttle_rules", json_array());
		json_object_set_new(d, "destructive_events",
							old_destructive ? json_incref(old_destructive) : json_array());
	}
	json_object_set_new(d, "standbys", standbys);
	json_decref(bn->doc);
	bn->doc = d;
	points_prune(b, now_us);
}

void
status_board_retain(status_board *b, const char *const *names, int n)
{
	int			keep = 0;

	for (int i = 0; i < b->n_nodes; i++)
	{
		bool		found = false;

		for (int j = 0; j < n && !found; j++)
			found = !strcmp(names[j], b->nodes[i].name);
		if (found)
			b->nodes[keep++] = b->nodes[i];
		else
		{
			free(b->nodes[i].name);
			json_decref(b->nodes[i].doc);
			totals_free(&b->nodes[i].totals);
		}
	}
	b->n_nodes = keep;
	keys_rebuild(b, 0);
}

static json_t *
alerts_json(const event_list *firing)
{
	json_t	   *a = json_array();

	for (int i = 0; firing && i < firing->n; i++)
	{
		const alert_event *ev = &firing->v[i];
		json_t	   *o = json_object();
		json_t	   *labels = json_object();

		/* the identity (labels) and the values that move (annotations: root pid, durations, query) */
		for (int k = 0; k < ev->labels.n; k++)
			json_object_set_new(labels, ev->labels.v[k].name, json_text(ev->labels.v[k].value));
		for (int k = 0; k < ev->annotations.n; k++)
		{
			const char *name = ev->annotations.v[k].name;

			if (strcmp(name, "summary") && strcmp(name, "description") && strcmp(name, "runbook_url"))
				json_object_set_new(labels, name, json_text(ev->annotations.v[k].value));
		}
		json_object_set_new(o, "rule", json_text(ev->rule));
		json_object_set_new(o, "node", json_text(ev->node));
		json_object_set_new(o, "subject", json_text(ev->subject));
		json_object_set_new(o, "severity", json_string(severity_name(ev->sev)));
		json_object_set_new(o, "summary", json_text(ev->summary));
		json_object_set_new(o, "value", json_real(ev->value));
		json_object_set_new(o, "since", time_or_null(ev->starts_at_us));
		json_object_set_new(o, "facts", labels);
		json_object_set_new(o, "runbook_url", json_text(labels_get(&ev->annotations, "runbook_url")));
		json_array_append_new(a, o);
	}
	return a;
}

typedef struct model_sum
{
	const char *key;
	double		ms;
} model_sum;

static int
by_ms_desc(const void *a, const void *b)
{
	double		x = ((const model_sum *) a)->ms;
	double		y = ((const model_sum *) b)->ms;

	return x < y ? 1 : x > y ? -1 : strcmp(((const model_sum *) a)->key, ((const model_sum *) b)->key);
}

static json_t *
top_models_json(const status_board *b, int64_t now_us)
{
	model_key **touched = xcalloc((size_t) b->n_points + 1, sizeof(model_key *));
	model_sum  *sums;
	int			n = 0;
	json_t	   *a = json_array();

	/*
	 * The window's points summed per key, oldest first (the points' order):
	 * keys are interned, so a key's sum sits in the key itself and hundreds
	 * of nodes' thousands of points are neither copied nor sorted.
	 */
	for (int i = 0; i < b->n_points; i++)
	{
		model_key  *k = b->points[i].key;

		if (now_us - b->points[i].t_us > (int64_t) STATUS_MODEL_WINDOW_S * 1000000)
			continue;
		if (!k->summed)
		{
			k->summed = true;
			k->sum = b->points[i].ms;
			touched[n++] = k;
		}
		else
			k->sum += b->points[i].ms;
	}
	sums = xcalloc((size_t) n + 1, sizeof(model_sum));
	for (int i = 0; i < n; i++)
	{
		sums[i].key = touched[i]->text;
		sums[i].ms = touched[i]->sum;
		touched[i]->summed = false;
	}
	qsort(sums, (size_t) n, sizeof(model_sum), by_ms_desc);
	for (int i = 0; i < n && i < STATUS_TOP_MODELS; i++)
	{
		char	   *k = xstrdup(sums[i].key);
		char	   *parts[4] = {k, "", "", ""};
		int			p = 1;
		json_t	   *o = json_object();

		for (char *c = k; *c && p < 4; c++)
			if (*c == '\x1f')
			{
				*c = '\0';
				parts[p++] = c + 1;
			}
		json_object_set_new(o, "node", json_text(parts[0]));
		json_object_set_new(o, "database", json_text(parts[1]));
		json_object_set_new(o, "model", json_text(parts[2]));
		json_object_set_new(o, "operation", json_text(parts[3]));
		json_object_set_new(o, "seconds", json_real(sums[i].ms / 1000.0));
		json_array_append_new(a, o);
		free(k);
	}
	free(sums);
	free(touched);
	return a;
}

static json_t *
lags_json(const status_board *b)
{
	json_t	   *a = json_array();

	for (int i = 0; i < b->n_lags; i++)
	{
		const lag_series *l = &b->lags[i];
		json_t	   *o = json_object();
		json_t	   *pts = json_array();

		for (int k = 0; k < l->n; k++)
		{
			json_t	   *p = json_array();

			json_array_append_new(p, json_real((double) l->t_us[k] / 1e6));
			json_array_append_new(p, json_real(l->bytes[k]));
			json_array_append_new(pts, p);
		}
		json_object_set_new(o, "primary", json_text(l->primary));
		json_object_set_new(o, "standby", json_text(l->standby));
		json_object_set_new(o, "points", pts);
		json_array_append_new(a, o);
	}
	return a;
}

void
status_board_runbooks(status_board *b, json_t *journals)
{
	json_decref(b->runbook_journals);
	b->runbook_journals = journals;
}

char *
status_board_json(const status_board *b, const event_list *firing, int64_t now_us)
{
	json_t	   *o = json_object();
	json_t	   *nodes = json_array();
	char	   *text;

	for (int i = 0; i < b->n_nodes; i++)
		if (b->nodes[i].doc)
			json_array_append(nodes, b->nodes[i].doc);
	json_object_set_new(o, "generated", time_or_null(now_us));
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "alerts", alerts_json(firing));
	json_object_set_new(o, "top_models", top_models_json(b, now_us));
	json_object_set_new(o, "top_models_window_s", json_integer(STATUS_MODEL_WINDOW_S));
	json_object_set_new(o, "replication_lag", lags_json(b));
	json_object_set_new(o, "runbook_journals",
						b->runbook_journals ? json_incref(b->runbook_journals) : json_array());
	text = json_dumps(o, JSON_COMPACT | JSON_ESCAPE_SLASH);
	json_decref(o);
	if (!text)
		abort();
	return text;
}
