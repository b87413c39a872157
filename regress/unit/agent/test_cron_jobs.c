/*
 * test_cron_jobs.c: Odoo's scheduled jobs in the rule pack.  Snapshots
 * built, packed and unpacked as on the wire, with the cron jobs the
 * extension reports, reduced to facts and run through the rule engine with
 * the default configuration:
 *
 *   - a running job's cron cursor, idle in transaction, is not paged as
 *     idle_in_transaction; an abandoned psql session holding a snapshot
 *     still is, and so is a cron cursor whose job connection is gone;
 *   - cron_job_runtime fires past its default of 2 h, keyed by the job;
 *   - lock_wait, blocking_chain and vacuum_horizon name the job (labels:
 *     its id and name; summary: its pids);
 *   - destructive events page critical when ad hoc or from an ordinary
 *     job, and are recorded at info (below every pager's default
 *     min_severity) when they are housekeeping; configurable;
 *   - the ir_cron catalog: sorted, bounded, cleaned, per database.
 *
 * The statement shapes follow Odoo's ir_cron.py (16.0/17.0: the cron
 * cursor's "SELECT * FROM ir_cron ... FOR NO KEY UPDATE SKIP LOCKED",
 * _acquire_one_job) and the autovacuum job of base/data/ir_cron_data.xml.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert/alert.h"
#include "common/config.h"
#include "collect/cron_jobs.h"
#include "alert/facts.h"
#include "alert/rules.h"
#include "common/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((int64_t) (x) * 1000000)
#define T0 ((int64_t) 1795435200 * 1000000)

#define CRON_PID 400			/* the cron cursor */
#define JOB_PID 401				/* its job connection */
#define PSQL_PID 500			/* an abandoned psql session */
#define AUTOVACUUM_JOB 3		/* Base: Auto-vacuum internal data */
#define SCHEDULER_JOB 7			/* Procurement: run scheduler */

/*
 * The cron cursor's last statement as pg_stat_activity shows it: Odoo 17.0
 * odoo/addons/base/models/ir_cron.py _acquire_one_job (16.0 selects
 * "*, cron_name->>'en_US' as cron_name"), job ids interpolated by psycopg2
 */
static const char *const acquire_sql =
	"SELECT * FROM ir_cron WHERE active = true AND numbercall != 0 AND (nextcall <= (now() at time zone 'UTC') "
	"OR EXISTS (SELECT cron_id FROM ir_cron_trigger WHERE call_at <= (now() at time zone 'UTC') "
	"AND cron_id = ir_cron.id)) AND id in (7) ORDER BY priority LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED";

typedef struct scene
{
	bool		job_alive;		/* the cron job has its job connection */
	bool		cron_blocks;	/* a POS worker waits on the cron cursor */
	bool		job_conn_blocks;	/* ... on the job connection instead */
	bool		cron_horizon;	/* the cron cursor holds the vacuum horizon */
	bool		psql_horizon;	/* the psql session holds it */
	bool		job_conn_horizon;	/* the job connection, idle in transaction, holds it */
	int64_t		job_id;			/* 0: the extension could not tell */
	double		running_s;
	const char *origin;			/* of one destructive event, NULL: none */
	int64_t		event_job_id;
} scene;

