/*
 * throttle_exec.c: performs the connection throttle's actions on a node
 * (see throttle_exec.h).  Each action runs under the cluster's runbook
 * lock, the same flock run.c takes, so a promotion run by hand and the
 * throttle never change the cluster at the same time: when the lock is
 * held the poll is skipped and the step is tried again at the next one.
 */
#include "runbooks/throttle_exec.h"

#include "common/log.h"
#include "runbooks/announce.h"
#include "runbooks/journal.h"
#include "runbooks/pgconn.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

throttle_exec *
throttle_exec_new(const char *runbook, const char *node)
{
	throttle_exec *x = xcalloc(1, sizeof(*x));

	x->runbook = xstrdup(runbook);
	x->node = xstrdup(node);
	return x;
}

void
throttle_exec_free(throttle_exec *x)
{
	if (!x)
		return;
	if (x->conn)
		PQfinish(x->conn);
	for (int i = 0; i < x->n_firing; i++)
	{
		free(x->firing[i]);
		free(x->firing_rule[i]);
	}
	free(x->firing);
	free(x->firing_rule);
	if (x->have_settings)
		rb_settings_free(&x->s);
	free(x->runbook);
	free(x->node);
	free(x->last_rule);
	free(x->run);
	free(x->proposal);
	free(x);
}

bool
throttle_exec_configure(throttle_exec *x, const agent_cfg *cfg)
{
	rb_settings fresh;
	config_errors errs = {0};
	const runbook_cfg *rb = NULL;

	for (int i = 0; i < cfg->n_runbooks; i++)
		if (!strcmp(cfg->runbooks[i].name, x->runbook))
			rb = &cfg->runbooks[i];
	if (!rb)
	{
		log_error("runbook %s: no [runbook %s] section", x->runbook, x->runbook);
		return false;
	}
	if (!rb_settings_load(cfg, rb, &fresh, &errs) || fresh.kind != RB_KIND_THROTTLE)
	{
		for (int i = 0; i < errs.n; i++)
			log_error("%s", errs.msg[i]);
		if (errs.n == 0)
			log_error("runbook %s: not a throttle runbook", x->runbook);
		config_errors_free(&errs);
		rb_settings_free(&fresh);
		return false;
	}
	config_errors_free(&errs);
	if (x->have_settings)
		rb_settings_free(&x->s);
	x->s = fresh;
	x->have_settings = true;
	return true;
}

static void
forget(throttle_exec *x, int at)
{
	free(x->firing[at]);
	free(x->firing_rule[at]);
	x->n_firing--;
	x->firing[at] = x->firing[x->n_firing];
	x->firing_rule[at] = x->firing_rule[x->n_firing];
}

void
throttle_exec_alert(throttle_exec *x, const alert_event *ev)
{
	int			at = -1;

	for (int i = 0; i < x->n_firing; i++)
		if (!strcmp(x->firing[i], ev->dedup_key))
			at = i;
	if (ev->status == ALERT_FIRING)
	{
		free(x->last_rule);
		x->last_rule = xstrdup(ev->rule);
		if (at >= 0)
			return;
		x->firing = xrealloc(x->firing, sizeof(char *) * (size_t) (x->n_firing + 1));
		x->firing_rule = xrealloc(x->firing_rule, sizeof(char *) * (size_t) (x->n_firing + 1));
		x->firing_rule[x->n_firing] = xstrdup(ev->rule);
		x->firing[x->n_firing++] = xstrdup(ev->dedup_key);
	}
	else if (at >= 0)
		forget(x, at);
}

void
throttle_exec_prune(throttle_exec *x, const agent_cfg *cfg)
{
	for (int i = 0; i < x->n_firing;)
	{
		const rule_cfg *r = config_rule(cfg, x->firing_rule[i]);

		if (r && r->enabled && r->runbook && !strcmp(r->runbook, x->runbook))
			i++;
		else
			forget(x, i);
	}
}

/* ---------- lock, journal, pagers ---------- */

static const char *
cluster_of(const throttle_exec *x, const node_cfg *n)
{
	/* the node's cluster, as a promote runbook of that cluster locks it */
	return n->cluster && *n->cluster ? n->cluster : x->s.cluster;
}

