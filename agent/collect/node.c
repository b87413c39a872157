/*
 * node.c: libpq connections, their non-blocking state machine and the
 * per-node deadline (see node.h).  Only this file talks to PostgreSQL.
 */
#include "collect/node.h"
#include "collect/cursor.h"
#include "common/log.h"
#include "common/pgsession.h"
#include "collect/snapshot_merge.h"
#include "collect/standbys.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Every name is schema-qualified, operators too, on top of the session's
 * pinned search_path (pgsession.h): the Odoo database's owner must not be
 * able to run code as the agent's role.  Names are looked up in the
 * catalogs, not with to_regclass() and friends, which fail the whole query
 * on a schema the agent may not use.  Column 4: 't' when
 * odoo_retail_guard.snapshot(bigint) is the extension's (it and its schema
 * belong to a superuser, as CREATE EXTENSION makes them), 'u' when someone
 * else's function has that name, 'f' when there is none.
 */
/* 't', 'u' or 'f' (see stats_sql) for odoo_retail_guard.snapshot(ARGTYPES) */
#define SNAPSHOT_FN_OWNER_SQL(argtypes) \
" COALESCE((SELECT CASE WHEN pg_catalog.bool_and(r.rolsuper) THEN 't' ELSE 'u' END" \
"   FROM pg_catalog.pg_proc p" \
"   JOIN pg_catalog.pg_namespace s ON s.oid OPERATOR(pg_catalog.=) p.pronamespace" \
"   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) p.proowner" \
"     OR r.oid OPERATOR(pg_catalog.=) s.nspowner" \
"   WHERE s.nspname OPERATOR(pg_catalog.=) 'odoo_retail_guard'" \
"     AND p.proname OPERATOR(pg_catalog.=) 'snapshot'" \
"     AND p.proargtypes OPERATOR(pg_catalog.=) '" argtypes "'::pg_catalog.oidvector" \
"   HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0), 'f'),"

static const char *const stats_sql =
"SELECT pg_catalog.current_setting('max_connections')::pg_catalog.int4,"
" pg_catalog.current_setting('superuser_reserved_connections')::pg_catalog.int4,"
" (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity"
"   WHERE backend_type OPERATOR(pg_catalog.=) 'client backend')::pg_catalog.int4,"
" pg_catalog.pg_is_in_recovery(),"
SNAPSHOT_FN_OWNER_SQL("20")
" EXISTS (SELECT FROM pg_catalog.pg_class c"
"   JOIN pg_catalog.pg_namespace s ON s.oid OPERATOR(pg_catalog.=) c.relnamespace"
"   WHERE s.nspname OPERATOR(pg_catalog.=) 'public' AND c.relname OPERATOR(pg_catalog.=) 'ir_model'),"
" pg_catalog.current_database(),"
/* column 7: as column 4, for the delta form snapshot(bigint, bigint) */
SNAPSHOT_FN_OWNER_SQL("20 20")
/* column 8: Odoo's ir_cron exists */
" EXISTS (SELECT FROM pg_catalog.pg_class c"
"   JOIN pg_catalog.pg_namespace s ON s.oid OPERATOR(pg_catalog.=) c.relnamespace"
"   WHERE s.nspname OPERATOR(pg_catalog.=) 'public' AND c.relname OPERATOR(pg_catalog.=) 'ir_cron'),"
/* column 9: as column 4, for snapshot(bigint, bigint, boolean), which can leave statements out */
SNAPSHOT_FN_OWNER_SQL("20 20 16")
" NULL";

/*
 * Odoo names a model's table after the model, dots as underscores.  The
 * database owner owns ir_model too: under a lock that keeps it as it is,
 * it is read only when it is a plain table without row security whose
 * model column is text (a view, a policy or a type of the owner's could
 * call the owner's functions); otherwise the cast below fails the whole
 * query (a simple-query string is one implicit transaction) before the
 * table is read, and the agent keeps the extension's own model guesses.
 */
static const char *const models_sql =
"LOCK TABLE ONLY \"public\".\"ir_model\" IN ACCESS SHARE MODE;"
" SELECT CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'r' AND NOT c.relrowsecurity"
"   AND (a.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.varchar'::pg_catalog.regtype"
"     OR a.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.text'::pg_catalog.regtype)"
"  THEN 0 ELSE pg_catalog.concat('public.ir_model is not a plain table with a text model column"
" and no row security: not read (relkind ', c.relkind, ')')::pg_catalog.int4 END"
" FROM pg_catalog.pg_class c"
" JOIN pg_catalog.pg_namespace s ON s.oid OPERATOR(pg_catalog.=) c.relnamespace"
" LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid"
"   AND a.attname OPERATOR(pg_catalog.=) 'model' AND NOT a.attisdropped"
" WHERE s.nspname OPERATOR(pg_catalog.=) 'public' AND c.relname OPERATOR(pg_catalog.=) 'ir_model';"
" SELECT pg_catalog.replace(m.model::pg_catalog.text, '.', '_') COLLATE pg_catalog.\"C\","
"  m.model::pg_catalog.text FROM ONLY \"public\".\"ir_model\" m ORDER BY 1";

/*
 * Odoo's scheduled jobs: id, name, and whether the job is the nightly
 * housekeeping (its server action calls ir.autovacuum's
 * _run_vacuum_cleaner: base/data/ir_cron_data.xml, autovacuum_job).
 * cron_name is jsonb in Odoo 16.0 (a stored related field of the
 * translated server action name; ir_cron.py reads it as
 * cron_name->>'en_US') and varchar from 17.0 (computed in en_US):
 * to_jsonb() reads both.  The same defences as for ir_model: both tables
 * locked, read only when they are plain tables without row security whose
 * columns have built-in types (the first SELECT fails the whole query
 * otherwise); bounded rows and names.
 */
