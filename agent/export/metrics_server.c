/*
 * metrics_server.c: the agent's HTTP server (libmicrohttpd, own thread):
 * /metrics, /healthz, /ready, the status page (/) and /api/v1/status,
 * with TLS and basic auth when configured (see metrics_server.h).
 */
#include "export/metrics_server.h"
#include "common/files.h"
#include "common/listen_addr.h"
#include "common/log.h"
#include "export/status_page.h"
#include "common/web_auth.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <snappy-c.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/*
 * The published /metrics text, shared with the responses sending it: at
 * 500 nodes it is 26 MB, which each scrape copied twice (under the lock,
 * then into libmicrohttpd's response).  It lives until the main loop has
 * replaced it and the last response using it is sent.
 *
 * It is kept compressed, in blocks of TEXT_BLOCK bytes each compressed on
 * its own with snappy, and each response uncompresses the block it is
 * sending: the text's label sets repeat from line to line, so 26 MB keep
 * as about 2 MB, compressed in under 10 ms per cycle and read back at
 * each scrape in about as long.
 */
#define TEXT_BLOCK (64 * 1024)

typedef struct shared_text
{
	atomic_int	refs;
	size_t		len;			/* of the text */
	size_t		n_blocks;
	size_t	   *at;				/* where each block's bytes start in data, and the end */
	char	   *data;			/* the blocks, compressed */
} shared_text;

/* compresses text (freed) block by block; NULL when snappy refuses (not seen) */
static shared_text *
shared_text_new(char *text)
{
	shared_text *t = xcalloc(1, sizeof(*t));
	size_t		cap = snappy_max_compressed_length(TEXT_BLOCK);
	size_t		used = 0;

	atomic_init(&t->refs, 1);
	t->len = strlen(text);
	t->n_blocks = (t->len + TEXT_BLOCK - 1) / TEXT_BLOCK;
	t->at = xmalloc(sizeof(size_t) * (t->n_blocks + 1));
	t->data = xmalloc(cap);
	for (size_t b = 0; b < t->n_blocks; b++)
	{
		size_t		raw = t->len - b * TEXT_BLOCK < TEXT_BLOCK ? t->len - b * TEXT_BLOCK : TEXT_BLOCK;
		size_t		out = snappy_max_compressed_length(raw);

		if (used + out > cap)
		{
			while (used + out > cap)
				cap *= 2;
			t->data = xrealloc(t->data, cap);
		}
		t->at[b] = used;
		if (snappy_compress(text + b * TEXT_BLOCK, raw, t->data + used, &out) != SNAPPY_OK)
		{
			free(text);
			free(t->at);
			free(t->data);
			free(t);
			return NULL;
		}
		used += out;
	}
	t->at[t->n_blocks] = used;
	t->data = xrealloc(t->data, used ? used : 1);
	free(text);
	return t;
}

/* drops one reference */
static void
shared_text_unref(shared_text *t)
{
	if (t && atomic_fetch_sub(&t->refs, 1) == 1)
	{
		free(t->at);
		free(t->data);
		free(t);
	}
}

/* one response's reading of a shared text: the block it is sending, uncompressed */
typedef struct text_reader
{
	shared_text *t;
	size_t		block;			/* held in buf, when have */
	size_t		block_len;
	bool		have;
	char		buf[TEXT_BLOCK];
} text_reader;

static ssize_t
text_read(void *cls, uint64_t pos, char *out, size_t max)
{
	text_reader *r = cls;
	size_t		b = (size_t) (pos / TEXT_BLOCK);
	size_t		off = (size_t) (pos % TEXT_BLOCK);
	size_t		n;

	if (pos >= r->t->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (!r->have || r->block != b)
	{
		size_t		len = TEXT_BLOCK;

		if (snappy_uncompress(r->t->data + r->t->at[b], r->t->at[b + 1] - r->t->at[b], r->buf,
							  &len) != SNAPPY_OK || len <= off)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		r->block = b;
		r->block_len = len;
		r->have = true;
	}
	n = r->block_len - off < max ? r->block_len - off : max;
	memcpy(out, r->buf + off, n);
	return (ssize_t) n;
}

/* libmicrohttpd's callback when a response is done with its reader */
static void
text_reader_free(void *cls)
{
	text_reader *r = cls;

	shared_text_unref(r->t);
	free(r);
}

struct metrics_server
{
	struct MHD_Daemon *d;

	/*
	 * guards text, ready, unhealthy, last_cycle_ms, stall_after_ms and
	 * status: the main loop swaps them, the server's threads copy them out
	 */
	pthread_mutex_t lock;
	shared_text *text;			/* NULL before the first publish */
	bool		ready;
	char	   *unhealthy;		/* why /healthz fails, NULL when healthy */
	int64_t		last_cycle_ms;	/* mono_ms of the latest completed poll cycle, 0: none */
	int64_t		stall_after_ms;
	char	   *status;			/* the status page's JSON */
	web_users	users;			/* basic auth; none: open; set before start, then read-only */
	char	   *tls_cert;		/* PEM, kept while the daemon runs */
	char	   *tls_key;
};

char *
metrics_health(const char *unhealthy, int64_t now_ms, int64_t last_cycle_ms, int64_t stall_after_ms)
{
	if (last_cycle_ms > 0 && stall_after_ms > 0 && now_ms - last_cycle_ms > stall_after_ms)
		return xasprintf("the main loop has not completed a poll cycle for %.1fs (limit %.1fs): it is stuck",
						 (double) (now_ms - last_cycle_ms) / 1000.0, (double) stall_after_ms / 1000.0);
	return unhealthy ? xstrdup(unhealthy) : NULL;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned int status, const char *type, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *) body,
															 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static bool
authorized(struct MHD_Connection *c, const web_users *users)
{
	char	   *pass = NULL;
	char	   *user = MHD_basic_auth_get_username_password(c, &pass);
	bool		ok = web_auth_check(users, user, pass);

	MHD_free(user);
	MHD_free(pass);
	return ok;
}

static enum MHD_Result
ask_credentials(struct MHD_Connection *c)
{
	const char *body = "unauthorized\n";
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *) body,
															 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "text/plain");
	ret = MHD_queue_basic_auth_fail_response(c, "orguard-agent", r);
	MHD_destroy_response(r);
	return ret;
}