static OdooRetailGuard__Snapshot *
wire(const scene *sc)
{
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	OdooRetailGuard__CronJob cj = ODOO_RETAIL_GUARD__CRON_JOB__INIT;
	OdooRetailGuard__CronJob *cjs[1] = {&cj};
	int32_t		job_pids[1] = {JOB_PID};
	OdooRetailGuard__BlockingChain bc = ODOO_RETAIL_GUARD__BLOCKING_CHAIN__INIT;
	OdooRetailGuard__BlockingChain *bcs[1] = {&bc};
	int32_t		chain[1];
	OdooRetailGuard__VacuumHorizon vh = ODOO_RETAIL_GUARD__VACUUM_HORIZON__INIT;
	OdooRetailGuard__DestructiveEvent de = ODOO_RETAIL_GUARD__DESTRUCTIVE_EVENT__INIT;
	OdooRetailGuard__DestructiveEvent *des[1] = {&de};
	uint8_t    *buf;
	size_t		len;
	OdooRetailGuard__Snapshot *out;

	s.schema_version = 1;
	cj.cron_pid = CRON_PID;
	cj.n_job_pids = sc->job_alive ? 1 : 0;
	cj.job_pids = job_pids;
	cj.database = "odoo";
	cj.application_name = "odoo-2001";
	cj.job_id = sc->job_id;
	cj.running_s = sc->running_s;
	cj.job_state = sc->job_alive ? "active" : "";
	cj.job_model = sc->job_alive ? "stock.move" : "";
	cj.holds_horizon = sc->cron_horizon;
	cj.kind = "ir_cron";
	s.n_cron_jobs = 1;
	s.cron_jobs = cjs;
	if (sc->cron_blocks || sc->job_conn_blocks)
	{
		chain[0] = sc->cron_blocks ? CRON_PID : JOB_PID;
		bc.waiter_pid = 600;
		bc.database = "odoo";
		bc.relation = sc->cron_blocks ? "ir_cron" : "stock_quant";
		bc.model = sc->cron_blocks ? "ir.cron" : "stock.quant";
		bc.wait_ms = 45000;
		bc.n_chain = 1;
		bc.chain = chain;
		bc.root_pid = chain[0];
		bc.root_application_name = "odoo-2001";
		bc.root_state = sc->cron_blocks ? "idle in transaction" : "active";
		bc.root_xact_age_ms = sc->running_s * 1000;
		bc.root_query = sc->cron_blocks ? (char *) acquire_sql : "UPDATE stock_quant SET quantity = $1 WHERE id IN ($2)";
		s.n_blocking_chains = 1;
		s.blocking_chains = bcs;
	}
	if (sc->cron_horizon || sc->psql_horizon || sc->job_conn_horizon)
	{
		vh.holder_kind = "backend";
		vh.pid = sc->cron_horizon ? CRON_PID : sc->job_conn_horizon ? JOB_PID : PSQL_PID;
		vh.database = "odoo";
		vh.application_name = sc->psql_horizon ? "psql" : "odoo-2001";
		vh.state = "idle in transaction";
		vh.xmin_age = 5000;
		vh.age_s = 4000;
		s.vacuum_horizon = &vh;
	}
	if (sc->origin)
	{
		de.id = 11;
		de.kind = "delete";
		de.database = "odoo";
		de.relation = "public.bus_bus";
		de.model = "bus.bus";
		de.rows = 25000;
		de.role = "odoo";
		de.origin = (char *) sc->origin;
		de.cron_job_id = sc->event_job_id;
		de.cron_pid = sc->event_job_id ? CRON_PID : 0;
		s.n_destructive_events = 1;
		s.destructive_events = des;
	}
	len = odoo_retail_guard__snapshot__get_packed_size(&s);
	buf = malloc(len);
	odoo_retail_guard__snapshot__pack(&s, buf);
	out = odoo_retail_guard__snapshot__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

/* the node's ir_cron: the autovacuum job and the scheduler */
static void
odoo_catalog(cron_catalog *c)
{
	cron_catalog_reset(c, "odoo");
	assert_true(cron_catalog_add(c, AUTOVACUUM_JOB, "Base: Auto-vacuum internal data", true));
	assert_true(cron_catalog_add(c, SCHEDULER_JOB, "Procurement: run scheduler", false));
}

typedef struct world
{
	agent_cfg	cfg;
	cron_catalog crons;
	facts_memory *mem;
	rule_engine *re;
	fact_list	facts;
	event_list	ev;
} world;

static void
world_open(world *w, const char *extra)
{
	config_errors errs = {0};
	char	   *text = xasprintf("[node n1]\nconninfo = host=x\ncluster = eu\n"
								 "[pager am]\ntype = alertmanager\nurl = http://127.0.0.1:9/\n%s", extra);

	memset(w, 0, sizeof(*w));
	if (!config_parse("t.conf", text, &w->cfg, &errs))
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
	assert_int_equal(errs.n, 0);
	config_errors_free(&errs);
	free(text);
	odoo_catalog(&w->crons);
	w->mem = facts_memory_new();
	facts_memory_use_crons(w->mem, &w->crons);
	w->re = rules_new();
}

static void
world_close(world *w)
{
	facts_free(&w->facts);
	events_free(&w->ev);
	rules_free(w->re);
	facts_memory_free(w->mem);
	cron_catalog_free(&w->crons);
	config_free(&w->cfg);
}

/* one poll of the scene at time t through facts and rules */
static void
poll_scene(world *w, const scene *sc, int64_t t)
{
	OdooRetailGuard__Snapshot *snap = wire(sc);

	facts_free(&w->facts);
	facts_from_snapshot(snap, w->mem, t, &w->facts);
	rules_eval_node(w->re, &w->cfg, &w->cfg.nodes[0], &w->facts, t, &w->ev);
	odoo_retail_guard__snapshot__free_unpacked(snap, NULL);
}

static const fact *
find(const fact_list *l, rule_kind k, const char *subject)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i].kind == k && (!subject || !strcmp(l->v[i].subject, subject)))
			return &l->v[i];
	return NULL;
}