static const char *const crons_sql =
"LOCK TABLE ONLY \"public\".\"ir_cron\", ONLY \"public\".\"ir_act_server\" IN ACCESS SHARE MODE;"
" SELECT CASE WHEN pg_catalog.count(*) OPERATOR(pg_catalog.=) 6 THEN 0"
"  ELSE pg_catalog.concat('public.ir_cron or public.ir_act_server is not a plain table without row"
" security whose id, cron_name, ir_actions_server_id, model_name and code columns have built-in"
" types: not read')::pg_catalog.int4 END"
" FROM pg_catalog.pg_class c"
" JOIN pg_catalog.pg_namespace s ON s.oid OPERATOR(pg_catalog.=) c.relnamespace"
" JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid AND NOT a.attisdropped"
" WHERE s.nspname OPERATOR(pg_catalog.=) 'public' AND c.relkind OPERATOR(pg_catalog.=) 'r'"
"  AND NOT c.relrowsecurity"
"  AND ((c.relname OPERATOR(pg_catalog.=) 'ir_cron' AND ("
"     (a.attname OPERATOR(pg_catalog.=) ANY ('{id,ir_actions_server_id}'::pg_catalog.name[])"
"      AND a.atttypid OPERATOR(pg_catalog.=) ANY ('{pg_catalog.int4,pg_catalog.int8}'::pg_catalog.regtype[]))"
"     OR (a.attname OPERATOR(pg_catalog.=) 'cron_name' AND a.atttypid OPERATOR(pg_catalog.=)"
"      ANY ('{pg_catalog.jsonb,pg_catalog.varchar,pg_catalog.text}'::pg_catalog.regtype[]))))"
"   OR (c.relname OPERATOR(pg_catalog.=) 'ir_act_server' AND ("
"     (a.attname OPERATOR(pg_catalog.=) 'id'"
"      AND a.atttypid OPERATOR(pg_catalog.=) ANY ('{pg_catalog.int4,pg_catalog.int8}'::pg_catalog.regtype[]))"
"     OR (a.attname OPERATOR(pg_catalog.=) ANY ('{model_name,code}'::pg_catalog.name[])"
"      AND a.atttypid OPERATOR(pg_catalog.=) ANY ('{pg_catalog.varchar,pg_catalog.text}'::pg_catalog.regtype[])))));"
" SELECT j.id::pg_catalog.int8,"
"  pg_catalog.left(CASE pg_catalog.jsonb_typeof(j.name)"
"    WHEN 'object' THEN COALESCE(j.name OPERATOR(pg_catalog.->>) 'en_US',"
"      (SELECT e.value FROM pg_catalog.jsonb_each_text(j.name) e"
"       ORDER BY e.key COLLATE pg_catalog.\"C\" LIMIT 1))"
"    WHEN 'string' THEN j.name OPERATOR(pg_catalog.#>>) '{}'::pg_catalog.text[] END, 200),"
"  COALESCE(a.model_name::pg_catalog.text OPERATOR(pg_catalog.=) 'ir.autovacuum'"
"    AND pg_catalog.strpos(a.code::pg_catalog.text, '_run_vacuum_cleaner') OPERATOR(pg_catalog.>) 0, false)"
" FROM (SELECT c.id, c.ir_actions_server_id, pg_catalog.to_jsonb(c.cron_name) AS name"
"   FROM ONLY \"public\".\"ir_cron\" c ORDER BY c.id LIMIT 10000) j"
" LEFT JOIN ONLY \"public\".\"ir_act_server\" a ON a.id OPERATOR(pg_catalog.=) j.ir_actions_server_id"
" ORDER BY 1";

/* a running job missing from the catalog reads ir_cron again, at most this often */
#define CRONS_REFRESH_MS (5 * 60 * 1000)

/*
 * The snapshot comes in rows of at most SNAPSHOT_CHUNK bytes, in order:
 * libpq holds a whole message in a connection's input buffer and never
 * shrinks it, so one 1.3 MB row would keep 2 MB per node for good.  Rows
 * under 8 kB fit the buffer libpq starts with (16 kB); 32 kB rows doubled
 * it twice, 48 kB more per node.
 */
#define SNAPSHOT_CHUNK "8000"
#define SNAPSHOT_IN_CHUNKS(call) \
"WITH s AS MATERIALIZED (SELECT " call " AS b)" \
" SELECT pg_catalog.substr(s.b, c.i, " SNAPSHOT_CHUNK ")" \
" FROM s, pg_catalog.generate_series(1, pg_catalog.length(s.b), " SNAPSHOT_CHUNK ") AS c(i)" \
" ORDER BY c.i"

static const char *const snapshot_sql =
SNAPSHOT_IN_CHUNKS("odoo_retail_guard.snapshot($1::pg_catalog.int8)");
static const char *const snapshot_delta_sql =
SNAPSHOT_IN_CHUNKS("odoo_retail_guard.snapshot($1::pg_catalog.int8, $2::pg_catalog.int8)");
/*
 * Nothing in the agent reads the statements themselves (rules, /metrics and
 * the status page use their per-model sums): where the extension can leave
 * them out, they are not asked for.  At 5,000 statements they are three
 * quarters of a full snapshot's bytes and most of its cost on both sides.
 */
static const char *const snapshot_lean_sql =
SNAPSHOT_IN_CHUNKS("odoo_retail_guard.snapshot($1::pg_catalog.int8, $2::pg_catalog.int8, false)");

/* ---------- node lifecycle ---------- */

