/*
 * promote_patroni.c: "orguard-agent runbook promote" with the Patroni
 * backend.
 *
 * Patroni holds the leader lock in its DCS; an agent that promoted by
 * itself beside it would race it (and other agents).  So this executor
 * never touches PostgreSQL's role: it reads GET /cluster, chooses or
 * checks the candidate, asks with POST /failover (no live leader) or POST
 * /switchover (--switchover, a live leader), waits until /cluster shows
 * the candidate leading and running, then checks with libpq that the new
 * leader takes a write.
 *
 * Steps: cluster, choose, request, leader, verify.  A resumed run whose
 * request was already sent does not send it again; it waits and verifies.
 */
#include "runbooks/patroni_api.h"
#include "runbooks/patroni_plan.h"
#include "runbooks/pgconn.h"
#include "runbooks/promote.h"
#include "runbooks/run.h"
#include "common/log.h"
#include "common/util.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_MS 250

/* GET /cluster, parsed; false with err filled */
static bool
read_cluster(const patroni_api *api, patroni_cluster *c, const char **from, char *err, size_t errlen)
{
	patroni_reply r;
	char		perr[256];
	bool		ok;

	if (!patroni_api_get(api, "/cluster", &r))
	{
		snprintf(err, errlen, "%s", r.error);
		return false;
	}
	*from = r.url;
	ok = patroni_cluster_parse(r.body, c, perr, sizeof(perr));
	if (!ok)
		snprintf(err, errlen, "%s/cluster: %s", r.url, perr);
	patroni_reply_free(&r);
	return ok;
}

/* the answer's first line, for the journal (Patroni answers POSTs in plain text) */
static void
first_line(const char *body, char *out, size_t len)
{
	size_t		n = body ? strcspn(body, "\r\n") : 0;

	snprintf(out, len, "%.*s", (int) (n < len ? n : len - 1), body ? body : "");
}

static PGconn *
connect_member(const rb_settings *s, const patroni_member *m, char *err, size_t errlen)
{
	const node_cfg *n = s->promote.patroni.node;
	const char *keys[8];
	const char *vals[8];
	char		port[16],
				tmo[16];
	int			i = 0;
	PGconn	   *c;

	snprintf(port, sizeof(port), "%d", m->port);
	/* libpq counts whole seconds and treats 1 as 2 */
	snprintf(tmo, sizeof(tmo), "%d", s->promote.probe_timeout_s < 2 ? 2 : (int) (s->promote.probe_timeout_s + 0.5));
	/* the node's conninfo gives user and database; Patroni says where the member listens */
	keys[i] = "dbname";
	vals[i++] = n->conninfo;
	keys[i] = "host";
	vals[i++] = m->host;
	keys[i] = "port";
	vals[i++] = port;
	keys[i] = "connect_timeout";
	vals[i++] = tmo;
	keys[i] = "application_name";
	vals[i++] = "orguard-agent runbook";
	if (n->password)
	{
		keys[i] = "password";
		vals[i++] = n->password;
	}
	keys[i] = NULL;
	vals[i] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK)
	{
		const char *msg = c ? PQerrorMessage(c) : "out of memory";

		snprintf(err, errlen, "%.*s", (int) strcspn(msg, "\n"), msg);
		PQfinish(c);
		return NULL;
	}
	if (!rb_pin_search_path(c, err, errlen))
	{
		PQfinish(c);
		return NULL;
	}
	return c;
}

/*
 * Asks every member's PostgreSQL whether it is in recovery: Patroni's view
 * of roles can be older than what happened on the node.
 */
static void
ask_members(const rb_settings *s, patroni_cluster *c)
{
	for (int i = 0; i < c->n; i++)
	{
		patroni_member *m = &c->m[i];
		char		err[256];
		char	   *v = NULL;
		PGconn	   *pg;

		m->pg = PATRONI_PG_UNKNOWN;
		if (!m->host || m->port <= 0 || !(pg = connect_member(s, m, err, sizeof(err))))
			continue;
		if (rb_query_value(pg, "SELECT pg_catalog.pg_is_in_recovery()", &v, err, sizeof(err)) && v)
			m->pg = !strcmp(v, "t") ? PATRONI_PG_STANDBY : PATRONI_PG_PRIMARY;
		free(v);
		PQfinish(pg);
	}
}

