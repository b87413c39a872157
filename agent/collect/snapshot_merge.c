/*
 * snapshot_merge.c: keeps a node's four generation-stamped sets between
 * polls and merges delta snapshots into them (see snapshot_merge.h).
 *
 * Entries are keyed as the extension keys them, by the names a snapshot
 * carries; an entry in a delta replaces the kept one whole (counters are
 * cumulative), a removal drops it.  Removals are applied before the
 * delta's entries: an entry removed and created again in between comes
 * with both.
 *
 * Each set keeps its entries as records (entry_record.h) in an array, in
 * the order they are lent, and an open-addressing table of their
 * positions by key.  Hundreds of nodes keep thousands of entries each for
 * as long as the agent runs: a record is about a third of the decoded
 * message it stands for.
 */
#include "collect/snapshot_merge.h"
#include "collect/entry_record.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* more entries replaced in the sorted set than this: sorted whole */
#define RESORT_MAX 32

/*
 * A set's records lie back to back in one arena of their exact size
 * between polls, found by their offsets: one allocation
 * a set, not one an entry (glibc's overhead on a record of 63 bytes is
 * about 17), and no room for growth kept for hundreds of nodes.  While a
 * snapshot is applied, new records go to the set's pending buffer (their
 * offsets marked PENDING) and replaced ones leave their bytes behind; at
 * its end arena_settle copies the live records into a new arena, once.
 */
typedef struct entry_set
{
	int			set;			/* which of the snapshot's sets: how keys are read */
	const ProtobufCMessageDescriptor *desc;
	uint8_t    *arena;
	size_t		arena_len;
	uint8_t    *pending;		/* records added since the arena was settled */
	size_t		pending_len;
	size_t		pending_cap;
	bool		unsettled;		/* records added or left behind since */
	uint32_t   *off;			/* each record's offset in the arena, in the order they are lent */
	size_t		count;
	size_t		cap;			/* of off */
	void	   *slots;			/* position + 1 of each record, by key hash; 0 empty */
	size_t		nslots;			/* a power of two, over 4/3 of count */
	bool		wide;			/* slots of 32 bits: 65,535 records or more */
	bool		sorted;			/* lent in the extension's order (the tables) */
	size_t		changed;		/* records placed since the set was last sorted */
	void	  **lent;			/* while lent: the messages read back */
} entry_set;

/* an offset in off[] whose record was dropped, until set_close_gaps */
#define DROPPED_RECORD UINT32_MAX
/* an offset in the pending buffer, not the arena */
#define PENDING ((uint32_t) 1 << 31)

static entry_record *
rec_at(const entry_set *e, size_t i)
{
	uint32_t	off = e->off[i];

	return (entry_record *) (off & PENDING ? e->pending + (off & ~PENDING) : e->arena + off);
}

/* copies r to the pending buffer: its offset (marked PENDING) */
static uint32_t
arena_add(entry_set *e, const entry_record *r)
{
	size_t		size = entry_record_size(r);
	uint32_t	at;

	if (e->pending_len + size > e->pending_cap)
	{
		e->pending_cap = (e->pending_cap ? e->pending_cap * 2 : 4096) + size;
		e->pending = xrealloc(e->pending, e->pending_cap);
	}
	at = (uint32_t) e->pending_len;
	memcpy(e->pending + at, r, entry_record_size(r));
	e->pending_len += size;
	e->unsettled = true;
	return at | PENDING;
}

/* the bytes of record i are no record's any more; its names are dropped */
static void
arena_forget(name_pool *names, entry_set *e, size_t i)
{
	entry_record_drop_names(rec_at(e, i), e->desc, names);
	e->unsettled = true;
}

/*
 * Copies the live records, in order, into an arena of their size: once
 * per applied snapshot that changed the set (a node's 1,000 models are
 * about 100 kB).
 */
static void
arena_settle(entry_set *e)
{
	size_t		live = 0;
	size_t		len = 0;
	uint8_t    *to;

	if (!e->unsettled)
		return;
	for (size_t i = 0; i < e->count; i++)
		live += entry_record_size(rec_at(e, i));
	to = live ? xmalloc(live) : NULL;
	for (size_t i = 0; i < e->count; i++)
	{
		size_t		size = entry_record_size(rec_at(e, i));

		memcpy(to + len, rec_at(e, i), size);
		e->off[i] = (uint32_t) len;
		len += size;
	}
	free(e->arena);
	free(e->pending);
	e->arena = to;
	e->arena_len = len;
	e->pending = NULL;
	e->pending_len = e->pending_cap = 0;
	e->unsettled = false;
}

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
	entry_set	sets[NSETS];
	name_pool  *names;			/* shared by every merge of the process */
	entry_arrays *arrays;		/* the histogram bounds every model carries, once */
	void	   *lent_block;		/* the messages lent to the snapshot being read */
	OdooRetailGuard__Snapshot *lent_to; /* that snapshot, until released */
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