static node *
node_new(const node_cfg *cfg)
{
	static uint64_t serials;	/* one thread creates nodes: the main loop */
	node	   *n = xcalloc(1, sizeof(node));

	node_cfg_copy(&n->cfg, cfg);
	n->serial = ++serials;
	return n;
}

void
node_lend_sets(node *n)
{
	if (n->snap && n->merge)
		snapshot_merge_lend(n->merge, n->snap);
}

void
node_return_sets(node *n)
{
	if (n->snap && n->merge)
		snapshot_merge_release(n->merge, n->snap);
}

void
node_consume(node *n)
{
	node_return_sets(n);
	if (n->snap)
		odoo_retail_guard__snapshot__free_unpacked(n->snap, NULL);
	n->snap = NULL;
	n->done = false;
	n->cursor_moved = false;
}

void
node_keep_cursor(node *n)
{
	if (!n->cursor_moved)
		return;
	n->cursor = n->prev_cursor;
	n->system_id = n->prev_system_id;
	n->start_us = n->prev_start_us;
	n->incarnation = n->prev_incarnation;
	n->cursor_moved = false;
}

static void
drop_partial(node *n)
{
	PQclear(n->partial);
	n->partial = NULL;
	free(n->partial_err);
	n->partial_err = NULL;
}

static void cancel_release(cancel_req *req);

static void
disconnect(node *n)
{
	cancel_release(n->cancel);
	n->cancel = NULL;
	drop_partial(n);
	if (n->conn)
		PQfinish(n->conn);
	n->conn = NULL;
	n->state = NODE_DISCONNECTED;
	n->models_loaded = false;
	n->crons_loaded = false;
}

static void
node_free(node *n)
{
	disconnect(n);
	node_consume(n);
	model_map_free(&n->models);
	snapshot_merge_free(n->merge);
	cron_catalog_free(&n->crons);
	free(n->dbname);
	free(n->shared_standby_name);
	node_cfg_free(&n->cfg);
	free(n);
}

static void
finish_poll(node *n, int64_t now_ms)
{
	n->busy = false;
	n->done = true;
	n->polls++;
	n->poll_seconds = (double) (now_ms - n->poll_start_ms) / 1000.0;
	n->obs.now_us = now_us();
	n->obs.error = n->obs.reachable ? NULL : n->error;
}

/* libpq messages span lines with tabs; logs want one line */
static void
clean_message(char *dst, size_t len, const char *src)
{
	size_t		o = 0;

	for (; *src && o + 1 < len; src++)
	{
		char		ch = (*src == '\n' || *src == '\t' || *src == '\r') ? ' ' : *src;

		if (ch == ' ' && (o == 0 || dst[o - 1] == ' '))
			continue;
		dst[o++] = ch;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

static void
fail(collector *c, node *n, const char *what, int64_t now_ms)
{
	double		delay = 0.5;

	/* the message may hold a host name, never the password */
	clean_message(n->error, sizeof(n->error), what);
	n->obs.reachable = false;
	n->failures++;
	disconnect(n);
	for (int i = 0; i < n->backoff && delay < c->reconnect_max_s; i++)
		delay *= 2;
	if (delay > c->reconnect_max_s)
		delay = c->reconnect_max_s;
	n->backoff++;
	n->next_connect_ms = now_ms + (int64_t) (delay * 1000);
	log_debug("node %s: %s (next attempt in %.1fs)", n->cfg.name, n->error, delay);
	finish_poll(n, now_ms);
}

/* cancel requests still under way, so that exiting does not drop them */
static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cancel_cond = PTHREAD_COND_INITIALIZER;
static int	cancels_in_flight;

/*
 * One cancel request on its way.  A node keeping its session after a
 * cancelled query holds it: a request still on its way when the next poll
 * starts could cancel that poll's query instead, so the session is then
 * given up.  Freed by whichever of the node and the thread lets go last
 * (under cancel_lock).
 */
struct cancel_req
{
	PGcancel   *pc;
	bool		delivered;
	bool		orphan;			/* the node let go: the thread frees it */
};

static void *
cancel_thread(void *arg)
{
	cancel_req *req = arg;
	char		err[256];

	PQcancel(req->pc, err, sizeof(err));
	PQfreeCancel(req->pc);
	pthread_mutex_lock(&cancel_lock);
	req->delivered = true;
	if (req->orphan)
		free(req);
	cancels_in_flight--;
	pthread_cond_broadcast(&cancel_cond);
	pthread_mutex_unlock(&cancel_lock);
	return NULL;
}

/* the node lets go of its request */
static void
cancel_release(cancel_req *req)
{
	if (!req)
		return;
	pthread_mutex_lock(&cancel_lock);
	if (req->delivered)
		free(req);
	else
		req->orphan = true;
	pthread_mutex_unlock(&cancel_lock);
}

static bool
cancel_delivered(cancel_req *req)
{
	bool		d;

	pthread_mutex_lock(&cancel_lock);
	d = req->delivered;
	pthread_mutex_unlock(&cancel_lock);
	return d;
}

/* waits up to ms for cancel requests to be delivered */
static void
wait_for_cancels(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long) (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000)
	{
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&cancel_lock);
	while (cancels_in_flight > 0)
		if (pthread_cond_timedwait(&cancel_cond, &cancel_lock, &ts) != 0)
			break;
	pthread_mutex_unlock(&cancel_lock);
}

/* PQcancel blocks on its own connection, so it runs off the poll loop; NULL: not sent */
static cancel_req *
cancel_async(PGconn *conn)
{
	PGcancel   *pc = PQgetCancel(conn);
	cancel_req *req;
	pthread_t	t;
	pthread_attr_t attr;

	if (!pc)
		return NULL;
	req = xcalloc(1, sizeof(*req));
	req->pc = pc;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&cancel_lock);
	cancels_in_flight++;
	pthread_mutex_unlock(&cancel_lock);
	if (pthread_create(&t, &attr, cancel_thread, req) != 0)
	{
		PQfreeCancel(pc);
		free(req);
		req = NULL;
		pthread_mutex_lock(&cancel_lock);
		cancels_in_flight--;
		pthread_mutex_unlock(&cancel_lock);
	}
	pthread_attr_destroy(&attr);
	return req;
}