/* run.c's lock: "JOURNAL.CLUSTER.lock", flock'ed, holding the holder's pid */
static int
try_lock(const throttle_exec *x, const node_cfg *n)
{
	char	   *path = xasprintf("%s.%s.lock", x->s.journal, cluster_of(x, n));
	int			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		log_error("runbook %s: cannot open lock %s: %s", x->runbook, path, strerror(errno));
	else if (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		close(fd);
		fd = -2;
	}
	else if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", (int) getpid());
	free(path);
	return fd;
}

static void announce(throttle_exec *x, const node_cfg *n, const char *run, const char *step,
					 const char *target, const char *result, bool final, const char *detail,
					 int64_t now_us, event_list *out);

/* one journal line of run, announced to the pagers when announce_it */
static void record(throttle_exec *x, const node_cfg *n, const char *run, const char *step,
				   const char *target, const char *result, bool announce_it, int64_t now_us,
				   event_list *out, const char *fmt,...) __attribute__((format(printf, 10, 11)));

static void
record(throttle_exec *x, const node_cfg *n, const char *run, const char *step, const char *target,
	   const char *result, bool announce_it, int64_t now_us, event_list *out, const char *fmt,...)
{
	strbuf		sb;
	va_list		ap;
	rb_journal	j;
	char		err[256];

	sb_init(&sb);
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	log_msg(!strcmp(result, "failed") || !strcmp(result, "refused") ? LOG_WARN : LOG_INFO,
			"runbook %s run %s: %s %s %s%s%s", x->runbook, run, step, target, result,
			*sb.data ? ": " : "", sb.data);
	if (!journal_open(&j, x->s.journal, x->runbook, run, err, sizeof(err)))
		log_error("runbook %s: %s", x->runbook, err);
	else
	{
		if (!journal_write(&j, step, target, result, "%s", sb.data))
			log_error("runbook %s: journal %s is not durable: %s", x->runbook, x->s.journal,
					  strerror(errno));
		journal_close(&j);
	}
	if (announce_it)
		announce(x, n, run, step, target, result,
				 !strcmp(step, "runbook") && journal_result_is_final(result), sb.data, now_us, out);
	sb_free(&sb);
}

static void
announce(throttle_exec *x, const node_cfg *n, const char *run, const char *step, const char *target,
		 const char *result, bool final, const char *detail, int64_t now_us, event_list *out)
{
	rb_announcement a = {
		.cluster = cluster_of(x, n),
		.node = n->name,
		.runbook = x->runbook,
		.run = run,
		.step = step,
		.target = target,
		.result = result,
		.detail = detail,
		.final = final,
		.started_us = x->run && !strcmp(run, x->run) ? x->run_started_us : now_us,
		.now_us = now_us,
	};

	rb_announce_event(&a, events_push(out));
}

/* ---------- the node ---------- */

static bool
ensure_conn(throttle_exec *x, const node_cfg *n, char *err, size_t errlen)
{
	char	   *sql;
	bool		ok;

	if (x->conn && PQstatus(x->conn) == CONNECTION_OK)
		return true;
	if (x->conn)
		PQfinish(x->conn);
	x->conn = rb_connect_node(n, x->s.throttle.statement_timeout_s, err, errlen);
	if (!x->conn)
		return false;
	sql = xasprintf("SET statement_timeout = %d", (int) (x->s.throttle.statement_timeout_s * 1000));
	ok = rb_exec_sql(x->conn, sql, err, errlen);
	free(sql);
	return ok;
}

static void
drop_conn(throttle_exec *x)
{
	if (x->conn)
		PQfinish(x->conn);
	x->conn = NULL;
}

/*
 * The guards: the extension's throttle API is there, and the agent's own
 * role is never refused by it (superuser or in exempt_roles), or the agent
 * could lock itself out of the node it is rescuing.  NULL when all hold,
 * else "guard: why".
 */
