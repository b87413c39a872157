/*
 * remote_write.c: the remote write 1.0 wire format and its sender.
 * Snappy comes from Debian's libsnappy (snappy-c.h): block format, as the
 * specification requires (the framed format must not be used).
 */
#include "export/remote_write.h"
#include "common/cond_wait.h"
#include "common/utf8.h"
#include "common/http.h"
#include "common/log.h"
#include "remote_write.pb-c.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 8

/*
 * Encoding runs once per cycle over every node's series (about 440 per
 * real-sized node): each series' labels are references to the set's own
 * strings (a copy only for a value that is not UTF-8), sorted by name in
 * place, and a series sent last time keeps its entry of the state (key and
 * packed labels) instead of getting new ones.
 */

/* a series' labels as references: __name__, the sample's, the external ones */
typedef struct series_refs
{
	labelrefs	r;
	char	  **owned;			/* cleaned copies of values that were not UTF-8 */
	int			n_owned;
} series_refs;

static void
refs_set(series_refs *sr, const char *name, const char *value)
{
	labelrefs_set(&sr->r, name, value);
}

static void
refs_sort(labelrefs *r)
{
	/* insertion sort: a dozen labels, names unique */
	for (int i = 1; i < r->n; i++)
	{
		labelref	x = r->v[i];
		int			j = i;

		for (; j > 0 && strcmp(r->v[j - 1].name, x.name) > 0; j--)
			r->v[j] = r->v[j - 1];
		r->v[j] = x;
	}
}

static void
refs_reset(series_refs *sr)
{
	for (int i = 0; i < sr->n_owned; i++)
		free(sr->owned[i]);
	sr->n_owned = 0;
	sr->r.n = 0;
}

/* the labels of sample s of family f (full_name: its name with the suffix), sorted by name */
static void
series_labels(series_refs *sr, const char *full_name, const metric_sample *s, const labelset *external)
{
	refs_reset(sr);
	refs_set(sr, "__name__", full_name);
	for (int l = 0; l < s->labels.n; l++)
	{
		const label *lb = &s->labels.v[l];

		if (valid_label_name(lb->name) && *lb->value && strncmp(lb->name, "__", 2))
		{
			const char *v = lb->value;

			/* a protobuf string must be UTF-8: the receiver refuses the whole request */
			if (!utf8_valid(v))
			{
				sr->owned = xrealloc(sr->owned, sizeof(char *) * (size_t) (sr->n_owned + 1));
				v = sr->owned[sr->n_owned++] = utf8_clean(v, 0);
			}
			refs_set(sr, lb->name, v);
		}
	}
	for (int l = 0; external && l < external->n; l++)
	{
		bool		have = false;

		for (int i = 0; i < sr->r.n && !have; i++)
			have = !strcmp(sr->r.v[i].name, external->v[l].name);
		if (!have)
			refs_set(sr, external->v[l].name, external->v[l].value);
	}
	refs_sort(&sr->r);
}

static void
series_key(strbuf *sb, const labelref *v, int n)
{
	sb_reset(sb);
	for (int i = 0; i < n; i++)
	{
		sb_append(sb, v[i].name);
		sb_append_len(sb, "=\"", 2);
		sb_append(sb, v[i].value);
		sb_append_len(sb, "\"\x1f", 2);
	}
}

typedef struct keyed
{
	char	   *key;
	uint64_t	hash;
	labelset	set;			/* packed */
} keyed;

static uint64_t
key_hash(const char *key, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) key[i]) * 1099511628211ULL;
	return h;
}

void
rw_state_free(rw_state *st)
{
	for (int i = 0; i < st->n; i++)
	{
		free(st->keys[i]);
		labels_free_packed(&st->sets[i]);
	}
	free(st->keys);
	free(st->sets);
	free(st->hashes);
	free(st->slots);
	memset(st, 0, sizeof(*st));
}

/*
 * The state's series found by key through a hash table, not a sorted
 * array: at 500 nodes a cycle sends 220,000 series, and sorting their keys
 * and searching them cost more than encoding them.
 */
static void
state_index(rw_state *st)
{
	size_t		nslots = 64;

	while (nslots < 2 * (size_t) st->n + 1)
		nslots *= 2;
	free(st->slots);
	st->slots = xcalloc(nslots, sizeof(uint32_t));
	st->nslots = nslots;
	for (int i = 0; i < st->n; i++)
	{
		size_t		j = st->hashes[i] & (nslots - 1);

		while (st->slots[j])
			j = (j + 1) & (nslots - 1);
		st->slots[j] = (uint32_t) i + 1;
	}
}

