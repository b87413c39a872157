/*
 * test_status_json.c: the status page's data.  A node's snapshot becomes
 * its part of the document (role, lag, blocking chain, horizon, cron jobs,
 * throttle rules, destructive events with origin), lag history accumulates
 * per standby up to a bound, model time is the growth over the window, the
 * firing alerts carry their facts, and odd or hostile texts stay inert.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "export/status_json.h"
#include "common/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000LL
#define T0 (1765000000LL * SEC)

static const node_observation UP_PRIMARY = {.reachable = true, .max_connections = 100, .connections = 7};

static json_t *
doc(const status_board *b, const event_list *firing, int64_t now)
{
	char	   *text = status_board_json(b, firing, now);
	json_error_t jerr;
	json_t	   *d = json_loads(text, 0, &jerr);

	if (!d)
		fail_msg("not JSON: %s", jerr.text);
	free(text);
	return d;
}

static json_t *
node_of(json_t *d, const char *name)
{
	json_t	   *nodes = json_object_get(d, "nodes");

	for (size_t i = 0; i < json_array_size(nodes); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(nodes, i), "name")), name))
			return json_array_get(nodes, i);
	fail_msg("no node %s", name);
	return NULL;
}

static const char *
str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (!v)
		fail_msg("no string %s", key);
	return v;
}

typedef struct fixture
{
	OdooRetailGuard__Snapshot s;
	OdooRetailGuard__NodeIdentity id;
	OdooRetailGuard__BlockingChain chain;
	OdooRetailGuard__BlockingChain *chains[1];
	int32_t		chain_pids[2];
	OdooRetailGuard__ReplicationStandby rep;
	OdooRetailGuard__ReplicationStandby *reps[1];
	OdooRetailGuard__ModelStat model;
	OdooRetailGuard__ModelStat *models[1];
	OdooRetailGuard__VacuumHorizon horizon;
	OdooRetailGuard__CronJob cron;
	OdooRetailGuard__CronJob *crons[1];
	OdooRetailGuard__ThrottleRule rule;
	OdooRetailGuard__ThrottleRule *rules[1];
	OdooRetailGuard__DestructiveEvent ev;
	OdooRetailGuard__DestructiveEvent *evs[1];
} fixture;

/* a primary during an incident: a cron blocks a POS worker, a standby lags */
static void
primary(fixture *f)
{
	memset(f, 0, sizeof(*f));
	odoo_retail_guard__snapshot__init(&f->s);
	odoo_retail_guard__node_identity__init(&f->id);
	f->s.node = &f->id;
	odoo_retail_guard__blocking_chain__init(&f->chain);
	f->chain.waiter_pid = 2002;
	f->chain.waiter_worker_class = "http";
	f->chain.waiter_query = "UPDATE stock_quant SET quantity = quantity - $1 WHERE id = $2";
	f->chain.wait_ms = 4500;
	f->chain.database = "odoo";
	f->chain.model = "stock.quant";
	f->chain.mode = "ShareLock";
	f->chain_pids[0] = 1500;
	f->chain_pids[1] = 1001;
	f->chain.chain = f->chain_pids;
	f->chain.n_chain = 2;
	f->chain.root_pid = 1001;
	f->chain.root_worker_class = "cron";
	f->chain.root_state = "idle in transaction";
	f->chain.root_xact_age_ms = 61000;
	f->chain.root_query = "SELECT id FROM stock_quant WHERE id IN ($1) FOR NO KEY UPDATE";
	f->chains[0] = &f->chain;
	f->s.blocking_chains = f->chains;
	f->s.n_blocking_chains = 1;
	odoo_retail_guard__replication_standby__init(&f->rep);
	f->rep.application_name = "standby1";
	f->rep.state = "streaming";
	f->rep.replay_lag_bytes = 1 << 20;
	f->rep.replay_lag_ms = -1;
	f->reps[0] = &f->rep;
	f->s.replication = f->reps;
	f->s.n_replication = 1;
	odoo_retail_guard__model_stat__init(&f->model);
	f->model.database = "odoo";
	f->model.model = "stock.quant";
	f->model.operation = "update";
	f->model.total_ms = 10000;
	f->models[0] = &f->model;
	f->s.models = f->models;
	f->s.n_models = 1;
	odoo_retail_guard__vacuum_horizon__init(&f->horizon);
	f->horizon.holder_kind = "backend";
	f->horizon.pid = 1001;
	f->horizon.worker_class = "cron";
	f->horizon.age_s = 61;
	f->s.vacuum_horizon = &f->horizon;
	odoo_retail_guard__cron_job__init(&f->cron);
	f->cron.cron_pid = 1001;
	f->cron.job_id = 42;
	f->cron.kind = "ir_cron";
	f->cron.running_s = 61;
	f->crons[0] = &f->cron;
	f->s.cron_jobs = f->crons;
	f->s.n_cron_jobs = 1;
	odoo_retail_guard__throttle_rule__init(&f->rule);
	f->rule.name = "pos-cap";
	f->rule.max_connections = 5;
	f->rule.current_connections = 5;
	f->rule.refused = 3;
	f->rules[0] = &f->rule;
	f->s.throttle_rules = f->rules;
	f->s.n_throttle_rules = 1;
	odoo_retail_guard__destructive_event__init(&f->ev);
	f->ev.id = 1;
	f->ev.time_us = T0;
	f->ev.kind = "delete";
	f->ev.origin = "cron";
	f->ev.cron_job_id = 42;
	f->ev.model = "mail.message";
	f->ev.rows = 50000;
	f->evs[0] = &f->ev;
	f->s.destructive_events = f->evs;
	f->s.n_destructive_events = 1;
}

