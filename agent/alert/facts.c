/*
 * facts.c: reduces a snapshot (and the agent's own figures) to facts, one
 * value per rule kind and subject.  Pure: no I/O.  The only state kept
 * between polls is per node: slow-call counters (for rates) and a p95
 * baseline per model (an exponentially weighted mean), forgotten for
 * models the node no longer lists.
 */
#include "alert/facts.h"
#include "collect/standbys.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASELINE_ALPHA 0.05
#define BASELINE_WARMUP 10

/*
 * The memory keeps two kinds of entry: a database/model's slow-call
 * counter (its rate, summed over operations) and a
 * database/model/operation's p95 baseline.  A key is its parts, each ended
 * by NUL, in one string pool per node: names hold no NUL, so two keys are
 * equal only when every part is (with "db/model" joined, database "a/b"
 * and model "c" shared a counter with database "a" and model "b/c").  A
 * rate key is the start of its model's p95 keys and shares their bytes.
 */
/* sweeps remembered, to tell the time of an entry's last listing (see mem_forget) */
#define FORGET_SWEEPS_KEPT 64

typedef enum mem_kind
{
	MEM_RATE,					/* parts: database, model */
	MEM_P95						/* parts: database, model, operation */
} mem_kind;

typedef struct mem_entry
{
	union
	{
		struct
		{
			uint64_t	slow_calls;
			int64_t		at_us;
		}			rate;
		struct
		{
			double		baseline;
			uint32_t	samples;	/* counted up to BASELINE_WARMUP only */
		}			p95;
	}			u;
	uint32_t	key;			/* offset of its parts in the pool */
	uint32_t	hash;			/* of its parts: most probes end without reading them */
	uint32_t	seen;			/* the poll (of those listing models) that last listed it */
	uint8_t		kind;			/* mem_kind */
} mem_entry;

struct facts_memory
{
	mem_entry  *v;				/* in the order their keys sit in the pool */
	uint32_t	n;
	uint32_t	cap;			/* of v, grown by half */
	uint32_t   *slots;			/* open-addressing index into v (index + 1, 0 free) */
	uint32_t	nslots;			/* a power of two, at least 4/3 of n */
	char	   *pool;			/* the entries' keys */
	size_t		pool_len;
	size_t		pool_cap;
	uint32_t	polls;			/* polls whose snapshot listed models */
	/* (polls, time) at the latest sweeps, oldest first: how long ago a poll was */
	uint32_t	sweep_poll[FORGET_SWEEPS_KEPT];
	int64_t		sweep_us[FORGET_SWEEPS_KEPT];
	int			n_sweeps;
	const cron_catalog *crons;	/* the node's, borrowed */
};

bool
fact_wanted(const fact_gate *g, rule_kind kind, const char *subject, double value)
{
	return !g || !(value < g->floor[kind]) || (!g->holds_none[kind] && g->held(g, kind, subject));
}

bool
fact_may_be_wanted(const fact_gate *g, rule_kind kind, double value)
{
	return !g || !(value < g->floor[kind]) || !g->holds_none[kind];
}

/*
 * The gate of one facts_from_snapshot_gated call and the gated facts it
 * kept so far, by kind and subject: a later fact of the same kind and
 * subject (a table name in two schemas, two entries mapped to one model)
 * reaches the alert the kept one made or moved in the same evaluation, so
 * it is kept too, whatever its value.
 */
typedef struct gated
{
	const fact_gate *gate;		/* NULL: every fact */
	fact_list  *out;
	int		   *slots;			/* open addressing: index in out + 1, 0 free */
	size_t		nslots;			/* a power of two, over twice n */
	size_t		n;
	int			n_kind[RULE_KIND_COUNT];	/* of them, per kind */
} gated;

static size_t
kept_hash(rule_kind kind, const char *subject)
{
	uint64_t	h = 1469598103934665603ULL ^ (uint64_t) kind;

	for (; *subject; subject++)
		h = (h ^ (unsigned char) *subject) * 1099511628211ULL;
	return (size_t) h;
}

/* the slot of (kind, subject) among the kept facts, or the free one where it goes */
static int *
kept_slot(const gated *g, rule_kind kind, const char *subject)
{
	size_t		i = kept_hash(kind, subject) & (g->nslots - 1);

	while (g->slots[i])
	{
		const fact *f = &g->out->v[g->slots[i] - 1];

		if (f->kind == kind && !strcmp(f->subject, subject))
			break;
		i = (i + 1) & (g->nslots - 1);
	}
	return &g->slots[i];
}

/*
 * Whether want() could say yes for some subject: a node's 1,000 tables and
 * models are mostly below every threshold, and then no subject is built.
 */
static bool
may_want(const gated *g, rule_kind kind, double value)
{
	return fact_may_be_wanted(g->gate, kind, value) || g->n_kind[kind] > 0;
}

static bool
want(const gated *g, rule_kind kind, const char *subject, double value)
{
	if (!g->gate || fact_wanted(g->gate, kind, subject, value))
		return true;
	return g->n_kind[kind] > 0 && *kept_slot(g, kind, subject) != 0;
}

