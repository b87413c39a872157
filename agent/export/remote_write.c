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

static char *
series_key(const labelset *ls)
{
	strbuf		sb;

	sb_init(&sb);
	for (int i = 0; i < ls->n; i++)
		sb_printf(&sb, "%s=\"%s\"\x1f", ls->v[i].name, ls->v[i].value);
	return sb_steal(&sb);
}

typedef struct keyed
{
	char	   *key;
	labelset	set;
} keyed;

static int
cmp_keyed(const void *a, const void *b)
{
	return strcmp(((const keyed *) a)->key, ((const keyed *) b)->key);
}

void
rw_state_free(rw_state *st)
{
	for (int i = 0; i < st->n; i++)
	{
		free(st->keys[i]);
		labels_free(&st->sets[i]);
	}
	free(st->keys);
	free(st->sets);
	memset(st, 0, sizeof(*st));
}

uint8_t *
remote_write_encode(const metric_set *ms, const labelset *external, int64_t ts_ms, rw_state *state,
					size_t *len, size_t *series)
{
	Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
	size_t		total = 0,
				k = 0,
				n_cur;
	Prometheus__TimeSeries *ts;
	Prometheus__Sample *samples;
	uint8_t    *raw,
			   *out;
	size_t		raw_len,
				out_len;
	labelset   *sets;
	double	   *values;
	double		stale;
	uint64_t	stale_bits = REMOTE_WRITE_STALE_NAN;
	keyed	   *cur = NULL;

	memcpy(&stale, &stale_bits, sizeof(stale));
	for (int i = 0; i < ms->n; i++)
		if (valid_metric_name(ms->f[i].name))
			total += (size_t) ms->f[i].n;
	if (state)
		total += (size_t) state->n;	/* room for stale markers */
	sets = xcalloc(total ? total : 1, sizeof(labelset));
	values = xcalloc(total ? total : 1, sizeof(double));
	for (int i = 0; i < ms->n; i++)
	{
		const metric_family *f = &ms->f[i];

		if (!valid_metric_name(f->name))
			continue;
		for (int j = 0; j < f->n; j++, k++)
		{
			labelset   *ls = &sets[k];

			if (f->s[j].suffix)
			{
				char	   *full = xasprintf("%s%s", f->name, f->s[j].suffix);

				labels_set(ls, "__name__", full);
				free(full);
			}
			else
				labels_set(ls, "__name__", f->name);
			for (int l = 0; l < f->s[j].labels.n; l++)
				if (valid_label_name(f->s[j].labels.v[l].name) && *f->s[j].labels.v[l].value &&
					strncmp(f->s[j].labels.v[l].name, "__", 2))
				{
					/* a protobuf string must be UTF-8: the receiver refuses the whole request */
					char	   *v = utf8_clean(f->s[j].labels.v[l].value, 0);

					labels_set(ls, f->s[j].labels.v[l].name, v);
					free(v);
				}
			if (external)
				labels_merge(ls, external);
			labels_sort(ls);
			values[k] = f->s[j].value;
		}
	}
	n_cur = k;
	if (state)
	{
		cur = xcalloc(n_cur ? n_cur : 1, sizeof(keyed));
		for (size_t i = 0; i < n_cur; i++)
		{
			cur[i].key = series_key(&sets[i]);
			labels_copy(&cur[i].set, &sets[i]);
		}
		qsort(cur, n_cur, sizeof(keyed), cmp_keyed);
		for (int i = 0; i < state->n; i++)
		{
			keyed		probe = {state->keys[i], {0}};

			if (n_cur == 0 || !bsearch(&probe, cur, n_cur, sizeof(keyed), cmp_keyed))
			{
				labels_copy(&sets[k], &state->sets[i]);
				values[k++] = stale;
			}
		}
	}
	ts = xcalloc(k ? k : 1, sizeof(Prometheus__TimeSeries));
	samples = xcalloc(k ? k : 1, sizeof(Prometheus__Sample));
	req.timeseries = xcalloc(k ? k : 1, sizeof(Prometheus__TimeSeries *));
	for (size_t i = 0; i < k; i++)
	{
		labelset   *ls = &sets[i];

		prometheus__time_series__init(&ts[i]);
		prometheus__sample__init(&samples[i]);
		ts[i].n_labels = (size_t) ls->n;
		ts[i].labels = xcalloc((size_t) (ls->n ? ls->n : 1), sizeof(Prometheus__Label *));
		for (int l = 0; l < ls->n; l++)
		{
			Prometheus__Label *lab = xmalloc(sizeof(Prometheus__Label));

			prometheus__label__init(lab);
			lab->name = ls->v[l].name;
			lab->value = ls->v[l].value;
			ts[i].labels[l] = lab;
		}
		samples[i].value = values[i];
		samples[i].timestamp = ts_ms;
		ts[i].n_samples = 1;
		ts[i].samples = xmalloc(sizeof(Prometheus__Sample *));
		ts[i].samples[0] = &samples[i];
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
	{
		for (size_t l = 0; l < ts[i].n_labels; l++)
			free(ts[i].labels[l]);
		free(ts[i].labels);
		free(ts[i].samples);
		labels_free(&sets[i]);
	}
	if (state)
	{
		/* this batch's live series become the state */
		rw_state_free(state);
		state->keys = xcalloc(n_cur ? n_cur : 1, sizeof(char *));
		state->sets = xcalloc(n_cur ? n_cur : 1, sizeof(labelset));
		for (size_t i = 0; i < n_cur; i++)
		{
			state->keys[i] = cur[i].key;
			state->sets[i] = cur[i].set;
		}
		state->n = (int) n_cur;
		free(cur);
	}
	free(sets);
	free(values);
	free(ts);
	free(samples);
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