static void
test_node_document(void **state)
{
	status_board *b = status_board_new();
	fixture		f;
	json_t	   *d,
			   *n,
			   *c;

	(void) state;
	primary(&f);
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0);
	d = doc(b, NULL, T0);
	n = node_of(d, "store7");
	assert_string_equal(str(n, "role"), "primary");
	assert_true(json_is_true(json_object_get(n, "up")));
	assert_string_equal(str(n, "cluster"), "e2e");
	assert_string_equal(str(n, "last_poll"), "2025-12-06T05:46:40.000Z");
	/* the chain as a tree: root, the blockers between, the waiter */
	c = json_array_get(json_object_get(n, "blocking_chains"), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "root"), "pid")), 1001);
	assert_string_equal(str(json_object_get(c, "root"), "worker_class"), "cron");
	assert_string_equal(str(json_object_get(c, "root"), "state"), "idle in transaction");
	assert_true(json_real_value(json_object_get(json_object_get(c, "root"), "xact_age_s")) == 61.0);
	assert_string_equal(str(c, "model"), "stock.quant");
	assert_int_equal(json_array_size(json_object_get(c, "chain")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "waiter"), "pid")), 2002);
	assert_string_equal(str(json_object_get(n, "vacuum_horizon"), "kind"), "backend");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(n, "cron_jobs"), 0), "job_id")), 42);
	assert_string_equal(str(json_array_get(json_object_get(n, "throttle_rules"), 0), "name"), "pos-cap");
	assert_string_equal(str(json_array_get(json_object_get(n, "destructive_events"), 0), "origin"), "cron");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(n, "standbys"), 0),
														"replay_lag_bytes")), 1 << 20);
	json_decref(d);
	status_board_free(b);
}

static void
test_standby_and_down_nodes(void **state)
{
	status_board *b = status_board_new();
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	OdooRetailGuard__NodeIdentity id = ODOO_RETAIL_GUARD__NODE_IDENTITY__INIT;
	OdooRetailGuard__StandbyStatus st = ODOO_RETAIL_GUARD__STANDBY_STATUS__INIT;
	node_observation down = {.reachable = false};
	json_t	   *d;

	(void) state;
	id.in_recovery = true;
	s.node = &id;
	st.replay_delay_ms = 12500;
	st.replay_paused = true;
	s.standby = &st;
	status_board_node(b, "standby1", "e2e", &UP_PRIMARY, "", &s, T0);
	status_board_node(b, "store9", "e2e", &down, "connection refused", NULL, T0);
	d = doc(b, NULL, T0);
	assert_string_equal(str(node_of(d, "standby1"), "role"), "standby");
	assert_true(json_real_value(json_object_get(node_of(d, "standby1"), "lag_s")) == 12.5);
	assert_true(json_is_true(json_object_get(node_of(d, "standby1"), "replay_paused")));
	assert_string_equal(str(node_of(d, "store9"), "role"), "unknown");
	assert_true(json_is_false(json_object_get(node_of(d, "store9"), "up")));
	assert_string_equal(str(node_of(d, "store9"), "error"), "connection refused");
	assert_true(json_is_null(json_object_get(node_of(d, "store9"), "lag_s")));
	json_decref(d);
	/* a node removed from the configuration leaves the page */
	{
		const char *keep[] = {"standby1"};

		status_board_retain(b, keep, 1);
	}
	d = doc(b, NULL, T0);
	assert_int_equal(json_array_size(json_object_get(d, "nodes")), 1);
	json_decref(d);
	status_board_free(b);
}