/* the fact just added was wanted: later ones of its kind and subject are too */
static void
kept(gated *g)
{
	const fact *f = &g->out->v[g->out->n - 1];
	int		   *slot;

	if (!g->gate)
		return;
	if (2 * (g->n + 1) > g->nslots)
	{
		int		   *old = g->slots;
		size_t		nold = g->nslots;

		g->nslots = nold ? nold * 2 : 64;
		g->slots = xcalloc(g->nslots, sizeof(int));
		for (size_t i = 0; i < nold; i++)
			if (old[i])
				*kept_slot(g, g->out->v[old[i] - 1].kind, g->out->v[old[i] - 1].subject) = old[i];
		free(old);
	}
	slot = kept_slot(g, f->kind, f->subject);
	if (!*slot)
	{
		*slot = g->out->n;
		g->n++;
		g->n_kind[f->kind]++;
	}
}

/*
 * prefix and parts (1 to 3) joined by '/' in buf when they fit, else malloc'd into
 * *heap (freed by the caller): a subject is made for every table and
 * model that may be wanted, and most are then not: no malloc for a short one.
 */
static const char *
join_parts(char *buf, size_t size, char **heap, const char *prefix, int n, const char *const *parts)
{
	size_t		len[4];
	size_t		total;
	char	   *p;

	len[0] = strlen(prefix);
	total = len[0] + (size_t) n - 1;
	for (int i = 0; i < n; i++)
		total += len[i + 1] = strlen(parts[i]);
	*heap = NULL;
	if (total >= size)
		buf = *heap = xmalloc(total + 1);
	p = buf;
	memcpy(p, prefix, len[0]);
	p += len[0];
	for (int i = 0; i < n; i++)
	{
		if (i)
			*p++ = '/';
		memcpy(p, parts[i], len[i + 1]);
		p += len[i + 1];
	}
	*p = '\0';
	return buf;
}

fact *
facts_add(fact_list *l, rule_kind kind, const char *subject, double value, const char *fmt, ...)
{
	fact	   *f;
	strbuf		sb;
	va_list		ap;

	if (l->n == l->cap)
	{
		/* a node's 1,000 tables give as many facts: grown by doubling, not by one */
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, sizeof(fact) * (size_t) l->cap);
	}
	f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->subject = xstrdup(subject);
	f->value = value;
	sb_init(&sb);
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	f->summary = sb_steal(&sb);
	return f;
}