static bool
send_query(collector *c, node *n, node_state st, int64_t now_ms)
{
	int			ok;

	if (st == NODE_SNAPSHOT)
	{
		char		cur[32];
		const char *vals[1] = {cur};

		snprintf(cur, sizeof(cur), "%llu", (unsigned long long) n->cursor);
		char		gen[32] = "0";
		const char *dvals[2] = {cur, gen};

		if (c->deltas && n->has_delta_fn)
		{
			if (!n->merge)
				n->merge = snapshot_merge_new((int64_t) (c->full_every_s * 1000));
			snprintf(gen, sizeof(gen), "%llu",
					 (unsigned long long) snapshot_merge_since(n->merge, now_ms));
			ok = PQsendQueryParams(n->conn, n->has_lean_fn ? snapshot_lean_sql : snapshot_delta_sql,
								   2, NULL, dvals, NULL, NULL, 1);
		}
		else
		{
			/* deltas off, or an extension without them: whole snapshots, nothing kept */
			snapshot_merge_free(n->merge);
			n->merge = NULL;
			if (n->has_lean_fn)
				ok = PQsendQueryParams(n->conn, snapshot_lean_sql, 2, NULL, dvals, NULL, NULL, 1);
			else
				ok = PQsendQueryParams(n->conn, snapshot_sql, 1, NULL, vals, NULL, NULL, 1);
		}
	}
	else if (st == NODE_SETUP)
	{
		char		sql[256];

		snprintf(n->session_set, sizeof(n->session_set), "%s", c->session_set);
		snprintf(sql, sizeof(sql), PGSESSION_SEARCH_PATH_SQL "; %s", n->session_set);
		ok = PQsendQuery(n->conn, sql);
	}
	else
		ok = PQsendQuery(n->conn, st == NODE_STATS ? stats_sql : st == NODE_CRONS ? crons_sql : models_sql);
	if (!ok)
	{
		fail(c, n, PQerrorMessage(n->conn), now_ms);
		return false;
	}
	n->state = st;
	return true;
}

static void
start_connect(collector *c, node *n, int64_t now_ms)
{
	const char *keys[6];
	const char *vals[6];
	char		timeout[16];
	int			k = 0;

	snprintf(timeout, sizeof(timeout), "%d", (int) (c->timeout_s < 2 ? 2 : c->timeout_s));
	keys[k] = "dbname";
	vals[k++] = n->cfg.conninfo;
	keys[k] = "fallback_application_name";
	vals[k++] = "orguard-agent";
	keys[k] = "connect_timeout";
	vals[k++] = timeout;
	if (n->cfg.password)
	{
		keys[k] = "password";
		vals[k++] = n->cfg.password;
	}
	keys[k] = NULL;
	vals[k] = NULL;
	n->conn = PQconnectStartParams(keys, vals, 1);
	if (!n->conn || PQstatus(n->conn) == CONNECTION_BAD)
	{
		fail(c, n, n->conn ? PQerrorMessage(n->conn) : "out of memory", now_ms);
		return;
	}
	PQsetnonblocking(n->conn, 1);
	n->state = NODE_CONNECTING;
	n->connect_events = POLLOUT;
}

int64_t
poll_start_offset_ms(int i, int n, double spread_s)
{
	double		gap = n > 0 ? spread_s * 1000.0 / n : 0;

	if (gap > POLL_START_GAP_MS)
		gap = POLL_START_GAP_MS;
	return gap > 0 ? (int64_t) (gap * i) : 0;
}

int64_t
poll_next_tick_after_reload(int64_t next_tick_ms, double old_interval_s, double new_interval_s)
{
	return next_tick_ms - (int64_t) (old_interval_s * 1000) + (int64_t) (new_interval_s * 1000);
}

/*
 * The answer of the query cancelled at the last deadline (rows, or
 * "canceling statement due to user request"), read and dropped: true when
 * it has all come and the session is idle outside a transaction, ready
 * for the next poll.  Never waits.
 */
static bool
drain_cancelled(node *n)
{
	if (!n->cancel || !cancel_delivered(n->cancel) || !PQconsumeInput(n->conn))
		return false;
	while (!PQisBusy(n->conn))
	{
		PGresult   *r = PQgetResult(n->conn);

		if (!r)
		{
			if (PQtransactionStatus(n->conn) != PQTRANS_IDLE)
				return false;
			cancel_release(n->cancel);
			n->cancel = NULL;
			n->state = NODE_IDLE;
			return true;
		}
		PQclear(r);
	}
	return false;
}

/*
 * A poll past its deadline.  Its query is cancelled; the session is kept
 * when it was past its setup, and the cancelled query's answer is read
 * when the next poll starts.  Dropping it would have the next poll pay for
 * a new backend (fork, authentication, cold caches, a full snapshot's first
 * call) on a server already too slow to answer: hundreds of nodes doing so
 * at once keep it overloaded.
 */