static char *
unmet_guard(throttle_exec *x)
{
	char		err[512];
	char	   *v = NULL;
	char	   *why = NULL;

	/* the extension's functions and schema belong to a superuser: look-alikes of the owner's are never called */
	if (!rb_query_value(x->conn, "SELECT COALESCE((SELECT CASE WHEN pg_catalog.bool_and(r.rolsuper) THEN 't' "
						"ELSE 'u' END FROM pg_catalog.pg_proc p "
						"JOIN pg_catalog.pg_namespace s ON s.oid OPERATOR(pg_catalog.=) p.pronamespace "
						"JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) p.proowner "
						"OR r.oid OPERATOR(pg_catalog.=) s.nspowner "
						"WHERE s.nspname OPERATOR(pg_catalog.=) 'odoo_retail_guard' "
						"AND p.proname OPERATOR(pg_catalog.=) ANY ('{throttle,release,drain}'::pg_catalog.name[]) "
						"HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0), 'f')", &v, err, sizeof(err)))
		return xasprintf("extension: %s", err);
	if (v && !strcmp(v, "u"))
		why = xstrdup("extension: odoo_retail_guard.throttle() here is not owned by a superuser, so it is not "
					  "the extension's: not called");
	else if (!v || strcmp(v, "t"))
		why = xstrdup("extension: odoo_retail_guard is not installed in this database");
	free(v);
	v = NULL;
	if (why)
		return why;
	if (!rb_query_value(x->conn,
						"SELECT (r.rolsuper OR r.rolname = ANY (string_to_array(replace("
						"coalesce(current_setting('odoo_retail_guard.exempt_roles', true), ''), ' ', ''), ',')))::text"
						" || ' ' || r.rolname FROM pg_roles r WHERE r.rolname = current_user",
						&v, err, sizeof(err)))
		return xasprintf("exempt_role: %s", err);
	if (!v || strncmp(v, "true ", 5))
		why = xasprintf("exempt_role: the agent's role %s is neither a superuser nor in "
						"odoo_retail_guard.exempt_roles, so the throttle could refuse the agent itself",
						v && strchr(v, ' ') ? strchr(v, ' ') + 1 : "?");
	free(v);
	return why;
}

/*
 * The node's shared-memory incarnation (docs/snapshot.md), read before the
 * rules are set: a crash-restart after that read changes it, so a later
 * comparison sees the rules lost.  0 (unknown) when it cannot be read.
 */
static uint64_t
read_incarnation(throttle_exec *x)
{
	char		err[256];
	char	   *v = NULL;
	uint64_t	inc = 0;

	if (rb_query_value(x->conn, "SELECT shmem_incarnation FROM odoo_retail_guard.node_status", &v,
					   err, sizeof(err)) && v)
		inc = (uint64_t) strtoll(v, NULL, 10);
	free(v);
	return inc;
}

/* sets (or sets again) every rule of the runbook; false with err at the first failure */
static bool
set_rules(throttle_exec *x, const char *reason, strbuf *done, char *err, size_t errlen)
{
	const rb_throttle_settings *t = &x->s.throttle;
	char		ttl[32],
				drain[32],
				maxc[16];

	snprintf(ttl, sizeof(ttl), "%.3f seconds", t->ttl_s);
	snprintf(drain, sizeof(drain), "%.3f seconds", t->drain_idle_in_transaction_s);
	for (int i = 0; i < t->n_targets; i++)
	{
		char	   *name = rb_throttle_rule_name(x->runbook, &t->targets[i]);
		const char *params[7];
		PGresult   *res;

		snprintf(maxc, sizeof(maxc), "%d", t->targets[i].max_connections);
		params[0] = name;
		params[1] = maxc;
		params[2] = ttl;
		params[3] = reason;
		params[4] = t->targets[i].role;
		params[5] = t->targets[i].worker_class;
		params[6] = t->drain_idle_in_transaction_s > 0 ? drain : NULL;
		/* database: the node's Odoo database only, never postgres (bus and cron LISTEN there) */
		res = PQexecParams(x->conn,
						   "SELECT odoo_retail_guard.throttle(name => $1, max_connections => $2::int, "
						   "ttl => $3::interval, reason => $4, role => $5, database => current_database(), "
						   "worker_class => $6, drain_idle_in_transaction => $7::interval), current_database()",
						   7, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			snprintf(err, errlen, "%s: %s", name, PQerrorMessage(x->conn));
			err[strcspn(err, "\n")] = '\0';
			PQclear(res);
			free(name);
			return false;
		}
		if (done)
			sb_printf(done, "%s%s (%s %s, max_connections %d, database %s)", done->len ? "; " : "",
					  name, t->targets[i].worker_class ? "worker_class" : "role",
					  t->targets[i].worker_class ? t->targets[i].worker_class : t->targets[i].role,
					  t->targets[i].max_connections, PQgetvalue(res, 0, 1));
		PQclear(res);
		free(name);
	}
	return true;
}

