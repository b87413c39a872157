/*
 * test_rules.c: the alert state machine (pending, firing, resolved,
 * hysteresis, keep_firing_for, re-notification, flapping, schedules,
 * reload), deduplication keys, schedules and the event's JSON form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert/alert.h"
#include "common/config.h"
#include "alert/facts.h"
#include "alert/rules.h"
#include "common/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((int64_t) (x) * 1000000)
/* 2026-11-23 is a Monday; 12:00 UTC */
#define MONDAY_NOON ((int64_t) 1795435200 * 1000000)

typedef struct fixture
{
	agent_cfg	cfg;
	rule_engine *re;
	event_list	ev;
} fixture;

static int
setup_text(void **state, const char *extra)
{
	fixture    *f = calloc(1, sizeof(fixture));
	config_errors errs = {0};
	char	   *text = xasprintf("[node n1]\nconninfo = host=x\ncluster = eu\nstore = 7\n%s", extra);

	if (!config_parse("t.conf", text, &f->cfg, &errs))
	{
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		free(text);
		return -1;
	}
	free(text);
	f->re = rules_new();
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_text(state,
					  "[rule connection_usage]\nthreshold = 80\nclear = 70\nfor = 60s\nrenotify = 10m\n"
					  "label.team = dba\n"
					  "[rule node_unreachable]\nfor = 0\nflap_count = 3\nflap_window = 10m\n"
					  "[rule lock_wait]\nthreshold = 30s\nclear = 20s\nfor = 0\nkeep_firing_for = 2m\n");
}

static int
teardown(void **state)
{
	fixture    *f = *state;

	events_free(&f->ev);
	rules_free(f->re);
	config_free(&f->cfg);
	free(f);
	return 0;
}

/* evaluates one fact (or none when value < 0) at time t; returns events produced */
static int
eval(fixture *f, rule_kind kind, const char *subject, double value, int64_t t)
{
	fact_list	facts = {0};
	int			before = f->ev.n;

	if (value >= 0)
	{
		fact	   *fa = facts_add(&facts, kind, subject, value, "value %g", value);

		labels_set(&fa->labels, "model", "stock.quant");
	}
	rules_eval_node(f->re, &f->cfg, &f->cfg.nodes[0], &facts, t, &f->ev);
	facts_free(&facts);
	return f->ev.n - before;
}

static alert_event *
last(fixture *f)
{
	return &f->ev.v[f->ev.n - 1];
}

static void
test_pending_then_firing_then_resolved(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;

	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 50, t), 0);
	assert_int_equal(rules_count(f->re, NULL).pending, 0);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 85, t + S(10)), 0);
	assert_int_equal(rules_count(f->re, "connection_usage").pending, 1);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(40)), 0);
	/* held for 60s: fires */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(70)), 1);
	assert_int_equal(last(f)->status, ALERT_FIRING);
	assert_string_equal(last(f)->dedup_key, "eu/n1/connection_usage/connections");
	assert_string_equal(labels_get(&last(f)->labels, "alertname"), "connection_usage");
	assert_string_equal(labels_get(&last(f)->labels, "severity"), "warning");
	assert_string_equal(labels_get(&last(f)->labels, "store"), "7");
	assert_string_equal(labels_get(&last(f)->labels, "team"), "dba");
	assert_string_equal(labels_get(&last(f)->labels, "model"), "stock.quant");
	assert_true(last(f)->starts_at_us == t + S(70));
	assert_int_equal(rules_count(f->re, NULL).firing, 1);
	/* hysteresis: 75 is below the threshold but above clear: still firing, no event */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 75, t + S(80)), 0);
	assert_int_equal(rules_count(f->re, NULL).firing, 1);
	/* below clear: resolved */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 60, t + S(90)), 1);
	assert_int_equal(last(f)->status, ALERT_RESOLVED);
	assert_true(last(f)->ends_at_us == t + S(90));
	assert_int_equal(rules_count(f->re, NULL).firing, 0);
}

static void
test_pending_drops_without_event(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;

	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 85, t), 0);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 79, t + S(30)), 0);
	assert_int_equal(rules_count(f->re, NULL).pending, 0);
	/* the for clock restarts */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 85, t + S(40)), 0);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 85, t + S(90)), 0);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 85, t + S(100)), 1);
}