void
facts_free(fact_list *l)
{
	for (int i = 0; i < l->n; i++)
	{
		free(l->v[i].subject);
		free(l->v[i].summary);
		labels_free(&l->v[i].labels);
		labels_free(&l->v[i].annotations);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

facts_memory *
facts_memory_new(void)
{
	return xcalloc(1, sizeof(facts_memory));
}

void
facts_memory_free(facts_memory *m)
{
	if (!m)
		return;
	free(m->v);
	free(m->slots);
	free(m->pool);
	free(m);
}

void
facts_memory_use_crons(facts_memory *m, const cron_catalog *crons)
{
	m->crons = crons;
}

size_t
facts_memory_entries(const facts_memory *m)
{
	return m ? m->n : 0;
}

#define FNV_BASIS 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

/* FNV-1a over one part and the NUL that ends it */
static uint64_t
hash_part(uint64_t h, const char *part)
{
	for (; *part; part++)
		h = (h ^ (unsigned char) *part) * FNV_PRIME;
	return h * FNV_PRIME;
}

static uint32_t
hash_fold(uint64_t h)
{
	return (uint32_t) (h ^ (h >> 32));
}

/* whether the pool's key at p is these parts (of lengths lens) */
static bool
key_is(const char *p, int n, const char *const *parts, const size_t *lens)
{
	for (int i = 0; i < n; i++)
	{
		/* with its NUL: a longer part in the pool differs there */
		if (memcmp(p, parts[i], lens[i] + 1))
			return false;
		p += lens[i] + 1;
	}
	return true;
}

/* bytes of the pool's key at p, of n parts */
static size_t
key_len(const char *p, int n)
{
	const char *q = p;

	for (int i = 0; i < n; i++)
		q += strlen(q) + 1;
	return (size_t) (q - p);
}

static int
kind_parts(uint8_t kind)
{
	return kind == MEM_RATE ? 2 : 3;
}

/* the slot holding (kind, parts), or the free slot where it goes */
static uint32_t *
mem_slot(facts_memory *m, mem_kind kind, uint32_t hash, const char *const *parts, const size_t *lens)
{
	uint32_t	mask = m->nslots - 1;
	uint32_t	i = hash & mask;

	for (; m->slots[i]; i = (i + 1) & mask)
	{
		const mem_entry *e = &m->v[m->slots[i] - 1];

		if (e->hash == hash && e->kind == kind && key_is(m->pool + e->key, kind_parts(kind), parts, lens))
			break;
	}
	return &m->slots[i];
}

/* the index for n entries (load at most three quarters), every entry in it */
static void
mem_reindex(facts_memory *m)
{
	uint32_t	nslots = 64;

	while (3 * (uint64_t) nslots < 4 * ((uint64_t) m->n + 1))
		nslots *= 2;
	free(m->slots);
	m->nslots = nslots;
	m->slots = xcalloc(nslots, sizeof(uint32_t));
	for (uint32_t k = 0; k < m->n; k++)
	{
		uint32_t	i = m->v[k].hash & (nslots - 1);

		while (m->slots[i])
			i = (i + 1) & (nslots - 1);
		m->slots[i] = k + 1;
	}
}

/* appends n parts to the pool: their offset */
static uint32_t
pool_add(facts_memory *m, int n, const char *const *parts, const size_t *lens)
{
	size_t		len = 0;
	size_t		at = m->pool_len;

	for (int i = 0; i < n; i++)
		len += lens[i] + 1;
	if (m->pool_len + len > UINT32_MAX)
	{
		fprintf(stderr, "facts memory: more than 4 GB of model names\n");
		abort();
	}
	if (m->pool_len + len > m->pool_cap)
	{
		size_t		cap = m->pool_cap ? m->pool_cap : 1024;

		while (cap < m->pool_len + len)
			cap += cap / 2;
		m->pool = xrealloc(m->pool, cap);
		m->pool_cap = cap;
	}
	for (int i = 0; i < n; i++)
	{
		memcpy(m->pool + m->pool_len, parts[i], lens[i] + 1);
		m->pool_len += lens[i] + 1;
	}
	return (uint32_t) at;
}

/*
 * The index of (kind, parts of lengths lens) in m->v, marked listed in this poll; when
 * absent, created (create) or -1.  share: an entry created just before,
 * whose key starts with these parts (its bytes are used), or -1.
 */
static int64_t
mem_get(facts_memory *m, mem_kind kind, uint32_t hash, const char *const *parts, const size_t *lens,
		bool create, int64_t share, bool *created)
{
	uint32_t   *slot;
	mem_entry  *e;

	*created = false;
	if (4 * ((uint64_t) m->n + 1) > 3 * (uint64_t) m->nslots)
		mem_reindex(m);
	slot = mem_slot(m, kind, hash, parts, lens);
	if (*slot)
	{
		m->v[*slot - 1].seen = m->polls;
		return *slot - 1;
	}
	if (!create)
		return -1;
	if (m->n == m->cap)
	{
		m->cap = m->cap ? m->cap + m->cap / 2 : 64;
		m->v = xrealloc(m->v, sizeof(mem_entry) * m->cap);
	}
	e = &m->v[m->n];
	memset(e, 0, sizeof(*e));
	/* only the last entry's key may be shared: keys stay in entry order (mem_forget) */
	e->key = share >= 0 && share == (int64_t) m->n - 1 ? m->v[share].key
		: pool_add(m, kind_parts(kind), parts, lens);
	e->hash = hash;
	e->kind = (uint8_t) kind;
	e->seen = m->polls;
	*slot = m->n + 1;
	*created = true;
	return m->n++;
}

/*
 * Forgetting: an entry no poll listed for FACTS_FORGET_AFTER_POLLS polls
 * and FACTS_FORGET_AFTER_S seconds is dropped (a tenant database dropped,
 * a model's statements evicted), so the memory holds what the node lists,
 * not all it ever listed.  Only polls whose snapshot lists models count: a
 * failed poll has no snapshot, and a partial one (a delta the merge
 * refused, which carries only what changed) is followed by a full
 * snapshot on the next poll, so neither can drop a baseline; a model
 * missing from one poll keeps its memory.  The time matters at short
 * intervals: after a crash-restart empties the statement table, a model
 * has minutes, not 60 one-second polls, to run again.  Swept every
 * FORGET_SWEEP_EVERY such polls, not on every one; the sweep also gives
 * back the room growth left unused.
 */
#define FORGET_SWEEP_EVERY 16

/*
 * The newest poll at least FACTS_FORGET_AFTER_S before now among the
 * sweeps remembered (the oldest one when none is that old but all are
 * kept: at intervals so short the memory waits longer); -1: none.
 */
static int64_t
poll_before(facts_memory *m, int64_t now_us)
{
	int64_t		found = -1;

	if (m->n_sweeps == FORGET_SWEEPS_KEPT)
	{
		memmove(m->sweep_poll, m->sweep_poll + 1, sizeof(m->sweep_poll[0]) * (FORGET_SWEEPS_KEPT - 1));
		memmove(m->sweep_us, m->sweep_us + 1, sizeof(m->sweep_us[0]) * (FORGET_SWEEPS_KEPT - 1));
		m->n_sweeps--;
	}
	m->sweep_poll[m->n_sweeps] = m->polls;
	m->sweep_us[m->n_sweeps++] = now_us;
	for (int i = 0; i < m->n_sweeps; i++)
		if (now_us - m->sweep_us[i] >= (int64_t) FACTS_FORGET_AFTER_S * 1000000)
			found = m->sweep_poll[i];
	if (found < 0 && m->n_sweeps == FORGET_SWEEPS_KEPT)
		found = m->sweep_poll[0];
	return found;
}

static void
mem_forget(facts_memory *m, int64_t now_us)
{
	uint32_t	w = 0;
	size_t		pool_w = 0;
	uint32_t	prev_old = UINT32_MAX;
	uint32_t	prev_new = 0;
	int64_t		old_poll = poll_before(m, now_us);

	for (uint32_t k = 0; k < m->n; k++)
	{
		mem_entry	e = m->v[k];

		if (m->polls - e.seen >= FACTS_FORGET_AFTER_POLLS && old_poll >= 0 && (int64_t) e.seen <= old_poll)
			continue;
		if (e.key == prev_old)
			e.key = prev_new;	/* shared with the entry before */
		else
		{
			size_t		len = key_len(m->pool + e.key, kind_parts(e.kind));

			/* keys are in entry order: moved towards the start, never over a kept one */
			memmove(m->pool + pool_w, m->pool + e.key, len);
			prev_old = e.key;
			e.key = prev_new = (uint32_t) pool_w;
			pool_w += len;
		}
		m->v[w++] = e;
	}
	if (w < m->n)
	{
		m->n = w;
		m->pool_len = pool_w;
		mem_reindex(m);
	}
	/*
	 * Grown by half, or shrunk: room over a sixteenth of what is needed goes
	 * back, all of it (hundreds of nodes kept a quarter more for good; a
	 * model that comes later grows the array once more until the next sweep)
	 */
	if (m->cap > 64 && m->cap - m->n > m->n / 16)
	{
		m->cap = m->n > 64 ? m->n : 64;
		m->v = xrealloc(m->v, sizeof(mem_entry) * m->cap);
	}
	if (m->pool_cap > 1024 && m->pool_cap - m->pool_len > m->pool_len / 16)
	{
		m->pool_cap = m->pool_len > 1024 ? m->pool_len : 1024;
		m->pool = xrealloc(m->pool, m->pool_cap);
	}
}

static const char *
nz(const char *s)
{
	return s && *s ? s : "";
}

/* model when known, else the relation, else "unknown" */
static const char *
what(const char *model, const char *relation)
{
	if (model && *model)
		return model;
	if (relation && *relation)
		return relation;
	return "unknown";
}

/*
 * Labels are the alert's identity (Alertmanager keys an alert by them):
 * only fields fixed for the incident's life.  Numbers (pids, durations,
 * counts) and whatever else moves are annotations.
 */
static void
set_str(fact *f, const char *name, const char *v)
{
	if (v && *v)
		labels_set(&f->labels, name, v);
}

/* a number is a value, never identity */
static void
set_num(fact *f, const char *name, double v)
{
	char		buf[64];

	snprintf(buf, sizeof(buf), "%.15g", v);
	labels_set(&f->annotations, name, buf);
}

/* an id fixed for the incident's life (a label, unlike set_num's values) */
static void
set_id(fact *f, const char *name, int64_t id)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long) id);
	labels_set(&f->labels, name, buf);
}