static void
test_lag_history_bounded(void **state)
{
	status_board *b = status_board_new();
	fixture		f;
	json_t	   *d,
			   *pts;

	(void) state;
	primary(&f);
	for (int i = 0; i < STATUS_LAG_POINTS + 30; i++)
	{
		f.rep.replay_lag_bytes = (int64_t) i * 1000;
		status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0 + i * SEC);
	}
	d = doc(b, NULL, T0 + (STATUS_LAG_POINTS + 30) * SEC);
	pts = json_object_get(json_array_get(json_object_get(d, "replication_lag"), 0), "points");
	assert_string_equal(str(json_array_get(json_object_get(d, "replication_lag"), 0), "standby"), "standby1");
	assert_int_equal(json_array_size(pts), STATUS_LAG_POINTS);
	/* oldest first, the newest is the last poll */
	assert_true(json_real_value(json_array_get(json_array_get(pts, STATUS_LAG_POINTS - 1), 1)) ==
				(STATUS_LAG_POINTS + 29) * 1000.0);
	assert_true(json_real_value(json_array_get(json_array_get(pts, 0), 1)) == 30 * 1000.0);
	json_decref(d);
	status_board_free(b);
}

/*
 * A standby's lag chart goes when its primary is no longer configured, and
 * an hour after its last point (a standby gone or renamed): each name a
 * standby ever had stayed on the page, and in memory, for good.
 */
static void
test_lag_charts_of_gone_standbys_dropped(void **state)
{
	status_board *b = status_board_new();
	fixture		f;
	json_t	   *d;
	const char *keep[] = {"store7"};
	int64_t		t = T0;

	(void) state;
	primary(&f);
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, t);
	status_board_node(b, "store8", "e2e", &UP_PRIMARY, "", &f.s, t);
	d = doc(b, NULL, t);
	assert_int_equal(json_array_size(json_object_get(d, "replication_lag")), 2);
	json_decref(d);

	/* store8 removed from the configuration */
	status_board_retain(b, keep, 1);
	d = doc(b, NULL, t);
	assert_int_equal(json_array_size(json_object_get(d, "replication_lag")), 1);
	assert_string_equal(str(json_array_get(json_object_get(d, "replication_lag"), 0), "primary"), "store7");
	json_decref(d);

	/* standby1 renamed standby2: both shown while standby1's last point is under an hour old */
	f.rep.application_name = "standby2";
	for (int i = 1; i <= STATUS_LAG_KEEP_S / 10; i++)
		status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, t += 10 * SEC);
	d = doc(b, NULL, t);
	assert_int_equal(json_array_size(json_object_get(d, "replication_lag")), 2);
	json_decref(d);
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, t += 10 * SEC);
	d = doc(b, NULL, t);
	assert_int_equal(json_array_size(json_object_get(d, "replication_lag")), 1);
	assert_string_equal(str(json_array_get(json_object_get(d, "replication_lag"), 0), "standby"), "standby2");
	json_decref(d);
	status_board_free(b);
}

static void
test_lag_unknown_not_charted(void **state)
{
	status_board *b = status_board_new();
	fixture		f;
	json_t	   *d;

	(void) state;
	primary(&f);
	/* a walsender without a replay position, as pg_basebackup's WAL stream */
	f.rep.application_name = "pg_basebackup";
	f.rep.replay_lag_bytes = -1;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0);
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0 + SEC);
	d = doc(b, NULL, T0 + SEC);
	assert_int_equal(json_array_size(json_object_get(d, "replication_lag")), 0);
	/* still listed with the node, its lag unknown */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(node_of(d, "store7"), "standbys"), 0),
														"replay_lag_bytes")), -1);
	json_decref(d);
	status_board_free(b);
}