static void
overrun(collector *c, node *n, int64_t now_ms)
{
	char		msg[128];

	n->overruns++;
	snprintf(msg, sizeof(msg), "no answer within the node deadline of %.1fs; query cancelled",
			 c->timeout_s);
	if (!n->conn || n->state == NODE_CONNECTING || n->state == NODE_SETUP)
	{
		if (n->conn && n->state != NODE_CONNECTING)
			cancel_release(cancel_async(n->conn));
		fail(c, n, msg, now_ms);
		return;
	}
	n->cancel = cancel_async(n->conn);
	drop_partial(n);
	n->state = NODE_CANCELLED;
	clean_message(n->error, sizeof(n->error), msg);
	n->obs.reachable = false;
	n->failures++;
	log_debug("node %s: %s (session kept)", n->cfg.name, n->error);
	finish_poll(n, now_ms);
}

/* the poll of a node whose start time has come */
static void
start_node(collector *c, node *n, int64_t now_ms)
{
	n->waiting = false;
	n->poll_start_ms = now_ms;
	n->deadline_ms = now_ms + (int64_t) (c->timeout_s * 1000);
	if (n->state == NODE_CANCELLED && !drain_cancelled(n))
	{
		/* the cancelled query still runs (or the session is lost): a new session */
		log_debug("node %s: the query cancelled at the last deadline has not ended; connecting anew",
				  n->cfg.name);
		disconnect(n);
		n->next_connect_ms = 0;
	}
	if (n->state == NODE_DISCONNECTED)
	{
		if (now_ms < n->next_connect_ms)
		{
			/* still backing off: report the last failure again, without asking */
			n->obs.reachable = false;
			n->obs.paused = true;
			finish_poll(n, now_ms);
			return;
		}
		start_connect(c, n, now_ms);
	}
	else
	{
		/* a reload changed the timeouts: the kept session takes them before it is asked */
		send_query(c, n, strcmp(c->session_set, n->session_set) ? NODE_SETUP : NODE_STATS, now_ms);
	}
}

/*
 * Hundreds of nodes do not all connect and ask at the same instant: their
 * starts are spread, so that a server holding many of them (databases of
 * one cluster, or a pooler) and this agent see a steady flow.
 */
int
collector_start_poll(collector *c, int64_t now_ms)
{
	int			busy = 0;

	c->cycle++;
	for (int i = 0; i < c->n; i++)
	{
		node	   *n = c->v[i];

		if (n->busy)
		{
			busy++;
			continue;
		}
		node_consume(n);
		n->busy = true;
		n->cycle = c->cycle;
		memset(&n->obs, 0, sizeof(n->obs));
		n->snapshot_error[0] = '\0';
		n->waiting = true;
		n->start_ms = now_ms + poll_start_offset_ms(i, c->n, c->spread_s);
		if (n->start_ms <= now_ms)
			start_node(c, n, now_ms);
	}
	return busy;
}

bool
collector_busy(const collector *c)
{
	for (int i = 0; i < c->n; i++)
		if (c->v[i]->busy)
			return true;
	return false;
}

bool
collector_cycle_busy(const collector *c)
{
	for (int i = 0; i < c->n; i++)
		if (c->v[i]->busy && c->v[i]->cycle == c->cycle)
			return true;
	return false;
}

/* the snapshot query when the extension's function is there, else the poll ends */
static void
snapshot_or_finish(collector *c, node *n, int64_t now_ms)
{
	if (n->has_snapshot_fn)
	{
		send_query(c, n, NODE_SNAPSHOT, now_ms);
		return;
	}
	if (n->foreign_snapshot_fn)
		snprintf(n->snapshot_error, sizeof(n->snapshot_error),
				 "odoo_retail_guard.snapshot(bigint) in database %s or its schema is not owned by "
				 "a superuser, so it is not the extension's: not called", n->dbname);
	else
		snprintf(n->snapshot_error, sizeof(n->snapshot_error),
				 "function odoo_retail_guard.snapshot(bigint) not found in database %s "
				 "(run CREATE EXTENSION odoo_retail_guard there)", n->dbname);
	n->state = NODE_IDLE;
	finish_poll(n, now_ms);
}

/* ir_cron when this connection has not read it, or a running job is missing from it */
static bool
crons_due(const node *n, int64_t now_ms)
{
	if (!n->has_ir_cron)
		return false;
	if (!n->crons_loaded)
		return true;
	return n->crons_stale && now_ms - n->crons_read_ms >= CRONS_REFRESH_MS;
}

static void
crons_or_snapshot(collector *c, node *n, int64_t now_ms)
{
	if (crons_due(n, now_ms))
		send_query(c, n, NODE_CRONS, now_ms);
	else
		snapshot_or_finish(c, n, now_ms);
}

static void
read_stats(collector *c, node *n, PGresult *r, int64_t now_ms)
{
	n->obs.reachable = true;
	n->obs.max_connections = atoi(PQgetvalue(r, 0, 0));
	n->obs.superuser_reserved = atoi(PQgetvalue(r, 0, 1));
	n->obs.connections = atoi(PQgetvalue(r, 0, 2));
	n->obs.in_recovery = PQgetvalue(r, 0, 3)[0] == 't';
	n->has_snapshot_fn = PQgetvalue(r, 0, 4)[0] == 't';
	n->foreign_snapshot_fn = PQgetvalue(r, 0, 4)[0] == 'u';
	n->has_ir_model = PQgetvalue(r, 0, 5)[0] == 't';
	free(n->dbname);
	n->dbname = xstrdup(PQgetvalue(r, 0, 6));
	n->has_delta_fn = PQgetvalue(r, 0, 7)[0] == 't';
	n->has_ir_cron = PQgetvalue(r, 0, 8)[0] == 't';
	n->has_lean_fn = PQgetvalue(r, 0, 9)[0] == 't';
	n->backoff = 0;
	if (n->has_ir_model && !n->models_loaded)
		send_query(c, n, NODE_MODELS, now_ms);
	else
		crons_or_snapshot(c, n, now_ms);
}