/* GET / (the page, data inlined) and GET /api/v1/status (the data) */
static enum MHD_Result
reply_status(struct MHD_Connection *c, metrics_server *srv, bool page)
{
	char	   *json;
	char	   *body;
	enum MHD_Result ret;

	pthread_mutex_lock(&srv->lock);
	json = srv->status ? xstrdup(srv->status) : NULL;
	pthread_mutex_unlock(&srv->lock);
	if (!json)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "not ready: first poll not done\n");
	body = page ? status_page_render(json) : json;
	ret = reply(c, MHD_HTTP_OK, page ? "text/html; charset=utf-8" : "application/json", body);
	if (body != json)
		free(body);
	free(json);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_size, void **req_cls)
{
	metrics_server *srv = cls;
	enum MHD_Result ret;

	(void) version;
	(void) upload_data;
	(void) upload_size;
	(void) req_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n");
	if (srv->users.n > 0 && !authorized(c, &srv->users))
		return ask_credentials(c);
	if (!strcmp(url, "/") || !strcmp(url, "/api/v1/status"))
		return reply_status(c, srv, url[1] == '\0');
	if (!strcmp(url, "/metrics"))
	{
		const char *type = "text/plain; version=0.0.4; charset=utf-8";
		shared_text *t;
		struct MHD_Response *r;

		pthread_mutex_lock(&srv->lock);
		t = srv->text;
		if (t)
			atomic_fetch_add(&t->refs, 1);
		pthread_mutex_unlock(&srv->lock);
		if (!t || t->len == 0)
		{
			shared_text_unref(t);
			return reply(c, MHD_HTTP_OK, type, "");
		}
		{
			text_reader *tr = xmalloc(sizeof(*tr));

			tr->t = t;
			tr->have = false;
			r = MHD_create_response_from_callback(t->len, TEXT_BLOCK, text_read, tr, text_reader_free);
			if (!r)
			{
				text_reader_free(tr);
				return MHD_NO;
			}
		}
		MHD_add_response_header(r, "Content-Type", type);
		ret = MHD_queue_response(c, MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (!strcmp(url, "/healthz"))
	{
		char	   *why;

		char	   *reason;

		pthread_mutex_lock(&srv->lock);
		reason = metrics_health(srv->unhealthy, mono_ms(), srv->last_cycle_ms, srv->stall_after_ms);
		pthread_mutex_unlock(&srv->lock);
		if (!reason)
			return reply(c, MHD_HTTP_OK, "text/plain", "ok\n");
		why = xasprintf("unhealthy: %s\n", reason);
		free(reason);
		ret = reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", why);
		free(why);
		return ret;
	}
	if (!strcmp(url, "/ready"))
	{
		bool		ready;

		pthread_mutex_lock(&srv->lock);
		ready = srv->ready;
		pthread_mutex_unlock(&srv->lock);
		return ready ? reply(c, MHD_HTTP_OK, "text/plain", "ready\n")
			: reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "not ready: first poll not done\n");
	}
	return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found: try /metrics, /healthz or /ready\n");
}

metrics_server *
metrics_server_start(const char *listen, char **err)
{
	return metrics_server_start_secure(listen, NULL, NULL, NULL, err);
}

metrics_server *
metrics_server_start_secure(const char *listen, const char *tls_cert_file, const char *tls_key_file,
							const char *users_file, char **err)
{
	metrics_server *srv;
	listen_addr la;
	char		why[160];
	char	   *users_text = NULL;
	web_users	users = {0};
	char	   *cert = NULL,
			   *key = NULL;
	struct MHD_OptionItem opts[8];
	int			o = 0;
	bool		tls = tls_cert_file && *tls_cert_file;

	if (!listen_addr_parse(listen, &la, why, sizeof(why)))
	{
		*err = xasprintf("listen: %s", why);
		return NULL;
	}
	if (users_file && *users_file)
	{
		char	   *perr = NULL;

		if (!(users_text = file_read(users_file)))
		{
			*err = xasprintf("listen_users_file %s: cannot read it", users_file);
			return NULL;
		}
		if (!web_users_parse(users_text, &users, &perr))
		{
			*err = xasprintf("listen_users_file %s: %s", users_file, perr);
			free(perr);
			free(users_text);
			return NULL;
		}
		free(users_text);
	}
	if (tls && (!(cert = file_read(tls_cert_file)) || !(key = file_read(tls_key_file))))
	{
		*err = xasprintf("listen_tls: cannot read %s", cert ? tls_key_file : tls_cert_file);
		free(cert);
		web_users_free(&users);
		return NULL;
	}
	srv = xcalloc(1, sizeof(metrics_server));
	pthread_mutex_init(&srv->lock, NULL);
	srv->users = users;
	srv->tls_cert = cert;
	srv->tls_key = key;
	opts[o++] = (struct MHD_OptionItem) {MHD_OPTION_SOCK_ADDR, 0, &la.sa};
	opts[o++] = (struct MHD_OptionItem) {MHD_OPTION_CONNECTION_TIMEOUT, LISTEN_IDLE_TIMEOUT_S, NULL};
	opts[o++] = (struct MHD_OptionItem) {MHD_OPTION_CONNECTION_LIMIT, LISTEN_CONNECTION_LIMIT, NULL};
	opts[o++] = (struct MHD_OptionItem) {MHD_OPTION_PER_IP_CONNECTION_LIMIT, LISTEN_PER_IP_LIMIT, NULL};
	if (tls)
	{
		opts[o++] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
		opts[o++] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_KEY, 0, key};
	}
	opts[o++] = (struct MHD_OptionItem) {MHD_OPTION_END, 0, NULL};
	srv->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
							  (tls ? MHD_USE_TLS : 0) |
							  (la.family == AF_INET6 ? MHD_USE_IPv6 : 0), (uint16_t) la.port,
							  NULL, NULL, handle, srv,
							  MHD_OPTION_ARRAY, opts,
							  MHD_OPTION_END);
	if (!srv->d)
	{
		*err = tls ? xasprintf("cannot listen on %s (address in use, or a bad TLS certificate or key?)", listen)
			: xasprintf("cannot listen on %s (address in use?)", listen);
		pthread_mutex_destroy(&srv->lock);
		web_users_free(&srv->users);
		free(srv->tls_cert);
		free(srv->tls_key);
		free(srv);
		return NULL;
	}
	return srv;
}