static double
top_seconds(const status_board *b, int64_t now)
{
	json_t	   *d = doc(b, NULL, now);
	json_t	   *top = json_object_get(d, "top_models");
	double		v = json_array_size(top) ? json_real_value(json_object_get(json_array_get(top, 0), "seconds")) : -1;

	json_decref(d);
	return v;
}

static void
test_top_models_over_window(void **state)
{
	status_board *b = status_board_new();
	fixture		f;

	(void) state;
	primary(&f);
	/*
	 * lifetime totals are not "the last minutes": the first poll is a
	 * baseline.  Polls a bucket apart, each growth its own point.
	 */
	f.model.total_ms = 900000;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0);
	assert_true(top_seconds(b, T0) == -1);
	f.model.total_ms = 902000;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0 + 30 * SEC);
	f.model.total_ms = 905000;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0 + 60 * SEC);
	assert_true(top_seconds(b, T0 + 60 * SEC) == 5.0);
	/* a reset (server restart) counts from zero, not negative */
	f.model.total_ms = 1000;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0 + 90 * SEC);
	assert_true(top_seconds(b, T0 + 90 * SEC) == 6.0);
	assert_int_equal(status_board_model_points(b), 3);
	/* past the window the old growth drops out */
	f.model.total_ms = 1500;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0 + (90 + STATUS_MODEL_WINDOW_S - 5) * SEC);
	assert_true(top_seconds(b, T0 + (90 + STATUS_MODEL_WINDOW_S - 5) * SEC) == 1.5);
	status_board_free(b);
}

static void
test_destructive_events_kept_across_polls(void **state)
{
	status_board *b = status_board_new();
	fixture		f;
	json_t	   *d,
			   *evs;

	(void) state;
	primary(&f);
	for (int i = 0; i < STATUS_DESTRUCTIVE_KEPT + 5; i++)
	{
		f.ev.rows = i;
		status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0 + i * SEC);
	}
	/* the cursor moved past them: later polls bring none, the page keeps them */
	f.s.n_destructive_events = 0;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0 + 100 * SEC);
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0 + 101 * SEC);
	d = doc(b, NULL, T0 + 101 * SEC);
	evs = json_object_get(node_of(d, "store7"), "destructive_events");
	assert_int_equal(json_array_size(evs), STATUS_DESTRUCTIVE_KEPT);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(evs, 0), "rows")), STATUS_DESTRUCTIVE_KEPT + 4);
	json_decref(d);
	status_board_free(b);
}

static void
test_alerts_with_facts(void **state)
{
	status_board *b = status_board_new();
	event_list	firing = {0};
	alert_event *ev = events_push(&firing);
	json_t	   *d,
			   *a;

	(void) state;
	ev->status = ALERT_FIRING;
	ev->rule = xstrdup("lock_wait");
	ev->node = xstrdup("store7");
	ev->subject = xstrdup("1001");
	ev->summary = xstrdup("lock wait on stock.quant");
	ev->sev = SEV_WARNING;
	ev->starts_at_us = T0;
	labels_set(&ev->labels, "model", "stock.quant");
	labels_set(&ev->labels, "root_worker_class", "cron");
	labels_set(&ev->annotations, "root_pid", "1852");
	labels_set(&ev->annotations, "description", "root_pid: 1852");
	labels_set(&ev->annotations, "runbook_url", "file:///rules.md#lock_wait");
	d = doc(b, &firing, T0);
	a = json_array_get(json_object_get(d, "alerts"), 0);
	assert_string_equal(str(a, "rule"), "lock_wait");
	assert_string_equal(str(a, "severity"), "warning");
	assert_string_equal(str(json_object_get(a, "facts"), "model"), "stock.quant");
	assert_string_equal(str(json_object_get(a, "facts"), "root_worker_class"), "cron");
	/* values that move are annotations: shown as facts too, the page's own texts apart */
	assert_string_equal(str(json_object_get(a, "facts"), "root_pid"), "1852");
	assert_null(json_object_get(json_object_get(a, "facts"), "description"));
	assert_string_equal(str(a, "runbook_url"), "file:///rules.md#lock_wait");
	json_decref(d);
	events_free(&firing);
	status_board_free(b);
}

