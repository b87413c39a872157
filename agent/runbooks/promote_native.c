/*
 * promote_native.c: "orguard-agent runbook promote" with the native
 * backend.
 *
 * A single agent has no lease to make the old primary step down by itself
 * (as a distributed configuration store gives Patroni), so it fences
 * explicitly and only then promotes.  The primary counts as dead after `probes` consecutive failed
 * probes spanning at least `min_dead_for`, and only if the chosen standby's
 * WAL receiver no longer streams from it.  While the primary answers, each
 * probe records its flush position and its synchronous standbys: that is
 * what bounds the data loss of the promotion (max_lag_bytes).
 *
 * Agents on several hosts agree through the standbys (promote_lease.h):
 * a run locks a majority of them and records its choice there before it
 * acts; a later run can only promote the same standby.  Right before
 * pg_promote() it looks again: no other standby may answer as a primary,
 * the lease must still be held and the journal must not say the primary was
 * already failed over from.
 *
 * Steps: primary-dead, lease, standby, choose, claim, fence, recheck,
 * promote, repoint (each other standby), traffic.  A re-run after a crash
 * skips what the journal says was done, and never promotes twice (the
 * candidate it chose, already out of recovery, is verified instead).
 */
#include "runbooks/exec.h"
#include "runbooks/fenced.h"
#include "runbooks/pgconn.h"
#include "runbooks/promote.h"
#include "runbooks/promote_lease.h"
#include "runbooks/promote_plan.h"
#include "runbooks/rbutil.h"
#include "runbooks/run.h"
#include "common/log.h"
#include "common/util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PROBES 4096

typedef struct primary_view
{
	probe_sample h[MAX_PROBES];
	int			n;
	bool		seen;			/* answered at least once */
	bool		lsn_known;
	uint64_t	flush_lsn;
	uint64_t	sysid;
	/* standbys in sync or quorum state at the last sample */
	char	  **sync_names;
	promote_sync *sync_states;
	int			n_sync;
	char		last_error[512];
	int64_t		first_fail_ms;
} primary_view;

typedef struct standby_view
{
	const node_cfg *node;
	promote_candidate c;
	uint32_t	timeline;
	char		error[512];
	PGconn	   *lease;			/* the session holding the promotion lock, or NULL */
	char	   *claim;			/* the claim setting found there, or NULL */
} standby_view;

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void) sig;
	stop_requested = 1;
}

static void
split_sample(const char *v, uint64_t *lsn, uint64_t *sysid, bool *in_recovery)
{
	char		buf[128];
	char	   *a,
			   *b,
			   *save = NULL;

	snprintf(buf, sizeof(buf), "%s", v);
	a = strtok_r(buf, " ", &save);
	b = strtok_r(NULL, " ", &save);
	*in_recovery = a && !strcmp(a, "t");
	if (b)
		rb_lsn_parse(b, lsn);
	if ((a = strtok_r(NULL, " ", &save)))
		*sysid = strtoull(a, NULL, 10);
}

static void
free_sync_states(primary_view *pv)
{
	for (int i = 0; i < pv->n_sync; i++)
		free(pv->sync_names[i]);
	free(pv->sync_names);
	free(pv->sync_states);
	pv->sync_names = NULL;
	pv->sync_states = NULL;
	pv->n_sync = 0;
}

/* the standbys the primary waited for, by exact application_name */
static void
keep_sync_states(primary_view *pv, PGresult *r)
{
	int			n = PQntuples(r);

	free_sync_states(pv);
	pv->sync_names = xcalloc((size_t) n + 1, sizeof(char *));
	pv->sync_states = xcalloc((size_t) n + 1, sizeof(promote_sync));
	for (int i = 0; i < n; i++)
	{
		pv->sync_names[i] = xstrdup(PQgetvalue(r, i, 0));
		pv->sync_states[i] = !strcmp(PQgetvalue(r, i, 1), "sync") ? PROMOTE_SYNC : PROMOTE_QUORUM;
	}
	pv->n_sync = n;
}

/*
 * One probe of the primary, dated `started`; records its position when it
 * answers.  Probes are dated by their scheduled start, which are
 * probe_interval apart: `probes` failures then span (probes - 1) intervals
 * exactly, and a failure that took a few ms longer than the next one does
 * not cost one more probe against min_dead_for.
 */