/* one write on the new leader: in a transaction that is rolled back, nothing stays */
static bool
takes_a_write(PGconn *c, char *detail, size_t len)
{
	PGresult   *r = PQexec(c, "BEGIN; CREATE TEMP TABLE orguard_write_check (at pg_catalog.timestamptz) ON COMMIT DROP; "
						   "INSERT INTO pg_temp.orguard_write_check VALUES (pg_catalog.now()); "
						   "SELECT pg_catalog.txid_current(), pg_catalog.pg_is_in_recovery(), "
						   "(SELECT timeline_id FROM pg_catalog.pg_control_checkpoint())");
	bool		ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		!strcmp(PQgetvalue(r, 0, 1), "f");

	if (ok)
		snprintf(detail, len, "takes writes: xid %s", PQgetvalue(r, 0, 0));
	else
	{
		const char *msg = PQresultErrorMessage(r);

		snprintf(detail, len, "%.*s", (int) strcspn(msg, "\n"), *msg ? msg : "still in recovery");
	}
	PQclear(r);
	PQclear(PQexec(c, "ROLLBACK"));
	return ok;
}

static bool
verify_writes(const rb_settings *s, const patroni_member *m, int64_t deadline_ms, char *detail, size_t len)
{
	char		err[512] = "";

	for (;;)
	{
		PGconn	   *c = connect_member(s, m, err, sizeof(err));

		if (c)
		{
			bool		ok = takes_a_write(c, detail, len);

			PQfinish(c);
			if (ok)
				return true;
			snprintf(err, sizeof(err), "%.400s", detail);
		}
		if (mono_ms() >= deadline_ms)
		{
			snprintf(detail, len, "%s:%d does not take writes: %s", m->host, m->port, err);
			return false;
		}
		usleep(POLL_MS * 1000);
	}
}

static char *
run_params(const rb_promote_request *req, const char *candidate)
{
	return xasprintf("promote via patroni%s%s%s", req->switchover ? " switchover" : " failover",
					 candidate ? " to " : "", candidate ? candidate : "");
}