static void
read_models(collector *c, node *n, PGresult *r, int64_t now_ms)
{
	int			rows = PQntuples(r);
	model_map	map = {0};

	map.table = xcalloc((size_t) (rows ? rows : 1), sizeof(char *));
	map.model = xcalloc((size_t) (rows ? rows : 1), sizeof(char *));
	for (int i = 0; i < rows; i++)
	{
		/* sorted by the query in C order; a duplicate table name keeps its first model */
		if (map.n > 0 && strcmp(map.table[map.n - 1], PQgetvalue(r, i, 0)) >= 0)
			continue;
		map.table[map.n] = xstrdup(PQgetvalue(r, i, 0));
		map.model[map.n] = xstrdup(PQgetvalue(r, i, 1));
		map.n++;
	}
	/* kept delta state carries the old names: a full snapshot renames it all */
	if (n->merge && !model_map_equal(&map, &n->models))
		snapshot_merge_reset(n->merge);
	model_map_free(&n->models);
	n->models = map;
	n->models_loaded = true;
	log_debug("node %s: %d Odoo models mapped from ir_model", n->cfg.name, n->models.n);
	crons_or_snapshot(c, n, now_ms);
}

static void
read_crons(collector *c, node *n, PGresult *r, int64_t now_ms)
{
	int			rows = PQntuples(r);

	cron_catalog_reset(&n->crons, n->dbname);
	for (int i = 0; i < rows; i++)
		cron_catalog_add(&n->crons, strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
						 PQgetvalue(r, i, 2)[0] == 't');
	n->crons_loaded = true;
	n->crons_stale = false;
	n->crons_read_ms = now_ms;
	log_debug("node %s: %d Odoo scheduled jobs read from ir_cron", n->cfg.name, n->crons.n);
	snapshot_or_finish(c, n, now_ms);
}