static void
test_missing_fact_resolves(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;

	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, t), 1);
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", -1, t + S(10)), 1);
	assert_int_equal(last(f)->status, ALERT_RESOLVED);
}

static void
test_renotify(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;

	eval(f, RULE_CONNECTION_USAGE, "connections", 90, t);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(60)), 1);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(300)), 0);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(660)), 1);
	assert_int_equal(last(f)->status, ALERT_FIRING);
	/* same start: one alert, notified again */
	assert_true(last(f)->starts_at_us == t + S(60));
}

/* firing alerts are listed again as they were notified, pending ones not */
static void
test_firing_listed_for_repost(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;
	event_list	out = {0};

	eval(f, RULE_CONNECTION_USAGE, "connections", 90, t);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(60)), 1);
	rules_firing(f->re, &f->cfg, t + S(120), &out);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.v[0].status, ALERT_FIRING);
	assert_string_equal(out.v[0].dedup_key, last(f)->dedup_key);
	assert_true(out.v[0].starts_at_us == t + S(60));
	assert_true(out.v[0].event_at_us == t + S(120));
	/* the node's tags, from its configuration found by name */
	assert_string_equal(labels_get(&out.v[0].labels, "store"), "7");
	events_free(&out);
	/* resolved: nothing to re-post */
	eval(f, RULE_CONNECTION_USAGE, "connections", 10, t + S(180));
	rules_firing(f->re, &f->cfg, t + S(240), &out);
	assert_int_equal(out.n, 0);
	events_free(&out);
}

/*
 * A poll that did not ask the node (backing off) leaves its alerts as
 * they are: a pending alert neither fires on time that was not observed
 * nor starts over, a firing one is not resolved, and the facts it does
 * carry (its cluster's) are evaluated.
 */
static void
test_unasked_poll_changes_nothing(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;
	fact_list	none = {0};
	fact_list	lock = {0};

	/* pending from t (for = 60s) */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t), 0);
	assert_int_equal(rules_count(f->re, "connection_usage").pending, 1);
	/* unasked past its for: no firing, still pending */
	rules_eval_node_unasked(f->re, &f->cfg, &f->cfg.nodes[0], &none, t + S(70), &f->ev);
	assert_int_equal(f->ev.n, 0);
	assert_int_equal(rules_count(f->re, "connection_usage").pending, 1);
	/* asked again and fine: it clears without ever firing */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 10, t + S(75)), 0);
	assert_int_equal(rules_count(f->re, "connection_usage").pending, 0);
	/* pending again; unasked; asked and still over: it fires, counted from its start */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(100)), 0);
	rules_eval_node_unasked(f->re, &f->cfg, &f->cfg.nodes[0], &none, t + S(130), &f->ev);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(161)), 1);
	assert_int_equal(last(f)->status, ALERT_FIRING);
	/* a firing alert is not resolved by an unasked poll */
	rules_eval_node_unasked(f->re, &f->cfg, &f->cfg.nodes[0], &none, t + S(170), &f->ev);
	assert_int_equal(rules_count(f->re, "connection_usage").firing, 1);
	/* the facts an unasked poll carries are evaluated */
	facts_add(&lock, RULE_LOCK_WAIT, "odoo/x", 99, "wait");
	rules_eval_node_unasked(f->re, &f->cfg, &f->cfg.nodes[0], &lock, t + S(180), &f->ev);
	facts_free(&lock);
	assert_string_equal(last(f)->rule, "lock_wait");
	assert_int_equal(last(f)->status, ALERT_FIRING);
	assert_int_equal(rules_count(f->re, "connection_usage").firing, 1);
}

static void
test_keep_firing_for(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;

	assert_int_equal(eval(f, RULE_LOCK_WAIT, "odoo/stock.quant", 45, t), 1);
	assert_int_equal(eval(f, RULE_LOCK_WAIT, "odoo/stock.quant", -1, t + S(60)), 0);
	assert_int_equal(eval(f, RULE_LOCK_WAIT, "odoo/stock.quant", 10, t + S(100)), 0);
	assert_int_equal(eval(f, RULE_LOCK_WAIT, "odoo/stock.quant", -1, t + S(121)), 1);
	assert_int_equal(last(f)->status, ALERT_RESOLVED);
}