static const alert_event *
fired(const event_list *ev, const char *rule)
{
	for (int i = 0; i < ev->n; i++)
		if (ev->v[i].status == ALERT_FIRING && !strcmp(ev->v[i].rule, rule))
			return &ev->v[i];
	return NULL;
}

/* the running job's cron cursor, idle in transaction well past 300 s and holding the horizon */
static void
test_running_job_cron_cursor_not_idle(void **state)
{
	world		w;
	scene		sc = {.job_alive = true, .cron_horizon = true, .cron_blocks = true,
	.job_id = SCHEDULER_JOB, .running_s = 1800};

	(void) state;
	world_open(&w, "");
	poll_scene(&w, &sc, T0);
	poll_scene(&w, &sc, T0 + S(600));
	assert_null(find(&w.facts, RULE_IDLE_IN_TRANSACTION, NULL));
	assert_null(fired(&w.ev, "idle_in_transaction"));
	world_close(&w);
}

/*
 * The job connection idle in transaction between two statements of the job
 * (Odoo computing), holding the horizon when both snapshots are as old: part
 * of the running job, not an abandoned session; vacuum_horizon names the job.
 */
static void
test_running_job_connection_not_idle(void **state)
{
	world		w;
	scene		sc = {.job_alive = true, .job_conn_horizon = true, .job_id = SCHEDULER_JOB, .running_s = 1800};
	const fact *f;

	(void) state;
	world_open(&w, "");
	poll_scene(&w, &sc, T0);
	poll_scene(&w, &sc, T0 + S(600));
	assert_null(find(&w.facts, RULE_IDLE_IN_TRANSACTION, NULL));
	assert_null(fired(&w.ev, "idle_in_transaction"));
	f = find(&w.facts, RULE_VACUUM_HORIZON, NULL);
	assert_non_null(f);
	assert_string_equal(labels_get(&f->labels, "cron_job"), "Procurement: run scheduler");
	world_close(&w);
}

/* the same session with its job connection gone is stuck: paged */
static void
test_cron_cursor_without_job_still_idle(void **state)
{
	world		w;
	scene		sc = {.job_alive = false, .cron_horizon = true, .job_id = SCHEDULER_JOB, .running_s = 1800};
	const alert_event *e;

	(void) state;
	world_open(&w, "");
	poll_scene(&w, &sc, T0);
	e = fired(&w.ev, "idle_in_transaction");
	assert_non_null(e);
	assert_non_null(strstr(e->summary, "no job connection"));
	world_close(&w);
}

/* an abandoned psql session holding a snapshot while a job runs: still paged */
static void
test_abandoned_psql_still_paged(void **state)
{
	world		w;
	scene		sc = {.job_alive = true, .psql_horizon = true, .job_id = SCHEDULER_JOB, .running_s = 60};
	const alert_event *e;

	(void) state;
	world_open(&w, "");
	poll_scene(&w, &sc, T0);
	e = fired(&w.ev, "idle_in_transaction");
	assert_non_null(e);
	assert_string_equal(e->subject, "pid:500");
	assert_null(labels_get(&e->labels, "cron_job_id"));
	assert_null(strstr(e->summary, "Odoo job"));
	world_close(&w);
}

