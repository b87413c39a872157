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
#include <stddef.h>
#include <stdint.h>
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
 * A model's growth within one STATUS_MODEL_BUCKET_S, stamped with the
 * latest poll in it.
 */
typedef struct model_point
{
	int64_t		t_us;
	double		ms;
} model_point;

/*
 * A model that grew within the window, board-wide, with its points.  Its
 * text is "node \x1f database \x1f model \x1f operation", interned by the
 * board: one key per text, so that the top models are summed per key
 * without comparing texts.  A key lives as long as it has points: made
 * when the model first grows, freed when its last point leaves the window
 * (a model that does not grow costs the board no key).  The points follow
 * the text in the same block, oldest added first, one allocation resized
 * by a point at a time: 16 bytes a point, no pointer back to the key.
 */
typedef struct model_key
{
	uint64_t	hash;
	uint32_t	len;			/* of text */
	uint32_t	n_points;		/* at least one */
	char		text[];			/* then the points, aligned */
} model_key;

/*
 * A model's total_ms as the node's polls list it, 16 bytes in the node's
 * dense array.  It names its model by "database \x1f model \x1f operation"
 * in the node's text pool (the node is the board_node), compared with the
 * snapshot's parts without building a key.  Updated in place; an entry not
 * listed by a poll is dropped at its end, so an entry found at the start
 * of a poll was listed by the one before.
 */
typedef struct model_total
{
	double		cur;			/* total_ms kept at the poll that last listed it */
	uint32_t	hash;			/* of the text */
	unsigned int text:28;		/* offset in the node's text pool */
	unsigned int listed:1;		/* the current poll's parity: listed by it */
	unsigned int has_cur:1;
	unsigned int had_last:1;	/* the poll before kept a total: growth is measured from it */
	unsigned int key_utf8:1;	/* node and text valid UTF-8: only then is a total kept */
} model_total;

/* the text pool's bound (model_total.text); the extension's names are far shorter */
#define TEXT_POOL_MAX ((uint32_t) 1 << 28)