static void
test_subjects_are_separate_alerts(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;
	fact_list	facts = {0};

	facts_add(&facts, RULE_LOCK_WAIT, "odoo/stock.quant", 40, "a");
	facts_add(&facts, RULE_LOCK_WAIT, "odoo/sale.order", 50, "b");
	facts_add(&facts, RULE_LOCK_WAIT, "odoo/res.partner", 5, "c");
	rules_eval_node(f->re, &f->cfg, &f->cfg.nodes[0], &facts, t, &f->ev);
	facts_free(&facts);
	assert_int_equal(f->ev.n, 2);
	assert_string_equal(f->ev.v[0].dedup_key, "eu/n1/lock_wait/odoo/stock.quant");
	assert_string_equal(f->ev.v[1].dedup_key, "eu/n1/lock_wait/odoo/sale.order");
}

static void
test_flap_suppression(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;

	/* fire/resolve twice: normal */
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, t), 1);
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 0, t + S(10)), 1);
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, t + S(20)), 1);
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 0, t + S(30)), 1);
	/* third fire within 10 minutes: flapping, stays firing while clear */
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, t + S(40)), 1);
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 0, t + S(50)), 0);
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, t + S(60)), 0);
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 0, t + S(70)), 0);
	assert_int_equal(rules_count(f->re, NULL).firing, 1);
	/* clear for the whole window: one resolution */
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 0, t + S(70 + 600)), 1);
	assert_int_equal(last(f)->status, ALERT_RESOLVED);
}

static void
test_schedule_raises_severity(void **state)
{
	fixture    *f;
	int64_t		mon_noon = MONDAY_NOON;
	int64_t		sun_noon = MONDAY_NOON - S(86400);

	(void) state;
	assert_int_equal(setup_text((void **) &f, "[rule node_unreachable]\nfor = 0\nseverity = warning\n"
								"raise_during = mon-sat 09:00-21:00\nraise_severity = critical\n"), 0);
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, sun_noon), 1);
	assert_int_equal(last(f)->sev, SEV_WARNING);
	/*
	 * still firing on Monday: severity rises.  The severity label is part of
	 * the alert's identity, so the warning is resolved first, then the
	 * critical one fires, in the same evaluation.
	 */
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, mon_noon), 2);
	assert_int_equal(f->ev.v[f->ev.n - 2].status, ALERT_RESOLVED);
	assert_int_equal(f->ev.v[f->ev.n - 2].sev, SEV_WARNING);
	assert_string_equal(labels_get(&f->ev.v[f->ev.n - 2].labels, "severity"), "warning");
	assert_int_equal(last(f)->status, ALERT_FIRING);
	assert_int_equal(last(f)->sev, SEV_CRITICAL);
	assert_string_equal(labels_get(&last(f)->labels, "severity"), "critical");
	assert_string_equal(f->ev.v[f->ev.n - 2].dedup_key, last(f)->dedup_key);
	/* re-notified with the same identity: nothing to resolve */
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, mon_noon + S(5)), 0);
	/* the resolution carries the severity that was notified */
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 0, mon_noon + S(10)), 1);
	assert_int_equal(last(f)->sev, SEV_CRITICAL);
	teardown((void **) &f);
}

static void
test_schedule_mutes_non_critical(void **state)
{
	fixture    *f;
	int64_t		batch = MONDAY_NOON - S(10 * 3600);	/* 02:00 */
	int64_t		after = MONDAY_NOON - S(7 * 3600);	/* 05:00 */

	(void) state;
	assert_int_equal(setup_text((void **) &f, "[rule connection_usage]\nfor = 0\nmute_during = * 01:00-04:00\n"
								"[rule node_unreachable]\nfor = 0\nmute_during = * 01:00-04:00\n"), 0);
	/* warning: muted; critical node_unreachable: not muted */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 95, batch), 0);
	assert_int_equal(rules_count(f->re, NULL).firing, 1);
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, batch), 1);
	/* window over, still firing: notified now (node_unreachable, absent, resolves) */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 95, after), 2);
	assert_string_equal(f->ev.v[f->ev.n - 2].rule, "connection_usage");
	assert_int_equal(f->ev.v[f->ev.n - 2].status, ALERT_FIRING);
	assert_string_equal(last(f)->rule, "node_unreachable");
	assert_int_equal(last(f)->status, ALERT_RESOLVED);
	teardown((void **) &f);
	/* a muted alert that resolves inside the window sends nothing at all */
	assert_int_equal(setup_text((void **) &f, "[rule connection_usage]\nfor = 0\nmute_during = * 01:00-04:00\n"), 0);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 95, batch), 0);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 10, batch + S(60)), 0);
	assert_int_equal(rules_count(f->re, NULL).firing, 0);
	teardown((void **) &f);
}