/* ---------- a set of records, found by key ---------- */

/* slots for count records: linear probing stays short up to three quarters full */
static size_t
slots_wanted(size_t count)
{
	return count + count / 3 + 2;
}

/*
 * Slots are 16 bits while the set holds fewer than 65,535 records (a
 * node's sets hold about a thousand each): half the index of 500 nodes.
 */
static uint32_t
slot_get(const entry_set *e, size_t j)
{
	return e->wide ? ((const uint32_t *) e->slots)[j] : ((const uint16_t *) e->slots)[j];
}

static void
slot_set(entry_set *e, size_t j, uint32_t v)
{
	if (e->wide)
		((uint32_t *) e->slots)[j] = v;
	else
		((uint16_t *) e->slots)[j] = (uint16_t) v;
}

/* a dropped record's slot until set_close_gaps: never a position, probes go on past it */
static uint32_t
dropped_slot(const entry_set *e)
{
	return e->wide ? UINT32_MAX : UINT16_MAX;
}

static size_t
slot_size(const entry_set *e)
{
	return e->wide ? sizeof(uint32_t) : sizeof(uint16_t);
}

static bool
index_too_small(const entry_set *e)
{
	return slots_wanted(e->count) > e->nslots || (!e->wide && e->count >= UINT16_MAX);
}

static void
index_rebuild(entry_set *e)
{
	size_t		want = 64;
	bool		wide = e->count >= UINT16_MAX;

	while (want < slots_wanted(e->count))
		want *= 2;
	if (want != e->nslots || wide != e->wide)
	{
		free(e->slots);
		e->wide = wide;
		e->slots = xmalloc(slot_size(e) * want);
		e->nslots = want;
	}
	memset(e->slots, 0, slot_size(e) * e->nslots);
	for (size_t i = 0; i < e->count; i++)
	{
		size_t		j = entry_record_hash(rec_at(e, i)) & (e->nslots - 1);

		while (slot_get(e, j))
			j = (j + 1) & (e->nslots - 1);
		slot_set(e, j, (uint32_t) i + 1);
	}
}

/* the slot holding the record of key, or the empty slot where it would go */
static size_t
index_find(const entry_set *e, const uint8_t *key, size_t len, uint32_t hash)
{
	size_t		j = hash & (e->nslots - 1);
	uint32_t	v;

	for (; (v = slot_get(e, j)) != 0; j = (j + 1) & (e->nslots - 1))
		if (v != dropped_slot(e) && entry_record_has_key(rec_at(e, v - 1), key, len))
			break;
	return j;
}

/* takes msg's fields as a record: a kept record of the same key is replaced in its place */
static void
set_put(snapshot_merge *m, entry_set *e, const ProtobufCMessage *msg)
{
	entry_key	k = msg_key(e->set, msg);
	entry_record *r = entry_record_new(msg, &k, m->names, m->arrays);
	size_t		len;
	const uint8_t *key = entry_record_key(r, &len);
	size_t		j;

	if (!e->nslots)
		index_rebuild(e);
	j = index_find(e, key, len, entry_record_hash(r));
	e->changed++;
	if (slot_get(e, j))
	{
		size_t		i = slot_get(e, j) - 1;

		arena_forget(m->names, e, i);
		e->off[i] = arena_add(e, r);
		free(r);				/* its names are the arena copy's now */
		return;
	}
	if (e->count == e->cap)
	{
		e->cap = e->cap ? e->cap + e->cap / 2 : 64;
		e->off = xrealloc(e->off, sizeof(uint32_t) * e->cap);
	}
	e->off[e->count++] = arena_add(e, r);
	free(r);					/* its names are the arena copy's now */
	if (index_too_small(e))
		index_rebuild(e);
	else
		slot_set(e, j, (uint32_t) e->count);
}