#define DROP_RING(s, field) \
	do { \
		for (size_t i_ = 0; i_ < (s)->n_##field; i_++) \
			protobuf_c_message_free_unpacked(&(s)->field[i_]->base, NULL); \
		free((s)->field); \
		(s)->field = NULL; \
		(s)->n_##field = 0; \
	} while (0)

static void
drop_ring_entries(OdooRetailGuard__Snapshot *s)
{
	DROP_RING(s, slow_samples);
	DROP_RING(s, lock_wait_events);
	DROP_RING(s, throttle_events);
	DROP_RING(s, destructive_events);
}

/* once per name: their alerts and series are told apart by connection, not by name */
static void
warn_shared_standby_name(node *n, const OdooRetailGuard__Snapshot *s)
{
	const char *dup = standby_duplicate_name(s);

	if (dup && (!n->shared_standby_name || strcmp(n->shared_standby_name, dup)))
		log_warn("node %s: several standbys connect with application_name \"%s\"; their lag is "
				 "reported per connection (client address and port), which changes when they "
				 "reconnect: give each standby its own application_name in primary_conninfo",
				 n->cfg.name, dup);
	free(n->shared_standby_name);
	n->shared_standby_name = dup ? xstrdup(dup) : NULL;
}

/* a delta becomes the whole picture; a full one replaces what was kept */
static void
merge_snapshot(node *n, OdooRetailGuard__Snapshot *sn, int64_t now_ms)
{
	char		err[256];

	if (!sn->delta && sn->since_generation != 0 && sn->full_reason && *sn->full_reason)
		log_info("node %s: full snapshot instead of a delta (%s)", n->cfg.name, sn->full_reason);
	if (!snapshot_merge_apply(n->merge, sn, now_ms, err, sizeof(err)))
	{
		/* this poll's sets are partial: say so rather than report them as whole */
		log_warn("node %s: %s", n->cfg.name, err);
		snprintf(n->snapshot_error, sizeof(n->snapshot_error), "%s", err);
	}
}

static void
read_snapshot(node *n, PGresult *r, int64_t now_ms)
{
	if (PQntuples(r) < 1 || PQnfields(r) != 1)
		snprintf(n->snapshot_error, sizeof(n->snapshot_error), "snapshot() returned no data");
	else
	{
		size_t		len = 0;
		uint8_t    *data;

		/* the chunks of SNAPSHOT_IN_CHUNKS, joined */
		for (int i = 0; i < PQntuples(r); i++)
			len += (size_t) PQgetlength(r, i, 0);
		data = xmalloc(len ? len : 1);
		len = 0;
		for (int i = 0; i < PQntuples(r); i++)
		{
			memcpy(data + len, PQgetvalue(r, i, 0), (size_t) PQgetlength(r, i, 0));
			len += (size_t) PQgetlength(r, i, 0);
		}
		n->snap = odoo_retail_guard__snapshot__unpack(NULL, len, data);
		free(data);
		n->snapshot_bytes += len;
		if (!n->snap)
			snprintf(n->snapshot_error, sizeof(n->snapshot_error),
					 "snapshot() returned %zu bytes that do not decode as a Snapshot", len);
		else
		{
			const OdooRetailGuard__NodeIdentity *id = n->snap->node;
			OdooRetailGuard__Snapshot *sn = n->snap;

			/* an extension that cannot leave them out sent them: not kept (snapshot_lean_sql) */
			DROP_RING(sn, queries);
			n->snapshots++;
			cursor_life life = !id ? CURSOR_SAME_LIFE :
				cursor_life_check(n->system_id, n->start_us, n->incarnation, id->system_identifier,
								  id->postmaster_start_us, id->shmem_incarnation);

			n->cursor_moved = true;
			n->prev_cursor = n->cursor;
			n->prev_system_id = n->system_id;
			n->prev_start_us = n->start_us;
			n->prev_incarnation = n->incarnation;

			if (life == CURSOR_NODE_RESTARTED)
				log_info("node %s: restarted or replaced; reading its event rings from the start",
						 n->cfg.name);
			else if (life == CURSOR_SHMEM_RESTARTED)
			{
				/* ids restarted at 1 below our cursor: without this the new events are never read */
				n->shmem_restarts++;
				log_warn("node %s: PostgreSQL crash-restarted (shared memory re-initialized, "
						 "incarnation %llu -> %llu); event ids restarted at 1: reading its event "
						 "rings from the start; events written between the previous poll and the "
						 "crash were lost with the shared memory, and so were its throttle rules",
						 n->cfg.name,
						 (unsigned long long) n->incarnation,
						 (unsigned long long) id->shmem_incarnation);
			}
			if (life != CURSOR_SAME_LIFE)
			{
				/* new rings: what this cursor let through may be partial; read from zero next */
				drop_ring_entries(sn);
				n->cursor = 0;
			}
			else
				n->cursor = sn->next_cursor;
			if (id)
			{
				n->system_id = id->system_identifier;
				n->start_us = id->postmaster_start_us;
				n->incarnation = id->shmem_incarnation;
			}
			/*
			 * Odoo's model names first: the merge keeps entries as records,
			 * named as they were when taken (read_models drops the kept
			 * state when the names change).
			 */
			model_map_apply(&n->models, n->dbname, sn);
			if (n->merge)
				merge_snapshot(n, sn, now_ms);
			if (sn->slow_samples_gap || sn->lock_wait_events_gap || sn->throttle_events_gap ||
				sn->destructive_events_gap)
			{
				n->ring_gaps++;
				log_warn("node %s: event rings overwrote entries before they were read "
						 "(poll more often or enlarge the rings)", n->cfg.name);
			}
			if (cron_catalog_misses(&n->crons, sn))
				n->crons_stale = true;
			warn_shared_standby_name(n, sn);
		}
	}
	n->state = NODE_IDLE;
	finish_poll(n, now_ms);
}

/* one complete query result arrived (r is the last non-NULL result) */
static void
on_result(collector *c, node *n, PGresult *r, const char *errmsg, int64_t now_ms)
{
	node_state st = n->state;

	if (errmsg)
	{
		if (PQstatus(n->conn) != CONNECTION_OK)
		{
			fail(c, n, errmsg, now_ms);
			return;
		}
		if (st == NODE_SNAPSHOT)
		{
			char		msg[480];

			clean_message(msg, sizeof(msg), errmsg);
			snprintf(n->snapshot_error, sizeof(n->snapshot_error), "snapshot() failed: %s", msg);
			n->state = NODE_IDLE;
			finish_poll(n, now_ms);
			return;
		}
		if (st == NODE_CRONS)
		{
			char		msg[480];

			/* the jobs keep their ids, without names; read again on the next connection */
			clean_message(msg, sizeof(msg), errmsg);
			log_warn("node %s: Odoo scheduled jobs not read from ir_cron: %s", n->cfg.name, msg);
			n->crons_loaded = true;
			n->crons_stale = false;
			n->crons_read_ms = now_ms;
			snapshot_or_finish(c, n, now_ms);
			return;
		}
		if (st == NODE_MODELS)
		{
			char		msg[480];

			/* not Odoo after all, or an ir_model the agent will not read: not retried each poll */
			clean_message(msg, sizeof(msg), errmsg);
			log_warn("node %s: Odoo models not read from ir_model: %s", n->cfg.name, msg);
			n->models_loaded = true;
			crons_or_snapshot(c, n, now_ms);
			return;
		}
		fail(c, n, errmsg, now_ms);
		return;
	}
	switch (st)
	{
		case NODE_SETUP:
			send_query(c, n, NODE_STATS, now_ms);
			break;
		case NODE_STATS:
			if (!r || PQntuples(r) != 1)
				fail(c, n, "unexpected answer to the connection query", now_ms);
			else
				read_stats(c, n, r, now_ms);
			break;
		case NODE_MODELS:
			read_models(c, n, r, now_ms);
			break;
		case NODE_CRONS:
			read_crons(c, n, r, now_ms);
			break;
		case NODE_SNAPSHOT:
			read_snapshot(n, r, now_ms);
			break;
		default:
			break;
	}
}

static void
advance(collector *c, node *n, short revents, int64_t now_ms)
{
	if (n->state == NODE_CONNECTING)
	{
		PostgresPollingStatusType st = PQconnectPoll(n->conn);

		if (st == PGRES_POLLING_FAILED)
			fail(c, n, PQerrorMessage(n->conn), now_ms);
		else if (st == PGRES_POLLING_OK)
		{
			PQsetnonblocking(n->conn, 1);
			send_query(c, n, NODE_SETUP, now_ms);
		}
		else
			n->connect_events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		return;
	}
	if (n->state < NODE_SETUP || n->state == NODE_IDLE)
		return;
	if (revents & POLLOUT)
	{
		if (PQflush(n->conn) < 0)
		{
			fail(c, n, PQerrorMessage(n->conn), now_ms);
			return;
		}
	}
	if (revents & (POLLIN | POLLERR | POLLHUP))
	{
		if (!PQconsumeInput(n->conn))
		{
			fail(c, n, PQerrorMessage(n->conn), now_ms);
			return;
		}
		/*
		 * A query's results may arrive over several reads (an error, then
		 * ReadyForQuery): what was read so far stays on the node until the
		 * end of the query, so an error is never lost between two reads.
		 */
		while (!PQisBusy(n->conn))
		{
			PGresult   *r = PQgetResult(n->conn);

			if (!r)
			{
				PGresult   *last = n->partial;
				char	   *err = n->partial_err;

				n->partial = NULL;
				n->partial_err = NULL;
				on_result(c, n, last, err, now_ms);
				PQclear(last);
				free(err);
				return;
			}
			if (PQresultStatus(r) == PGRES_FATAL_ERROR && !n->partial_err)
				n->partial_err = xstrdup(PQresultErrorMessage(r));
			PQclear(n->partial);
			n->partial = r;
		}
	}
}

static short
wanted_events(node *n)
{
	if (n->state == NODE_CONNECTING)
		return n->connect_events;
	return (short) (POLLIN | (PQflush(n->conn) == 1 ? POLLOUT : 0));
}

void
collector_step(collector *c, int timeout_ms)
{
	struct pollfd *fds = xcalloc((size_t) (c->n ? c->n : 1), sizeof(struct pollfd));
	int		   *idx = xcalloc((size_t) (c->n ? c->n : 1), sizeof(int));
	int			nf = 0;
	int64_t		now = mono_ms();

	for (int i = 0; i < c->n; i++)
	{
		node	   *n = c->v[i];

		if (n->busy && n->waiting)
		{
			if (n->start_ms <= now)
				start_node(c, n, now);
			else if (n->start_ms - now < timeout_ms)
				timeout_ms = (int) (n->start_ms - now);
		}
		if (!n->busy || n->waiting || !n->conn)
			continue;
		if (n->deadline_ms - now < timeout_ms)
			timeout_ms = (int) (n->deadline_ms - now > 0 ? n->deadline_ms - now : 0);
		fds[nf].fd = PQsocket(n->conn);
		fds[nf].events = wanted_events(n);
		idx[nf++] = i;
	}
	if (nf > 0 || timeout_ms > 0)
	{
		if (poll(fds, (nfds_t) nf, timeout_ms) < 0 && errno != EINTR)
			log_warn("poll: %s", strerror(errno));
	}
	now = mono_ms();
	for (int k = 0; k < nf; k++)
	{
		node	   *n = c->v[idx[k]];

		if (fds[k].revents && n->busy && n->conn)
			advance(c, n, fds[k].revents, now);
	}
	for (int i = 0; i < c->n; i++)
	{
		node	   *n = c->v[i];

		if (n->busy && !n->waiting && now >= n->deadline_ms)
			overrun(c, n, now);
	}
	free(fds);
	free(idx);
}

static void
apply_settings(collector *c, const agent_cfg *cfg)
{
	c->timeout_s = cfg->node_timeout_s;
	/* half of what is left of the interval: every poll ends before the next tick */
	c->spread_s = cfg->interval_s > cfg->node_timeout_s ? (cfg->interval_s - cfg->node_timeout_s) / 2 : 0;
	c->statement_timeout_s = cfg->statement_timeout_s;
	c->lock_timeout_s = cfg->lock_timeout_s;
	c->reconnect_max_s = cfg->reconnect_max_s;
	c->deltas = cfg->snapshot_deltas;
	c->full_every_s = cfg->full_snapshot_every_s;
	/* written once per configuration: each poll of a kept session compares with it */
	snprintf(c->session_set, sizeof(c->session_set),
			 "SET statement_timeout = %d; SET lock_timeout = %d; SET idle_in_transaction_session_timeout = %d",
			 (int) (c->statement_timeout_s * 1000), (int) (c->lock_timeout_s * 1000),
			 (int) (c->timeout_s * 2000));
}

collector *
collector_new(const agent_cfg *cfg)
{
	collector  *c = xcalloc(1, sizeof(collector));

	apply_settings(c, cfg);
	c->v = xcalloc((size_t) (cfg->n_nodes ? cfg->n_nodes : 1), sizeof(node *));
	for (int i = 0; i < cfg->n_nodes; i++)
		c->v[c->n++] = node_new(&cfg->nodes[i]);
	return c;
}

static bool
same_target(const node_cfg *a, const node_cfg *b)
{
	return !strcmp(a->conninfo, b->conninfo) &&
		!strcmp(a->password ? a->password : "", b->password ? b->password : "");
}

void
collector_reload(collector *c, const agent_cfg *cfg)
{
	node	  **nv = xcalloc((size_t) (cfg->n_nodes ? cfg->n_nodes : 1), sizeof(node *));

	apply_settings(c, cfg);
	for (int i = 0; i < cfg->n_nodes; i++)
	{
		node	   *keep = NULL;

		for (int j = 0; j < c->n; j++)
			if (c->v[j] && !strcmp(c->v[j]->cfg.name, cfg->nodes[i].name) &&
				same_target(&c->v[j]->cfg, &cfg->nodes[i]))
			{
				keep = c->v[j];
				c->v[j] = NULL;
			}
		if (keep)
		{
			/* new tags and cluster name; ir_model is read again */
			node_cfg_free(&keep->cfg);
			node_cfg_copy(&keep->cfg, &cfg->nodes[i]);
			keep->models_loaded = false;
			keep->crons_loaded = false;
			nv[i] = keep;
		}
		else
			nv[i] = node_new(&cfg->nodes[i]);
	}
	for (int j = 0; j < c->n; j++)
		if (c->v[j])
			node_free(c->v[j]);
	free(c->v);
	c->v = nv;
	c->n = cfg->n_nodes;
}

void
collector_free(collector *c)
{
	if (!c)
		return;
	wait_for_cancels((int) (c->timeout_s * 1000) + 1000);
	for (int i = 0; i < c->n; i++)
		node_free(c->v[i]);
	free(c->v);
	free(c);
}