static void
test_disabled_rule(void **state)
{
	fixture    *f;

	(void) state;
	assert_int_equal(setup_text((void **) &f, "[rule node_unreachable]\nenabled = false\n"), 0);
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, MONDAY_NOON), 0);
	assert_int_equal(rules_count(f->re, NULL).pending + rules_count(f->re, NULL).firing, 0);
	teardown((void **) &f);
}

static void
test_reload_keeps_and_resolves(void **state)
{
	fixture    *f = *state;
	agent_cfg	fresh;
	config_errors errs = {0};
	int64_t		t = MONDAY_NOON;
	fact_list	facts = {0};

	facts_add(&facts, RULE_NODE_UNREACHABLE, "node", 1, "down");
	facts_add(&facts, RULE_LOCK_WAIT, "odoo/x", 99, "wait");
	rules_eval_node(f->re, &f->cfg, &f->cfg.nodes[0], &facts, t, &f->ev);
	facts_free(&facts);
	assert_int_equal(f->ev.n, 2);
	/* the new configuration drops lock_wait: its alert resolves; node_unreachable is kept */
	assert_true(config_parse("t.conf", "[node n1]\nconninfo = host=x\ncluster = eu\nstore = 7\n"
							 "[rule lock_wait]\nenabled = false\n[rule node_unreachable]\nfor = 0\n",
							 &fresh, &errs));
	config_free(&f->cfg);
	f->cfg = fresh;
	rules_reconcile(f->re, &f->cfg, t + S(1), &f->ev);
	assert_int_equal(f->ev.n, 3);
	assert_int_equal(last(f)->status, ALERT_RESOLVED);
	assert_string_equal(last(f)->rule, "lock_wait");
	assert_int_equal(rules_count(f->re, NULL).firing, 1);
	/* no second firing for the kept alert (its labels, the node's tags included, are the same) */
	assert_int_equal(eval(f, RULE_NODE_UNREACHABLE, "node", 1, t + S(2)), 0);
}

/*
 * A notification the spool could not take (disk full) is not lost: the
 * alert stays un-notified and the next evaluation sends it again.
 */
static void
test_spool_failure_retries_firing(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;

	/* first firing notification fails */
	assert_int_equal(eval(f, RULE_LOCK_WAIT, "odoo/stock.quant", 42, t), 1);
	rules_spool_failed(f->re, last(f));
	assert_int_equal(rules_count(f->re, "lock_wait").firing, 1);
	/* the next poll sends it again (and again while it fails) */
	assert_int_equal(eval(f, RULE_LOCK_WAIT, "odoo/stock.quant", 43, t + S(10)), 1);
	assert_int_equal(last(f)->status, ALERT_FIRING);
	rules_spool_failed(f->re, last(f));
	assert_int_equal(eval(f, RULE_LOCK_WAIT, "odoo/stock.quant", 44, t + S(20)), 1);
	assert_int_equal(last(f)->status, ALERT_FIRING);
	/* spooled now: quiet until renotify */
	assert_int_equal(eval(f, RULE_LOCK_WAIT, "odoo/stock.quant", 45, t + S(30)), 0);

	/* a never-delivered firing owes no resolution */
	assert_int_equal(eval(f, RULE_LOCK_WAIT, "odoo/sale.order", 42, t + S(40)), 1);
	assert_string_equal(last(f)->dedup_key, "eu/n1/lock_wait/odoo/sale.order");
	rules_spool_failed(f->re, last(f));
	/* only the delivered stock.quant alert (no fact since t+30) resolves */
	assert_int_equal(eval(f, RULE_LOCK_WAIT, "odoo/sale.order", 1, t + S(240)), 1);
	assert_string_equal(last(f)->dedup_key, "eu/n1/lock_wait/odoo/stock.quant");
	assert_int_equal(last(f)->status, ALERT_RESOLVED);
}