static void
note_str(fact *f, const char *name, const char *v)
{
	if (v && *v)
		labels_set(&f->annotations, name, v);
}

/* the query text may be long: keep alerts readable */
static void
set_query(fact *f, const char *name, const char *q)
{
	char		buf[201];

	if (!q || !*q)
		return;
	snprintf(buf, sizeof(buf), "%s", q);
	labels_set(&f->annotations, name, buf);
}

static fact *
find_fact(fact_list *l, rule_kind kind, const char *subject)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i].kind == kind && !strcmp(l->v[i].subject, subject))
			return &l->v[i];
	return NULL;
}

/*
 * The Odoo job a blocker or horizon holder works for: stable identity in
 * labels (the job, not its pids, which change with every run), the rest
 * in the summary.
 */
static void
set_cron_job(fact *f, const cron_catalog *crons, const OdooRetailGuard__CronJob *j)
{
	const cron_job_info *info = cron_catalog_find(crons, j->database, j->job_id);

	if (j->job_id > 0)
		set_id(f, "cron_job_id", j->job_id);
	if (info)
		set_str(f, "cron_job", info->name);
}

/* "; PID is the cron cursor of Odoo job ..." or "" (malloc'd) */
static char *
cron_phrase(const OdooRetailGuard__Snapshot *s, const cron_catalog *crons, int32_t pid,
			const OdooRetailGuard__CronJob **job)
{
	bool		cursor;
	const OdooRetailGuard__CronJob *j = cron_job_by_pid(s, pid, &cursor);
	char	   *d,
			   *r;

	*job = j;
	if (!j)
		return xstrdup("");
	d = cron_job_describe(crons, j);
	r = xasprintf("; pid %d is the %s of %s", pid, cursor ? "cron cursor" : "job connection", d);
	free(d);
	return r;
}

void
facts_from_observation(const node_observation *obs, fact_list *out)
{
	fact	   *f;

	f = facts_add(out, RULE_NODE_UNREACHABLE, "node", obs->reachable ? 0 : 1,
				  "node unreachable: %s", obs->reachable ? "no" : nz(obs->error));
	if (!obs->reachable)
		return;
	(void) f;
	if (obs->max_connections > 0)
	{
		double		pct = 100.0 * obs->connections / obs->max_connections;

		f = facts_add(out, RULE_CONNECTION_USAGE, "connections", pct,
					  "%d of max_connections %d in use (%.0f%%)", obs->connections,
					  obs->max_connections, pct);
		set_num(f, "connections", obs->connections);
		set_num(f, "max_connections", obs->max_connections);
	}
}

