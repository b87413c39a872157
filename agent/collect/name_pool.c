/*
 * name_pool.c: names held once and counted (see name_pool.h).
 *
 * Ids index a dense array of names (freed ids are reused); a linear-probing
 * table of ids finds a name's id, entries moved back on removal so that no
 * tombstone is ever probed.
 */
#include "collect/name_pool.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct pooled_name
{
	char	   *s;				/* NULL: a free id */
	uint32_t	hash;
	uint32_t	refs;			/* or, for a free id, the next free one */
} pooled_name;

struct name_pool
{
	pooled_name *v;				/* v[0] unused: id 0 is "" */
	uint32_t	n;				/* ids handed out so far, plus one */
	uint32_t	cap;
	uint32_t	free_head;		/* a free id to reuse, 0: none */
	size_t		held;
	uint32_t   *slots;			/* ids; 0 empty */
	size_t		nslots;			/* a power of two, over twice held */
};

static name_pool *shared;
static unsigned shared_users;

static uint32_t
name_hash(const char *s)
{
	uint64_t	h = str_hash(s);

	return (uint32_t) (h ^ (h >> 32));
}

name_pool *
name_pool_new(void)
{
	name_pool  *p = xcalloc(1, sizeof(*p));

	p->cap = 64;
	p->v = xcalloc(p->cap, sizeof(pooled_name));
	p->n = 1;
	p->nslots = 128;
	p->slots = xcalloc(p->nslots, sizeof(uint32_t));
	return p;
}

void
name_pool_free(name_pool *p)
{
	if (!p)
		return;
	for (uint32_t i = 1; i < p->n; i++)
		free(p->v[i].s);
	free(p->v);
	free(p->slots);
	free(p);
}

name_pool *
name_pool_shared_acquire(void)
{
	if (!shared)
		shared = name_pool_new();
	shared_users++;
	return shared;
}

bool
name_pool_shared_release(void)
{
	if (shared_users == 0 || --shared_users > 0)
		return false;
	name_pool_free(shared);
	shared = NULL;
	return true;
}

/* the slot holding s (hash h), or the empty slot where it would go */
static size_t
slot_of(const name_pool *p, const char *s, uint32_t h)
{
	size_t		mask = p->nslots - 1;
	size_t		i = h & mask;

	for (; p->slots[i]; i = (i + 1) & mask)
	{
		const pooled_name *e = &p->v[p->slots[i]];

		if (e->hash == h && !strcmp(e->s, s))
			break;
	}
	return i;
}

static void
grow_slots(name_pool *p)
{
	size_t		old = p->nslots;
	uint32_t   *v = p->slots;

	p->nslots *= 2;
	p->slots = xcalloc(p->nslots, sizeof(uint32_t));
	for (size_t i = 0; i < old; i++)
		if (v[i])
		{
			size_t		j = p->v[v[i]].hash & (p->nslots - 1);

			while (p->slots[j])
				j = (j + 1) & (p->nslots - 1);
			p->slots[j] = v[i];
		}
	free(v);
}

uint32_t
name_pool_find(const name_pool *p, const char *s)
{
	if (!s || !*s)
		return 0;
	return p->slots[slot_of(p, s, name_hash(s))];
}

uint32_t
name_pool_ref(name_pool *p, const char *s)
{
	uint32_t	h;
	size_t		at;
	uint32_t	id;

	if (!s || !*s)
		return 0;
	h = name_hash(s);
	at = slot_of(p, s, h);
	if (p->slots[at])
	{
		p->v[p->slots[at]].refs++;
		return p->slots[at];
	}
	if (p->free_head)
	{
		id = p->free_head;
		p->free_head = p->v[id].refs;
	}
	else
	{
		if (p->n == p->cap)
		{
			p->v = xrealloc(p->v, sizeof(pooled_name) * p->cap * 2);
			memset(p->v + p->cap, 0, sizeof(pooled_name) * p->cap);
			p->cap *= 2;
		}
		id = p->n++;
	}
	p->v[id].s = xstrdup(s);
	p->v[id].hash = h;
	p->v[id].refs = 1;
	p->slots[at] = id;
	if (++p->held * 2 > p->nslots)
		grow_slots(p);
	return id;
}

/* empties slot i, moving back the entries of its probe run that may not stay behind a hole */
static void
slot_remove(name_pool *p, size_t i)
{
	size_t		mask = p->nslots - 1;
	size_t		j = i;

	for (;;)
	{
		size_t		home;

		j = (j + 1) & mask;
		if (!p->slots[j])
			break;
		home = p->v[p->slots[j]].hash & mask;
		/* the entry at j may move to i when its home is not in (i, j] */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
		{
			p->slots[i] = p->slots[j];
			i = j;
		}
	}
	p->slots[i] = 0;
}

void
name_pool_unref(name_pool *p, uint32_t id)
{
	pooled_name *e;

	if (id == 0 || id >= p->n || !p->v[id].s)
		return;
	e = &p->v[id];
	if (--e->refs > 0)
		return;
	slot_remove(p, slot_of(p, e->s, e->hash));
	free(e->s);
	e->s = NULL;
	e->refs = p->free_head;
	p->free_head = id;
	p->held--;
}

const char *
name_pool_str(const name_pool *p, uint32_t id)
{
	if (id == 0 || id >= p->n || !p->v[id].s)
		return "";
	return p->v[id].s;
}

size_t
name_pool_count(const name_pool *p)
{
	return p->held;
}