static bool
probe_primary(const rb_settings *s, primary_view *pv, int64_t started)
{
	const rb_promote_settings *p = &s->promote;
	char		err[512];

	PGconn	   *c = rb_connect_node(p->primary, p->probe_timeout_s, err, sizeof(err));
	char	   *v = NULL;
	PGresult   *sync = NULL;
	bool		ok = false;

	if (c)
	{
		char		tmo[64];

		snprintf(tmo, sizeof(tmo), "SET statement_timeout = %d", (int) (p->probe_timeout_s * 1000));
		if (rb_exec_sql(c, tmo, err, sizeof(err)) &&
			rb_query_value(c, "SELECT pg_catalog.pg_is_in_recovery()::text || ' ' || "
						   "CASE WHEN pg_catalog.pg_is_in_recovery() THEN '0/0' "
						   "ELSE pg_catalog.pg_current_wal_flush_lsn()::text END || ' ' || "
						   "(SELECT system_identifier FROM pg_catalog.pg_control_system())", &v, err, sizeof(err)) && v &&
			(sync = PQexec(c, "SELECT application_name, sync_state FROM pg_catalog.pg_stat_replication "
						   "WHERE sync_state IN ('sync', 'quorum')")) != NULL &&
			PQresultStatus(sync) == PGRES_TUPLES_OK)
		{
			uint64_t	lsn = 0,
						sysid = 0;
			bool		rec;

			split_sample(v, &lsn, &sysid, &rec);
			if (rec)
				snprintf(err, sizeof(err), "%s is in recovery: not a primary", p->primary->name);
			else
			{
				ok = true;
				pv->seen = true;
				pv->lsn_known = true;
				pv->flush_lsn = lsn;
				pv->sysid = sysid;
				keep_sync_states(pv, sync);
			}
		}
		else if (sync)
			snprintf(err, sizeof(err), "%s", PQresultErrorMessage(sync));
	}
	if (!ok)
		snprintf(pv->last_error, sizeof(pv->last_error), "%.*s", (int) strcspn(err, "\n"), err);
	free(v);
	PQclear(sync);
	PQfinish(c);
	if (pv->n == MAX_PROBES)
	{
		memmove(pv->h, pv->h + MAX_PROBES / 2, sizeof(probe_sample) * (MAX_PROBES / 2));
		pv->n = MAX_PROBES / 2;
	}
	pv->h[pv->n].at_ms = started;
	pv->h[pv->n].ok = ok;
	pv->n++;
	if (!ok && (pv->n == 1 || pv->h[pv->n - 2].ok))
		pv->first_fail_ms = pv->h[pv->n - 1].at_ms;
	return ok;
}