static void
lock_facts(const OdooRetailGuard__Snapshot *s, const cron_catalog *crons, fact_list *out)
{
	for (size_t i = 0; i < s->n_blocking_chains; i++)
	{
		const OdooRetailGuard__BlockingChain *c = s->blocking_chains[i];
		const char *m = what(c->model, c->relation);
		char	   *subject = xasprintf("%s/%s", nz(c->database), m);
		char	   *root_subject = xasprintf("%s/pid:%d", nz(c->database), c->root_pid);
		double		wait_s = c->wait_ms / 1000.0;
		double		len = (double) c->n_chain + 1;
		fact	   *f = find_fact(out, RULE_LOCK_WAIT, subject);
		const OdooRetailGuard__CronJob *job;
		char	   *cron = cron_phrase(s, crons, c->root_pid, &job);

		if (!f || f->value < wait_s)
		{
			char	   *summary = xasprintf("lock wait %.1fs on %s (root blocker pid %d, %s)%s", wait_s, m,
											c->root_pid, nz(c->root_state), cron);

			if (f)
			{
				/* keep the longest wait per model */
				f->value = wait_s;
				free(f->summary);
				labels_free(&f->labels);
				labels_free(&f->annotations);
				f->summary = summary;
			}
			else
			{
				f = facts_add(out, RULE_LOCK_WAIT, subject, wait_s, "%s", summary);
				free(summary);
			}
			set_str(f, "database", c->database);
			set_str(f, "model", m);
			set_str(f, "relation", c->relation);
			note_str(f, "lock_type", c->lock_type);
			note_str(f, "mode", c->mode);
			set_num(f, "waiter_pid", c->waiter_pid);
			note_str(f, "waiter_application", c->waiter_application_name);
			set_num(f, "root_pid", c->root_pid);
			note_str(f, "root_application", c->root_application_name);
			note_str(f, "root_worker_class", c->root_worker_class);
			note_str(f, "root_state", c->root_state);
			set_query(f, "root_query", c->root_query);
			set_num(f, "duration_seconds", wait_s);
			if (job)
				set_cron_job(f, crons, job);
		}
		f = find_fact(out, RULE_BLOCKING_CHAIN, root_subject);
		if (!f)
		{
			f = facts_add(out, RULE_BLOCKING_CHAIN, root_subject, len,
						  "blocking chain of %.0f sessions rooted at pid %d (%s)%s", len, c->root_pid,
						  nz(c->root_state), cron);
			set_str(f, "database", c->database);
			set_num(f, "root_pid", c->root_pid);
			set_str(f, "root_application", c->root_application_name);
			set_str(f, "root_worker_class", c->root_worker_class);
			note_str(f, "model", m);
			note_str(f, "root_state", c->root_state);
			if (job)
				set_cron_job(f, crons, job);
		}
		else if (f->value < len)
			f->value = len;
		/* a running job's sessions idle in transaction by design: lock_wait and blocking_chain name the job */
		if (c->root_state && strncmp(c->root_state, "idle in transaction", 19) == 0 &&
			!cron_running_job_session(s, c->root_pid))
		{
			char	   *sub = xasprintf("pid:%d", c->root_pid);
			double		age = c->root_xact_age_ms / 1000.0;

			if (!find_fact(out, RULE_IDLE_IN_TRANSACTION, sub))
			{
				f = facts_add(out, RULE_IDLE_IN_TRANSACTION, sub, age,
							  "pid %d idle in transaction for %.0fs, blocking %s%s", c->root_pid, age, m,
							  cron);
				set_str(f, "database", c->database);
				set_num(f, "pid", c->root_pid);
				set_str(f, "application", c->root_application_name);
				set_str(f, "worker_class", c->root_worker_class);
				note_str(f, "state", c->root_state);
				set_query(f, "query", c->root_query);
			}
			free(sub);
		}
		free(cron);
		free(subject);
		free(root_subject);
	}
	/* waits that ended since the last poll still count once */
	for (size_t i = 0; i < s->n_lock_wait_events; i++)
	{
		const OdooRetailGuard__LockWaitEvent *e = s->lock_wait_events[i];
		const char *m = what(e->model, e->relation);
		char	   *subject = xasprintf("%s/%s", nz(e->database), m);
		double		wait_s = e->wait_ms / 1000.0;
		fact	   *f = find_fact(out, RULE_LOCK_WAIT, subject);

		if (!f)
		{
			const OdooRetailGuard__CronJob *job;
			char	   *cron = cron_phrase(s, crons, e->root_pid, &job);

			f = facts_add(out, RULE_LOCK_WAIT, subject, wait_s,
						  "lock wait of %.1fs on %s ended (root blocker pid %d)%s", wait_s, m, e->root_pid,
						  cron);
			set_str(f, "database", e->database);
			set_str(f, "model", m);
			set_str(f, "relation", e->relation);
			set_num(f, "root_pid", e->root_pid);
			note_str(f, "root_application", e->root_application_name);
			set_num(f, "duration_seconds", wait_s);
			if (job)
				set_cron_job(f, crons, job);
			free(cron);
		}
		free(subject);
	}
}