/*
 * Looks key up in the state: every entry with that key is marked present
 * (still sent: no stale marker), and the first not taken yet is returned
 * (its packed labels are reused), or -1.
 */
static int
state_take(const rw_state *st, const char *key, uint64_t hash, bool *present, const bool *taken)
{
	int			found = -1;

	if (!st->nslots)
		return -1;
	for (size_t j = hash & (st->nslots - 1); st->slots[j]; j = (j + 1) & (st->nslots - 1))
	{
		int			i = (int) st->slots[j] - 1;

		if (st->hashes[i] != hash || strcmp(st->keys[i], key))
			continue;
		present[i] = true;
		if (found < 0 && !taken[i])
			found = i;
	}
	return found;
}

uint8_t *
remote_write_encode(const metric_set *ms, const labelset *external, int64_t ts_ms, rw_state *state,
					size_t *len, size_t *series)
{
	Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
	size_t		total = 0,
				k = 0,
				n_cur,
				n_labels = 0;
	Prometheus__TimeSeries *ts;
	Prometheus__Sample *samples;
	Prometheus__Sample **sample_ptrs;
	Prometheus__Label *labs;
	Prometheus__Label **lab_ptrs;
	uint8_t    *raw,
			   *out;
	size_t		raw_len,
				out_len;
	labelset   *sets;			/* what each series sends: packed */
	bool	   *own;			/* sets[i] is this call's to free (else the state's) */
	double	   *values;
	double		stale;
	uint64_t	stale_bits = REMOTE_WRITE_STALE_NAN;
	keyed	   *cur = NULL;
	bool	   *present = NULL;	/* old state entries this batch has */
	bool	   *taken = NULL;	/* old state entries moved into the new state */
	series_refs sr = {0};
	strbuf		key;
	char	   *full = NULL;
	size_t		full_cap = 0;

	memcpy(&stale, &stale_bits, sizeof(stale));
	sb_init(&key);
	for (int i = 0; i < ms->n; i++)
		if (valid_metric_name(ms->f[i].name))
			total += (size_t) ms->f[i].n;
	if (state)
	{
		total += (size_t) state->n;	/* room for stale markers */
		present = xcalloc((size_t) (state->n ? state->n : 1), sizeof(bool));
		taken = xcalloc((size_t) (state->n ? state->n : 1), sizeof(bool));
		cur = xcalloc(total ? total : 1, sizeof(keyed));
	}
	sets = xcalloc(total ? total : 1, sizeof(labelset));
	own = xcalloc(total ? total : 1, sizeof(bool));
	values = xcalloc(total ? total : 1, sizeof(double));
	for (int i = 0; i < ms->n; i++)
	{
		const metric_family *f = &ms->f[i];
		size_t		name_len = strlen(f->name);

		if (!valid_metric_name(f->name))
			continue;
		for (int j = 0; j < f->n; j++, k++)
		{
			const char *name = f->name;

			if (f->s[j].suffix)
			{
				size_t		need = name_len + strlen(f->s[j].suffix) + 1;

				if (need > full_cap)
				{
					full_cap = need * 2;
					full = xrealloc(full, full_cap);
				}
				memcpy(full, f->name, name_len);
				strcpy(full + name_len, f->s[j].suffix);
				name = full;
			}
			series_labels(&sr, name, &f->s[j], external);
			values[k] = f->s[j].value;
			if (state)
			{
				int			old;

				uint64_t	hash;

				series_key(&key, sr.r.v, sr.r.n);
				hash = key_hash(key.data, key.len);
				old = state_take(state, key.data, hash, present, taken);
				cur[k].hash = hash;
				if (old >= 0)
				{
					taken[old] = true;
					cur[k].key = state->keys[old];
					cur[k].set = state->sets[old];
				}
				else
				{
					cur[k].key = xstrdup(key.data);
					labels_pack(&cur[k].set, &sr.r);
				}
				sets[k] = cur[k].set;
			}
			else
			{
				labels_pack(&sets[k], &sr.r);
				own[k] = true;
			}
			n_labels += (size_t) sets[k].n;
		}
	}
	n_cur = k;
	if (state)
	{
		for (int i = 0; i < state->n; i++)
			if (!present[i])
			{
				sets[k] = state->sets[i];
				n_labels += (size_t) sets[k].n;
				values[k++] = stale;
			}
	}
	ts = xcalloc(k ? k : 1, sizeof(Prometheus__TimeSeries));
	samples = xcalloc(k ? k : 1, sizeof(Prometheus__Sample));
	sample_ptrs = xcalloc(k ? k : 1, sizeof(Prometheus__Sample *));
	labs = xcalloc(n_labels ? n_labels : 1, sizeof(Prometheus__Label));
	lab_ptrs = xcalloc(n_labels ? n_labels : 1, sizeof(Prometheus__Label *));
	req.timeseries = xcalloc(k ? k : 1, sizeof(Prometheus__TimeSeries *));
	for (size_t i = 0, l = 0; i < k; i++)
	{
		const labelset *ls = &sets[i];

		prometheus__time_series__init(&ts[i]);
		prometheus__sample__init(&samples[i]);
		ts[i].n_labels = (size_t) ls->n;
		ts[i].labels = &lab_ptrs[l];
		for (int j = 0; j < ls->n; j++, l++)
		{
			prometheus__label__init(&labs[l]);
			labs[l].name = ls->v[j].name;
			labs[l].value = ls->v[j].value;
			lab_ptrs[l] = &labs[l];
		}
		samples[i].value = values[i];
		samples[i].timestamp = ts_ms;
		ts[i].n_samples = 1;
		sample_ptrs[i] = &samples[i];
		ts[i].samples = &sample_ptrs[i];
		req.timeseries[i] = &ts[i];
	}
	req.n_timeseries = k;
	raw_len = prometheus__write_request__get_packed_size(&req);
	raw = xmalloc(raw_len ? raw_len : 1);
	prometheus__write_request__pack(&req, raw);
	out_len = snappy_max_compressed_length(raw_len);
	out = xmalloc(out_len);
	if (snappy_compress((const char *) raw, raw_len, (char *) out, &out_len) != SNAPPY_OK)
		out_len = 0;
	for (size_t i = 0; i < k; i++)
		if (own[i])
			labels_free_packed(&sets[i]);
	if (state)
	{
		/* this batch's live series become the state, in the order sent */
		for (int i = 0; i < state->n; i++)
			if (!taken[i])
			{
				free(state->keys[i]);
				labels_free_packed(&state->sets[i]);
			}
		free(state->keys);
		free(state->sets);
		free(state->hashes);
		state->keys = xcalloc(n_cur ? n_cur : 1, sizeof(char *));
		state->sets = xcalloc(n_cur ? n_cur : 1, sizeof(labelset));
		state->hashes = xcalloc(n_cur ? n_cur : 1, sizeof(uint64_t));
		for (size_t i = 0; i < n_cur; i++)
		{
			state->keys[i] = cur[i].key;
			state->sets[i] = cur[i].set;
			state->hashes[i] = cur[i].hash;
		}
		state->n = (int) n_cur;
		state_index(state);
		free(cur);
		free(present);
		free(taken);
	}
	refs_reset(&sr);
	labelrefs_free(&sr.r);
	free(sr.owned);
	free(full);
	sb_free(&key);
	free(sets);
	free(own);
	free(values);
	free(ts);
	free(samples);
	free(sample_ptrs);
	free(labs);
	free(lab_ptrs);
	free(req.timeseries);
	free(raw);
	*len = out_len;
	if (series)
		*series = k;
	return out;
}

