/*
 * pager.c: one delivery thread per pager, draining its spool in order.
 *
 * The thread owns everything below the spool: it reads the oldest entry,
 * waits for the rate limiter, sends, and acknowledges (deletes) only on a
 * 2xx.  Retryable failures back off exponentially with jitter and retry
 * the same entry, so order is kept; a permanent refusal moves the entry to
 * the dead-letter directory and logs the receiver's answer.  The main
 * thread only appends to the spool and signals the condition variable.
 */
#include "deliver/pager.h"
#include "common/cond_wait.h"
#include "common/log.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pager
{
	pager_cfg	cfg;			/* own copy; strings owned */
	spool	   *sp;
	pthread_t	thread;
	/* guards stop, kick and stats (the daemon enqueues and reads stats) */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* signalled under lock on stop or kick */
	bool		stop;
	bool		kick;
	pager_stats stats;
	rate_limiter rl;			/* the pager thread's own: no lock */
	unsigned int seed;			/* the pager thread's own: no lock */
};

void
ratelimit_init(rate_limiter *rl, double per_min, int64_t now_ms)
{
	rl->per_min = per_min;
	rl->tokens = per_min > 0 ? fmax(1.0, per_min / 4.0) : 0;
	rl->last_ms = now_ms;
}

int64_t
ratelimit_take(rate_limiter *rl, int64_t now_ms)
{
	double		burst,
				rate_ms;

	if (rl->per_min <= 0)
		return 0;
	burst = fmax(1.0, rl->per_min / 4.0);
	rate_ms = rl->per_min / 60000.0;
	if (now_ms > rl->last_ms)
	{
		rl->tokens = fmin(burst, rl->tokens + (double) (now_ms - rl->last_ms) * rate_ms);
		rl->last_ms = now_ms;
	}
	if (rl->tokens >= 1.0)
	{
		rl->tokens -= 1.0;
		return 0;
	}
	return (int64_t) ceil((1.0 - rl->tokens) / rate_ms);
}

int64_t
backoff_ms(double initial_s, double max_s, int attempt, double rand01)
{
	double		d = initial_s * pow(2.0, attempt < 30 ? attempt : 30);

	if (d > max_s)
		d = max_s;
	return (int64_t) (d * 1000.0 * (0.5 + 0.5 * rand01));
}

int64_t
retry_delay_ms(int64_t backoff, double retry_after_s, double max_s)
{
	double		asked = retry_after_s < max_s ? retry_after_s : max_s;
	int64_t		asked_ms = (int64_t) (asked * 1000.0);

	return asked_ms > backoff ? asked_ms : backoff;
}

const char *
pager_name(const pager *p)
{
	return p->cfg.name;
}

bool
pager_accepts(const pager *p, const alert_event *ev)
{
	return ev->sev >= p->cfg.min_severity;
}

/* sleeps up to ms; returns false when asked to stop */
static bool
pause_ms(pager *p, int64_t ms)
{
	return cond_wait_ms(&p->lock, &p->cond, &p->stop, ms);
}

static send_result
deliver(pager *p, const alert_event *ev, http_response *resp)
{
	const char *hdrs[4] = {"Content-Type: application/json", NULL, NULL, NULL};
	char	   *body = NULL;
	char	   *url = NULL;
	char	   *sig = NULL;
	char	   *ts = NULL;
	http_request req = {0};

	switch (p->cfg.kind)
	{
		case PAGER_PAGERDUTY:
			body = pagerduty_payload(&p->cfg, ev);
			url = xstrdup(p->cfg.url);
			break;
		case PAGER_ALERTMANAGER:
			body = alertmanager_payload(&p->cfg, ev, now_us());
			url = alertmanager_url(p->cfg.url);
			break;
		case PAGER_WEBHOOK:
			body = webhook_payload(ev);
			url = xstrdup(p->cfg.url);
			/* signed at each attempt: the timestamp is the send time */
			if (webhook_sign(p->cfg.secret, body, now_us() / 1000000, &ts, &sig))
			{
				hdrs[1] = ts;
				hdrs[2] = sig;
			}
			break;
	}
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = strlen(body);
	req.timeout_s = p->cfg.timeout_s;
	req.tls_verify = p->cfg.tls_verify;
	req.ca_file = p->cfg.ca_file;
	http_post(&req, resp);
	if (sig)
		explicit_bzero(sig, strlen(sig));
	free(sig);
	free(ts);
	/* the PagerDuty body holds the routing key */
	explicit_bzero(body, strlen(body));
	free(body);
	free(url);
	return http_classify(resp);
}

/*
 * delivers one spooled entry; returns false when stopping.  An entry that
 * cannot be read (a directory, no permission) is dead-lettered like a
 * malformed one, so that it cannot hold up the entries behind it.
 */