static void
test_hostile_texts_stay_inert(void **state)
{
	status_board *b = status_board_new();
	fixture		f;
	char	   *text;
	json_t	   *d;

	(void) state;
	primary(&f);
	f.chain.root_query = "SELECT $1 -- </script><script>alert(1)</script>";
	f.chain.model = "bad\xff\xfe model";
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0);
	text = status_board_json(b, NULL, T0);
	/* inlined in the page's <script> element, it cannot close it */
	assert_null(strstr(text, "</"));
	assert_non_null(strstr(text, "<\\/script>"));
	free(text);
	/* and it is valid UTF-8 JSON with the odd bytes replaced */
	d = doc(b, NULL, T0);
	assert_non_null(strstr(str(json_array_get(json_object_get(node_of(d, "store7"), "blocking_chains"), 0), "model"),
						   " model"));
	json_decref(d);
	status_board_free(b);
}

static void
test_runbook_journals(void **state)
{
	status_board *b = status_board_new();
	json_t	   *d,
			   *j;

	(void) state;
	/* none configured: an empty list, never a missing member */
	d = doc(b, NULL, T0);
	assert_true(json_is_array(json_object_get(d, "runbook_journals")));
	assert_int_equal(json_array_size(json_object_get(d, "runbook_journals")), 0);
	json_decref(d);
	status_board_runbooks(b, json_pack("[{s:s, s:s, s:[{s:s, s:b}]}]", "path", "/j", "state", "ok",
									   "runs", "run", "r1", "in_progress", 1));
	/* replaced on the next poll: the old list is released */
	status_board_runbooks(b, json_pack("[{s:s, s:s, s:[{s:s, s:b}]}]", "path", "/j", "state", "ok",
									   "runs", "run", "r2", "in_progress", 0));
	d = doc(b, NULL, T0);
	j = json_array_get(json_object_get(d, "runbook_journals"), 0);
	assert_string_equal(str(j, "path"), "/j");
	assert_string_equal(str(json_array_get(json_object_get(j, "runs"), 0), "run"), "r2");
	json_decref(d);
	status_board_free(b);
}

/*
 * The board keeps each model's total between polls: a model that leaves
 * the snapshot and comes back starts from a new baseline (its lifetime
 * total is not growth), and a node polled after thousands of points keeps
 * only the window's growth (points out of the window are pruned in
 * batches, never shown).
 */
static void
test_top_models_gone_and_back(void **state)
{
	status_board *b = status_board_new();
	fixture		f;
	int64_t		t = T0;

	(void) state;
	primary(&f);
	f.model.total_ms = 1000;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, t);
	f.model.total_ms = 3000;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, t += 10 * SEC);
	assert_true(top_seconds(b, t) == 2.0);
	f.s.n_models = 0;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, t += 10 * SEC);
	f.s.n_models = 1;
	f.model.total_ms = 10000;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, t += 10 * SEC);
	assert_true(top_seconds(b, t) == 2.0);
	f.model.total_ms = 11000;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, t += 10 * SEC);
	assert_true(top_seconds(b, t) == 3.0);
	/*
	 * a second per poll for three windows: the last window's worth is
	 * shown, to within one bucket, and the points kept are the window's
	 * buckets, not its 300 polls
	 */
	for (int i = 0; i < 3 * STATUS_MODEL_WINDOW_S; i++)
	{
		f.model.total_ms += 1000;
		status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, t += SEC);
	}
	assert_true(top_seconds(b, t) >= STATUS_MODEL_WINDOW_S + 1);
	assert_true(top_seconds(b, t) < STATUS_MODEL_WINDOW_S + STATUS_MODEL_BUCKET_S + 1);
	assert_in_range(status_board_model_points(b), 1,
					(STATUS_MODEL_WINDOW_S + STATUS_MODEL_WINDOW_S / 4) / STATUS_MODEL_BUCKET_S + 2);
	status_board_free(b);
}