static void
test_cron_job_runtime(void **state)
{
	world		w;
	scene		sc = {.job_alive = true, .job_id = SCHEDULER_JOB, .running_s = 3600};
	const fact *f;
	const alert_event *e;

	(void) state;
	world_open(&w, "");
	assert_int_equal(config_rule(&w.cfg, "cron_job_runtime")->threshold, 7200);
	assert_int_equal(config_rule(&w.cfg, "cron_job_runtime")->sev, SEV_WARNING);
	poll_scene(&w, &sc, T0);
	f = find(&w.facts, RULE_CRON_JOB_RUNTIME, "odoo/job:7");
	assert_non_null(f);
	assert_true(f->value == 3600);
	assert_null(fired(&w.ev, "cron_job_runtime"));	/* an hour: a normal scheduler run */
	sc.running_s = 7300;
	poll_scene(&w, &sc, T0 + S(3700));
	e = fired(&w.ev, "cron_job_runtime");
	assert_non_null(e);
	assert_int_equal(e->sev, SEV_WARNING);
	assert_string_equal(e->subject, "odoo/job:7");
	assert_string_equal(labels_get(&e->labels, "cron_job_id"), "7");
	assert_string_equal(labels_get(&e->labels, "cron_job"), "Procurement: run scheduler");
	assert_non_null(strstr(e->summary, "cron cursor pid 400, job pid 401"));
	assert_non_null(strstr(e->summary, "running for 7300s"));
	/* pids and durations stay out of the labels: they change from run to run */
	assert_null(labels_get(&e->labels, "pid"));
	assert_null(labels_get(&e->labels, "running_seconds"));
	world_close(&w);

	/* the job id unknown: keyed by its cron cursor */
	world_open(&w, "");
	sc.job_id = 0;
	poll_scene(&w, &sc, T0);
	assert_non_null(find(&w.facts, RULE_CRON_JOB_RUNTIME, "odoo/pid:400"));
	assert_non_null(fired(&w.ev, "cron_job_runtime"));
	world_close(&w);
}

static void
test_lock_wait_names_job(void **state)
{
	world		w;
	scene		sc = {.job_alive = true, .cron_blocks = true, .job_id = SCHEDULER_JOB, .running_s = 900};
	const alert_event *e;

	(void) state;
	world_open(&w, "[rule blocking_chain]\nthreshold = 2\nfor = 0\n");
	poll_scene(&w, &sc, T0);
	e = fired(&w.ev, "lock_wait");
	assert_non_null(e);
	assert_string_equal(labels_get(&e->labels, "cron_job_id"), "7");
	assert_string_equal(labels_get(&e->labels, "cron_job"), "Procurement: run scheduler");
	assert_non_null(strstr(e->summary, "pid 400 is the cron cursor of Odoo job 7 \"Procurement: run scheduler\""));
	assert_non_null(strstr(e->summary, "job pid 401"));
	e = fired(&w.ev, "blocking_chain");
	assert_non_null(e);
	assert_string_equal(labels_get(&e->labels, "cron_job_id"), "7");
	assert_non_null(strstr(e->summary, "cron cursor of Odoo job 7"));
	world_close(&w);

	/* rooted in the job connection: named too */
	world_open(&w, "");
	sc.cron_blocks = false;
	sc.job_conn_blocks = true;
	poll_scene(&w, &sc, T0);
	e = fired(&w.ev, "lock_wait");
	assert_non_null(e);
	assert_string_equal(labels_get(&e->labels, "cron_job"), "Procurement: run scheduler");
	assert_non_null(strstr(e->summary, "pid 401 is the job connection of Odoo job 7"));
	world_close(&w);

	/* another database's job id is not this catalog's: the id only */
	world_open(&w, "");
	cron_catalog_reset(&w.crons, "other");
	sc.job_conn_blocks = false;
	sc.cron_blocks = true;
	poll_scene(&w, &sc, T0);
	e = fired(&w.ev, "lock_wait");
	assert_non_null(e);
	assert_string_equal(labels_get(&e->labels, "cron_job_id"), "7");
	assert_null(labels_get(&e->labels, "cron_job"));
	world_close(&w);
}

static void
test_vacuum_horizon_names_job(void **state)
{
	world		w;
	scene		sc = {.job_alive = true, .cron_horizon = true, .job_id = AUTOVACUUM_JOB, .running_s = 4000};
	const alert_event *e;

	(void) state;
	world_open(&w, "");
	poll_scene(&w, &sc, T0);
	e = fired(&w.ev, "vacuum_horizon");
	assert_non_null(e);
	assert_string_equal(labels_get(&e->labels, "cron_job_id"), "3");
	assert_string_equal(labels_get(&e->labels, "cron_job"), "Base: Auto-vacuum internal data");
	assert_non_null(strstr(e->summary, "pid 400 is the cron cursor of Odoo job 3"));
	assert_null(fired(&w.ev, "idle_in_transaction"));
	world_close(&w);
}