/* lifts every rule of the runbook; how many were active, -1 on failure */
static int
release_rules(throttle_exec *x, char *err, size_t errlen)
{
	int			released = 0;

	for (int i = 0; i < x->s.throttle.n_targets; i++)
	{
		char	   *name = rb_throttle_rule_name(x->runbook, &x->s.throttle.targets[i]);
		const char *params[1] = {name};
		PGresult   *res = PQexecParams(x->conn, "SELECT odoo_retail_guard.release($1)", 1, NULL, params,
									   NULL, NULL, 0);

		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			snprintf(err, errlen, "%s: %s", name, PQerrorMessage(x->conn));
			err[strcspn(err, "\n")] = '\0';
			PQclear(res);
			free(name);
			return -1;
		}
		released += !strcmp(PQgetvalue(res, 0, 0), "t");
		PQclear(res);
		free(name);
	}
	return released;
}

/* ---------- actions ---------- */

static void
close_run(throttle_exec *x)
{
	free(x->run);
	x->run = NULL;
	x->run_started_us = 0;
}

static char *
reason_text(const throttle_exec *x)
{
	return xasprintf("orguard-agent runbook %s: overload (rule %s) on node %s; "
					 "lower-priority workers are capped", x->runbook,
					 x->last_rule ? x->last_rule : "?", x->node);
}

static double
secs_since(int64_t t0_ms)
{
	return (double) (mono_ms() - t0_ms) / 1000.0;
}

/*
 * RECONNECT closes a server connection only when its client releases it;
 * one kept busy (a long transaction) keeps the pool over the cap.  Past
 * pgbouncer_reconnect_timeout the database is PAUSEd, past
 * pgbouncer_pause_timeout KILLed, then RESUMEd under the new cap.  These
 * waits are bounded and run inside the poll; a failure here only leaves
 * pgbouncer less capped, never the extension's rules unset.
 */
static void
enforce_pgbouncer_cap(throttle_exec *x, const node_cfg *n, int64_t now_us, event_list *out)
{
	const rb_throttle_settings *t = &x->s.throttle;
	const char *db = t->pgbouncer_db;
	double		ct = t->statement_timeout_s;
	int64_t		t0 = mono_ms(),
				t_step;
	int			count,
				rc;
	char		err[512];

	rc = pgb_wait_under_cap(t->pgbouncer_admin, db, t->pgbouncer_pool_size, t->pgbouncer_reconnect_timeout_s,
							ct, &count, err, sizeof(err));
	if (rc < 0)
	{
		record(x, n, x->run, "pgbouncer-reconnect", db, "failed", true, now_us + (mono_ms() - t0) * 1000, out,
			   "%s; the extension's rules still hold", err);
		x->counts.failures++;
		return;
	}
	if (rc == 1)
	{
		record(x, n, x->run, "pgbouncer-reconnect", db, "ok", true, now_us + (mono_ms() - t0) * 1000, out,
			   "%d server connections (cap %d) %.1fs after RECONNECT", count, t->pgbouncer_pool_size,
			   secs_since(t0));
		return;
	}
	record(x, n, x->run, "pgbouncer-reconnect", db, "timeout", true, now_us + (mono_ms() - t0) * 1000, out,
		   "%d server connections still over the cap %d %.1fs after RECONNECT; PAUSE %s", count,
		   t->pgbouncer_pool_size, secs_since(t0), db);
	t_step = mono_ms();
	rc = pgb_pause(t->pgbouncer_admin, db, t->pgbouncer_pause_timeout_s, ct, err, sizeof(err));
	if (rc == 1)
		record(x, n, x->run, "pgbouncer-pause", db, "ok", true, now_us + (mono_ms() - t0) * 1000, out,
			   "PAUSE %s completed in %.1fs: its server connections are released", db, secs_since(t_step));
	else
	{
		/* a PAUSE that timed out says how long it was waited for in err */
		record(x, n, x->run, "pgbouncer-pause", db, rc == 0 ? "timeout" : "failed", true,
			   now_us + (mono_ms() - t0) * 1000, out, "%s; KILL %s", err, db);
		if (rc < 0)
			x->counts.failures++;
		t_step = mono_ms();
		if (pgb_kill(t->pgbouncer_admin, db, ct, err, sizeof(err)))
			record(x, n, x->run, "pgbouncer-kill", db, "ok", true, now_us + (mono_ms() - t0) * 1000, out,
				   "KILL %s in %.1fs: its client and server connections are dropped", db, secs_since(t_step));
		else
		{
			record(x, n, x->run, "pgbouncer-kill", db, "failed", true, now_us + (mono_ms() - t0) * 1000, out,
				   "%s; RESUME %s all the same", err, db);
			x->counts.failures++;
		}
	}
	/* paused or killed, pgbouncer holds new clients back: let them in again under the cap */
	t_step = mono_ms();
	if (!pgb_resume(t->pgbouncer_admin, db, ct, err, sizeof(err)))
	{
		record(x, n, x->run, "pgbouncer-resume", db, "failed", true, now_us + (mono_ms() - t0) * 1000, out,
			   "%s; the release RESUMEs %s again", err, db);
		x->counts.failures++;
		return;
	}
	if (pgb_wait_under_cap(t->pgbouncer_admin, db, t->pgbouncer_pool_size, 0, ct, &count, err, sizeof(err)) < 0)
		count = -1;
	record(x, n, x->run, "pgbouncer-resume", db, "ok", true, now_us + (mono_ms() - t0) * 1000, out,
		   "RESUME %s in %.1fs; %d server connections (cap %d), %.1fs after RECONNECT", db,
		   secs_since(t_step), count, t->pgbouncer_pool_size, secs_since(t0));
}