/* a failed renotification of a delivered alert is retried and its resolution still comes */
static void
test_spool_failure_retries_renotify_and_resolution(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;
	int64_t		starts;

	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t), 0);
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(60)), 1);
	starts = last(f)->starts_at_us;
	/* renotify after 10 min fails */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(660)), 1);
	rules_spool_failed(f->re, last(f));
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 90, t + S(670)), 1);
	assert_int_equal(last(f)->status, ALERT_FIRING);
	rules_spool_failed(f->re, last(f));
	/* the alert ends while the spool still fails: its resolution is due */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 10, t + S(680)), 1);
	assert_int_equal(last(f)->status, ALERT_RESOLVED);
	rules_spool_failed(f->re, last(f));
	assert_int_equal(rules_count(f->re, NULL).firing, 0);
	/* kept and sent at the next evaluation, before anything newer for the same alert */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 95, t + S(690)), 1);
	assert_int_equal(last(f)->status, ALERT_RESOLVED);
	assert_true(last(f)->starts_at_us == starts);
	assert_true(last(f)->ends_at_us == t + S(680));
	/* sent once: not owed any more */
	assert_int_equal(eval(f, RULE_CONNECTION_USAGE, "connections", 10, t + S(700)), 0);
}

/* what a restarted agent restores: the same alerts, same labels, flap history */
static void
test_state_round_trip(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;
	rule_engine *back = rules_new();
	char	   *json,
			   *json2,
			   *err = NULL;
	fact_list	facts = {0};
	fact	   *fa;
	event_list	ev = {0};

	/* lock_wait fires with duration_seconds = 42, connection_usage is pending, node_unreachable flaps */
	for (int i = 0; i < 4; i++)
	{
		fa = facts_add(&facts, RULE_LOCK_WAIT, "odoo/stock.quant", 42, "wait 42 s");
		labels_set(&fa->labels, "duration_seconds", "42");
		facts_add(&facts, RULE_CONNECTION_USAGE, "connections", 90, "90 %%");
		if (i % 2 == 0)
			facts_add(&facts, RULE_NODE_UNREACHABLE, "node", 1, "down");
		rules_eval_node(f->re, &f->cfg, &f->cfg.nodes[0], &facts, t + S(10 * i), &f->ev);
		facts_free(&facts);
	}
	/* the last evaluation resolved node_unreachable, and the spool was full */
	assert_int_equal(last(f)->status, ALERT_RESOLVED);
	assert_string_equal(last(f)->dedup_key, "eu/n1/node_unreachable/node");
	rules_spool_failed(f->re, last(f));

	json = rules_to_json(f->re);
	assert_true(rules_from_json(back, json, &err));
	json2 = rules_to_json(back);
	assert_string_equal(json, json2);
	assert_int_equal(rules_count(back, "lock_wait").firing, 1);
	assert_int_equal(rules_count(back, "connection_usage").pending, 1);

	/* the restored engine: owed resolution first; the wait goes on (45 s) without a new page */
	fa = facts_add(&facts, RULE_LOCK_WAIT, "odoo/stock.quant", 45, "wait 45 s");
	labels_set(&fa->labels, "duration_seconds", "45");
	facts_add(&facts, RULE_CONNECTION_USAGE, "connections", 90, "90 %%");
	rules_eval_node(back, &f->cfg, &f->cfg.nodes[0], &facts, t + S(40), &ev);
	facts_free(&facts);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].status, ALERT_RESOLVED);
	assert_string_equal(ev.v[0].dedup_key, "eu/n1/node_unreachable/node");
	events_free(&ev);
	/* the wait ends: resolved with the labels it fired with, and the same key */
	rules_eval_node(back, &f->cfg, &f->cfg.nodes[0], &facts, t + S(300), &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].status, ALERT_RESOLVED);
	assert_string_equal(ev.v[0].dedup_key, "eu/n1/lock_wait/odoo/stock.quant");
	assert_string_equal(labels_get(&ev.v[0].labels, "duration_seconds"), "42");
	assert_true(ev.v[0].starts_at_us == t);
	events_free(&ev);
	free(json);
	free(json2);
	rules_free(back);
}