/* drops the record of k; its place is left empty until set_close_gaps */
static bool
set_drop(snapshot_merge *m, entry_set *e, const entry_key *k)
{
	uint8_t		key[ENTRY_KEY_MAX];
	uint32_t	hash;
	int			len = entry_key_bytes(m->names, k, key, &hash);
	size_t		j;
	size_t		at;

	if (len < 0 || !e->count)
		return false;			/* a name no kept entry has */
	j = index_find(e, key, (size_t) len, hash);
	if (!slot_get(e, j))
		return false;
	at = slot_get(e, j) - 1;
	arena_forget(m->names, e, at);
	e->off[at] = DROPPED_RECORD;
	slot_set(e, j, dropped_slot(e));
	return true;
}

/* moves the records after the dropped ones up, order kept, and indexes them again */
static void
set_close_gaps(entry_set *e)
{
	size_t		k = 0;

	for (size_t i = 0; i < e->count; i++)
		if (e->off[i] != DROPPED_RECORD)
			e->off[k++] = e->off[i];
	e->count = k;
	index_rebuild(e);
}

static void
set_clear(snapshot_merge *m, entry_set *e)
{
	for (size_t i = 0; i < e->count; i++)
		entry_record_drop_names(rec_at(e, i), e->desc, m->names);
	e->count = 0;
	e->changed = 0;
	free(e->arena);
	free(e->pending);
	e->arena = e->pending = NULL;
	e->arena_len = e->pending_len = e->pending_cap = 0;
	e->unsettled = false;
	if (e->nslots)
		memset(e->slots, 0, slot_size(e) * e->nslots);
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

/* takes the snapshot's entries of one set as records; its own are freed */
static void
take_entries(snapshot_merge *m, OdooRetailGuard__Snapshot *s, int set)
{
	size_t	   *n;
	void	 ***arr;

	set_fields(s, set, &n, &arr);
	for (size_t i = 0; i < *n; i++)
	{
		set_put(m, &m->sets[set], (*arr)[i]);
		protobuf_c_message_free_unpacked((*arr)[i], NULL);
	}
	free(*arr);
	*arr = NULL;
	*n = 0;
}

/* drops the entry a removal names: the set it was dropped from, or -1 */
static int
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
		return -1;				/* a kind this agent does not know: newer extension */
	return set_drop(m, &m->sets[set], &k) ? set : -1;
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

/* ---------- lending: the records read back as messages ---------- */

/*
 * The block the sets are read back into, kept from one node's poll to the
 * next: a fresh one for each node would be mapped and faulted in anew
 * (half a megabyte for a node of 2,000 entries, above the agent's mmap
 * threshold) on every poll.  A second snapshot lent while the first still
 * is gets a block of its own.
 */
static struct
{
	void	   *block;
	size_t		cap;
	bool		in_use;
} lend_buffer;

static void *
lend_block_get(size_t total)
{
	if (lend_buffer.in_use)
		return xmalloc(total);
	if (lend_buffer.cap < total)
	{
		free(lend_buffer.block);
		lend_buffer.block = xmalloc(total);
		lend_buffer.cap = total;
	}
	lend_buffer.in_use = true;
	return lend_buffer.block;
}

static void
lend_block_put(void *block)
{
	if (block && block == lend_buffer.block)
		lend_buffer.in_use = false;
	else
		free(block);
}

static size_t
align8(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

/*
 * Sorts the read-back tables in the extension's order and keeps the
 * records in it, so that the next sort has little to move.
 */
static void
sort_lent(entry_set *e, char *first, size_t size)
{
	uint32_t   *order;
	bool		moved = false;

	if (e->changed > RESORT_MAX)
		qsort(e->lent, e->count, sizeof(void *), lag_cmp);
	else if (e->changed > 0)
		resort(e->lent, e->count, lag_cmp);
	e->changed = 0;
	for (size_t i = 0; i < e->count && !moved; i++)
		moved = (char *) e->lent[i] != first + i * size;
	if (!moved)
		return;
	order = xmalloc(sizeof(uint32_t) * (e->count ? e->count : 1));
	for (size_t i = 0; i < e->count; i++)
		order[i] = e->off[((char *) e->lent[i] - first) / size];
	memcpy(e->off, order, sizeof(uint32_t) * e->count);
	free(order);
	index_rebuild(e);
}

void
snapshot_merge_lend(snapshot_merge *m, OdooRetailGuard__Snapshot *snap)
{
	size_t		total = 0;
	char	   *at;
	uint8_t    *extra;

	if (m->lent_to)
		snapshot_merge_release(m, m->lent_to);
	if (!m->valid)
		return;
	/* one block: each set's array and messages, then every repeated field */
	for (int set = 0; set < NSETS; set++)
	{
		entry_set  *e = &m->sets[set];

		total += e->count * (sizeof(void *) + align8(e->desc->sizeof_message));
		for (size_t i = 0; i < e->count; i++)
			total += entry_record_extra(rec_at(e, i));
	}
	m->lent_block = lend_block_get(total ? total : 1);
	at = m->lent_block;
	extra = (uint8_t *) at;
	for (int set = 0; set < NSETS; set++)
	{
		entry_set  *e = &m->sets[set];

		extra += e->count * (sizeof(void *) + align8(e->desc->sizeof_message));
	}
	for (int set = 0; set < NSETS; set++)
	{
		entry_set  *e = &m->sets[set];
		size_t		size = align8(e->desc->sizeof_message);
		char	   *first;
		size_t	   *n;
		void	 ***arr;

		e->lent = (void **) at;
		first = at + e->count * sizeof(void *);
		for (size_t i = 0; i < e->count; i++)
		{
			ProtobufCMessage *msg = (ProtobufCMessage *) (first + i * size);

			entry_record_read(rec_at(e, i), e->desc, m->names, m->arrays, msg, &extra);
			e->lent[i] = msg;
		}
		at = first + e->count * size;
		if (e->sorted)
			sort_lent(e, first, size);
		e->changed = 0;
		set_fields(snap, set, &n, &arr);
		*arr = e->lent;
		*n = e->count;
	}
	m->lent_to = snap;
}

void
snapshot_merge_release(snapshot_merge *m, OdooRetailGuard__Snapshot *snap)
{
	if (!snap || snap != m->lent_to)
		return;					/* not lent: its sets are its own */
	for (int set = 0; set < NSETS; set++)
	{
		entry_set  *e = &m->sets[set];
		size_t	   *n;
		void	 ***arr;

		set_fields(snap, set, &n, &arr);
		if (e->lent && *arr == e->lent)
		{
			*arr = NULL;
			*n = 0;
		}
		e->lent = NULL;
	}
	lend_block_put(m->lent_block);
	m->lent_block = NULL;
	m->lent_to = NULL;
}

/* ---------- public ---------- */

snapshot_merge *
snapshot_merge_new(int64_t full_every_ms)
{
	static const ProtobufCMessageDescriptor *const descs[NSETS] = {
		&odoo_retail_guard__query_stat__descriptor,
		&odoo_retail_guard__model_stat__descriptor,
		&odoo_retail_guard__lock_contention__descriptor,
		&odoo_retail_guard__autovacuum_lag__descriptor,
	};
	snapshot_merge *m = xcalloc(1, sizeof(*m));

	m->full_every_ms = full_every_ms;
	m->names = name_pool_shared_acquire();
	m->arrays = entry_arrays_new();
	for (int set = 0; set < NSETS; set++)
	{
		/* a proto change records cannot hold fails test_snapshot_merge, not here */
		if (!entry_record_encodable(descs[set]))
			abort();
		m->sets[set].set = set;
		m->sets[set].desc = descs[set];
	}
	m->sets[SET_VACUUM].sorted = true;
	return m;
}

void
snapshot_merge_reset(snapshot_merge *m)
{
	for (int set = 0; set < NSETS; set++)
		set_clear(m, &m->sets[set]);
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
	{
		free(m->sets[set].off);
		free(m->sets[set].slots);
	}
	lend_block_put(m->lent_block);
	entry_arrays_free(m->arrays);
	if (name_pool_shared_release())
	{
		/* the last merge: nothing is lent any more */
		free(lend_buffer.block);
		memset(&lend_buffer, 0, sizeof(lend_buffer));
	}
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
	/* a snapshot still lent would keep names the records below may free */
	if (m->lent_to)
		snapshot_merge_release(m, m->lent_to);
	if (snap->delta)
	{
		const char *why = NULL;
		bool		dropped[NSETS] = {false};

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
		{
			int			set = apply_removal(m, snap->removed[i]);

			if (set >= 0)
				dropped[set] = true;
		}
		for (int set = 0; set < NSETS; set++)
			if (dropped[set])
				set_close_gaps(&m->sets[set]);
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
		m->sets[SET_VACUUM].changed = RESORT_MAX + 1;	/* sorted whole */
	}
	for (int set = 0; set < NSETS; set++)
	{
		take_entries(m, snap, set);
		arena_settle(&m->sets[set]);
	}
	m->generation = snap->generation;
	return true;
}

void
snapshot_merge_get_stats(const snapshot_merge *m, snapshot_merge_stats *st)
{
	*st = m->stats;
	st->entries = 0;
	for (int set = 0; set < NSETS; set++)
		st->entries += m->sets[set].count;
}