/* a node's models for the tests below: names m000.., database odoo, operation read */
typedef struct model_set
{
	OdooRetailGuard__ModelStat m[300];
	OdooRetailGuard__ModelStat *listed[300];
	char		names[300][16];
	int			n;
} model_set;

static void
models_init(model_set *ms, int n)
{
	memset(ms, 0, sizeof(*ms));
	ms->n = n;
	for (int i = 0; i < n; i++)
	{
		odoo_retail_guard__model_stat__init(&ms->m[i]);
		snprintf(ms->names[i], sizeof(ms->names[i]), "m%03d", i);
		ms->m[i].database = "odoo";
		ms->m[i].model = ms->names[i];
		ms->m[i].operation = "read";
		ms->m[i].total_ms = 1000;
	}
}

/* polls node with the models for which keep(i) holds */
static void
models_poll(status_board *b, const char *node, model_set *ms, bool (*keep)(int), int64_t t)
{
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;

	for (int i = 0; i < ms->n; i++)
		if (!keep || keep(i))
			ms->listed[s.n_models++] = &ms->m[i];
	s.models = ms->listed;
	status_board_node(b, node, "e2e", &UP_PRIMARY, "", &s, t);
}

static bool
not_third(int i)
{
	return i % 3 != 0;
}

/* the i-th of the top models: its model name and seconds */
static const char *
top_model(json_t *d, size_t i, double *seconds)
{
	json_t	   *o = json_array_get(json_object_get(d, "top_models"), i);

	if (!o)
		fail_msg("no top model %zu", i);
	*seconds = json_real_value(json_object_get(o, "seconds"));
	return str(o, "model");
}

/*
 * The page lists the ten models that grew most, ties by name: picked from
 * all keys without sorting them all, the order is the same as a full sort.
 */
static void
test_top_models_ten_best(void **state)
{
	status_board *b = status_board_new();
	fixture		f;
	OdooRetailGuard__ModelStat m[25];
	OdooRetailGuard__ModelStat *mp[25];
	char		names[25][16];
	static const char *const want[] = {"m03", "m14", "m06", "m17", "m09", "m20", "m01", "m12", "m23", "m04"};
	static const double want_s[] = {10, 10, 9, 9, 8, 8, 7, 7, 7, 6};
	json_t	   *d;
	double		sec;

	(void) state;
	primary(&f);
	for (int i = 0; i < 25; i++)
	{
		odoo_retail_guard__model_stat__init(&m[i]);
		snprintf(names[i], sizeof(names[i]), "m%02d", i);
		m[i].database = "odoo";
		m[i].model = names[i];
		m[i].operation = "read";
		m[i].total_ms = 1000000;
		mp[i] = &m[i];
	}
	f.s.models = mp;
	f.s.n_models = 25;
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0);
	/* growth (i * 7) % 11 seconds: ties at 10, 9, 8, 7 and 6 */
	for (int i = 0; i < 25; i++)
		m[i].total_ms += 1000.0 * ((i * 7) % 11);
	status_board_node(b, "store7", "e2e", &UP_PRIMARY, "", &f.s, T0 + 30 * SEC);
	d = doc(b, NULL, T0 + 30 * SEC);
	assert_int_equal(json_array_size(json_object_get(d, "top_models")), 10);
	for (size_t i = 0; i < 10; i++)
	{
		assert_string_equal(top_model(d, i, &sec), want[i]);
		assert_true(sec == want_s[i]);
	}
	json_decref(d);
	status_board_free(b);
}

/*
 * Hundreds of nodes, found by name: a reload that keeps every third leaves
 * the others off the page, and a kept node's next poll updates its own
 * part, not another's.
 */