typedef struct model_totals
{
	model_total *v;				/* dense: a dropped entry's place goes to the last */
	uint32_t	n;
	uint32_t	cap;
	uint32_t   *index;			/* open addressing: entry + 1, 0 empty; a power of two, at most half full */
	uint32_t	index_cap;
	char	   *pool;			/* the entries' texts, each '\0'-ended */
	uint32_t	pool_len;
	uint32_t	pool_cap;
	uint32_t	pool_live;		/* bytes of texts still named by an entry */
	unsigned int parity;		/* the current poll's */
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
	int		   *node_slots;		/* nodes by name, open addressing: index + 1, 0 empty */
	size_t		node_slots_cap; /* a power of two, at least twice n_nodes */
	lag_series *lags;
	int			n_lags;
	int			n_points;		/* in all keys */
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

#define FNV_BASIS 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

/* FNV-1a of s continued from h; *len: strlen(s) */
static uint64_t
fnv_text_len(uint64_t h, const char *s, size_t *len)
{
	const char *c = s;

	for (; *c; c++)
		h = (h ^ (unsigned char) *c) * FNV_PRIME;
	*len = (size_t) (c - s);
	return h;
}

static uint64_t
fnv_text(uint64_t h, const char *s)
{
	size_t		len;

	return fnv_text_len(h, s, &len);
}

static uint64_t
fnv_byte(uint64_t h, char c)
{
	return (h ^ (unsigned char) c) * FNV_PRIME;
}

/* a part of a model's name as its key text shows it */
static const char *
key_part(const char *s)
{
	return s ? s : "(null)";
}

/*
 * A model's name as a snapshot lists it: database, model, operation,
 * their lengths and the hash of "database \x1f model \x1f operation",
 * without building that text.
 */
typedef struct model_name
{
	const char *part[3];
	size_t		len[3];
	uint32_t	hash;
} model_name;

static void
name_of(model_name *nm, const char *db, const char *model, const char *op)
{
	uint64_t	h = FNV_BASIS;

	nm->part[0] = db;
	nm->part[1] = model;
	nm->part[2] = op;
	for (int i = 0; i < 3; i++)
	{
		if (i > 0)
			h = fnv_byte(h, '\x1f');
		h = fnv_text_len(h, nm->part[i], &nm->len[i]);
	}
	nm->hash = (uint32_t) (h ^ (h >> 32));
}

/*
 * Whether text is the name's "database \x1f model \x1f operation": the
 * same text from other parts (a part holding \x1f) is the same model, as
 * it was when the key was the joined text.
 */
static bool
text_is_name(const char *text, const model_name *nm)
{
	for (int i = 0; i < 3; i++)
	{
		if (strncmp(text, nm->part[i], nm->len[i]))
			return false;
		text += nm->len[i];
		if (i < 2 && *text++ != '\x1f')
			return false;
	}
	return *text == '\0';
}

static size_t
key_points_offset(uint32_t len)
{
	size_t		at = offsetof(model_key, text) + (size_t) len + 1;
	size_t		align = _Alignof(model_point);

	return (at + align - 1) / align * align;
}

static size_t
key_size(uint32_t len, uint32_t n_points)
{
	return key_points_offset(len) + sizeof(model_point) * n_points;
}

static model_point *
key_points(const model_key *k)
{
	return (model_point *) ((uintptr_t) k + key_points_offset(k->len));
}

/* whether k's text is "node \x1f rest" */
static bool
key_is(const model_key *k, const char *node, size_t node_len, const char *rest, size_t rest_len)
{
	return k->len == node_len + 1 + rest_len && !memcmp(k->text, node, node_len) &&
		k->text[node_len] == '\x1f' && !memcmp(k->text + node_len + 1, rest, rest_len);
}

/* rebuilds the board's key table for the keys held plus more */
static void
keys_rebuild(status_board *b, size_t more)
{
	size_t		cap = 64;
	model_key **slots;

	while (cap < (b->n_keys + more) * 2)
		cap *= 2;
	slots = xcalloc(cap, sizeof(model_key *));
	for (size_t i = 0; i < b->keys_cap; i++)
	{
		model_key  *k = b->keys[i];
		size_t		s;

		if (!k)
			continue;
		for (s = k->hash & (cap - 1); slots[s]; s = (s + 1) & (cap - 1))
			;
		slots[s] = k;
	}
	free(b->keys);
	b->keys = slots;
	b->keys_cap = cap;
}

static void
totals_free(model_totals *t)
{
	free(t->v);
	free(t->index);
	free(t->pool);
	memset(t, 0, sizeof(*t));
}

/* rebuilds the node's index for the entries held plus more */
static void
totals_reindex(model_totals *t, uint32_t more)
{
	uint32_t	cap = 16;

	while (cap < ((size_t) t->n + more) * 2)
		cap *= 2;
	free(t->index);
	t->index = xcalloc(cap, sizeof(uint32_t));
	t->index_cap = cap;
	for (uint32_t i = 0; i < t->n; i++)
	{
		uint32_t	s;

		for (s = t->v[i].hash & (cap - 1); t->index[s]; s = (s + 1) & (cap - 1))
			;
		t->index[s] = i + 1;
	}
}

/* appends the name's text to the node's pool; false when it is full */
static bool
pool_add(model_totals *t, const model_name *nm, uint32_t *at)
{
	size_t		len = nm->len[0] + nm->len[1] + nm->len[2] + 3;
	char	   *p;

	if (len > TEXT_POOL_MAX - t->pool_len)
		return false;
	if (t->pool_len + len > t->pool_cap)
	{
		size_t		cap = t->pool_cap;

		/* by an eighth, not doubled: the pool is most of a node's model memory */
		while (cap < t->pool_len + len)
			cap += cap / 8 + 256;
		t->pool = xrealloc(t->pool, cap);
		t->pool_cap = (uint32_t) cap;
	}
	p = t->pool + t->pool_len;
	for (int i = 0; i < 3; i++)
	{
		memcpy(p, nm->part[i], nm->len[i]);
		p += nm->len[i];
		*p++ = i < 2 ? '\x1f' : '\0';
	}
	*at = t->pool_len;
	t->pool_len += (uint32_t) len;
	t->pool_live += (uint32_t) len;
	return true;
}

/* the pool rewritten with only the texts the entries name */
static void
pool_compact(model_totals *t)
{
	char	   *pool = xmalloc(t->pool_live ? t->pool_live : 1);
	uint32_t	len = 0;

	for (uint32_t i = 0; i < t->n; i++)
	{
		const char *text = t->pool + t->v[i].text;
		size_t		l = strlen(text) + 1;

		memcpy(pool + len, text, l);
		t->v[i].text = len;
		len += (uint32_t) l;
	}
	free(t->pool);
	t->pool = pool;
	t->pool_len = t->pool_cap = t->pool_live = len;
}

/*
 * The node's entry of the model, made (without a value) when new; NULL
 * when the node's text pool is full.  node_utf8: the node's name is valid
 * UTF-8.
 */
static model_total *
totals_get(model_totals *t, const model_name *nm, bool node_utf8)
{
	uint32_t	hash = nm->hash;
	uint32_t	s,
				at;
	model_total *e;

	if (((size_t) t->n + 1) * 2 > t->index_cap)
		totals_reindex(t, 1);
	for (s = hash & (t->index_cap - 1); t->index[s]; s = (s + 1) & (t->index_cap - 1))
	{
		e = &t->v[t->index[s] - 1];
		if (e->hash == hash && text_is_name(t->pool + e->text, nm))
			return e;
	}
	if (!pool_add(t, nm, &at))
		return NULL;
	if (t->n == t->cap)
	{
		t->cap += t->cap / 8 + 16;
		t->v = xrealloc(t->v, sizeof(model_total) * t->cap);
	}
	e = &t->v[t->n];
	memset(e, 0, sizeof(*e));
	e->hash = hash;
	e->text = at;
	e->listed = !t->parity;
	/* as the joined key "node \x1f text" would be: \x1f is one byte of UTF-8 */
	e->key_utf8 = node_utf8 && utf8_valid(t->pool + at);
	t->index[s] = ++t->n;
	return e;
}

/* the index slot that holds entry i */
static uint32_t
totals_slot_of(const model_totals *t, uint32_t i)
{
	uint32_t	s;

	for (s = t->v[i].hash & (t->index_cap - 1); t->index[s] != i + 1; s = (s + 1) & (t->index_cap - 1))
		;
	return s;
}

/* empties index slot s, moving up the entries probed past it (linear probing's deletion) */
static void
totals_unindex(model_totals *t, uint32_t s)
{
	uint32_t	mask = t->index_cap - 1;

	for (uint32_t j = (s + 1) & mask; t->index[j]; j = (j + 1) & mask)
	{
		uint32_t	home = t->v[t->index[j] - 1].hash & mask;

		/* the entry at j may move to s when its home is not within (s, j] */
		if (((j - home) & mask) >= ((j - s) & mask))
		{
			t->index[s] = t->index[j];
			s = j;
		}
	}
	t->index[s] = 0;
}

/*
 * Drops the entries the current poll did not list: their next listing
 * starts afresh.  Each is replaced by the last entry, so that a model
 * dropped from a poll costs two index slots' updates, not a new index.
 */
static void
totals_drop_unlisted(model_totals *t)
{
	uint32_t	i = 0;

	while (i < t->n)
	{
		uint32_t	last = t->n - 1;

		if (t->v[i].listed == t->parity)
		{
			i++;
			continue;
		}
		t->pool_live -= (uint32_t) strlen(t->pool + t->v[i].text) + 1;
		totals_unindex(t, totals_slot_of(t, i));
		if (i != last)
		{
			t->index[totals_slot_of(t, last)] = i + 1;
			t->v[i] = t->v[last];
		}
		t->n--;
	}
	if (t->pool_len - t->pool_live > t->pool_live && t->pool_len > 4096)
		pool_compact(t);
	/* a node that lost most of its models: arrays for those left */
	if (t->cap > 64 && t->n < t->cap / 4)
	{
		t->cap = t->n * 2 > 16 ? t->n * 2 : 16;
		t->v = xrealloc(t->v, sizeof(model_total) * t->cap);
		totals_reindex(t, 0);
	}
}

int
status_board_model_points(const status_board *b)
{
	return b->n_points;
}

static void
lag_free(lag_series *l)
{
	free(l->key);
	free(l->primary);
	free(l->standby);
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
		lag_free(&b->lags[i]);
	for (size_t i = 0; i < b->keys_cap; i++)
		free(b->keys[i]);
	free(b->keys);
	json_decref(b->runbook_journals);
	free(b->nodes);
	free(b->node_slots);
	free(b->lags);
	free(b);
}

/* the slot of name in the node index, or the empty one ending its run */
static size_t
node_slot(const status_board *b, const char *name)
{
	size_t		mask = b->node_slots_cap - 1;
	size_t		j = str_hash(name) & mask;

	while (b->node_slots[j] && strcmp(b->nodes[b->node_slots[j] - 1].name, name))
		j = (j + 1) & mask;
	return j;
}

/* the index built anew: after a node is added or nodes leave */
static void
node_reindex(status_board *b)
{
	size_t		want = 16;

	while (want < 2 * (size_t) b->n_nodes)
		want *= 2;
	if (want != b->node_slots_cap)
	{
		free(b->node_slots);
		b->node_slots = xmalloc(sizeof(int) * want);
		b->node_slots_cap = want;
	}
	memset(b->node_slots, 0, sizeof(int) * b->node_slots_cap);
	for (int i = 0; i < b->n_nodes; i++)
		b->node_slots[node_slot(b, b->nodes[i].name)] = i + 1;
}

/* found by name, not searched: every poll of hundreds of nodes looks its node up */
static board_node *
board_node_get(status_board *b, const char *name)
{
	board_node *bn;

	if (b->node_slots_cap)
	{
		int			at = b->node_slots[node_slot(b, name)];

		if (at)
			return &b->nodes[at - 1];
	}
	b->nodes = xrealloc(b->nodes, sizeof(board_node) * (size_t) (b->n_nodes + 1));
	bn = &b->nodes[b->n_nodes++];
	memset(bn, 0, sizeof(*bn));
	bn->name = xstrdup(name);
	node_reindex(b);
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

/*
 * Lag charts that should no longer show are dropped: of a primary no
 * longer configured, or of a standby that sent no point for
 * STATUS_LAG_KEEP_S (gone, or renamed: every name it ever had would stay
 * on the page, and in memory, for as long as the agent runs).
 */
static bool
lag_primary_kept(const lag_series *l, const char *const *names, int n)
{
	for (int j = 0; j < n; j++)
		if (!strcmp(names[j], l->primary))
			return true;
	return false;
}

/* with names: keeps the charts of those primaries; else those with a point since keep_since_us */
static void
lags_prune(status_board *b, int64_t keep_since_us, const char *const *names, int n_names)
{
	int			keep = 0;

	for (int i = 0; i < b->n_lags; i++)
	{
		lag_series *l = &b->lags[i];
		bool		kept = names ? lag_primary_kept(l, names, n_names) : l->last_us >= keep_since_us;

		if (kept)
			b->lags[keep++] = *l;
		else
			lag_free(l);
	}
	b->n_lags = keep;
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
 * Drops model points older than the window, and the keys left without
 * any.  Not on every poll: each would walk every key (hundreds of nodes,
 * hundreds of keys each), but once the oldest is a quarter of the window
 * past it.  top_models_json skips the points out of the window meanwhile.
 */
static void
points_prune(status_board *b, int64_t now_us)
{
	const int64_t window_us = (int64_t) STATUS_MODEL_WINDOW_S * 1000000;
	bool		first = true;

	if (b->n_points == 0 || now_us - b->oldest_point_us <= window_us + window_us / 4)
		return;
	b->n_points = 0;
	for (size_t i = 0; i < b->keys_cap; i++)
	{
		model_key  *k = b->keys[i];
		model_point *p;
		uint32_t	keep = 0;

		if (!k)
			continue;
		p = key_points(k);
		for (uint32_t j = 0; j < k->n_points; j++)
		{
			if (now_us - p[j].t_us > window_us)
				continue;
			if (first || p[j].t_us < b->oldest_point_us)
				b->oldest_point_us = p[j].t_us;
			first = false;
			p[keep++] = p[j];
		}
		b->n_points += (int) keep;
		if (keep == 0)
		{
			free(k);
			b->keys[i] = NULL;
			b->n_keys--;
		}
		else if (keep < k->n_points)
		{
			k->n_points = keep;
			b->keys[i] = xrealloc(k, key_size(k->len, keep));
		}
	}
	keys_rebuild(b, 0);
}

/*
 * Adds ms of growth at t_us to the key "node \x1f rest", made when it has
 * none (node_hash: of "node \x1f").  A model's growth within one
 * STATUS_MODEL_BUCKET_S goes into one point, stamped with the latest poll
 * in it: the points kept are bounded by models x buckets per window, not
 * models x polls (at a 1 s interval and 500 nodes, hundreds of millions
 * of points).
 */
static void
point_add(status_board *b, const char *node, size_t node_len, uint64_t node_hash, const char *rest,
		  size_t rest_len, int64_t t_us, double ms)
{
	const int64_t bucket_us = (int64_t) STATUS_MODEL_BUCKET_S * 1000000;
	uint64_t	hash = fnv_text(node_hash, rest);
	model_key **slot;
	model_key  *k;
	model_point *p;

	if ((b->n_keys + 1) * 2 > b->keys_cap)
		keys_rebuild(b, b->n_keys + 1);
	for (slot = &b->keys[hash & (b->keys_cap - 1)];
		 *slot && !((*slot)->hash == hash && key_is(*slot, node, node_len, rest, rest_len));
		 slot = &b->keys[(size_t) (slot - b->keys + 1) & (b->keys_cap - 1)])
		;
	k = *slot;
	if (k)
	{
		p = &key_points(k)[k->n_points - 1];
		if (p->t_us / bucket_us == t_us / bucket_us && t_us >= p->t_us)
		{
			p->t_us = t_us;
			p->ms += ms;
			return;
		}
		k = xrealloc(k, key_size(k->len, k->n_points + 1));
	}
	else
	{
		k = xmalloc(key_size((uint32_t) (node_len + 1 + rest_len), 1));
		k->hash = hash;
		k->len = (uint32_t) (node_len + 1 + rest_len);
		k->n_points = 0;
		memcpy(k->text, node, node_len);
		k->text[node_len] = '\x1f';
		memcpy(k->text + node_len + 1, rest, rest_len + 1);
		b->n_keys++;
	}
	*slot = k;
	if (b->n_points == 0 || t_us < b->oldest_point_us)
		b->oldest_point_us = t_us;
	p = &key_points(k)[k->n_points++];
	p->t_us = t_us;
	p->ms = ms;
	b->n_points++;
}

/*
 * Model time is cumulative in the snapshot: the page wants the time spent
 * over the last minutes, so each poll adds the growth since the previous
 * one (a reset counter counts from zero).  A model's growth is measured
 * from the total the previous poll kept for it (the last of duplicates);
 * a total that is not finite, or a key that is not UTF-8, is not kept (as
 * when the totals were a JSON object).  No key text is built per model:
 * the parts are hashed and compared as they are, and the board's key is
 * looked up only for a model that grew.
 */
static void
models_record(status_board *b, board_node *bn, const OdooRetailGuard__Snapshot *s, int64_t now_us)
{
	model_totals *t = &bn->totals;
	bool		node_utf8 = utf8_valid(bn->name);
	size_t		node_len = strlen(bn->name);
	uint64_t	node_hash = fnv_byte(fnv_text(FNV_BASIS, bn->name), '\x1f');
	uint32_t	listed = 0;

	/* per entry, the total the poll before kept (the base of duplicates too) */
	double	   *poll_last = xmalloc(sizeof(double) * ((size_t) t->n + s->n_models + 1));

	t->parity = !t->parity;
	for (size_t i = 0; i < s->n_models; i++)
	{
		const OdooRetailGuard__ModelStat *m = s->models[i];
		model_name	nm;
		model_total *e;
		double	   *last;
		double		grown;

		if (!m->model || !*m->model)
			continue;
		name_of(&nm, key_part(m->database), m->model, key_part(m->operation));
		e = totals_get(t, &nm, node_utf8);
		if (!e)
			continue;
		last = &poll_last[e - t->v];
		if (e->listed != t->parity)
		{
			/* first listed by this poll: what the poll before kept becomes the base */
			e->had_last = e->has_cur;
			*last = e->cur;
			e->has_cur = false;
			e->listed = t->parity;
			listed++;
		}
		grown = e->had_last ? m->total_ms - *last : 0;
		if (grown < 0)
			grown = m->total_ms;
		if (isfinite(m->total_ms) && e->key_utf8)
		{
			e->cur = m->total_ms;
			e->has_cur = true;
		}
		if (grown > 0)
			point_add(b, bn->name, node_len, node_hash, t->pool + e->text,
					  nm.len[0] + nm.len[1] + nm.len[2] + 2, now_us, grown);
	}
	free(poll_last);
	/* models gone from the snapshot: their next listing starts afresh */
	if (listed < t->n)
		totals_drop_unlisted(t);
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
	lags_prune(b, now_us - (int64_t) STATUS_LAG_KEEP_S * 1000000, NULL, 0);
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
			/* its points stay until they leave the window, as its growth did happen */
			free(b->nodes[i].name);
			json_decref(b->nodes[i].doc);
			totals_free(&b->nodes[i].totals);
		}
	}
	b->n_nodes = keep;
	node_reindex(b);
	lags_prune(b, 0, names, n);
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

/*
 * Offers a key to the STATUS_TOP_MODELS best, kept in by_ms_desc order: the
 * page shows ten of the hundreds of thousands of keys 500 nodes hold, and
 * sorting all of them for it was most of the document's cost.
 */
static void
keep_best(model_sum *best, size_t *n, const char *key, double ms)
{
	model_sum	s = {.key = key,.ms = ms};
	size_t		j;

	if (*n == STATUS_TOP_MODELS && by_ms_desc(&s, &best[*n - 1]) >= 0)
		return;
	j = *n < STATUS_TOP_MODELS ? (*n)++ : *n - 1;
	for (; j > 0 && by_ms_desc(&s, &best[j - 1]) < 0; j--)
		best[j] = best[j - 1];
	best[j] = s;
}

static json_t *
top_models_json(const status_board *b, int64_t now_us)
{
	model_sum	best[STATUS_TOP_MODELS];
	size_t		n = 0;
	json_t	   *a = json_array();

	/*
	 * The window's points summed per key, oldest added first: the keys are
	 * interned and hold their points, so hundreds of nodes' thousands of
	 * points are neither copied nor sorted.
	 */
	for (size_t i = 0; i < b->keys_cap; i++)
	{
		const model_key *k = b->keys[i];
		const model_point *p;
		bool		any = false;
		double		sum = 0;

		if (!k)
			continue;
		p = key_points(k);
		for (uint32_t j = 0; j < k->n_points; j++)
		{
			if (now_us - p[j].t_us > (int64_t) STATUS_MODEL_WINDOW_S * 1000000)
				continue;
			sum = any ? sum + p[j].ms : p[j].ms;
			any = true;
		}
		if (any)
			keep_best(best, &n, k->text, sum);
	}
	for (size_t i = 0; i < n; i++)
	{
		char	   *k = xstrdup(best[i].key);
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
		json_object_set_new(o, "seconds", json_real(best[i].ms / 1000.0));
		json_array_append_new(a, o);
		free(k);
	}
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
