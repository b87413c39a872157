/*
 * metrics_server.h: the HTTP server for /metrics, /healthz, /ready, the
 * status page (/) and /api/v1/status (libmicrohttpd, own thread).  It
 * serves what the main loop published last: the metrics text, the status
 * page's data and the health; scrapes never touch live state.
 */
#ifndef ORGUARD_METRICS_SERVER_H
#define ORGUARD_METRICS_SERVER_H

#include <stdbool.h>
#include <stdint.h>

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