static void
test_many_nodes_found_by_name(void **state)
{
	status_board *b = status_board_new();
	fixture		f;
	const char *names[100];
	char		name[300][16];
	static const node_observation down = {.reachable = false};
	json_t	   *d,
			   *nodes;

	(void) state;
	primary(&f);
	for (int i = 0; i < 300; i++)
	{
		snprintf(name[i], sizeof(name[i]), "n%d", i);
		status_board_node(b, name[i], "c", &UP_PRIMARY, "", &f.s, T0);
	}
	for (int i = 0; i < 100; i++)
		names[i] = name[3 * i];
	status_board_retain(b, names, 100);
	status_board_node(b, "n3", "c", &down, "connection refused", NULL, T0 + SEC);
	/* a node the reload did not keep comes back as a new one */
	status_board_node(b, "n4", "c", &UP_PRIMARY, "", &f.s, T0 + SEC);
	d = doc(b, NULL, T0 + SEC);
	nodes = json_object_get(d, "nodes");
	assert_int_equal(json_array_size(nodes), 101);
	for (size_t i = 0; i < 100; i++)
		assert_string_equal(str(json_array_get(nodes, i), "name"), names[i]);
	assert_string_equal(str(json_array_get(nodes, 100), "name"), "n4");
	assert_string_equal(str(node_of(d, "n3"), "error"), "connection refused");
	assert_string_equal(str(node_of(d, "n6"), "error"), "");
	assert_true(json_is_true(json_object_get(node_of(d, "n297"), "up")));
	json_decref(d);
	status_board_free(b);
}

/*
 * A node of hundreds of models of which a third leave a poll and come
 * back: those start from a new baseline (their jump in between is not
 * growth), while the others, whose entries the dropped ones' removal
 * moved, keep measuring from their own totals.
 */
static void
test_models_dropped_and_listed_again(void **state)
{
	status_board *b = status_board_new();
	model_set  *ms = xcalloc(1, sizeof(model_set));
	json_t	   *d;
	double		sec;

	(void) state;
	models_init(ms, 300);
	models_poll(b, "store7", ms, NULL, T0);
	models_poll(b, "store7", ms, not_third, T0 + 10 * SEC);
	for (int i = 0; i < ms->n; i++)
		ms->m[i].total_ms += i % 3 == 0 ? 1e9 : i;
	models_poll(b, "store7", ms, NULL, T0 + 20 * SEC);
	d = doc(b, NULL, T0 + 20 * SEC);
	/* the top ten are the kept models of most growth: m299 (0.299 s), m298, m296, ... */
	for (int i = 299, k = 0; k < STATUS_TOP_MODELS; i--)
	{
		if (i % 3 == 0)
			continue;
		assert_string_equal(top_model(d, (size_t) k, &sec), ms->names[i]);
		assert_true(sec == i / 1000.0);
		k++;
	}
	json_decref(d);
	/* and the models back measure from the poll that listed them again */
	for (int i = 0; i < ms->n; i++)
		ms->m[i].total_ms += i == 3 ? 5000 : 0;
	models_poll(b, "store7", ms, NULL, T0 + 30 * SEC);
	d = doc(b, NULL, T0 + 30 * SEC);
	assert_string_equal(top_model(d, 0, &sec), "m003");
	assert_true(sec == 5.0);
	json_decref(d);
	free(ms);
	status_board_free(b);
}

/*
 * A node no longer configured leaves the page, but the time its models
 * took stays in the top models until it leaves the window; configured
 * again, its first poll is a baseline.
 */
static void
test_models_of_node_retained_away(void **state)
{
	status_board *b = status_board_new();
	model_set  *a = xcalloc(1, sizeof(model_set));
	model_set  *c = xcalloc(1, sizeof(model_set));
	const char *keep[] = {"store7"};
	json_t	   *d;
	double		sec;

	(void) state;
	models_init(a, 3);
	models_init(c, 3);
	models_poll(b, "store7", a, NULL, T0);
	models_poll(b, "store8", c, NULL, T0);
	a->m[0].total_ms += 1000;
	c->m[1].total_ms += 4000;
	models_poll(b, "store7", a, NULL, T0 + 10 * SEC);
	models_poll(b, "store8", c, NULL, T0 + 10 * SEC);
	status_board_retain(b, keep, 1);
	d = doc(b, NULL, T0 + 20 * SEC);
	assert_int_equal(json_array_size(json_object_get(d, "nodes")), 1);
	assert_string_equal(top_model(d, 0, &sec), "m001");
	assert_true(sec == 4.0);
	assert_string_equal(str(json_array_get(json_object_get(d, "top_models"), 0), "node"), "store8");
	json_decref(d);
	/* back: a jump since its last poll is no growth, the next poll's is */
	c->m[1].total_ms += 100000;
	models_poll(b, "store8", c, NULL, T0 + 20 * SEC);
	assert_true(top_seconds(b, T0 + 20 * SEC) == 4.0);
	c->m[1].total_ms += 500;
	models_poll(b, "store8", c, NULL, T0 + 30 * SEC);
	assert_true(top_seconds(b, T0 + 30 * SEC) == 4.5);
	/* past the window nothing of it is left */
	models_poll(b, "store7", a, NULL, T0 + (40 + STATUS_MODEL_WINDOW_S) * SEC);
	assert_true(top_seconds(b, T0 + (40 + STATUS_MODEL_WINDOW_S) * SEC) == -1);
	/* and once the window has moved on by a quarter, its points and keys are gone */
	models_poll(b, "store7", a, NULL, T0 + 2 * STATUS_MODEL_WINDOW_S * SEC);
	assert_int_equal(status_board_model_points(b), 0);
	free(a);
	free(c);
	status_board_free(b);
}