typedef struct batch
{
	uint8_t    *body;
	size_t		len;
	size_t		samples;
} batch;

char	  **
remote_write_headers(const remote_write_opts *o)
{
	int			extra = o->headers ? o->headers->n : 0;
	char	  **h = xcalloc((size_t) (4 + extra + 1), sizeof(char *));
	int			n = 0;

	h[n++] = xstrdup("Content-Encoding: snappy");
	h[n++] = xstrdup("Content-Type: application/x-protobuf");
	h[n++] = xstrdup("X-Prometheus-Remote-Write-Version: 0.1.0");
	if (o->username && *o->username)
	{
		char	   *pair = xasprintf("%s:%s", o->username, o->password ? o->password : "");
		size_t		len = strlen(pair);
		unsigned char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);

		EVP_EncodeBlock(b64, (const unsigned char *) pair, (int) len);
		h[n++] = xasprintf("Authorization: Basic %s", (const char *) b64);
		explicit_bzero(pair, len);
		explicit_bzero(b64, strlen((const char *) b64));
		free(pair);
		free(b64);
	}
	else if (o->bearer_token && *o->bearer_token)
		h[n++] = xasprintf("Authorization: Bearer %s", o->bearer_token);
	for (int i = 0; i < extra; i++)
		h[n++] = xasprintf("%s: %s", o->headers->v[i].name, o->headers->v[i].value);
	h[n] = NULL;
	return h;
}