/*
 * pgbouncer is capped beside the extension's rules; unlike them it has no
 * TTL, so the values it had are journaled for a restarted agent to restore.
 */
static void
cap_pgbouncer(throttle_exec *x, const node_cfg *n, int64_t now_us, event_list *out)
{
	const rb_throttle_settings *t = &x->s.throttle;
	pgb_saved	now;
	char		err[512],
				was[96];

	if (!pgb_cap(t->pgbouncer_admin, t->pgbouncer_db, t->pgbouncer_pool_size, t->statement_timeout_s,
				 &now, err, sizeof(err)))
	{
		record(x, n, x->run, "pgbouncer-cap", t->pgbouncer_db, "failed", true, now_us, out,
			   "%s; the extension's rules still hold", err);
		x->counts.failures++;
		return;
	}
	/* still capped from a release that could not restore: keep the original values */
	if (!x->pgb_capped)
		x->pgb = now;
	x->pgb_capped = true;
	pgb_saved_format(&x->pgb, was, sizeof(was));
	record(x, n, x->run, "pgbouncer-cap", t->pgbouncer_db, "ok", true, now_us, out,
		   "saved %s; default_pool_size and max_db_connections set to %d; RECONNECT %s", was,
		   t->pgbouncer_pool_size, t->pgbouncer_db);
	enforce_pgbouncer_cap(x, n, now_us, out);
}

static void
restore_pgbouncer(throttle_exec *x, const node_cfg *n, const char *run, int64_t now_us, event_list *out)
{
	const rb_throttle_settings *t = &x->s.throttle;
	char		err[512],
				was[96];

	pgb_saved_format(&x->pgb, was, sizeof(was));
	if (!t->pgbouncer_admin)
		return;
	if (!pgb_restore(t->pgbouncer_admin, t->pgbouncer_db, &x->pgb, t->statement_timeout_s, err,
					 sizeof(err)))
	{
		record(x, n, run, "pgbouncer-restore", t->pgbouncer_db, "failed", true, now_us, out,
			   "%s; still capped: to be restored to %s", err, was);
		x->counts.failures++;
		return;
	}
	x->pgb_capped = false;
	record(x, n, run, "pgbouncer-restore", t->pgbouncer_db, "ok", true, now_us, out,
		   "restored %s; RESUME %s", was, t->pgbouncer_db);
}

