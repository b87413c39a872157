/*
 * snapshot_merge.c: keeps a node's four generation-stamped sets between
 * polls and merges delta snapshots into them (see snapshot_merge.h).
 *
 * Entries are keyed as the extension keys them, by the names a snapshot
 * carries; an entry in a delta replaces the kept one whole (counters are
 * cumulative), a removal drops it.  Removals are applied before the
 * delta's entries: an entry removed and created again in between comes
 * with both.
 */
#include "collect/snapshot_merge.h"
#include "collect/msg_compact.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * An entry's identity, as the extension tells its entries apart: up to
 * four names and, for a statement, its queryid and level.  It points into
 * the message (or removal) it was taken from: no key string is kept or
 * built.
 */
typedef struct entry_key
{
	const char *name[4];
	int			n;
	uint64_t	id;
	bool		toplevel;
} entry_key;

/*
 * A kept entry.  When its message is a compact copy (msg_compact.h), the
 * node is the head of the copy's block, the message right after it: one
 * allocation per entry.  Hundreds of nodes keep thousands of entries each
 * for as long as the agent runs.
 */
typedef struct map_node
{
	struct map_node *next;
	ProtobufCMessage *msg;
	uint64_t	hash;			/* of the entry's key */
	uint32_t	at;				/* its place in the map's lent array */
	bool		compact;		/* msg follows the node in its block */
} map_node;

/* more entries replaced in a sorted array than this: rebuilt and sorted whole */
#define RESORT_MAX 32

#define NODE_PREFIX ((sizeof(map_node) + 7) & ~(size_t) 7)

/*
 * The lent array is kept between polls: a delta leaves most sets as they
 * were, and a replaced entry is put in its place, so the array is rebuilt
 * (a walk over thousands of entries) only when an entry came or went.
 */
typedef struct entry_map
{
	int			set;			/* which of the snapshot's sets: how keys are read */
	map_node  **buckets;
	size_t		nbuckets;
	size_t		count;
	msg_array_pool *pool;		/* arrays the compact copies share; the merge's */
	void	  **lent;			/* the messages (bucket order unless sorted), or NULL */
	bool		sorted;			/* lent is kept sorted (no node's at is kept) */
	bool		lent_stale;		/* lent no longer holds the kept messages */
	size_t		replaced;		/* entries replaced in a sorted lent since it was sorted */
} entry_map;

enum
{
	SET_QUERIES,
	SET_MODELS,
	SET_LOCKS,
	SET_VACUUM,
	NSETS
};

struct snapshot_merge
{
	int64_t		full_every_ms;
	bool		valid;			/* holds a full snapshot and the deltas since */
	uint64_t	generation;
	uint64_t	system_id;
	uint64_t	incarnation;
	int64_t		last_full_ms;
	entry_map	sets[NSETS];	/* each lends its array to the snapshot being read */
	msg_array_pool *pool;		/* the histogram bounds every model carries, once */
	snapshot_merge_stats stats;
};

/* ---------- keys: as the extension tells its entries apart ---------- */

static const char *
nz(const char *s)
{
	return s ? s : "";
}

static entry_key
names_key(int n, const char *a, const char *b, const char *c, const char *d)
{
	entry_key	k = {.name = {nz(a), nz(b), nz(c), nz(d)},.n = n};

	return k;
}

static entry_key
msg_key(int set, const ProtobufCMessage *msg)
{
	switch (set)
	{
		case SET_QUERIES:
			{
				const OdooRetailGuard__QueryStat *q = (const void *) msg;
				entry_key	k = names_key(3, q->database, q->role, q->worker_class, NULL);

				k.id = q->queryid;
				k.toplevel = q->toplevel;
				return k;
			}
		case SET_MODELS:
			{
				const OdooRetailGuard__ModelStat *s = (const void *) msg;

				return names_key(3, s->database, s->model, s->operation, NULL);
			}
		case SET_LOCKS:
			{
				const OdooRetailGuard__LockContention *l = (const void *) msg;

				return names_key(4, l->database, l->relation, l->lock_type, l->mode);
			}
		default:
			{
				const OdooRetailGuard__AutovacuumLag *v = (const void *) msg;

				return names_key(2, v->database, v->relation, NULL, NULL);
			}
	}
}