/*
 * An incident keeps one identity through a restart and a reload: labels
 * hold only what the fact gave as identity, values are annotations; the
 * restored engine re-posts and resolves the exact label set it fired with,
 * and a reload that changes a rule label resolves the old set before the
 * new one fires.  The deduplication key never changes.
 */
static void
test_identity_survives_restart_and_relabel(void **state)
{
	fixture    *f = *state;
	fixture    *g;
	int64_t		t = MONDAY_NOON;
	rule_engine *back = rules_new();
	char	   *json,
			   *err = NULL;
	fact_list	facts = {0};
	fact	   *fa;
	event_list	ev = {0};
	const char *desc;

	fa = facts_add(&facts, RULE_LOCK_WAIT, "odoo/stock.quant", 42, "wait 42 s");
	labels_set(&fa->labels, "model", "stock.quant");
	labels_set(&fa->annotations, "root_pid", "400");
	labels_set(&fa->annotations, "duration_seconds", "42");
	rules_eval_node(f->re, &f->cfg, &f->cfg.nodes[0], &facts, t, &f->ev);
	facts_free(&facts);
	assert_int_equal(f->ev.n, 1);
	assert_null(labels_get(&last(f)->labels, "root_pid"));
	assert_null(labels_get(&last(f)->labels, "duration_seconds"));
	assert_string_equal(labels_get(&last(f)->labels, "model"), "stock.quant");
	assert_string_equal(labels_get(&last(f)->annotations, "root_pid"), "400");
	desc = labels_get(&last(f)->annotations, "description");
	assert_non_null(desc);
	assert_non_null(strstr(desc, "root_pid: 400"));
	assert_string_equal(labels_get(&last(f)->annotations, "runbook_url"),
						ORGUARD_DEFAULT_RUNBOOK_BASE_URL "#lock_wait");
	assert_string_equal(labels_get(&last(f)->annotations, "summary"), last(f)->summary);

	/* restart: the state goes through its JSON form */
	json = rules_to_json(f->re);
	assert_true(rules_from_json(back, json, &err));
	free(json);

	/* a reload gives the rule a label and a runbook base URL: old set resolved, then the new one */
	assert_int_equal(setup_text((void **) &g,
								"[agent]\nrunbook_base_url = https://wiki.example/rules\n"
								"[rule lock_wait]\nthreshold = 30s\nclear = 20s\nfor = 0\n"
								"renotify = 10m\nkeep_firing_for = 0\nlabel.team = dba\n"), 0);
	fa = facts_add(&facts, RULE_LOCK_WAIT, "odoo/stock.quant", 50, "wait 50 s");
	labels_set(&fa->labels, "model", "stock.quant");
	labels_set(&fa->annotations, "root_pid", "401");
	rules_eval_node(back, &g->cfg, &g->cfg.nodes[0], &facts, t + S(10), &ev);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.v[0].status, ALERT_RESOLVED);
	assert_null(labels_get(&ev.v[0].labels, "team"));
	assert_string_equal(labels_get(&ev.v[0].labels, "model"), "stock.quant");
	assert_int_equal(ev.v[1].status, ALERT_FIRING);
	assert_string_equal(labels_get(&ev.v[1].labels, "team"), "dba");
	assert_string_equal(ev.v[0].dedup_key, "eu/n1/lock_wait/odoo/stock.quant");
	assert_string_equal(ev.v[1].dedup_key, ev.v[0].dedup_key);
	assert_string_equal(labels_get(&ev.v[1].annotations, "root_pid"), "401");
	assert_string_equal(labels_get(&ev.v[1].annotations, "runbook_url"),
						"https://wiki.example/rules#lock_wait");
	events_free(&ev);

	/* another restart, then the wait ends: the set it fired with last is resolved */
	json = rules_to_json(back);
	rules_free(back);
	back = rules_new();
	assert_true(rules_from_json(back, json, &err));
	free(json);
	rules_eval_node(back, &g->cfg, &g->cfg.nodes[0], &facts, t + S(20), &ev);
	assert_int_equal(ev.n, 0);
	facts_free(&facts);
	rules_eval_node(back, &g->cfg, &g->cfg.nodes[0], &facts, t + S(30), &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].status, ALERT_RESOLVED);
	assert_string_equal(labels_get(&ev.v[0].labels, "team"), "dba");
	assert_string_equal(ev.v[0].dedup_key, "eu/n1/lock_wait/odoo/stock.quant");
	events_free(&ev);
	rules_free(back);
	teardown((void **) &g);
}