static void
vacuum_facts(const OdooRetailGuard__Snapshot *s, const cron_catalog *crons, gated *gate,
			 fact_list *out)
{
	const OdooRetailGuard__VacuumHorizon *h = s->vacuum_horizon;

	for (size_t i = 0; i < s->n_autovacuum_lag; i++)
	{
		const OdooRetailGuard__AutovacuumLag *a = s->autovacuum_lag[i];
		const char *parts[2] = {nz(a->database), nz(a->relation)};
		char		buf[256];
		char	   *heap;
		const char *subject;
		fact	   *f;

		if (!(a->over_threshold_since_us != 0 && may_want(gate, RULE_AUTOVACUUM_LAG, a->lag_s)) &&
			!(a->xid_age > 0 && may_want(gate, RULE_XID_AGE, (double) a->xid_age)))
			continue;
		subject = join_parts(buf, sizeof(buf), &heap, "", 2, parts);
		if (a->over_threshold_since_us != 0 && want(gate, RULE_AUTOVACUUM_LAG, subject, a->lag_s))
		{
			f = facts_add(out, RULE_AUTOVACUUM_LAG, subject, a->lag_s,
						  "%s over its autovacuum threshold for %.0fs (%lld dead tuples)",
						  what(a->model, a->relation), a->lag_s, (long long) a->dead_tuples);
			kept(gate);
			set_str(f, "database", a->database);
			set_str(f, "relation", a->relation);
			set_str(f, "model", a->model);
			set_num(f, "dead_tuples", (double) a->dead_tuples);
			set_num(f, "lag_seconds", a->lag_s);
		}
		if (a->xid_age > 0 && want(gate, RULE_XID_AGE, subject, (double) a->xid_age))
		{
			f = facts_add(out, RULE_XID_AGE, subject, (double) a->xid_age,
						  "%s xid age %lld (autovacuum_freeze_max_age %lld)", what(a->model, a->relation),
						  (long long) a->xid_age, (long long) a->freeze_max_age);
			kept(gate);
			set_str(f, "database", a->database);
			set_str(f, "relation", a->relation);
			set_str(f, "model", a->model);
			set_num(f, "xid_age", (double) a->xid_age);
		}
		free(heap);
	}
	if (h && h->holder_kind && *h->holder_kind && strcmp(h->holder_kind, "none"))
	{
		char	   *subject = h->name && *h->name ? xasprintf("%s/%s", h->holder_kind, h->name)
			: xasprintf("%s/pid:%d", h->holder_kind, h->pid);
		const OdooRetailGuard__CronJob *job = NULL;
		char	   *cron = h->pid ? cron_phrase(s, crons, h->pid, &job) : xstrdup("");
		fact	   *f = facts_add(out, RULE_VACUUM_HORIZON, subject, h->age_s,
								  "vacuum horizon held for %.0fs by %s (xmin age %lld)%s", h->age_s,
								  subject, (long long) h->xmin_age, cron);

		set_str(f, "holder_kind", h->holder_kind);
		set_str(f, "database", h->database);
		set_str(f, "application", h->application_name);
		if (h->pid)
			set_num(f, "pid", h->pid);
		set_num(f, "age_seconds", h->age_s);
		set_num(f, "xmin_age", (double) h->xmin_age);
		if (job)
			set_cron_job(f, crons, job);
		if (h->state && strncmp(h->state, "idle in transaction", 19) == 0 && h->pid &&
			!cron_running_job_session(s, h->pid))
		{
			char	   *sub = xasprintf("pid:%d", h->pid);

			if (!find_fact(out, RULE_IDLE_IN_TRANSACTION, sub))
			{
				f = facts_add(out, RULE_IDLE_IN_TRANSACTION, sub, h->age_s,
							  "pid %d idle in transaction for %.0fs, holding the vacuum horizon%s",
							  h->pid, h->age_s, cron);
				set_str(f, "database", h->database);
				set_num(f, "pid", h->pid);
				set_str(f, "application", h->application_name);
				note_str(f, "state", h->state);
			}
			free(sub);
		}
		free(cron);
		free(subject);
	}
}

/*
 * One fact per running Odoo job: how long its cron cursor's transaction
 * has run.  Keyed by the job (or its cron cursor when the extension could
 * not tell the job), so that a job's next run is a new alert only after
 * this one resolved.
 */
static void
cron_job_facts(const OdooRetailGuard__Snapshot *s, const cron_catalog *crons, fact_list *out)
{
	for (size_t i = 0; i < s->n_cron_jobs; i++)
	{
		const OdooRetailGuard__CronJob *j = s->cron_jobs[i];
		char	   *subject = cron_job_subject(j);
		char	   *d;
		fact	   *f = find_fact(out, RULE_CRON_JOB_RUNTIME, subject);

		if (f && f->value >= j->running_s)
		{
			free(subject);
			continue;
		}
		d = cron_job_describe(crons, j);
		if (f)
		{
			f->value = j->running_s;
			free(f->summary);
			labels_free(&f->labels);
		}
		else
			f = facts_add(out, RULE_CRON_JOB_RUNTIME, subject, j->running_s, "%s", "");
		free(f->summary);
		f->summary = xasprintf("%s running for %.0fs in database %s; job connection %s%s%s%s%s",
							   d, j->running_s, nz(j->database),
							   j->job_state && *j->job_state ? j->job_state : "gone",
							   j->job_model && *j->job_model ? " on " : "", nz(j->job_model),
							   j->holds_horizon ? "; holds the vacuum horizon" : "",
							   j->blocked_sessions ? "; blocks other sessions" : "");
		set_str(f, "database", j->database);
		set_cron_job(f, crons, j);
		free(d);
		free(subject);
	}
}

/*
 * A standby is its application_name, as its alerts have always been keyed;
 * standbys that share one (PostgreSQL's default "walreceiver", Debian's
 * "15/main") are told apart by their connection, or one would mask the
 * other's lag.
 */