static void
do_propose(throttle_exec *x, const node_cfg *n, int64_t now_us, event_list *out)
{
	char	   *id = journal_new_run_id(now_us, (int) getpid());
	strbuf		plan;

	free(x->proposal);
	x->proposal = xasprintf("p%s", id);
	free(id);
	sb_init(&plan);
	for (int i = 0; i < x->s.throttle.n_targets; i++)
		sb_printf(&plan, "%s%s %s to %d", i ? ", " : "",
				  x->s.throttle.targets[i].worker_class ? "cap worker_class" : "cap role",
				  x->s.throttle.targets[i].worker_class ? x->s.throttle.targets[i].worker_class
				  : x->s.throttle.targets[i].role, x->s.throttle.targets[i].max_connections);
	/* the journal's detail is the contract's "node=NODE rule=RULE"; the page says the plan */
	record(x, n, x->proposal, "proposal", x->node, "pending", false, now_us, out, "node=%s rule=%s",
		   x->node, x->last_rule ? x->last_rule : "?");
	announce(x, n, x->proposal, "proposal", x->node, "pending", false, plan.data, now_us, out);
	sb_printf(&plan, " for %gs, renewed while the alerts fire; approve with: "
			  "orguard-agent runbook approve %s", x->s.throttle.ttl_s, x->proposal);
	log_warn("runbook %s: proposed on node %s: %s", x->runbook, x->node, plan.data);
	sb_free(&plan);
	x->counts.proposals++;
}

static void
do_engage(throttle_exec *x, const node_cfg *n, int64_t now_us, event_list *out)
{
	char		err[512];
	char	   *why,
			   *reason;
	strbuf		done;
	uint64_t	inc;

	if (!ensure_conn(x, n, err, sizeof(err)))
	{
		log_warn("runbook %s: node %s: cannot engage the throttle: %s; trying again", x->runbook,
				 x->node, err);
		drop_conn(x);
		x->counts.failures++;
		tc_engage_failed(&x->ctl, false);
		return;
	}
	close_run(x);
	x->run = journal_new_run_id(now_us, (int) getpid());
	x->run_started_us = now_us;
	record(x, n, x->run, "runbook", x->node, "started", true, now_us, out, "node=%s rule=%s%s%s",
		   x->node, x->last_rule ? x->last_rule : "?", x->proposal ? " approved=" : "",
		   x->proposal ? x->proposal : "");
	free(x->proposal);
	x->proposal = NULL;
	if ((why = unmet_guard(x)) != NULL)
	{
		record(x, n, x->run, "runbook", x->node, "refused", true, now_us, out, "%s", why);
		free(why);
		close_run(x);
		drop_conn(x);
		x->counts.refusals++;
		tc_engage_failed(&x->ctl, true);
		return;
	}
	reason = reason_text(x);
	sb_init(&done);
	inc = read_incarnation(x);
	if (!set_rules(x, reason, &done, err, sizeof(err)))
	{
		record(x, n, x->run, "engage", x->node, "failed", true, now_us, out, "%s", err);
		/* what was set lifts itself at its TTL, or at the next engagement's release */
		record(x, n, x->run, "runbook", x->node, "failed", true, now_us, out, "the throttle did not engage");
		close_run(x);
		drop_conn(x);
		x->counts.failures++;
		tc_engage_failed(&x->ctl, false);
	}
	else
	{
		record(x, n, x->run, "engage", x->node, "ok", true, now_us, out, "%s; ttl %gs", done.data,
			   x->s.throttle.ttl_s);
		x->incarnation = inc;
		x->counts.engagements++;
		if (x->s.throttle.pgbouncer_admin)
			cap_pgbouncer(x, n, now_us, out);
	}
	sb_free(&done);
	free(reason);
}