static void
test_state_flap_history_restored(void **state)
{
	fixture    *f = *state;
	int64_t		t = MONDAY_NOON;
	rule_engine *back = rules_new();
	char	   *json,
			   *err = NULL;
	event_list	ev = {0};
	fact_list	facts = {0};

	/* fired twice in the flap window (count 3, window 10 min) */
	eval(f, RULE_NODE_UNREACHABLE, "node", 1, t);
	eval(f, RULE_NODE_UNREACHABLE, "node", -1, t + S(10));
	eval(f, RULE_NODE_UNREACHABLE, "node", 1, t + S(20));
	eval(f, RULE_NODE_UNREACHABLE, "node", -1, t + S(30));
	json = rules_to_json(f->re);
	assert_true(rules_from_json(back, json, &err));
	/* the third fire after a restart: flapping, so it stays firing while clear */
	facts_add(&facts, RULE_NODE_UNREACHABLE, "node", 1, "down");
	rules_eval_node(back, &f->cfg, &f->cfg.nodes[0], &facts, t + S(40), &ev);
	facts_free(&facts);
	assert_int_equal(ev.n, 1);
	events_free(&ev);
	rules_eval_node(back, &f->cfg, &f->cfg.nodes[0], &facts, t + S(50), &ev);
	assert_int_equal(ev.n, 0);
	assert_int_equal(rules_count(back, NULL).firing, 1);
	free(json);
	rules_free(back);
}

static void
test_state_malformed(void **state)
{
	rule_engine *re = rules_new();
	char	   *err = NULL;

	(void) state;
	assert_false(rules_from_json(re, "not json", &err));
	assert_non_null(err);
	free(err);
	err = NULL;
	assert_false(rules_from_json(re, "{\"version\":99,\"alerts\":[],\"owed_resolutions\":[]}", &err));
	free(err);
	err = NULL;
	/* a bad entry is skipped, the good one kept */
	assert_false(rules_from_json(re,
								 "{\"version\":1,\"owed_resolutions\":[],\"alerts\":[{\"key\":1},"
								 "{\"key\":\"k\",\"rule\":\"lock_wait\",\"node\":\"n1\",\"cluster\":\"eu\","
								 "\"subject\":\"s\",\"summary\":\"\",\"state\":\"firing\",\"notified\":true,"
								 "\"was_notified\":false,\"retry\":false,\"notified_severity\":\"warning\","
								 "\"active_since_us\":1,\"last_active_us\":1,\"fired_at_us\":1,"
								 "\"last_notified_us\":1,\"fires_us\":[1],\"value\":3.5,\"labels\":{}}]}", &err));
	assert_non_null(strstr(err, "1 malformed entry"));
	free(err);
	assert_int_equal(rules_count(re, NULL).firing, 1);
	rules_free(re);
}

static void
test_dedup_key(void **state)
{
	char	   *k = alert_dedup_key("eu", "store-1", "lock_wait", "odoo/stock.quant");
	char		longsub[400];
	char	   *a,
			   *b;

	(void) state;
	assert_string_equal(k, "eu/store-1/lock_wait/odoo/stock.quant");
	free(k);
	memset(longsub, 'x', sizeof(longsub) - 1);
	longsub[sizeof(longsub) - 1] = '\0';
	a = alert_dedup_key("eu", "n", "r", longsub);
	longsub[300] = 'y';
	b = alert_dedup_key("eu", "n", "r", longsub);
	assert_int_equal(strlen(a), DEDUP_KEY_MAX);
	assert_int_equal(strlen(b), DEDUP_KEY_MAX);
	assert_string_not_equal(a, b);
	assert_memory_equal(a, "eu/n/r/xxx", 10);
	free(a);
	free(b);
}