/* the destructive event's notification in a fresh world; NULL when none */
static void
destructive(const char *conf, const char *origin, int64_t job_id, severity *sev, char **summary,
			char **origin_label, bool *to_pager)
{
	world		w;
	scene		sc = {.job_alive = true, .job_id = job_id, .running_s = 60, .origin = origin,
	.event_job_id = job_id};
	const alert_event *e;

	world_open(&w, conf);
	poll_scene(&w, &sc, T0);
	e = fired(&w.ev, "destructive_event");
	assert_non_null(e);
	*sev = e->sev;
	*summary = xstrdup(e->summary);
	*origin_label = xstrdup(labels_get(&e->labels, "origin"));
	/* the routing of main.c: every pager whose min_severity the event reaches */
	*to_pager = e->sev >= w.cfg.pagers[0].min_severity;
	world_close(&w);
}

static void
test_destructive_origin_severity(void **state)
{
	severity	sev;
	char	   *summary,
			   *origin;
	bool		paged;

	(void) state;
	/* ad hoc: critical, paged, as always */
	destructive("", "adhoc", 0, &sev, &summary, &origin, &paged);
	assert_int_equal(sev, SEV_CRITICAL);
	assert_true(paged);
	assert_string_equal(origin, "adhoc");
	free(summary);
	free(origin);
	/* an older extension gives no origin: paged */
	destructive("", "", 0, &sev, &summary, &origin, &paged);
	assert_int_equal(sev, SEV_CRITICAL);
	assert_string_equal(origin, "adhoc");
	free(summary);
	free(origin);
	/* a job that is not housekeeping: paged, naming the job */
	destructive("", "cron", SCHEDULER_JOB, &sev, &summary, &origin, &paged);
	assert_int_equal(sev, SEV_CRITICAL);
	assert_true(paged);
	assert_string_equal(origin, "cron");
	assert_non_null(strstr(summary, "(cron, Odoo job 7 \"Procurement: run scheduler\")"));
	free(summary);
	free(origin);
	/* the autovacuum job: housekeeping, recorded at info, not sent to a default pager */
	destructive("", "cron", AUTOVACUUM_JOB, &sev, &summary, &origin, &paged);
	assert_int_equal(sev, SEV_INFO);
	assert_false(paged);
	assert_string_equal(origin, "housekeeping");
	assert_non_null(strstr(summary, "(housekeeping, Odoo job 3 \"Base: Auto-vacuum internal data\")"));
	free(summary);
	free(origin);
	/* the extension's own housekeeping classification */
	destructive("", "housekeeping", 0, &sev, &summary, &origin, &paged);
	assert_int_equal(sev, SEV_INFO);
	assert_false(paged);
	free(summary);
	free(origin);
	/* configurable */
	destructive("[rule destructive_event]\nhousekeeping_severity = warning\n", "housekeeping", 0, &sev,
				&summary, &origin, &paged);
	assert_int_equal(sev, SEV_WARNING);
	assert_true(paged);
	free(summary);
	free(origin);
	/* a pager that asks for info gets housekeeping too */
	destructive("min_severity = info\n", "housekeeping", 0, &sev, &summary, &origin, &paged);
	assert_true(paged);
	free(summary);
	free(origin);
}

static void
test_housekeeping_severity_config(void **state)
{
	agent_cfg	cfg;
	config_errors errs = {0};

	(void) state;
	assert_false(config_parse("t.conf", "[node n1]\nconninfo = host=x\n[rule lock_wait]\nhousekeeping_severity = info\n",
							  &cfg, &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msg[0], "t.conf:4: housekeeping_severity: only rules of kind destructive_event"));
	config_errors_free(&errs);
	config_free(&cfg);
	assert_false(config_parse("t.conf", "[node n1]\nconninfo = host=x\n[rule destructive_event]\n"
							  "housekeeping_severity = quiet\n", &cfg, &errs));
	assert_non_null(strstr(errs.msg[0], "unknown severity \"quiet\""));
	config_errors_free(&errs);
	config_free(&cfg);
}