void
remote_write_headers_free(char **headers)
{
	if (!headers)
		return;
	/* the Authorization line holds a secret */
	for (char **h = headers; *h; h++)
	{
		explicit_bzero(*h, strlen(*h));
		free(*h);
	}
	free(headers);
}

static char *
dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

struct remote_writer
{
	char	   *url;
	double		timeout_s;
	char	  **headers;
	char	   *ca_file;
	char	   *cert_file;
	char	   *key_file;
	bool		tls_verify;
	pthread_t	thread;
	/* guards q, qn, stop and stats (the daemon queues and reads stats) */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* signalled under lock on a new batch or stop */
	batch		q[QUEUE_MAX];
	int			qn;
	bool		stop;
	remote_write_stats stats;
};

static bool
wait_ms(remote_writer *w, int64_t ms)
{
	return cond_wait_ms(&w->lock, &w->cond, &w->stop, ms);
}

static void *
run(void *arg)
{
	remote_writer *w = arg;

	for (;;)
	{
		batch		b;
		int			attempt = 0;

		pthread_mutex_lock(&w->lock);
		while (!w->stop && w->qn == 0)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
		{
			pthread_mutex_unlock(&w->lock);
			break;
		}
		b = w->q[0];
		memmove(&w->q[0], &w->q[1], sizeof(batch) * (size_t) (w->qn - 1));
		w->qn--;
		pthread_mutex_unlock(&w->lock);
		for (;;)
		{
			http_request req = {w->url, (const char *const *) w->headers, (const char *) b.body, b.len,
			w->timeout_s, w->tls_verify, w->ca_file, w->cert_file, w->key_file};
			http_response resp;
			send_result r;

			http_post(&req, &resp);
			r = http_classify(&resp);
			pthread_mutex_lock(&w->lock);
			if (r == SEND_OK)
			{
				w->stats.batches_sent++;
				w->stats.samples_sent += b.samples;
			}
			else
				w->stats.failures++;
			pthread_mutex_unlock(&w->lock);
			if (r == SEND_OK)
				break;
			if (r == SEND_PERMANENT)
			{
				log_warn("remote write: HTTP %ld (%s); batch dropped", resp.status, resp.body);
				break;
			}
			log_warn("remote write: %s; retrying", resp.status ? "server error" : resp.error);
			if (attempt > 5 || !wait_ms(w, 100LL << (attempt < 6 ? attempt : 6)))
				break;
			attempt++;
		}
		free(b.body);
	}
	return NULL;
}

static void
writer_free(remote_writer *w)
{
	free(w->url);
	remote_write_headers_free(w->headers);
	free(w->ca_file);
	free(w->cert_file);
	free(w->key_file);
	free(w);
}

remote_writer *
remote_writer_start(const remote_write_opts *o)
{
	remote_writer *w = xcalloc(1, sizeof(remote_writer));

	w->url = xstrdup(o->url);
	w->timeout_s = o->timeout_s;
	w->headers = remote_write_headers(o);
	w->ca_file = dup_or_null(o->ca_file);
	w->cert_file = dup_or_null(o->cert_file);
	w->key_file = dup_or_null(o->key_file);
	w->tls_verify = o->tls_verify;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0)
	{
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		writer_free(w);
		return NULL;
	}
	return w;
}

void
remote_writer_push(remote_writer *w, uint8_t *body, size_t len, size_t samples)
{
	pthread_mutex_lock(&w->lock);
	if (w->qn == QUEUE_MAX)
	{
		/* a long outage: keep the newest figures */
		w->stats.dropped++;
		free(w->q[0].body);
		memmove(&w->q[0], &w->q[1], sizeof(batch) * (QUEUE_MAX - 1));
		w->qn--;
	}
	w->q[w->qn].body = body;
	w->q[w->qn].len = len;
	w->q[w->qn].samples = samples;
	w->qn++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

remote_write_stats
remote_writer_stats(remote_writer *w)
{
	remote_write_stats s;

	pthread_mutex_lock(&w->lock);
	s = w->stats;
	pthread_mutex_unlock(&w->lock);
	return s;
}

void
remote_writer_stop(remote_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	for (int i = 0; i < w->qn; i++)
		free(w->q[i].body);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	writer_free(w);
}