static void
test_alert_json_round_trip(void **state)
{
	fixture    *f = *state;
	alert_event back;
	char	   *json;

	eval(f, RULE_NODE_UNREACHABLE, "node", 1, MONDAY_NOON);
	json = alert_to_json(last(f));
	assert_true(alert_from_json(json, &back));
	assert_string_equal(back.dedup_key, last(f)->dedup_key);
	assert_string_equal(back.summary, last(f)->summary);
	assert_int_equal(back.sev, SEV_CRITICAL);
	assert_int_equal(back.status, ALERT_FIRING);
	assert_true(back.starts_at_us == MONDAY_NOON);
	assert_int_equal(back.labels.n, last(f)->labels.n);
	assert_string_equal(labels_get(&back.labels, "store"), "7");
	alert_free(&back);
	free(json);
	assert_false(alert_from_json("{\"status\":\"firing\"}", &back));
	assert_false(alert_from_json("not json", &back));
	assert_false(alert_from_json("[]", &back));
}

static void
test_schedule_parse_and_contains(void **state)
{
	schedule	s;
	struct tm	tm = {0};

	(void) state;
	assert_null(schedule_parse("mon-fri 08:00-21:00; sat 09:00-18:00", &s));
	assert_int_equal(s.n, 2);
	tm.tm_wday = 1;				/* Monday */
	tm.tm_hour = 8;
	assert_true(schedule_contains(&s, &tm));
	tm.tm_hour = 21;
	assert_false(schedule_contains(&s, &tm));
	tm.tm_wday = 6;				/* Saturday */
	tm.tm_hour = 17;
	tm.tm_min = 59;
	assert_true(schedule_contains(&s, &tm));
	tm.tm_wday = 0;				/* Sunday */
	assert_false(schedule_contains(&s, &tm));
	schedule_free(&s);
	/* crossing midnight belongs to the starting day; ranges wrap */
	assert_null(schedule_parse("fri-mon 22:00-02:00", &s));
	tm.tm_wday = 6;				/* Saturday 01:00: Friday's window */
	tm.tm_hour = 1;
	tm.tm_min = 0;
	assert_true(schedule_contains(&s, &tm));
	tm.tm_wday = 3;				/* Wednesday 01:00 */
	assert_false(schedule_contains(&s, &tm));
	tm.tm_wday = 2;				/* Tuesday 01:00: Monday's window */
	assert_true(schedule_contains(&s, &tm));
	schedule_free(&s);
	assert_null(schedule_parse("* 00:00-24:00", &s));
	tm.tm_hour = 23;
	tm.tm_min = 59;
	assert_true(schedule_contains(&s, &tm));
	schedule_free(&s);
	assert_non_null(schedule_parse("", &s));
	assert_non_null(schedule_parse("mon", &s));
	assert_non_null(schedule_parse("mon 10:00-10:00", &s));
	assert_non_null(schedule_parse("mon 10:00-11:00 extra", &s));
	assert_non_null(schedule_parse("funday 10:00-11:00", &s));
	assert_non_null(schedule_parse("mon 1000-1100", &s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pending_then_firing_then_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_drops_without_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_fact_resolves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renotify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_firing_listed_for_repost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unasked_poll_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_firing_for, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subjects_are_separate_alerts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flap_suppression, setup, teardown),
		cmocka_unit_test(test_schedule_raises_severity),
		cmocka_unit_test(test_schedule_mutes_non_critical),
		cmocka_unit_test(test_disabled_rule),
		cmocka_unit_test_setup_teardown(test_reload_keeps_and_resolves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_failure_retries_firing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_failure_retries_renotify_and_resolution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_survives_restart_and_relabel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_flap_history_restored, setup, teardown),
		cmocka_unit_test(test_state_malformed),
		cmocka_unit_test(test_dedup_key),
		cmocka_unit_test_setup_teardown(test_alert_json_round_trip, setup, teardown),
		cmocka_unit_test(test_schedule_parse_and_contains),
	};

	return cmocka_run_group_tests_name("agent rules", tests, NULL, NULL);
}