/* a restarted agent keeps a firing housekeeping alert at its own severity */
static void
test_housekeeping_survives_restart(void **state)
{
	world		w;
	scene		sc = {.job_alive = true, .job_id = AUTOVACUUM_JOB, .running_s = 60, .origin = "cron",
	.event_job_id = AUTOVACUUM_JOB};
	rule_engine *re2 = rules_new();
	char	   *json,
			   *err = NULL;
	event_list	again = {0};

	(void) state;
	world_open(&w, "[rule destructive_event]\nrenotify = 1m\n");
	poll_scene(&w, &sc, T0);
	assert_non_null(fired(&w.ev, "destructive_event"));
	json = rules_to_json(w.re);
	assert_true(rules_from_json(re2, json, &err));
	/* the event is still in the journal's window: re-notified at its severity */
	facts_free(&w.facts);
	{
		OdooRetailGuard__Snapshot *snap = wire(&sc);

		facts_from_snapshot(snap, w.mem, T0 + S(120), &w.facts);
		odoo_retail_guard__snapshot__free_unpacked(snap, NULL);
	}
	rules_eval_node(re2, &w.cfg, &w.cfg.nodes[0], &w.facts, T0 + S(120), &again);
	assert_non_null(fired(&again, "destructive_event"));
	assert_int_equal(fired(&again, "destructive_event")->sev, SEV_INFO);
	events_free(&again);
	free(json);
	rules_free(re2);
	world_close(&w);
}

static void
test_catalog(void **state)
{
	cron_catalog c = {0};
	char		odd[400];
	OdooRetailGuard__Snapshot *snap;
	scene		sc = {.job_alive = true, .job_id = 9, .running_s = 1};

	(void) state;
	assert_false(cron_catalog_add(&c, 1, "before reset", false));
	assert_null(cron_catalog_find(&c, "odoo", 1));
	odoo_catalog(&c);
	assert_false(cron_catalog_add(&c, SCHEDULER_JOB, "duplicate", false));
	assert_false(cron_catalog_add(&c, 5, "out of order", false));
	assert_string_equal(cron_catalog_find(&c, "odoo", 7)->name, "Procurement: run scheduler");
	assert_true(cron_catalog_find(&c, "odoo", 3)->housekeeping);
	assert_null(cron_catalog_find(&c, "odoo", 4));
	assert_null(cron_catalog_find(&c, "odoo", 0));
	assert_null(cron_catalog_find(&c, "other", 7));
	assert_null(cron_catalog_find(NULL, "odoo", 7));
	/* a name of odd bytes and length, as the database owner may write it */
	memset(odd, 'x', sizeof(odd));
	odd[0] = '\xff';
	odd[sizeof(odd) - 1] = '\0';
	assert_true(cron_catalog_add(&c, 8, odd, false));
	assert_true(strlen(cron_catalog_find(&c, "odoo", 8)->name) <= CRON_NAME_MAX_BYTES);
	assert_memory_equal(cron_catalog_find(&c, "odoo", 8)->name, UTF8_REPLACEMENT, 3);
	/* a running job missing from the catalog asks for a new read */
	snap = wire(&sc);
	assert_true(cron_catalog_misses(&c, snap));
	odoo_retail_guard__snapshot__free_unpacked(snap, NULL);
	sc.job_id = 7;
	snap = wire(&sc);
	assert_false(cron_catalog_misses(&c, snap));
	odoo_retail_guard__snapshot__free_unpacked(snap, NULL);
	/* bounded */
	cron_catalog_reset(&c, "odoo");
	for (int i = 1; i <= CRON_CATALOG_MAX_JOBS; i++)
		assert_true(cron_catalog_add(&c, i, "j", false));
	assert_false(cron_catalog_add(&c, CRON_CATALOG_MAX_JOBS + 1, "j", false));
	cron_catalog_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_running_job_cron_cursor_not_idle),
		cmocka_unit_test(test_running_job_connection_not_idle),
		cmocka_unit_test(test_cron_cursor_without_job_still_idle),
		cmocka_unit_test(test_abandoned_psql_still_paged),
		cmocka_unit_test(test_cron_job_runtime),
		cmocka_unit_test(test_lock_wait_names_job),
		cmocka_unit_test(test_vacuum_horizon_names_job),
		cmocka_unit_test(test_destructive_origin_severity),
		cmocka_unit_test(test_housekeeping_severity_config),
		cmocka_unit_test(test_housekeeping_survives_restart),
		cmocka_unit_test(test_catalog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
