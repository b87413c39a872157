/*
 * metrics.h: the agent's metrics as a set of families, their Prometheus
 * text exposition (pure), and the HTTP server for /metrics, /healthz,
 * /ready, the status page (/) and /api/v1/status (libmicrohttpd, own
 * thread).  The main loop builds a fresh set after each poll and publishes
 * its text; scrapes never touch live state.
 */
#ifndef ORGUARD_METRICS_H
#define ORGUARD_METRICS_H

#include "util.h"

#include <stdbool.h>

typedef enum metric_type
{
	METRIC_GAUGE,
	METRIC_COUNTER,
	METRIC_HISTOGRAM			/* samples carry _bucket, _sum, _count suffixes */
} metric_type;

typedef struct metric_sample
{
	labelset	labels;
	double		value;
	const char *suffix;			/* static string appended to the family name, or NULL */
} metric_sample;

typedef struct metric_family
{
	char	   *name;
	char	   *help;
	metric_type type;
	metric_sample *s;
	int			n;
} metric_family;

typedef struct metric_set
{
	metric_family *f;
	int			n;
} metric_set;

/* finds or creates a family; name must be a valid metric name */
metric_family *mset_family(metric_set *ms, const char *name, const char *help, metric_type type);
/* adds a sample with label pairs given as name, value, ..., NULL */
void		mset_add(metric_family *f, double value, ...) __attribute__((sentinel));
void		mset_add_labels(metric_family *f, const labelset *labels, double value);
/* adds a histogram sample: suffix is "_bucket", "_sum" or "_count" (static) */
void		mset_add_suffixed(metric_family *f, const char *suffix, const labelset *labels,
							  double value);
/* keeps the n samples with the largest values (bounded cardinality) */
void		mset_top_n(metric_family *f, int n);
char	   *mset_format(const metric_set *ms);
void		mset_free(metric_set *ms);

/* formats one value the way the exposition format wants it */
void		metric_format_value(double v, char *buf, size_t len);

typedef struct metrics_server metrics_server;

/* listen is "host:port" (IPv4); returns NULL and sets *err on failure */
metrics_server *metrics_server_start(const char *listen, char **err);
/*
 * the same with TLS (PEM certificate and key files, both or neither) and
 * basic auth (a users file, see web_auth.h) on every endpoint; NULL or ""
 * leaves either off
 */
metrics_server *metrics_server_start_secure(const char *listen, const char *tls_cert_file,
											const char *tls_key_file, const char *users_file,
											char **err);
/* the status page's data (status_board_json); takes ownership */
void		metrics_server_publish_status(metrics_server *srv, char *json);
/* takes ownership of text */
void		metrics_server_publish(metrics_server *srv, char *text, bool ready);
/*
 * /healthz answers 503 with the reason while the agent is unhealthy (NULL
 * reason: healthy again); the reason is copied
 */
void		metrics_server_set_unhealthy(metrics_server *srv, const char *reason);

/*
 * The main loop completed a poll cycle at now_ms (mono_ms).  /healthz
 * answers 503 when none completed within stall_after_ms: the loop is stuck
 * (the server's own thread sees it, the loop cannot report itself).
 */
void		metrics_server_cycle_done(metrics_server *srv, int64_t now_ms, int64_t stall_after_ms);

/*
 * What /healthz says, pure: NULL when healthy, else the reason (malloc'd).
 * unhealthy is what the main loop reported; last_cycle_ms 0: none yet.
 */
char	   *metrics_health(const char *unhealthy, int64_t now_ms, int64_t last_cycle_ms,
						   int64_t stall_after_ms);
void		metrics_server_stop(metrics_server *srv);

#endif