int
rb_promote_patroni(const rb_settings *s, const rb_promote_request *req)
{
	const rb_promote_settings *p = &s->promote;
	const char *want = req->candidate ? req->candidate : p->patroni.candidate;
	patroni_api api;
	patroni_cluster c = {0};
	patroni_request preq = {want, req->switchover, p->max_lag_bytes};
	patroni_decision d;
	patroni_reply pr = {0};
	rb_run		r;
	char		err[1024],
				detail[1024],
				answer[256];
	const char *from = NULL,
			   *path;
	char	   *params,
			   *body = NULL,
			   *desc,
			   *cand = NULL;
	int			rc;
	int64_t		t_req = 0,
				t_answer,
				t_leader,
				deadline;
	bool		sent_before;

	if (!patroni_api_init(&api, &p->patroni, err, sizeof(err)))
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return RB_EXIT_FAILED;
	}
	params = run_params(req, want);
	rc = rb_run_begin(&r, s, params, req->dry_run, err, sizeof(err));
	free(params);
	if (rc != RB_EXIT_DONE)
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		patroni_api_clear(&api);
		return rc;
	}

	/* 1. what Patroni sees */
	if (!read_cluster(&api, &c, &from, err, sizeof(err)))
	{
		rc = rb_run_finish(&r, "refused", RB_GUARD_UNREACHABLE ": no Patroni member answers GET /cluster: %s", err);
		goto out;
	}
	desc = patroni_describe(&c);
	rb_run_step(&r, "cluster", from, "ok", "%s", desc);
	free(desc);

	/*
	 * 2. a resumed run that already asked: the candidate may lead by now, so
	 * deciding again would refuse (leader alive); wait for it instead
	 */
	sent_before = want && rb_run_step_done(&r, "request", want);
	if (sent_before)
	{
		cand = xstrdup(want);
		rb_run_step(&r, "request", cand, "skipped", "sent by the interrupted run; not sent again");
	}
	else
	{
		ask_members(s, &c);
		if (!patroni_decide(&c, &preq, &d))
		{
			rc = rb_run_finish(&r, "refused", "%s: %s", d.guard, d.reason);
			goto out;
		}
		cand = xstrdup(c.m[d.candidate].name);
		rb_run_step(&r, "choose", cand, "ok", "%s", d.reason);
		path = d.action == PATRONI_SWITCHOVER ? "/switchover" : "/failover";
		body = d.action == PATRONI_SWITCHOVER ? patroni_switchover_body(c.m[d.leader].name, cand)
			: patroni_failover_body(cand);
		if (req->dry_run)
		{
			rb_plan_text(&r, "plan: POST %s %s to %s, wait up to %.0f s until %s leads and runs, verify a write on %s:%d\n",
				   path, body, p->patroni.urls[0], p->promote_timeout_s, cand, c.m[d.candidate].host,
				   c.m[d.candidate].port);
			rc = rb_run_finish(&r, "done", "nothing changed");
			goto out;
		}

		/* 3. ask Patroni: it answers once it has acted (or given up) */
		t_req = mono_ms();
		if (!patroni_api_post(&api, path, body, p->promote_timeout_s, &pr))
		{
			rb_run_step(&r, "request", cand, "failed", "POST %s %s: %s", path, body, pr.error);
			rc = rb_run_finish(&r, "failed", "%s: no answer from Patroni (it may still act: check GET /cluster)",
							   path);
			goto out;
		}
		t_answer = mono_ms();
		first_line(pr.body, answer, sizeof(answer));
		if (pr.status == 412 || pr.status == 400)
		{
			/* Patroni's own precondition: it did nothing */
			rb_run_step(&r, "request", cand, "refused", "POST %s%s %s: HTTP %ld %s", pr.url, path, body,
						pr.status, answer);
			rc = rb_run_finish(&r, "refused", "patroni: %s", answer);
			goto out;
		}
		if (pr.status == 401 || pr.status == 403)
		{
			rb_run_step(&r, "request", cand, "failed", "POST %s%s: HTTP %ld %s", pr.url, path, pr.status, answer);
			rc = rb_run_finish(&r, "failed", "%s refused the credentials (patroni_auth_file)", pr.url);
			goto out;
		}
		if (pr.status < 200 || pr.status >= 300)
		{
			/* 503 "failed" or "status unknown": /cluster tells what happened */
			rb_run_step(&r, "request", cand, "failed", "POST %s%s %s: HTTP %ld %s (%.2f s)", pr.url, path, body,
						pr.status, answer, (double) (t_answer - t_req) / 1000.0);
		}
		else
			rb_run_step(&r, "request", cand, "ok", "POST %s%s %s: HTTP %ld %s (%.2f s)", pr.url, path, body,
						pr.status, answer, (double) (t_answer - t_req) / 1000.0);
	}

	/* 4. the candidate leads and runs */
	t_req = sent_before ? mono_ms() : t_req;
	deadline = mono_ms() + (int64_t) (p->promote_timeout_s * 1000);
	for (;;)
	{
		patroni_cluster now = {0};

		if (read_cluster(&api, &now, &from, err, sizeof(err)))
		{
			patroni_cluster_free(&c);
			c = now;
			if (patroni_promoted(&c, cand))
				break;
		}
		if (mono_ms() >= deadline)
		{
			desc = patroni_describe(&c);
			rb_run_step(&r, "leader", cand, "failed", "not leading and running within %.0f s: %s",
						p->promote_timeout_s, desc);
			free(desc);
			rc = rb_run_finish(&r, "failed", "Patroni did not make %s the leader", cand);
			goto out;
		}
		usleep(POLL_MS * 1000);
	}
	t_leader = mono_ms();
	desc = patroni_describe(&c);
	rb_run_step(&r, "leader", cand, "ok", "%.2f s after the request: %s", (double) (t_leader - t_req) / 1000.0, desc);
	free(desc);

	/* 5. it takes writes */
	{
		const patroni_member *m = &c.m[patroni_member_index(&c, cand)];

		if (!m->host || m->port <= 0)
		{
			rb_run_step(&r, "verify", cand, "failed", "Patroni reports no host and port for %s", cand);
			rc = rb_run_finish(&r, "failed", "%s leads but its writes could not be checked", cand);
			goto out;
		}
		if (!verify_writes(s, m, mono_ms() + (int64_t) (p->promote_timeout_s * 1000), detail, sizeof(detail)))
		{
			rb_run_step(&r, "verify", cand, "failed", "%s", detail);
			rc = rb_run_finish(&r, "failed", "%s leads but does not take writes", cand);
			goto out;
		}
		rb_run_step(&r, "verify", cand, "ok", "%s:%d %s", m->host, m->port, detail);
	}
	rc = rb_run_finish(&r, "done", "%s leads; %.2f s from the request to a verified write (leader after %.2f s)",
					   cand, (double) (mono_ms() - t_req) / 1000.0, (double) (t_leader - t_req) / 1000.0);
out:
	patroni_reply_free(&pr);
	patroni_cluster_free(&c);
	patroni_api_clear(&api);
	free(body);
	free(cand);
	return rc;
}
