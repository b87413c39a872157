/*
 * remote_write.h: Prometheus remote write 1.0 push of the agent's metric
 * set: a WriteRequest (proto/remote_write.proto) compressed as one snappy
 * block, POSTed with the four required headers.  Encoding is pure; the
 * sender runs in its own thread with a small bounded queue, retrying only
 * on network errors, 5xx and 429 (everything else is dropped and counted).
 */
#ifndef ORGUARD_REMOTE_WRITE_H
#define ORGUARD_REMOTE_WRITE_H

#include "export/metrics.h"

#include <stdint.h>

/*
 * The series sent last time, so that a series that disappears (a node
 * removed, a table leaving the top N) gets the stale marker the
 * specification requires instead of lingering for five minutes.
 */
typedef struct rw_state
{
	char	  **keys;			/* canonical label sets, in the order last sent */
	labelset   *sets;			/* in the same order, each packed (labels_pack) */
	uint64_t   *hashes;			/* of keys */
	int			n;
	uint32_t   *slots;			/* open addressing over keys: index + 1, 0 free */
	size_t		nslots;			/* a power of two, over twice n */
} rw_state;

/* the stale marker: a NaN with this exact bit pattern */
#define REMOTE_WRITE_STALE_NAN 0x7ff0000000000002ULL

/*
 * Returns a malloc'd snappy block and its length; labels sorted by name.
 * With state, series sent last time and missing now get a stale marker,
 * and state then holds this batch's series.
 */
uint8_t    *remote_write_encode(const metric_set *ms, const labelset *external, int64_t ts_ms,
								rw_state *state, size_t *len, size_t *series);
void		rw_state_free(rw_state *state);

typedef struct remote_writer remote_writer;

typedef struct remote_write_stats
{
	uint64_t	batches_sent;
	uint64_t	samples_sent;
	uint64_t	failures;
	uint64_t	dropped;
} remote_write_stats;

/* where and how to push; the writer copies what it keeps */
typedef struct remote_write_opts
{
	const char *url;
	double		timeout_s;
	const char *username;		/* basic auth, with password */
	const char *password;
	const char *bearer_token;	/* or a bearer token */
	const labelset *headers;	/* extra headers (X-Scope-OrgID), may be NULL */
	const char *ca_file;
	const char *cert_file;		/* client certificate and key */
	const char *key_file;
	bool		tls_verify;
} remote_write_opts;

/*
 * The request's header lines, NULL-terminated and malloc'd (free with
 * remote_write_headers_free): the three the specification requires, the
 * Authorization line, then the extra headers.
 */
char	  **remote_write_headers(const remote_write_opts *o);
void		remote_write_headers_free(char **headers);

remote_writer *remote_writer_start(const remote_write_opts *o);
/* takes ownership of body */
void		remote_writer_push(remote_writer *w, uint8_t *body, size_t len, size_t samples);
remote_write_stats remote_writer_stats(remote_writer *w);
void		remote_writer_stop(remote_writer *w);

#endif