/* FNV-1a over the names, each ended by a byte no name of interest holds, then id and level */
static uint64_t
key_hash(const entry_key *k)
{
	uint64_t	h = 1469598103934665603ULL;

	for (int i = 0; i < k->n; i++)
	{
		for (const char *c = k->name[i]; *c; c++)
			h = (h ^ (unsigned char) *c) * 1099511628211ULL;
		h = (h ^ 0x1f) * 1099511628211ULL;
	}
	for (int i = 0; i < 8; i++)
		h = (h ^ ((k->id >> (8 * i)) & 0xff)) * 1099511628211ULL;
	return (h ^ (k->toplevel ? 1 : 0)) * 1099511628211ULL;
}

static bool
key_equal(const entry_key *a, const entry_key *b)
{
	if (a->n != b->n || a->id != b->id || a->toplevel != b->toplevel)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->name[i], b->name[i]))
			return false;
	return true;
}

/* ---------- a hash of owned messages, keyed by their fields ---------- */

static void
map_grow(entry_map *m)
{
	size_t		nb = m->nbuckets ? m->nbuckets * 2 : 64;
	map_node  **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < m->nbuckets; i++)
	{
		map_node   *n = m->buckets[i];

		while (n)
		{
			map_node   *next = n->next;
			size_t		j = n->hash & (nb - 1);

			n->next = b[j];
			b[j] = n;
			n = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
}

static void
node_free(map_node *n)
{
	if (!n->compact)
	{
		protobuf_c_message_free_unpacked(n->msg, NULL);
		free(n);
	}
	else
		free(n);				/* the message is in the node's block */
}

/* the node holding msg: a compact copy in one block with it where the type allows */
static map_node *
node_new(entry_map *m, ProtobufCMessage *msg)
{
	map_node   *n = msg_compactable(msg->descriptor) ? msg_compact_after(msg, m->pool, NODE_PREFIX) : NULL;

	if (n)
	{
		protobuf_c_message_free_unpacked(msg, NULL);
		n->msg = (ProtobufCMessage *) ((char *) n + NODE_PREFIX);
		n->compact = true;
	}
	else
	{
		n = xmalloc(sizeof(*n));
		n->msg = msg;
		n->compact = false;
	}
	return n;
}

/* the link pointing at the kept entry of key k, or at the end of its bucket's chain */
static map_node **
map_find(entry_map *m, const entry_key *k, uint64_t hash)
{
	map_node  **p = &m->buckets[hash & (m->nbuckets - 1)];

	for (; *p; p = &(*p)->next)
		if ((*p)->hash == hash)
		{
			entry_key	kept = msg_key(m->set, (*p)->msg);

			if (key_equal(&kept, k))
				break;
		}
	return p;
}

/* takes ownership of msg (kept as a compact copy); a kept entry of the same key is freed */
static void
map_put(entry_map *m, ProtobufCMessage *msg)
{
	entry_key	k = msg_key(m->set, msg);
	uint64_t	hash = key_hash(&k);
	map_node   *n = node_new(m, msg);
	map_node   *old;
	map_node  **p;

	msg = n->msg;
	n->hash = hash;
	if (m->count + 1 > m->nbuckets)
		map_grow(m);
	k = msg_key(m->set, msg);	/* the copy's names: the decoded ones are gone */
	p = map_find(m, &k, hash);
	old = *p;
	if (old)
	{
		if (m->lent && !m->lent_stale)
		{
			/* a sorted array moves its entries: found by pointer, a short scan */
			size_t		at = old->at;

			if (m->sorted)
				for (at = m->replaced < RESORT_MAX ? 0 : m->count;
					 at < m->count && m->lent[at] != old->msg; at++)
					;
			if (at < m->count)
				m->lent[at] = msg;
			else
				m->lent_stale = true;
			m->replaced += m->sorted;
		}
		n->at = old->at;
		n->next = old->next;
		*p = n;
		node_free(old);
		return;
	}
	n->next = m->buckets[hash & (m->nbuckets - 1)];
	m->buckets[hash & (m->nbuckets - 1)] = n;
	m->count++;
	m->lent_stale = true;
}

static void
map_del(entry_map *m, const entry_key *k)
{
	uint64_t	hash = key_hash(k);
	map_node  **p;
	map_node   *n;

	if (!m->nbuckets)
		return;
	p = map_find(m, k, hash);
	if (!(n = *p))
		return;
	*p = n->next;
	node_free(n);
	m->count--;
	m->lent_stale = true;
}

static void
map_clear(entry_map *m)
{
	for (size_t i = 0; i < m->nbuckets; i++)
	{
		map_node   *n = m->buckets[i];

		while (n)
		{
			map_node   *next = n->next;

			node_free(n);
			n = next;
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
	m->count = 0;
	m->lent_stale = true;
}

/* (re)builds the lent array of the kept messages (at least one slot) */
static void
map_array(entry_map *m)
{
	uint32_t	k = 0;

	free(m->lent);
	m->lent = xmalloc(sizeof(void *) * (m->count ? m->count : 1));
	for (size_t i = 0; i < m->nbuckets; i++)
		for (map_node *n = m->buckets[i]; n; n = n->next)
		{
			n->at = k;
			m->lent[k++] = n->msg;
		}
	m->lent_stale = false;
}

/* ---------- the snapshot's four sets, as arrays of messages ---------- */

static void
set_fields(OdooRetailGuard__Snapshot *s, int set, size_t **n, void ****arr)
{
	switch (set)
	{
		case SET_QUERIES:
			*n = &s->n_queries;
			*arr = (void ***) &s->queries;
			break;
		case SET_MODELS:
			*n = &s->n_models;
			*arr = (void ***) &s->models;
			break;
		case SET_LOCKS:
			*n = &s->n_lock_contention;
			*arr = (void ***) &s->lock_contention;
			break;
		default:
			*n = &s->n_autovacuum_lag;
			*arr = (void ***) &s->autovacuum_lag;
			break;
	}
}

/* moves the snapshot's entries of one set into the map; the array is freed */
static void
take_entries(entry_map *m, OdooRetailGuard__Snapshot *s, int set)
{
	size_t	   *n;
	void	 ***arr;

	set_fields(s, set, &n, &arr);
	for (size_t i = 0; i < *n; i++)
	{
		ProtobufCMessage *msg = (*arr)[i];

		map_put(m, msg);
	}
	free(*arr);
	*arr = NULL;
	*n = 0;
}

static void
apply_removal(snapshot_merge *m, const OdooRetailGuard__RemovedEntry *r)
{
	const char *kind = nz(r->kind);
	entry_key	k;
	int			set;

	if (!strcmp(kind, "query"))
	{
		set = SET_QUERIES;
		k = names_key(3, r->database, r->role, r->worker_class, NULL);
		k.id = r->queryid;
		k.toplevel = r->toplevel;
	}
	else if (!strcmp(kind, "model"))
	{
		set = SET_MODELS;
		k = names_key(3, r->database, r->model, r->operation, NULL);
	}
	else if (!strcmp(kind, "lock_contention"))
	{
		set = SET_LOCKS;
		k = names_key(4, r->database, r->relation, r->lock_type, r->mode);
	}
	else if (!strcmp(kind, "autovacuum_lag"))
	{
		set = SET_VACUUM;
		k = names_key(2, r->database, r->relation, NULL, NULL);
	}
	else
		return;					/* a kind this agent does not know: newer extension */
	map_del(&m->sets[set], &k);
}

static int
str_cmp(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/*
 * The extension's order: over threshold first, longest lag, highest ratio,
 * oldest xid; then by name, so that any sort gives the same order.
 */
static int
lag_cmp(const void *a, const void *b)
{
	const OdooRetailGuard__AutovacuumLag *x = *(const OdooRetailGuard__AutovacuumLag *const *) a;
	const OdooRetailGuard__AutovacuumLag *y = *(const OdooRetailGuard__AutovacuumLag *const *) b;
	int			c;

	if ((x->over_threshold_since_us != 0) != (y->over_threshold_since_us != 0))
		return x->over_threshold_since_us != 0 ? -1 : 1;
	if (x->lag_s != y->lag_s)
		return x->lag_s > y->lag_s ? -1 : 1;
	if (x->dead_over_threshold != y->dead_over_threshold)
		return x->dead_over_threshold > y->dead_over_threshold ? -1 : 1;
	if (x->xid_age != y->xid_age)
		return x->xid_age > y->xid_age ? -1 : 1;
	c = str_cmp(x->database, y->database);
	return c ? c : str_cmp(x->relation, y->relation);
}

/*
 * Sorts an array that was sorted before a few of its entries changed: an
 * insertion sort costs about one comparison per entry then, where a merge
 * sort of a node's 1,000 tables costs ten.  Many changed: see lend().
 */
static void
resort(void **v, size_t n, int (*cmp) (const void *, const void *))
{
	for (size_t i = 1; i < n; i++)
	{
		void	   *x = v[i];
		size_t		j = i;

		for (; j > 0 && cmp(&v[j - 1], &x) > 0; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/*
 * Lends the merged sets to snap, each array rebuilt only when stale.  The
 * autovacuum tables go in the extension's order: sorted again only when
 * one of them changed.
 */
static void
lend(snapshot_merge *m, OdooRetailGuard__Snapshot *s)
{
	for (int set = 0; set < NSETS; set++)
	{
		entry_map  *e = &m->sets[set];
		size_t	   *n;
		void	 ***arr;

		if (!e->lent || e->lent_stale)
		{
			map_array(e);
			if (e->sorted)
				qsort(e->lent, e->count, sizeof(void *), lag_cmp);
		}
		else if (e->replaced > 0)
			resort(e->lent, e->count, lag_cmp);
		e->replaced = 0;
		set_fields(s, set, &n, &arr);
		*arr = e->lent;
		*n = e->count;
	}
}

/* ---------- public ---------- */

snapshot_merge *
snapshot_merge_new(int64_t full_every_ms)
{
	snapshot_merge *m = xcalloc(1, sizeof(*m));

	m->full_every_ms = full_every_ms;
	m->pool = msg_array_pool_new();
	for (int set = 0; set < NSETS; set++)
	{
		m->sets[set].set = set;
		m->sets[set].pool = m->pool;
	}
	m->sets[SET_VACUUM].sorted = true;
	return m;
}

void
snapshot_merge_reset(snapshot_merge *m)
{
	for (int set = 0; set < NSETS; set++)
		map_clear(&m->sets[set]);
	m->valid = false;
	m->generation = 0;
}

void
snapshot_merge_free(snapshot_merge *m)
{
	if (!m)
		return;
	snapshot_merge_reset(m);
	for (int set = 0; set < NSETS; set++)
		free(m->sets[set].lent);
	msg_array_pool_free(m->pool);
	free(m);
}

uint64_t
snapshot_merge_since(const snapshot_merge *m, int64_t now_ms)
{
	if (!m->valid)
		return 0;
	if (m->full_every_ms > 0 && now_ms - m->last_full_ms >= m->full_every_ms)
		return 0;
	return m->generation;
}

bool
snapshot_merge_apply(snapshot_merge *m, OdooRetailGuard__Snapshot *snap,
					 int64_t now_ms, char *err, size_t errlen)
{
	uint64_t	sys = snap->node ? snap->node->system_identifier : 0;
	uint64_t	inc = snap->node ? snap->node->shmem_incarnation : 0;

	if (err && errlen)
		err[0] = '\0';
	if (snap->delta)
	{
		const char *why = NULL;

		if (!m->valid)
			why = "a delta snapshot without a full one before it";
		else if (sys != m->system_id || inc != m->incarnation)
			why = "a delta snapshot from another server or shared-memory incarnation";
		else if (snap->since_generation != m->generation)
			why = "a delta snapshot from another generation than asked for";
		if (why)
		{
			if (err && errlen)
				snprintf(err, errlen, "%s: asking for a full snapshot next", why);
			snapshot_merge_reset(m);
			m->stats.refused++;
			return false;
		}
		for (size_t i = 0; i < snap->n_removed; i++)
			apply_removal(m, snap->removed[i]);
		m->stats.deltas++;
	}
	else
	{
		snapshot_merge_reset(m);
		m->valid = true;
		m->system_id = sys;
		m->incarnation = inc;
		m->last_full_ms = now_ms;
		m->stats.fulls++;
	}
	for (int set = 0; set < NSETS; set++)
		take_entries(&m->sets[set], snap, set);
	m->generation = snap->generation;
	lend(m, snap);
	return true;
}

void
snapshot_merge_release(snapshot_merge *m, OdooRetailGuard__Snapshot *snap)
{
	for (int set = 0; set < NSETS; set++)
	{
		size_t	   *n;
		void	 ***arr;

		set_fields(snap, set, &n, &arr);
		if (*arr == m->sets[set].lent)
		{
			*arr = NULL;
			*n = 0;
		}
	}
}

void
snapshot_merge_get_stats(const snapshot_merge *m, snapshot_merge_stats *st)
{
	*st = m->stats;
	st->entries = 0;
	for (int set = 0; set < NSETS; set++)
		st->entries += m->sets[set].count;
}