void
metrics_server_publish_status(metrics_server *srv, char *json)
{
	char	   *old;

	if (!srv)
	{
		free(json);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	old = srv->status;
	srv->status = json;
	pthread_mutex_unlock(&srv->lock);
	free(old);
}

void
metrics_server_publish(metrics_server *srv, char *text, bool ready)
{
	shared_text *t;
	shared_text *old;

	if (!srv)
	{
		free(text);
		return;
	}
	t = shared_text_new(text);
	if (!t)
	{
		log_warn("/metrics: the text could not be compressed; the last one is served");
		return;
	}
	pthread_mutex_lock(&srv->lock);
	old = srv->text;
	srv->text = t;
	srv->ready = srv->ready || ready;
	pthread_mutex_unlock(&srv->lock);
	shared_text_unref(old);
}

void
metrics_server_set_unhealthy(metrics_server *srv, const char *reason)
{
	char	   *copy = reason ? xstrdup(reason) : NULL;
	char	   *old;

	if (!srv)
	{
		free(copy);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	old = srv->unhealthy;
	srv->unhealthy = copy;
	pthread_mutex_unlock(&srv->lock);
	free(old);
}

void
metrics_server_cycle_done(metrics_server *srv, int64_t now_ms, int64_t stall_after_ms)
{
	if (!srv)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->last_cycle_ms = now_ms;
	srv->stall_after_ms = stall_after_ms;
	pthread_mutex_unlock(&srv->lock);
}

void
metrics_server_stop(metrics_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->d);
	pthread_mutex_destroy(&srv->lock);
	free(srv->unhealthy);
	shared_text_unref(srv->text);
	free(srv->status);
	web_users_free(&srv->users);
	free(srv->tls_cert);
	free(srv->tls_key);
	free(srv);
}
