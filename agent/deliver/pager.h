/*
 * pager.h: delivery of spooled notifications to one receiver.  Each pager
 * runs one thread that drains its spool in order: rate limit, send, and on
 * failure retry with exponential backoff and jitter (network errors, 429,
 * 5xx) or move the event to the dead-letter directory (other answers).
 *
 * The payload builders are pure and live one per receiver kind in
 * pager_pagerduty.c, pager_alertmanager.c and pager_webhook.c.
 */
#ifndef ORGUARD_PAGER_H
#define ORGUARD_PAGER_H

#include "alert/alert.h"
#include "common/config.h"
#include "common/http.h"
#include "deliver/spool.h"

#include <stdint.h>

/* PagerDuty Events API v2 */
char	   *pagerduty_payload(const pager_cfg *p, const alert_event *ev);
const char *pagerduty_severity(severity s);

/* Alertmanager API v2 (POST /api/v2/alerts): a JSON array of one alert */
char	   *alertmanager_payload(const pager_cfg *p, const alert_event *ev, int64_t now_us);
/* URL of the alerts endpoint for a base URL like http://host:9093 */
char	   *alertmanager_url(const char *base);

/* generic webhook: JSON body, optional HMAC-SHA256 signature header */
char	   *webhook_payload(const alert_event *ev);
/*
 * "X-Orguard-Timestamp: <unix_s>" and "X-Orguard-Signature: sha256=<hex of
 * HMAC-SHA256(key, "<unix_s>.<body>")>"; false (both NULL) without a key
 */
bool		webhook_sign(const char *key, const char *body, int64_t unix_s, char **ts_header,
						 char **sig_header);

/* token bucket: burst of a quarter minute's worth, at least one */
typedef struct rate_limiter
{
	double		per_min;
	double		tokens;
	int64_t		last_ms;
} rate_limiter;

void		ratelimit_init(rate_limiter *rl, double per_min, int64_t now_ms);
/* takes one token; returns 0 or the milliseconds to wait before retrying */
int64_t		ratelimit_take(rate_limiter *rl, int64_t now_ms);

/* exponential backoff, capped, with jitter in [50%, 100%]; rand01 in [0,1) */
int64_t		backoff_ms(double initial_s, double max_s, int attempt, double rand01);
/*
 * the wait before a retry: the backoff, or longer when the receiver asked
 * for it with Retry-After (at most max_s, so a bogus value cannot stall
 * paging for hours)
 */
int64_t		retry_delay_ms(int64_t backoff, double retry_after_s, double max_s);

typedef struct pager_stats
{
	uint64_t	sent;
	uint64_t	retries;
	uint64_t	dead_letters;
	uint64_t	pending;
	uint64_t	queued;
	int64_t		failing_since_ms;	/* mono_ms of the head entry's first failed send, 0 if none */
} pager_stats;

typedef struct pager pager;

/* starts the delivery thread; the pager keeps its own copy of cfg */
pager	   *pager_start(const pager_cfg *cfg, const char *spool_root, char **err);
/* writes the event to the spool (fsynced) and wakes the thread */
bool		pager_enqueue(pager *p, const alert_event *ev);
bool		pager_accepts(const pager *p, const alert_event *ev);
const char *pager_name(const pager *p);
pager_stats pager_get_stats(pager *p);
/* stops after the request in flight; whatever is unsent stays spooled */
void		pager_stop(pager *p);

#endif