/* restoring: the node lost the rules (crash-restart) and they are set again */
static void
do_renew(throttle_exec *x, const node_cfg *n, bool restoring, int64_t now_us, event_list *out)
{
	char		err[512];
	char	   *reason = reason_text(x);
	uint64_t	inc = 0;
	strbuf		done;
	bool		ok;

	sb_init(&done);
	ok = ensure_conn(x, n, err, sizeof(err));
	if (ok)
	{
		inc = read_incarnation(x);
		ok = set_rules(x, reason, restoring ? &done : NULL, err, sizeof(err));
	}
	if (!ok)
	{
		log_warn("runbook %s: node %s: %s the throttle failed: %s; trying again", x->runbook,
				 x->node, restoring ? "restoring" : "renewing", err);
		drop_conn(x);
		x->counts.failures++;
		tc_renew_failed(&x->ctl);
		if (restoring)
			tc_rules_lost(&x->ctl);
	}
	else
	{
		x->incarnation = inc;
		x->counts.renewals++;
		if (restoring)
			record(x, n, x->run ? x->run : "-", "restore", x->node, "ok", true, now_us, out,
				   "the node's shared memory was re-initialized (crash-restart) and its throttle "
				   "rules with it; set again: %s; ttl %gs", done.data, x->s.throttle.ttl_s);
		/* a run taken over after a restart, or a cap that failed: pgbouncer too */
		if (x->s.throttle.pgbouncer_admin && !x->pgb_capped && x->run)
			cap_pgbouncer(x, n, now_us, out);
	}
	sb_free(&done);
	free(reason);
}

/*
 * While a run is open: did the node lose our rules?  A crash-restart
 * re-initializes its shared memory, which empties the rule table; the
 * incarnation tells.  A node that cannot be asked now is asked next poll.
 */
static void
check_rules_kept(throttle_exec *x, const node_cfg *n)
{
	char		err[512];
	uint64_t	now_inc;

	if ((x->ctl.state != TC_ENGAGED && x->ctl.state != TC_RELEASING) || !x->incarnation)
		return;
	if (!ensure_conn(x, n, err, sizeof(err)))
	{
		log_info("runbook %s: node %s: cannot check the throttle rules: %s", x->runbook, x->node, err);
		drop_conn(x);
		return;
	}
	now_inc = read_incarnation(x);
	if (!now_inc)
	{
		/* the connection may have died with the server: open a new one next time */
		drop_conn(x);
		return;
	}
	if (tc_incarnation_changed(x->incarnation, now_inc))
	{
		log_warn("runbook %s: node %s: its shared memory was re-initialized (incarnation %llu -> %llu, "
				 "a crash-restart): the throttle rules are gone; setting them again", x->runbook, x->node,
				 (unsigned long long) x->incarnation, (unsigned long long) now_inc);
		x->incarnation = now_inc;
		tc_rules_lost(&x->ctl);
	}
}

static void
do_drain(throttle_exec *x, const node_cfg *n, int64_t now_us, event_list *out)
{
	char		err[512];
	char	   *v = NULL;

	if (!ensure_conn(x, n, err, sizeof(err)) ||
		!rb_query_value(x->conn, "SELECT odoo_retail_guard.drain()", &v, err, sizeof(err)))
	{
		log_warn("runbook %s: node %s: drain failed: %s", x->runbook, x->node, err);
		drop_conn(x);
		x->counts.failures++;
		return;
	}
	if (v && atoi(v) > 0)
	{
		x->counts.drained += (uint64_t) atoi(v);
		record(x, n, x->run ? x->run : "-", "drain", x->node, "ok", false, now_us, out,
			   "%s sessions idle in transaction longer than %gs terminated", v,
			   x->s.throttle.drain_idle_in_transaction_s);
	}
	free(v);
}

static void
do_release(throttle_exec *x, const node_cfg *n, int64_t now_us, event_list *out)
{
	char		err[512];
	int			released = -1;
	char	   *run = x->run ? xstrdup(x->run) : journal_new_run_id(now_us, (int) getpid());

	if (x->pgb_capped)
		restore_pgbouncer(x, n, run, now_us, out);
	if (ensure_conn(x, n, err, sizeof(err)))
		released = release_rules(x, err, sizeof(err));
	if (released < 0)
	{
		record(x, n, run, "release", x->node, "failed", true, now_us, out,
			   "%s; the rules end by themselves at their TTL (%gs after the last renewal)", err,
			   x->s.throttle.ttl_s);
		record(x, n, run, "runbook", x->node, "failed", true, now_us, out, "release failed");
		x->counts.failures++;
	}
	else
	{
		record(x, n, run, "release", x->node, "ok", true, now_us, out,
			   "%d rules lifted after the alerts were resolved for %gs", released,
			   x->s.throttle.release_after_s);
		record(x, n, run, "runbook", x->node, "done", true, now_us, out, "throttle released");
		x->counts.releases++;
	}
	free(run);
	close_run(x);
	drop_conn(x);
}