static void
sample_standby(const rb_settings *s, const primary_view *pv, standby_view *sv)
{
	char		err[512];
	PGconn	   *c = rb_connect_node(sv->node, s->promote.probe_timeout_s, err, sizeof(err));
	PGresult   *r;

	memset(&sv->c, 0, sizeof(sv->c));
	sv->c.name = sv->node->name;
	sv->error[0] = '\0';
	if (!c)
	{
		snprintf(sv->error, sizeof(sv->error), "%s", err);
		return;
	}
	r = PQexec(c, "SELECT pg_catalog.pg_is_in_recovery(), "
			   "(SELECT system_identifier FROM pg_catalog.pg_control_system()), "
			   "coalesce(pg_catalog.pg_last_wal_receive_lsn(), pg_catalog.pg_last_wal_replay_lsn(), '0/0'), "
			   "coalesce(pg_catalog.pg_last_wal_replay_lsn(), '0/0'), "
			   "coalesce((SELECT status OPERATOR(pg_catalog.=) 'streaming' FROM pg_catalog.pg_stat_wal_receiver), false), "
			   "(SELECT timeline_id FROM pg_catalog.pg_control_checkpoint())");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
	{
		sv->c.reachable = true;
		sv->c.in_recovery = !strcmp(PQgetvalue(r, 0, 0), "t");
		sv->c.sysid = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
		rb_lsn_parse(PQgetvalue(r, 0, 2), &sv->c.receive_lsn);
		rb_lsn_parse(PQgetvalue(r, 0, 3), &sv->c.replay_lsn);
		sv->c.streaming = !strcmp(PQgetvalue(r, 0, 4), "t");
		sv->timeline = (uint32_t) strtoul(PQgetvalue(r, 0, 5), NULL, 10);
		for (int i = 0; i < pv->n_sync; i++)
			if (!strcmp(pv->sync_names[i], sv->node->name))
				sv->c.sync = pv->sync_states[i];
	}
	else
		snprintf(sv->error, sizeof(sv->error), "%s", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

static void
sleep_until(int64_t at_ms)
{
	while (!stop_requested)
	{
		int64_t		left = at_ms - mono_ms();

		if (left <= 0)
			return;
		usleep((useconds_t) ((left > 200 ? 200 : left) * 1000));
	}
}

static char **
hook_env(const rb_settings *s, const node_cfg *cand, const char *run)
{
	char	  **env = xcalloc(6, sizeof(char *));

	env[0] = xasprintf("ORGUARD_OLD_PRIMARY=%s", s->promote.primary->name);
	env[1] = xasprintf("ORGUARD_OLD_PRIMARY_CONNINFO=%s", s->promote.primary->conninfo);
	env[2] = xasprintf("ORGUARD_NEW_PRIMARY=%s", cand ? cand->name : "");
	env[3] = xasprintf("ORGUARD_NEW_PRIMARY_CONNINFO=%s", cand ? cand->conninfo : "");
	env[4] = xasprintf("ORGUARD_RUN=%s", run ? run : "");
	return env;
}

static void
free_env(char **env)
{
	for (int i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

static bool
run_hook(const rb_settings *s, const char *cmd, const node_cfg *cand, const char *run, char *detail, size_t len)
{
	char	  **env = hook_env(s, cand, run);
	strbuf		out;
	char		err[256];
	int			rc;

	sb_init(&out);
	rc = rb_shell(cmd, env, s->promote.command_timeout_s, &out, err, sizeof(err));
	if (rc == 0)
		snprintf(detail, len, "exit 0%s%s", out.len ? ": " : "", rb_tail_lines(out.data, 1));
	else if (rc < 0)
		snprintf(detail, len, "%s", err);
	else
		snprintf(detail, len, "exit %d: %s", rc, rb_tail_lines(out.data, 3));
	for (size_t k = strlen(detail); k > 0 && (detail[k - 1] == '\n' || detail[k - 1] == ' '); k--)
		detail[k - 1] = '\0';
	sb_free(&out);
	free_env(env);
	return rc == 0;
}

/* primary_conninfo for a standby following cand */
static char *
follow_conninfo(const node_cfg *cand, const node_cfg *standby)
{
	return xasprintf("%s application_name=%s", cand->conninfo, standby->name);
}

static bool
repoint(const rb_settings *s, const node_cfg *cand, const node_cfg *sb, uint32_t new_tl, char *detail, size_t len)
{
	char		err[512];
	PGconn	   *c = rb_connect_node(sb, s->promote.probe_timeout_s, err, sizeof(err));
	char	   *ci = follow_conninfo(cand, sb);
	char	   *q = rb_sql_quote(ci);
	char	   *sql = xasprintf("ALTER SYSTEM SET primary_conninfo = %s", q);
	bool		ok = false;
	int64_t		deadline;

	free(ci);
	free(q);
	if (!c)
	{
		snprintf(detail, len, "does not answer: %s", err);
		free(sql);
		return false;
	}
	if (!rb_exec_sql(c, sql, err, sizeof(err)) || !rb_exec_sql(c, "SELECT pg_catalog.pg_reload_conf()", err, sizeof(err)))
	{
		snprintf(detail, len, "cannot set primary_conninfo: %s", err);
		goto out;
	}
	/* it follows once its WAL receiver streams the new timeline */
	deadline = mono_ms() + (int64_t) (s->promote.command_timeout_s * 1000);
	for (;;)
	{
		char	   *v = NULL;

		if (rb_query_value(c, "SELECT received_tli FROM pg_catalog.pg_stat_wal_receiver "
						   "WHERE status OPERATOR(pg_catalog.=) 'streaming'", &v, err, sizeof(err)) &&
			v && strtoul(v, NULL, 10) >= new_tl)
		{
			free(v);
			snprintf(detail, len, "streams timeline %u from %s", new_tl, cand->name);
			ok = true;
			break;
		}
		free(v);
		if (mono_ms() >= deadline)
		{
			snprintf(detail, len, "primary_conninfo set, but not streaming timeline %u from %s within %.0f s",
					 new_tl, cand->name, s->promote.command_timeout_s);
			break;
		}
		usleep(200000);
	}
out:
	free(sql);
	PQfinish(c);
	return ok;
}

/* promotes cand (unless it is already out of recovery) and checks it takes writes */
static bool
promote_and_verify(const rb_settings *s, standby_view *cand, uint64_t cluster_sysid, uint32_t *new_tl,
				   bool *was_promoted, char *detail, size_t len)
{
	char		err[512];
	PGconn	   *c = rb_connect_node(cand->node, s->promote.probe_timeout_s, err, sizeof(err));
	char	   *v = NULL;
	bool		ok = false;

	*was_promoted = false;
	if (!c)
	{
		snprintf(detail, len, "candidate does not answer: %s", err);
		return false;
	}
	if (!rb_query_value(c, "SELECT pg_catalog.pg_is_in_recovery()", &v, err, sizeof(err)) || !v)
	{
		snprintf(detail, len, "%s", err);
		goto out;
	}
	if (!strcmp(v, "t"))
	{
		char	   *sql = xasprintf("SELECT pg_catalog.pg_promote(true, %d)", (int) (s->promote.promote_timeout_s + 0.5));
		char	   *pr = NULL;

		if (!rb_query_value(c, sql, &pr, err, sizeof(err)))
		{
			snprintf(detail, len, "pg_promote failed: %s", err);
			free(sql);
			goto out;
		}
		free(sql);
		free(pr);
		*was_promoted = true;
	}
	free(v);
	v = NULL;
	/* pg_promote's false is ambiguous: ask again */
	if (!rb_query_value(c, "SELECT pg_catalog.pg_is_in_recovery()::text || ' ' || "
						"(SELECT system_identifier FROM pg_catalog.pg_control_system()) || ' ' || "
						"pg_catalog.substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8) || ' ' || "
						"pg_catalog.pg_current_xact_id()::text || ' ' || "
						"pg_catalog.current_setting('synchronous_standby_names')",
						&v, err, sizeof(err)) || !v)
	{
		snprintf(detail, len, "the promoted node does not take writes: %s", err);
		goto out;
	}
	{
		char		rec[8],
					tl[16];
		unsigned long long sysid;
		unsigned long long xid;
		int			off = 0;
		const char *sync;

		if (sscanf(v, "%7s %llu %15s %llu %n", rec, &sysid, tl, &xid, &off) != 4 || strcmp(rec, "false"))
		{
			snprintf(detail, len, "still in recovery after pg_promote (%s)", v);
			goto out;
		}
		*new_tl = (uint32_t) strtoul(tl, NULL, 16);
		if (cluster_sysid && sysid != cluster_sysid)
		{
			snprintf(detail, len, "system identifier %llu is not the cluster's %" PRIu64, sysid, cluster_sysid);
			goto out;
		}
		if (*new_tl <= cand->timeline)
		{
			snprintf(detail, len, "timeline %u is not above %u", *new_tl, cand->timeline);
			goto out;
		}
		/* inherited from the old primary's configuration: commits wait for these */
		sync = off > 0 ? v + off : "";
		snprintf(detail, len, "writable on timeline %u (was %u), xid %llu, system identifier %llu%s%s%s",
				 *new_tl, cand->timeline, xid, sysid,
				 *sync ? "; note: synchronous_standby_names = '" : "", sync, *sync ? "', commits wait for it" : "");
		ok = true;
	}
out:
	free(v);
	PQfinish(c);
	return ok;
}

/* ---- the cluster-wide lease (promote_lease.h) ---- */

static const standby_view *sort_base;

static int
by_name(const void *a, const void *b)
{
	return strcmp(sort_base[*(const int *) a].node->name, sort_base[*(const int *) b].node->name);
}

/*
 * Takes the promotion lock on the standbys in name order, the same order in
 * every agent, and stops at the first one another session holds: of two
 * agents racing, one gets them all and the other gives up at once.  Reads
 * the claim on each standby it locked.  A standby that does not answer is
 * skipped (the majority rule decides).  Returns how many are locked.
 */
static int
lease_take(const rb_settings *s, standby_view *sv, int n, char *note, size_t len)
{
	int32_t		key = promote_lease_key(s->cluster);
	int		   *order = xcalloc((size_t) n, sizeof(int));
	char	   *sql = xasprintf("SELECT pg_catalog.pg_try_advisory_lock(%d, %d)", PROMOTE_LEASE_CLASS, (int) key);
	int			held = 0;

	note[0] = '\0';
	for (int i = 0; i < n; i++)
		order[i] = i;
	sort_base = sv;
	qsort(order, (size_t) n, sizeof(int), by_name);
	for (int k = 0; k < n; k++)
	{
		standby_view *v = &sv[order[k]];
		char		err[512];
		char	   *got = NULL;
		PGconn	   *c = rb_connect_node(v->node, s->promote.probe_timeout_s, err, sizeof(err));

		if (!c)
		{
			snprintf(note + strlen(note), len - strlen(note), "%s%s does not answer", *note ? "; " : "", v->node->name);
			continue;
		}
		if (!rb_query_value(c, sql, &got, err, sizeof(err)) || !got || strcmp(got, "t") != 0)
		{
			snprintf(note + strlen(note), len - strlen(note), "%s%s: %s", *note ? "; " : "", v->node->name,
					 got ? "held by another session" : err);
			free(got);
			PQfinish(c);
			break;
		}
		free(got);
		/* pg_file_settings reads postgresql.auto.conf as it is on disk now */
		if (!rb_query_value(c, "SELECT setting FROM pg_catalog.pg_file_settings WHERE name OPERATOR(pg_catalog.=) '"
							PROMOTE_CLAIM_SETTING "' ORDER BY seqno DESC LIMIT 1", &v->claim, err, sizeof(err)))
		{
			/* a claim that cannot be read cannot be honoured: do not count this lock */
			snprintf(note + strlen(note), len - strlen(note), "%s%s: cannot read claims: %s", *note ? "; " : "",
					 v->node->name, err);
			PQfinish(c);
			continue;
		}
		v->lease = c;
		held++;
	}
	free(sql);
	free(order);
	return held;
}

/* a lock whose session is gone is no longer held */
static void
lease_check(standby_view *sv, int n)
{
	for (int i = 0; i < n; i++)
	{
		char		err[256];

		if (sv[i].lease && !rb_exec_sql(sv[i].lease, "SELECT 1", err, sizeof(err)))
		{
			PQfinish(sv[i].lease);
			sv[i].lease = NULL;
		}
	}
}

static void
lease_release(standby_view *sv, int n)
{
	for (int i = 0; i < n; i++)
	{
		PQfinish(sv[i].lease);
		sv[i].lease = NULL;
		free(sv[i].claim);
		sv[i].claim = NULL;
	}
}

static lease_member *
lease_members(const standby_view *sv, int n)
{
	lease_member *m = xcalloc((size_t) n + 1, sizeof(lease_member));

	for (int i = 0; i < n; i++)
	{
		m[i].name = sv[i].node->name;
		m[i].locked = sv[i].lease != NULL;
		m[i].claim = sv[i].claim;
	}
	return m;
}

/* the claim, durable in postgresql.auto.conf of one locked standby */
static bool
claim_write(PGconn *c, const char *value, char *err, size_t len)
{
	char	   *lit = PQescapeLiteral(c, value, strlen(value));
	char	   *sql;
	bool		ok;

	if (!lit)
	{
		snprintf(err, len, "%s", PQerrorMessage(c));
		return false;
	}
	sql = xasprintf("ALTER SYSTEM SET " PROMOTE_CLAIM_SETTING " = %s", lit);
	PQfreemem(lit);
	/* PostgreSQL 15 alters a custom setting only once the session knows it */
	ok = rb_exec_sql(c, "SET " PROMOTE_CLAIM_SETTING " = ''", err, len) && rb_exec_sql(c, sql, err, len);
	free(sql);
	return ok;
}

/* the standby this run chose before it was interrupted, from the journal */
static const char *
chosen_before(const rb_run *r)
{
	if (!r->resumed)
		return NULL;
	for (int i = 0; i < r->past.n; i++)
	{
		const journal_entry *e = &r->past.v[i];

		if (e->run && e->step && e->result && !strcmp(e->run, r->run) && !strcmp(e->step, "choose") &&
			!strcmp(e->result, "ok"))
			return e->target;
	}
	return NULL;
}

/* the journal on this host says the primary was failed over from already */
static bool
journal_says_fenced(const rb_settings *s, fenced_primary *fp, journal_entries *es)
{
	char		err[256];

	if (!journal_read(s->journal, es, err, sizeof(err)))
		return false;
	return journal_fenced_primary(es, s->cluster, fp) && !strcmp(fp->node, s->promote.primary->name);
}

/* ---------- the run: one context, one function per numbered step ---------- */

typedef struct promote_ctx
{
	const rb_settings *s;
	const rb_promote_settings *p;
	const rb_promote_request *req;
	primary_view *pv;
	standby_view *sv;
	promote_candidate *cands;
	promote_guards g;
	promote_decision d;
	rb_run		r;
	char		detail[1024];
	int			rc;				/* the exit code once a step stops the run */
	int			fails;			/* failed probes that made the primary dead */
	int64_t		t_dead,
				t_promoted;
	uint32_t	new_tl;
	uint32_t	timeline_now;
	char	   *claimed,
			   *claimed_by;
	standby_view *cand;
	lease_member *m;
} promote_ctx;

/*
 * A refusal before the run began (no lock held yet): begin a run only to
 * journal the refusal, or say why it could not.  Returns the exit code.
 */
static int
refuse_unbegun(const promote_ctx *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static int
refuse_unbegun(const promote_ctx *c, const char *fmt,...)
{
	char	   *params = xasprintf("promote %s", c->p->primary->name);
	char		err[1024];
	strbuf		why;
	va_list		ap;
	rb_run		r;
	int			rc;

	sb_init(&why);
	va_start(ap, fmt);
	sb_vprintf(&why, fmt, ap);
	va_end(ap);
	if (rb_run_begin(&r, c->s, params, c->req->dry_run, err, sizeof(err)) == RB_EXIT_DONE)
		rc = rb_run_finish(&r, "refused", "%s", why.data);
	else
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		rc = RB_EXIT_REFUSED;
	}
	sb_free(&why);
	free(params);
	return rc;
}

/*
 * Refuses (and returns false) when the journal says this section's primary
 * was already failed over from and has not rejoined: the section is stale.
 */
static bool
step_not_fenced_before(promote_ctx *c)
{
	const rb_settings *s = c->s;
	journal_entries es = {0};
	fenced_primary fp;
	char		err[1024];
	bool		stale;

	if (!journal_read(s->journal, &es, err, sizeof(err)))
		return true;			/* rb_run_begin reports an unreadable journal */
	stale = journal_fenced_primary(&es, s->cluster, &fp) && !strcmp(fp.node, s->promote.primary->name);
	if (stale)
		c->rc = refuse_unbegun(c, "fenced_primary: %s was fenced by run %s, which promoted %s, "
							   "and has not rejoined since: name the new primary in [runbook %s], "
							   "or rejoin %s first", fp.node, fp.run, *fp.promoted ? fp.promoted : "a standby",
							   s->name, fp.node);
	journal_entries_free(&es);
	return !stale;
}

/* 1. is the primary dead?  (no lock and no journal while watching) */
static bool
step_primary_dead(promote_ctx *c)
{
	const rb_promote_settings *p = c->p;
	const rb_promote_request *req = c->req;
	primary_view *pv = c->pv;
	dead_rule	rule = {p->probes, (int64_t) (p->min_dead_for_s * 1000)};
	int64_t		next,
				watch_end;

	if (req->watch)
		printf("watching %s: dead after %d failed probes over %.1f s (every %.1f s, timeout %.1f s)\n",
			   p->primary->name, p->probes, p->min_dead_for_s, p->probe_interval_s, p->probe_timeout_s);
	fflush(stdout);
	next = mono_ms();
	watch_end = req->watch_for_s > 0 ? next + (int64_t) (req->watch_for_s * 1000) : 0;
	for (;;)
	{
		bool		was_ok = pv->n == 0 || pv->h[pv->n - 1].ok;
		bool		ok;

		sleep_until(next);
		if (stop_requested)
		{
			printf("stopped by signal: no action taken\n");
			c->rc = RB_EXIT_DONE;
			return false;
		}
		{
			int64_t		start = mono_ms();

			next = start + (int64_t) (p->probe_interval_s * 1000);
			ok = probe_primary(c->s, pv, start);
		}
		if (req->watch && ok != was_ok)
		{
			if (ok)
				printf("probe: %s answers again\n", p->primary->name);
			else
				printf("probe: %s does not answer: %s\n", p->primary->name, pv->last_error);
			fflush(stdout);
		}
		else if (req->watch && ok && pv->n == 1)
		{
			/* the first sample bounds the data loss: say that it was taken */
			char		where[24];

			rb_lsn_format(pv->flush_lsn, where, sizeof(where));
			printf("probe: %s answers (flush lsn %s)\n", p->primary->name, where);
			fflush(stdout);
		}
		if (promote_primary_dead(pv->h, pv->n, &rule, &c->fails))
			break;
		/* a bounded watch (a rule-triggered run) gives up like a single look */
		if (ok && (!req->watch || (watch_end && mono_ms() >= watch_end)))
		{
			char		where[24];

			rb_lsn_format(pv->flush_lsn, where, sizeof(where));
			c->rc = refuse_unbegun(c, "primary_dead: %s answers (flush lsn %s); nothing to do",
								   p->primary->name, where);
			return false;
		}
	}
	c->t_dead = mono_ms();
	return true;
}

/* 2. the run: lock, journal */
static bool
step_begin(promote_ctx *c)
{
	primary_view *pv = c->pv;
	char		err[1024];
	char	   *params = xasprintf("promote %s", c->p->primary->name);

	c->rc = rb_run_begin(&c->r, c->s, params, c->req->dry_run, err, sizeof(err));
	free(params);
	if (c->rc != RB_EXIT_DONE)
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return false;
	}
	rb_run_step(&c->r, "primary-dead", c->p->primary->name, "ok", "%d failed probes over %.1f s: %s", c->fails,
				(double) (pv->h[pv->n - 1].at_ms - pv->h[pv->n - c->fails].at_ms) / 1000.0, pv->last_error);
	return true;
}

/* a refusal inside the run */
static bool
refuse(promote_ctx *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static bool
refuse(promote_ctx *c, const char *fmt,...)
{
	strbuf		why;
	va_list		ap;

	sb_init(&why);
	va_start(ap, fmt);
	sb_vprintf(&why, fmt, ap);
	va_end(ap);
	c->rc = rb_run_finish(&c->r, "refused", "%s", why.data);
	sb_free(&why);
	return false;
}

/* 3. the cluster-wide lease: agents on other hosts wait for it or give up */
static bool
step_lease(promote_ctx *c)
{
	const rb_promote_settings *p = c->p;
	char		note[1024];
	int			held;
	const char *guard;

	if (c->req->dry_run)
		return true;
	held = lease_take(c->s, c->sv, p->n_standbys, note, sizeof(note));
	c->m = lease_members(c->sv, p->n_standbys);
	if ((guard = promote_lease_held(c->m, p->n_standbys, NULL, c->detail, sizeof(c->detail))) != NULL)
	{
		rb_run_step(&c->r, "lease", c->s->cluster, "failed", "%s", note);
		return refuse(c, "%s: %s", guard, c->detail);
	}
	rb_run_step(&c->r, "lease", c->s->cluster, "ok", "promotion lock held on %d of %d standbys%s%s", held,
				p->n_standbys, *note ? "; " : "", note);
	return true;
}

/* 4. choose */
static bool
step_choose(promote_ctx *c)
{
	const rb_promote_settings *p = c->p;
	const rb_promote_request *req = c->req;
	primary_view *pv = c->pv;
	standby_view *sv = c->sv;
	promote_guards *g = &c->g;
	char		a[24];

	for (int i = 0; i < p->n_standbys; i++)
	{
		sample_standby(c->s, pv, &sv[i]);
		c->cands[i] = sv[i].c;
		if (sv[i].c.reachable && sv[i].c.in_recovery && sv[i].timeline > c->timeline_now)
			c->timeline_now = sv[i].timeline;
	}
	g->fence_configured = true;	/* settings insist on fence_command (or none) */
	g->cluster_sysid = pv->sysid;
	g->primary_lsn_known = pv->lsn_known || req->primary_lsn_known;
	g->last_primary_lsn = req->primary_lsn_known && req->last_primary_lsn > pv->flush_lsn
		? req->last_primary_lsn : pv->flush_lsn;
	g->max_lag_bytes = p->max_lag_bytes;
	g->require_sync = p->require_sync;
	g->chosen_before = req->dry_run ? NULL : chosen_before(&c->r);
	for (int i = 0; i < p->n_standbys; i++)
	{
		char		rl[24],
					pl[24];

		rb_lsn_format(sv[i].c.receive_lsn, rl, sizeof(rl));
		rb_lsn_format(sv[i].c.replay_lsn, pl, sizeof(pl));
		if (!sv[i].c.reachable)
			rb_run_step(&c->r, "standby", sv[i].node->name, "skipped", "does not answer: %s", sv[i].error);
		else
			rb_run_step(&c->r, "standby", sv[i].node->name, "ok", "%s, received %s, replayed %s, timeline %u%s%s%s",
						sv[i].c.in_recovery ? "in recovery" : "NOT in recovery: answers as a primary", rl, pl,
						sv[i].timeline, sv[i].c.streaming ? ", still streaming" : "",
						sv[i].c.sync != PROMOTE_ASYNC ? ", was " : "",
						sv[i].c.sync != PROMOTE_ASYNC ? promote_sync_name(sv[i].c.sync) : "");
	}
	if (c->m)
	{
		bool		conflict;

		c->claimed = promote_lease_claimed(c->m, p->n_standbys, p->primary->name, c->timeline_now, c->r.run,
										   &conflict, &c->claimed_by);
		if (conflict)
			return refuse(c, "lease: the standbys hold claims of other runs that name different "
						  "standbys for the failover of %s: check the cluster by hand", p->primary->name);
		g->claimed = c->claimed;
	}
	if (!promote_decide(c->cands, p->n_standbys, g, &c->d))
	{
		if (c->claimed && strcmp(c->d.guard, "lease") != 0)
			return refuse(c, "%s: %s (run %s of another agent claimed %s for this failover)",
						  c->d.guard, c->d.reason, c->claimed_by, c->claimed);
		return refuse(c, "%s: %s", c->d.guard, c->d.reason);
	}
	c->cand = &sv[c->d.candidate];
	rb_lsn_format(g->last_primary_lsn, a, sizeof(a));
	rb_run_step(&c->r, "choose", c->cand->node->name, "ok", "%s (primary last seen at %s)%s%s", c->d.reason, a,
				c->claimed ? "; claimed before by run " : "", c->claimed ? c->claimed_by : "");
	return true;
}

/* a dry run stops after the choice and prints the plan */
static void
print_plan(promote_ctx *c)
{
	const rb_promote_settings *p = c->p;

	rb_plan_text(&c->r, "plan: lock a majority of %d standbys and record the choice there, fence %s with %s, "
		   "promote %s (pg_promote, wait), verify writes on a new timeline", p->n_standbys,
		   p->primary->name, p->fence_command ? p->fence_command : "nothing (fence_command = none)",
		   c->cand->node->name);
	if (p->repoint)
		for (int i = 0; i < p->n_standbys; i++)
			if (&c->sv[i] != c->cand && c->sv[i].c.reachable && c->sv[i].c.in_recovery)
				rb_plan_text(&c->r, ", repoint %s", c->sv[i].node->name);
	if (p->traffic_command)
		rb_plan_text(&c->r, ", move traffic with %s", p->traffic_command);
	rb_plan_text(&c->r, "\n");
	c->rc = rb_run_finish(&c->r, "done", "nothing changed");
}

/* 5. the claim: before anything changes, on every standby locked */
static bool
step_claim(promote_ctx *c)
{
	const rb_promote_settings *p = c->p;
	standby_view *cand = c->cand;
	promote_claim cl = {c->r.run, p->primary->name, cand->timeline, cand->node->name};
	char	   *value = promote_claim_format(&cl);
	int			written = 0;
	const char *guard;

	for (int i = 0; i < p->n_standbys; i++)
	{
		char		err2[512];

		if (!c->sv[i].lease)
			continue;
		if (claim_write(c->sv[i].lease, value, err2, sizeof(err2)))
			written++;
		else
		{
			rb_run_step(&c->r, "claim", c->sv[i].node->name, "failed", "%s", err2);
			c->m[i].locked = false;	/* a claim missing there does not count */
		}
	}
	free(value);
	if ((guard = promote_lease_held(c->m, p->n_standbys, cand->node->name, c->detail, sizeof(c->detail))) != NULL)
		return refuse(c, "%s: %s", guard, c->detail);
	rb_run_step(&c->r, "claim", cand->node->name, "ok", "recorded on %d standbys: %s chosen for the failover of %s",
				written, cand->node->name, p->primary->name);
	return true;
}

/* 6. fence the old primary, then make sure it stays silent */
static bool
step_fence(promote_ctx *c)
{
	const rb_promote_settings *p = c->p;

	if (!rb_run_step_done(&c->r, "fence", p->primary->name))
	{
		if (p->fence_command)
		{
			if (!run_hook(c->s, p->fence_command, c->cand->node, c->r.run, c->detail, sizeof(c->detail)))
			{
				rb_run_step(&c->r, "fence", p->primary->name, "failed", "%s", c->detail);
				c->rc = rb_run_finish(&c->r, "failed", "fence_command failed: not promoting");
				return false;
			}
			rb_run_step(&c->r, "fence", p->primary->name, "ok", "%s", c->detail);
		}
		else
			rb_run_step(&c->r, "fence", p->primary->name, "ok", "fence_command = none: not fenced");
	}
	if (probe_primary(c->s, c->pv, mono_ms()))
		return refuse(c, "primary_dead: %s answers again after fencing: not promoting", p->primary->name);
	return true;
}

/* 7. the last look, right before pg_promote() */
static bool
step_recheck(promote_ctx *c)
{
	const rb_promote_settings *p = c->p;
	promote_candidate *now = xcalloc((size_t) p->n_standbys, sizeof(promote_candidate));
	const char *other,
			   *guard;
	journal_entries es = {0};
	fenced_primary fp;
	int			held = 0;

	for (int i = 0; i < p->n_standbys; i++)
	{
		standby_view look = {.node = c->sv[i].node};

		sample_standby(c->s, c->pv, &look);
		now[i] = look.c;
	}
	other = promote_other_primary(now, p->n_standbys, c->cand->node->name);
	if (other)
	{
		snprintf(c->detail, sizeof(c->detail), "%s", other);
		free(now);
		return refuse(c, "other_primary: %s answers as a primary right before the promotion "
					  "of %s: not promoting", c->detail, c->cand->node->name);
	}
	free(now);
	lease_check(c->sv, p->n_standbys);
	for (int i = 0; i < p->n_standbys; i++)
	{
		c->m[i].locked = c->m[i].locked && c->sv[i].lease != NULL;
		held += c->m[i].locked;
	}
	if ((guard = promote_lease_held(c->m, p->n_standbys, c->cand->node->name, c->detail, sizeof(c->detail))) != NULL)
		return refuse(c, "%s: lost before the promotion: %s", guard, c->detail);
	if (journal_says_fenced(c->s, &fp, &es))
	{
		refuse(c, "fenced_primary: run %s failed over from %s meanwhile: not promoting", fp.run, fp.node);
		journal_entries_free(&es);
		return false;
	}
	journal_entries_free(&es);
	rb_run_step(&c->r, "recheck", c->cand->node->name, "ok",
				"no other standby answers as a primary; lease held on %d standbys", held);
	return true;
}

/* 8. promote and verify */
static bool
step_promote(promote_ctx *c)
{
	standby_view *cand = c->cand;
	bool		was_promoted = false;

	if (!promote_and_verify(c->s, cand, c->g.cluster_sysid ? c->g.cluster_sysid : cand->c.sysid, &c->new_tl,
							&was_promoted, c->detail, sizeof(c->detail)))
	{
		rb_run_step(&c->r, "promote", cand->node->name, "failed", "%s", c->detail);
		c->rc = rb_run_finish(&c->r, "failed", "promotion of %s did not verify", cand->node->name);
		return false;
	}
	c->t_promoted = mono_ms();
	rb_run_step(&c->r, "promote", cand->node->name, "ok", "%s%s", was_promoted ? "" : "already promoted; ",
				c->detail);
	return true;
}

/* 9. the other standbys follow the new primary */
static bool
step_repoint(promote_ctx *c)
{
	const rb_promote_settings *p = c->p;
	standby_view *sv = c->sv;

	for (int i = 0; i < p->n_standbys && p->repoint; i++)
	{
		if (&sv[i] == c->cand || !sv[i].c.reachable || !sv[i].c.in_recovery ||
			rb_run_step_done(&c->r, "repoint", sv[i].node->name))
			continue;
		if (repoint(c->s, c->cand->node, sv[i].node, c->new_tl, c->detail, sizeof(c->detail)))
			rb_run_step(&c->r, "repoint", sv[i].node->name, "ok", "%s", c->detail);
		else
			rb_run_step(&c->r, "repoint", sv[i].node->name, "failed", "%s", c->detail);
	}
	return true;
}

/* 10. traffic */
static bool
step_traffic(promote_ctx *c)
{
	const rb_promote_settings *p = c->p;
	const node_cfg *node = c->cand->node;

	if (!p->traffic_command || rb_run_step_done(&c->r, "traffic", node->name))
		return true;
	if (run_hook(c->s, p->traffic_command, node, c->r.run, c->detail, sizeof(c->detail)))
	{
		rb_run_step(&c->r, "traffic", node->name, "ok", "%s", c->detail);
		return true;
	}
	rb_run_step(&c->r, "traffic", node->name, "failed", "%s", c->detail);
	c->rc = rb_run_finish(&c->r, "failed", "%s is the new primary but traffic_command failed", node->name);
	return false;
}

int
rb_promote_native(const rb_settings *s, const rb_promote_request *req)
{
	const rb_promote_settings *p = &s->promote;
	promote_ctx c = {
		.s = s,
		.p = p,
		.req = req,
		.pv = xcalloc(1, sizeof(primary_view)),
		.sv = xcalloc((size_t) p->n_standbys, sizeof(standby_view)),
		.cands = xcalloc((size_t) p->n_standbys, sizeof(promote_candidate)),
		.rc = RB_EXIT_FAILED,
	};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	stop_requested = 0;
	for (int i = 0; i < p->n_standbys; i++)
		c.sv[i].node = p->standbys[i];

	if (step_not_fenced_before(&c) && step_primary_dead(&c) && step_begin(&c) &&
		step_lease(&c) && step_choose(&c))
	{
		if (req->dry_run)
			print_plan(&c);
		else if (step_claim(&c) && step_fence(&c) && step_recheck(&c) && step_promote(&c) &&
				 step_repoint(&c) && step_traffic(&c))
			c.rc = rb_run_finish(&c.r, "done", "%s promoted; %.2f s from the first failed probe to writable "
								 "(decision %.2f s, action %.2f s); at most %" PRIu64 " bytes behind the "
								 "primary's last sample",
								 c.cand->node->name, (double) (c.t_promoted - c.pv->first_fail_ms) / 1000.0,
								 (double) (c.t_dead - c.pv->first_fail_ms) / 1000.0,
								 (double) (c.t_promoted - c.t_dead) / 1000.0, c.d.lag_bytes);
	}

	lease_release(c.sv, p->n_standbys);
	free(c.m);
	free(c.claimed);
	free(c.claimed_by);
	free_sync_states(c.pv);
	free(c.pv);
	free(c.sv);
	free(c.cands);
	return c.rc;
}