/*
 * Odd bytes in a model's key: a name that is not UTF-8 keeps no total
 * (no growth, never on the page), nor does any model of a node whose name
 * is not; absent parts read "(null)"; and the key is the joined text the
 * page splits at \x1f, so parts that join to the same text are one model.
 */
static void
test_models_with_odd_bytes(void **state)
{
	status_board *b = status_board_new();
	model_set  *ms = xcalloc(1, sizeof(model_set));
	json_t	   *d,
			   *o;
	double		sec;

	(void) state;
	models_init(ms, 4);
	ms->m[0].model = "bad\xff.model";
	ms->m[1].database = NULL;
	ms->m[1].operation = NULL;
	ms->m[2].database = "odoo";
	ms->m[2].model = "a\x1f" "b";
	ms->m[3].database = "odoo\x1f" "a";
	ms->m[3].model = "b";
	ms->m[3].total_ms = 1500;
	models_poll(b, "store7", ms, NULL, T0);
	models_poll(b, "bad\xfe node", ms, NULL, T0);
	for (int i = 0; i < 3; i++)
		ms->m[i].total_ms += 1000 * (i + 1);
	ms->m[3].total_ms = 4500;
	models_poll(b, "store7", ms, NULL, T0 + 10 * SEC);
	models_poll(b, "bad\xfe node", ms, NULL, T0 + 10 * SEC);
	d = doc(b, NULL, T0 + 10 * SEC);
	/*
	 * "odoo\x1f" "a\x1f" "b\x1f" "read", listed twice a poll: each
	 * listing grew from the total the poll before kept (its last listing's,
	 * 1.5 s): 2.5 s and 3 s
	 */
	o = json_array_get(json_object_get(d, "top_models"), 0);
	assert_string_equal(top_model(d, 0, &sec), "a");
	assert_true(sec == 5.5);
	assert_string_equal(str(o, "node"), "store7");
	assert_string_equal(str(o, "database"), "odoo");
	assert_string_equal(str(o, "operation"), "b\x1f" "read");
	o = json_array_get(json_object_get(d, "top_models"), 1);
	assert_string_equal(top_model(d, 1, &sec), "m001");
	assert_true(sec == 2.0);
	assert_string_equal(str(o, "database"), "(null)");
	assert_string_equal(str(o, "operation"), "(null)");
	assert_int_equal(json_array_size(json_object_get(d, "top_models")), 2);
	json_decref(d);
	free(ms);
	status_board_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_document),
		cmocka_unit_test(test_standby_and_down_nodes),
		cmocka_unit_test(test_lag_charts_of_gone_standbys_dropped),
		cmocka_unit_test(test_top_models_ten_best),
		cmocka_unit_test(test_many_nodes_found_by_name),
		cmocka_unit_test(test_lag_history_bounded),
		cmocka_unit_test(test_lag_unknown_not_charted),
		cmocka_unit_test(test_top_models_over_window),
		cmocka_unit_test(test_destructive_events_kept_across_polls),
		cmocka_unit_test(test_alerts_with_facts),
		cmocka_unit_test(test_hostile_texts_stay_inert),
		cmocka_unit_test(test_runbook_journals),
		cmocka_unit_test(test_top_models_gone_and_back),
		cmocka_unit_test(test_models_dropped_and_listed_again),
		cmocka_unit_test(test_models_of_node_retained_away),
		cmocka_unit_test(test_models_with_odd_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