static void
replication_facts(const OdooRetailGuard__Snapshot *s, fact_list *out)
{
	for (size_t i = 0; i < s->n_replication; i++)
	{
		const OdooRetailGuard__ReplicationStandby *r = s->replication[i];
		const char *name = standby_name(r);
		char		client[96];
		char	   *subject;
		fact	   *f;

		standby_client(r, client, sizeof(client));
		subject = standby_name_shared(s, i) ? xasprintf("%s@%s", name, client) : xstrdup(name);
		f = facts_add(out, RULE_REPLICATION_LAG_BYTES, subject, (double) r->replay_lag_bytes,
					  "standby %s replay lag %lld bytes", subject, (long long) r->replay_lag_bytes);
		set_str(f, "standby", name);
		note_str(f, "client", client);
		set_num(f, "replay_lag_bytes", (double) r->replay_lag_bytes);
		if (r->replay_lag_ms >= 0)
		{
			f = facts_add(out, RULE_REPLICATION_LAG_SECONDS, subject, r->replay_lag_ms / 1000.0,
						  "standby %s replay lag %.1fs", subject, r->replay_lag_ms / 1000.0);
			set_str(f, "standby", name);
			note_str(f, "client", client);
			set_num(f, "replay_lag_seconds", r->replay_lag_ms / 1000.0);
		}
		free(subject);
	}
	if (s->standby)
	{
		const OdooRetailGuard__StandbyStatus *st = s->standby;
		bool		streaming = st->receiver_state && !strcmp(st->receiver_state, "streaming");
		fact	   *f;

		f = facts_add(out, RULE_STANDBY_DISCONNECTED, "wal_receiver", streaming ? 0 : 1,
					  "WAL receiver is %s", st->receiver_state && *st->receiver_state ?
					  st->receiver_state : "not running");
		set_str(f, "sender_host", st->sender_host);
		if (st->replay_delay_ms >= 0)
		{
			f = facts_add(out, RULE_REPLICATION_LAG_SECONDS, "replay", st->replay_delay_ms / 1000.0,
						  "replay %.1fs behind the last commit", st->replay_delay_ms / 1000.0);
			set_str(f, "standby", "self");
		}
	}
	for (size_t i = 0; i < s->n_replication_slots; i++)
	{
		const OdooRetailGuard__ReplicationSlot *sl = s->replication_slots[i];
		fact	   *f;

		if (sl->active)
			continue;
		f = facts_add(out, RULE_INACTIVE_SLOT, nz(sl->slot_name), (double) sl->retained_bytes,
					  "inactive slot %s retains %lld bytes of WAL", nz(sl->slot_name),
					  (long long) sl->retained_bytes);
		set_str(f, "slot", sl->slot_name);
		set_str(f, "slot_type", sl->slot_type);
		note_str(f, "wal_status", sl->wal_status);
		set_num(f, "retained_bytes", (double) sl->retained_bytes);
	}
}

/*
 * The model entries of one snapshot grouped by database and model: for
 * each entry, whether it is the first of its group, then the slow calls
 * of all the group's operations (0 for the others), and the hash of its
 * database and model (the start of its memory keys' hashes).  Grouped
 * through a hash table, in one pass: a node has 1,000 models, and sorting
 * them by name every poll cost more than the facts.
 */
typedef struct model_groups
{
	bool	   *first;
	uint64_t   *totals;
	uint64_t   *hash;
} model_groups;

static void
group_models(const OdooRetailGuard__Snapshot *s, model_groups *g)
{
	size_t		n = s->n_models ? s->n_models : 1;
	size_t		nslots = 64;
	size_t	   *slots;			/* index of a group's first entry + 1, 0 free */

	while (nslots < 2 * n)
		nslots *= 2;
	slots = xcalloc(nslots, sizeof(size_t));
	g->first = xcalloc(n, sizeof(bool));
	g->totals = xcalloc(n, sizeof(uint64_t));
	g->hash = xcalloc(n, sizeof(uint64_t));
	for (size_t i = 0; i < s->n_models; i++)
	{
		const char *database = nz(s->models[i]->database);
		const char *model = nz(s->models[i]->model);
		size_t		j;

		g->hash[i] = hash_part(hash_part(FNV_BASIS, database), model);
		for (j = g->hash[i] & (nslots - 1); slots[j]; j = (j + 1) & (nslots - 1))
		{
			const OdooRetailGuard__ModelStat *f = s->models[slots[j] - 1];

			if (g->hash[slots[j] - 1] == g->hash[i] && !strcmp(nz(f->database), database) &&
				!strcmp(nz(f->model), model))
				break;
		}
		if (!slots[j])
		{
			slots[j] = i + 1;
			g->first[i] = true;
		}
		g->totals[slots[j] - 1] += s->models[i]->slow_calls;
	}
	free(slots);
}