/* ---------- one step ---------- */

/* after a restart: an engagement that was never closed is taken over */
static void
check_journal(throttle_exec *x, const node_cfg *n, int64_t now_us, event_list *out)
{
	journal_entries es;
	char		err[256];
	const char *open;

	x->journal_checked = true;
	if (!journal_read(x->s.journal, &es, err, sizeof(err)))
	{
		log_error("runbook %s: %s", x->runbook, err);
		return;
	}
	if ((open = tc_journal_open_run(&es, x->runbook, x->node)) != NULL)
	{
		close_run(x);
		x->run = xstrdup(open);
		x->run_started_us = now_us;
		tc_resume_engaged(&x->ctl, now_us);
		if (pgb_saved_parse(journal_step_detail(&es, open, "pgbouncer-cap"), &x->pgb))
			x->pgb_capped = true;
		record(x, n, x->run, "runbook", x->node, "resumed", true, now_us, out,
			   "an engagement interrupted by a restart; its rules are set again while the alerts fire");
	}
	journal_entries_free(&es);
}

static tc_decision
proposal_decision(throttle_exec *x)
{
	journal_entries es;
	char		err[256];
	tc_decision d = TC_UNDECIDED;

	if (!x->proposal)
		return d;
	if (!journal_read(x->s.journal, &es, err, sizeof(err)))
	{
		log_error("runbook %s: %s", x->runbook, err);
		return d;
	}
	d = tc_journal_decision(&es, x->proposal);
	journal_entries_free(&es);
	return d;
}

void
throttle_exec_poll(throttle_exec *x, const node_cfg *n, int64_t now_us, event_list *out)
{
	tc_params	p;
	throttle_ctl next;
	tc_decision decision = TC_UNDECIDED;
	unsigned	act;
	int			lock;
	bool		restoring;

	if (!x->have_settings)
		return;
	p.page_first = x->s.mode == RB_MODE_PAGE_FIRST;
	p.drain = x->s.throttle.drain_idle_in_transaction_s > 0;
	p.ttl_us = (int64_t) (x->s.throttle.ttl_s * 1e6);
	p.release_after_us = (int64_t) (x->s.throttle.release_after_s * 1e6);
	p.approve_within_us = (int64_t) (x->s.approve_within_s * 1e6);
	if (!x->journal_checked)
		check_journal(x, n, now_us, out);
	check_rules_kept(x, n);
	if (x->ctl.state == TC_PROPOSED)
		decision = proposal_decision(x);
	next = x->ctl;
	act = tc_step(&next, &p, x->n_firing > 0, decision, now_us);
	restoring = x->ctl.restore_due && !next.restore_due && (act & TC_ACT_RENEW);
	if (x->ctl.state == TC_PROPOSED && next.state != TC_PROPOSED && !(act & TC_ACT_ENGAGE))
	{
		/* rejected, or no answer in time: the proposal is closed */
		if (decision == TC_UNDECIDED)
			record(x, n, x->proposal, "proposal", x->node, "expired", true, now_us, out,
				   "node=%s rule=%s", x->node, x->last_rule ? x->last_rule : "?");
		free(x->proposal);
		x->proposal = NULL;
	}
	if (act == 0 || act == TC_ACT_PROPOSE)
	{
		x->ctl = next;
		if (act)
			do_propose(x, n, now_us, out);
		return;
	}
	lock = try_lock(x, n);
	if (lock == -2)
	{
		log_info("runbook %s: node %s: another runbook holds cluster %s; throttle step skipped this poll",
				 x->runbook, x->node, cluster_of(x, n));
		x->counts.lock_skips++;
		return;
	}
	if (lock < 0)
	{
		x->counts.failures++;
		return;
	}
	x->ctl = next;
	if (act & TC_ACT_ENGAGE)
		do_engage(x, n, now_us, out);
	if (act & TC_ACT_RENEW)
		do_renew(x, n, restoring, now_us, out);
	if ((act & TC_ACT_DRAIN) && (x->ctl.state == TC_ENGAGED || x->ctl.state == TC_RELEASING))
		do_drain(x, n, now_us, out);
	if (act & TC_ACT_RELEASE)
		do_release(x, n, now_us, out);
	close(lock);
}