static bool
handle_entry(pager *p, uint64_t seq)
{
	char	   *data = spool_read(p->sp, seq);
	alert_event ev;
	int			attempt = 0;

	if (!data && !spool_exists(p->sp, seq))
		return true;			/* already gone */
	if (!data || !alert_from_json(data, &ev))
	{
		log_error("pager %s: spool entry %llu is unreadable; moved to dead-letter",
				  p->cfg.name, (unsigned long long) seq);
		spool_dead_letter(p->sp, seq);
		free(data);
		pthread_mutex_lock(&p->lock);
		p->stats.dead_letters++;
		pthread_mutex_unlock(&p->lock);
		return true;
	}
	free(data);
	for (;;)
	{
		int64_t		wait = ratelimit_take(&p->rl, mono_ms());
		http_response resp;
		send_result r;

		if (wait > 0)
		{
			if (!pause_ms(p, wait))
				break;
			continue;
		}
		r = deliver(p, &ev, &resp);
		if (r == SEND_OK)
		{
			spool_ack(p->sp, seq);
			pthread_mutex_lock(&p->lock);
			p->stats.failing_since_ms = 0;
			pthread_mutex_unlock(&p->lock);
			log_debug("pager %s: delivered %s %s", p->cfg.name,
					  ev.status == ALERT_FIRING ? "firing" : "resolved", ev.dedup_key);
			pthread_mutex_lock(&p->lock);
			p->stats.sent++;
			pthread_mutex_unlock(&p->lock);
			alert_free(&ev);
			return true;
		}
		if (r == SEND_PERMANENT)
		{
			log_error("pager %s: receiver refused %s with HTTP %ld (%s); kept in dead-letter",
					  p->cfg.name, ev.dedup_key, resp.status, resp.body);
			spool_dead_letter(p->sp, seq);
			pthread_mutex_lock(&p->lock);
			p->stats.dead_letters++;
			p->stats.failing_since_ms = 0;
			pthread_mutex_unlock(&p->lock);
			alert_free(&ev);
			return true;
		}
		{
			int64_t		backoff = backoff_ms(p->cfg.backoff_initial_s, p->cfg.backoff_max_s, attempt++,
											 (double) rand_r(&p->seed) / ((double) RAND_MAX + 1.0));
			int64_t		delay = retry_delay_ms(backoff, resp.retry_after_s, p->cfg.backoff_max_s);

			if (resp.status)
				log_warn("pager %s: HTTP %ld, retrying in %lldms", p->cfg.name, resp.status,
						 (long long) delay);
			else
				log_warn("pager %s: %s, retrying in %lldms", p->cfg.name, resp.error,
						 (long long) delay);
			pthread_mutex_lock(&p->lock);
			p->stats.retries++;
			if (!p->stats.failing_since_ms)
				p->stats.failing_since_ms = mono_ms();
			pthread_mutex_unlock(&p->lock);
			if (!pause_ms(p, delay))
				break;
		}
	}
	alert_free(&ev);
	return false;
}

static void *
run(void *arg)
{
	pager	   *p = arg;

	for (;;)
	{
		uint64_t   *seqs;
		int			n = spool_list(p->sp, &seqs);
		bool		go = true;
		bool		progress = false;

		pthread_mutex_lock(&p->lock);
		p->stats.pending = (uint64_t) n;
		p->kick = false;
		pthread_mutex_unlock(&p->lock);
		for (int i = 0; i < n && go; i++)
		{
			go = handle_entry(p, seqs[i]);
			progress = progress || !spool_exists(p->sp, seqs[i]);
			pthread_mutex_lock(&p->lock);
			if (p->stats.pending > 0)
				p->stats.pending--;
			if (p->stop)
				go = false;
			pthread_mutex_unlock(&p->lock);
		}
		free(seqs);
		if (!go)
			break;
		pthread_mutex_lock(&p->lock);

		/*
		 * Nothing left, or nothing could be removed (an entry that can be
		 * neither sent nor moved): wait for new work, never spin.
		 */
		if (n == 0 || !progress)
		{
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			while (!p->stop && !p->kick)
				if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) != 0)
					break;
		}
		go = !p->stop;
		pthread_mutex_unlock(&p->lock);
		if (!go)
			break;
	}
	return NULL;
}

static void
copy_cfg(pager_cfg *dst, const pager_cfg *src)
{
	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->url = src->url ? xstrdup(src->url) : NULL;
	dst->secret = src->secret ? xstrdup(src->secret) : NULL;
	dst->ca_file = src->ca_file ? xstrdup(src->ca_file) : NULL;
}

pager *
pager_start(const pager_cfg *cfg, const char *spool_root, char **err)
{
	pager	   *p = xcalloc(1, sizeof(pager));

	p->sp = spool_open(spool_root, cfg->name, err);
	if (!p->sp)
	{
		free(p);
		return NULL;
	}
	copy_cfg(&p->cfg, cfg);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	ratelimit_init(&p->rl, cfg->rate_per_min, mono_ms());
	p->seed = (unsigned int) now_us();
	if (pthread_create(&p->thread, NULL, run, p) != 0)
	{
		*err = xasprintf("cannot start the thread of pager %s", cfg->name);
		spool_close(p->sp);
		free(p->cfg.name);
		free(p->cfg.url);
		free(p->cfg.secret);
		free(p->cfg.ca_file);
		free(p);
		return NULL;
	}
	return p;
}

bool
pager_enqueue(pager *p, const alert_event *ev)
{
	char	   *json = alert_to_json(ev);
	char	   *err = NULL;
	bool		ok = spool_put(p->sp, json, NULL, &err);

	free(json);
	if (!ok)
	{
		log_error("pager %s: %s", p->cfg.name, err);
		free(err);
		return false;
	}
	pthread_mutex_lock(&p->lock);
	p->stats.queued++;
	p->stats.pending++;
	p->kick = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return true;
}

pager_stats
pager_get_stats(pager *p)
{
	pager_stats s;

	pthread_mutex_lock(&p->lock);
	s = p->stats;
	pthread_mutex_unlock(&p->lock);
	return s;
}

void
pager_stop(pager *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	spool_close(p->sp);
	free(p->cfg.name);
	free(p->cfg.url);
	if (p->cfg.secret)
		explicit_bzero(p->cfg.secret, strlen(p->cfg.secret));
	free(p->cfg.secret);
	free(p->cfg.ca_file);
	free(p);
}