static void
query_facts(const OdooRetailGuard__Snapshot *s, facts_memory *mem, int64_t now, gated *gate,
			fact_list *out)
{
	model_groups groups;

	if (!s->n_models)
		return;					/* nothing listed: the memory is left as it is */
	group_models(s, &groups);
	mem->polls++;
	for (size_t i = 0; i < s->n_models; i++)
	{
		const OdooRetailGuard__ModelStat *m = s->models[i];
		const char *parts[3] = {nz(m->database), nz(m->model), nz(m->operation)};
		size_t		lens[3] = {strlen(parts[0]), strlen(parts[1]), strlen(parts[2])};
		char		subject_buf[256],
					sub_buf[272];
		char	   *subject_heap = NULL;
		const char *subject;
		bool		created;
		int64_t		p95;
		uint64_t	total = groups.totals[i];

		/* p95 memory first: a new model's rate key is the start of its p95 key */
		p95 = mem_get(mem, MEM_P95, hash_fold(hash_part(groups.hash[i], parts[2])), parts, lens,
					  m->p95_ms > 0, -1, &created);

		/* slow-call rate per database/model (summed over operations) */
		if (groups.first[i])
		{
			int64_t		rate = mem_get(mem, MEM_RATE, hash_fold(groups.hash[i]), parts, lens, true,
									   created ? p95 : -1, &created);
			mem_entry  *e = &mem->v[rate];	/* after mem_get, which may move v */

			if (!created && now > e->u.rate.at_us && total >= e->u.rate.slow_calls)
			{
				double		per_min = (double) (total - e->u.rate.slow_calls) * 60e6 /
					(double) (now - e->u.rate.at_us);

				if (may_want(gate, RULE_SLOW_QUERY_RATE, per_min) &&
					want(gate, RULE_SLOW_QUERY_RATE,
						 subject = join_parts(subject_buf, sizeof(subject_buf), &subject_heap, "", 2, parts),
						 per_min))
				{
					fact	   *f = facts_add(out, RULE_SLOW_QUERY_RATE, subject, per_min,
											  "%.1f slow queries/min on %s", per_min, nz(m->model));

					kept(gate);
					set_str(f, "database", m->database);
					set_str(f, "model", m->model);
					set_num(f, "slow_queries_per_minute", round(per_min * 10) / 10);
				}
			}
			e->u.rate.slow_calls = total;
			e->u.rate.at_us = now;
		}

		/* p95 against its own slowly moving baseline, per operation */
		if (m->p95_ms > 0)
		{
			mem_entry  *e = &mem->v[p95];

			if (e->u.p95.samples >= BASELINE_WARMUP && e->u.p95.baseline > 0)
			{
				double		ratio = m->p95_ms / e->u.p95.baseline;
				char	   *sub_heap = NULL;
				const char *sub;

				if (may_want(gate, RULE_SLOW_QUERY_P95, ratio) &&
					want(gate, RULE_SLOW_QUERY_P95,
						 sub = join_parts(sub_buf, sizeof(sub_buf), &sub_heap, "", 3, parts), ratio))
				{
					fact	   *f = facts_add(out, RULE_SLOW_QUERY_P95, sub, ratio,
											  "p95 of %s %s is %.0fms, %.1fx its baseline of %.0fms",
											  nz(m->model), nz(m->operation), m->p95_ms, ratio,
											  e->u.p95.baseline);

					kept(gate);
					set_str(f, "database", m->database);
					set_str(f, "model", m->model);
					set_str(f, "operation", m->operation);
					set_num(f, "p95_ms", m->p95_ms);
					set_num(f, "baseline_ms", round(e->u.p95.baseline * 1000) / 1000);
				}
				free(sub_heap);
			}
			e->u.p95.baseline = e->u.p95.samples == 0 ? m->p95_ms
				: e->u.p95.baseline + BASELINE_ALPHA * (m->p95_ms - e->u.p95.baseline);
			if (e->u.p95.samples < BASELINE_WARMUP)
				e->u.p95.samples++;
		}
		free(subject_heap);
	}
	free(groups.first);
	free(groups.totals);
	free(groups.hash);
	if (mem->polls % FORGET_SWEEP_EVERY == 0)
		mem_forget(mem, now);
}

/*
 * Every destructive event is a fact; Odoo's scheduled housekeeping is
 * marked so, and the rule gives it its housekeeping_severity (recorded,
 * not paged, by default).
 */
static void
destructive_facts(const OdooRetailGuard__Snapshot *s, const cron_catalog *crons, fact_list *out)
{
	for (size_t i = 0; i < s->n_destructive_events; i++)
	{
		const OdooRetailGuard__DestructiveEvent *d = s->destructive_events[i];
		char	   *subject = xasprintf("%s/%s/%s/%llu", nz(d->kind), nz(d->database), nz(d->relation),
										(unsigned long long) d->id);
		destructive_origin origin = cron_event_origin(crons, d);
		const cron_job_info *job = d->cron_job_id > 0 ? cron_catalog_find(crons, d->database, d->cron_job_id) : NULL;
		char	   *by_job = d->cron_job_id <= 0 ? xstrdup("")
			: xasprintf(", Odoo job %lld%s%s%s", (long long) d->cron_job_id, job ? " \"" : "",
						job ? job->name : "", job ? "\"" : "");
		char		lsn[40];
		fact	   *f = facts_add(out, RULE_DESTRUCTIVE_EVENT, subject, 1,
								  "%s on %s (%lld rows) by %s (%s%s)", nz(d->kind), what(d->model, d->relation),
								  (long long) d->rows, d->role && *d->role ? d->role : "unknown role",
								  destructive_origin_name(origin), by_job);

		f->housekeeping = origin == ORIGIN_HOUSEKEEPING;
		snprintf(lsn, sizeof(lsn), "%X/%X", (unsigned) (d->lsn_before >> 32), (unsigned) d->lsn_before);
		set_str(f, "kind", d->kind);
		set_str(f, "database", d->database);
		set_str(f, "relation", d->relation);
		set_str(f, "model", d->model);
		set_str(f, "role", d->role);
		set_str(f, "application", d->application_name);
		set_num(f, "rows", (double) d->rows);
		note_str(f, "lsn_before", lsn);
		set_str(f, "origin", destructive_origin_name(origin));
		if (d->cron_job_id > 0)
			set_id(f, "cron_job_id", d->cron_job_id);
		if (job)
			set_str(f, "cron_job", job->name);
		free(by_job);
		free(subject);
	}
}

void
facts_from_snapshot_gated(const OdooRetailGuard__Snapshot *snap, facts_memory *mem, int64_t now_us,
						  const fact_gate *gate, fact_list *out)
{
	const cron_catalog *crons = mem ? mem->crons : NULL;
	gated		g = {.gate = gate,.out = out};

	if (!snap)
		return;
	lock_facts(snap, crons, out);
	vacuum_facts(snap, crons, &g, out);
	cron_job_facts(snap, crons, out);
	replication_facts(snap, out);
	query_facts(snap, mem, now_us, &g, out);
	destructive_facts(snap, crons, out);
	free(g.slots);
}

void
facts_from_snapshot(const OdooRetailGuard__Snapshot *snap, facts_memory *mem, int64_t now_us,
					fact_list *out)
{
	facts_from_snapshot_gated(snap, mem, now_us, NULL, out);
}
