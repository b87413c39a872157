/*
 * test_rules_scale.c: the rule engine's cost follows what matters.
 *
 * The fact gate (rules_gate_init + facts_from_snapshot_gated) leaves out
 * facts no rule can act on; driving two engines over the same snapshots,
 * one with every fact and one with the gate, must give the same events
 * and the same persisted state, poll by poll.  An evaluation of one node
 * walks that node's instances only, with 500 nodes of 20 firing alerts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert/alert.h"
#include "alert/facts.h"
#include "alert/rules.h"
#include "common/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((int64_t) (x) * 1000000)
/* 2026-11-23 is a Monday; 12:00 UTC */
#define MONDAY_NOON ((int64_t) 1795435200 * 1000000)

#define N_TABLES 60
#define N_MODELS 30
#define N_POLLS 48

static bool
parse(agent_cfg *cfg, const char *text)
{
	config_errors errs = {0};
	bool		ok = config_parse("t.conf", text, cfg, &errs);

	for (int i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	config_errors_free(&errs);
	return ok;
}

/* deterministic noise: the same sequence for both engines */
static uint32_t
next_rand(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) & 0xffff;
}

/*
 * Table 0 is scripted for xid_age (threshold 1000, clear 900, keep_firing_for
 * 20s; xid_age_early 800/700 held 10s): fires, holds above clear, falls far
 * below every floor and resolves with that value; table 2 does the same and
 * a namesake entry (last) with a low value follows it.  Table 1 goes
 * pending for xid_age_early and drops back.  The rest move at random,
 * mostly low.
 */
static const int64_t xid_script[N_POLLS] = {
	100, 1200, 1200, 950, 10, 10, 10, 10, 1300, 5, 5, 5, 5, 5, 5, 5,
	100, 100, 1100, 1100, 1100, 880, 600, 20, 20, 20, 20, 20, 20, 20, 20, 20,
	2000, 2000, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
};
static const int64_t pending_script[N_POLLS] = {
	850, 50, 850, 850, 50, 850, 850, 850, 50, 50, 50, 50, 50, 50, 50, 50,
	50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
	50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
};

typedef struct world
{
	OdooRetailGuard__Snapshot snap;
	OdooRetailGuard__AutovacuumLag av[N_TABLES];
	OdooRetailGuard__AutovacuumLag *avp[N_TABLES];
	OdooRetailGuard__ModelStat ms[N_MODELS];
	OdooRetailGuard__ModelStat *msp[N_MODELS];
	char		relation[N_TABLES][32];
	char		model[N_MODELS][32];
	char		long_name[300];	/* table 5 and model 5: keys and subjects past the stack buffers */
	uint64_t	slow_calls[N_MODELS];
	uint32_t	seed;
} world;

static void
world_init(world *w)
{
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;

	memset(w, 0, sizeof(*w));
	w->snap = s;
	w->seed = 4242;
	for (int i = 0; i < N_TABLES; i++)
	{
		OdooRetailGuard__AutovacuumLag a = ODOO_RETAIL_GUARD__AUTOVACUUM_LAG__INIT;

		/* the last table has table 2's name (another schema): one subject, two entries */
		snprintf(w->relation[i], sizeof(w->relation[i]), "table_%d", i == N_TABLES - 1 ? 2 : i);
		a.database = "odoo";
		a.relation = w->relation[i];
		a.model = "";
		a.freeze_max_age = 200000000;
		w->av[i] = a;
		w->avp[i] = &w->av[i];
	}
	for (int i = 0; i < N_MODELS; i++)
	{
		OdooRetailGuard__ModelStat m = ODOO_RETAIL_GUARD__MODEL_STAT__INIT;

		/* the last model entry is model 3's operation again (two relations of one model) */
		snprintf(w->model[i], sizeof(w->model[i]), "model.m%d", i == N_MODELS - 1 ? 3 : i);
		m.database = "odoo";
		m.model = w->model[i];
		m.operation = (i == N_MODELS - 1 ? 3 : i) % 2 ? "read" : "write";
		w->ms[i] = m;
		w->msp[i] = &w->ms[i];
	}
	memset(w->long_name, 'n', sizeof(w->long_name) - 1);
	w->av[5].relation = w->long_name;
	w->ms[5].model = w->long_name;
	w->snap.n_autovacuum_lag = N_TABLES;
	w->snap.autovacuum_lag = w->avp;
	w->snap.n_models = N_MODELS;
	w->snap.models = w->msp;
}

/* the snapshot of poll p */
static void
world_poll(world *w, int p)
{
	for (int i = 0; i < N_TABLES; i++)
	{
		OdooRetailGuard__AutovacuumLag *a = &w->av[i];
		uint32_t	r = next_rand(&w->seed);

		if (i == 0 || i == 2 || i == 5)
			a->xid_age = xid_script[p];
		else if (i == N_TABLES - 1)
			a->xid_age = 5;		/* table 2's namesake: takes the alert table 2 made */
		else if (i == 1)
			a->xid_age = pending_script[p];
		else
			a->xid_age = r % 60 == 0 ? 700 + r % 700 : 1 + r % 400;
		r = next_rand(&w->seed);
		a->over_threshold_since_us = r % 3 ? 0 : 1;
		a->lag_s = r % 40 == 0 ? 400 + r % 600 : r % 200;
		a->dead_tuples = r;
	}
	for (int i = 0; i < N_MODELS; i++)
	{
		OdooRetailGuard__ModelStat *m = &w->ms[i];
		uint32_t	r = next_rand(&w->seed);

		/* 10 s polls: n more slow calls is 6n per minute (threshold 30, clear 20) */
		w->slow_calls[i] += r % 25 == 0 ? 3 + r % 6 : r % 3;
		m->slow_calls = w->slow_calls[i];
		/* about 100 ms, now and then 2.5x to 5x */
		m->p95_ms = r % 30 == 0 ? 250 + r % 250 : 95 + r % 10;
		if (i == 3 && p >= 20 && p < 24)
			m->p95_ms = 600;	/* model 3's namesake entry follows with a normal p95 */
	}
}

static void
assert_labels_equal(const labelset *a, const labelset *b)
{
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++)
	{
		assert_string_equal(a->v[i].name, b->v[i].name);
		assert_string_equal(a->v[i].value, b->v[i].value);
	}
}

static void
assert_events_equal(const event_list *a, const event_list *b)
{
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++)
	{
		const alert_event *x = &a->v[i];
		const alert_event *y = &b->v[i];
		char	   *jx = alert_to_json(x);
		char	   *jy = alert_to_json(y);

		assert_int_equal(x->status, y->status);
		assert_string_equal(x->dedup_key, y->dedup_key);
		assert_string_equal(x->rule, y->rule);
		assert_string_equal(x->subject, y->subject);
		assert_string_equal(x->summary, y->summary);
		assert_int_equal(x->sev, y->sev);
		assert_true(x->value == y->value);
		assert_true(x->starts_at_us == y->starts_at_us);
		assert_true(x->ends_at_us == y->ends_at_us);
		assert_labels_equal(&x->labels, &y->labels);
		assert_labels_equal(&x->annotations, &y->annotations);
		assert_string_equal(jx, jy);
		free(jx);
		free(jy);
	}
}

static const char equivalence_cfg[] =
	"[node n1]\nconninfo = host=x\ncluster = eu\n"
	"[rule xid_age]\nthreshold = 1000\nclear = 900\nfor = 0\nkeep_firing_for = 20s\n"
	"[rule xid_age_early]\nkind = xid_age\nthreshold = 800\nclear = 700\nfor = 10s\n"
	"[rule autovacuum_lag]\nthreshold = 600s\nclear = 300s\nfor = 20s\n"
	"[rule slow_query_rate]\nthreshold = 30\nclear = 20\nfor = 10s\n"
	"[rule slow_query_p95]\nthreshold = 2.5\nclear = 2\nfor = 0\nkeep_firing_for = 10s\n"
	"[rule lock_wait]\nenabled = false\n";

/*
 * The gate is an optimisation only: with and without it, the same events
 * (every field) and the same engine state after every poll, while far
 * fewer facts are built.
 */
static void
test_gate_changes_no_event(void **state)
{
	agent_cfg	cfg = {0};
	world		w;
	rule_engine *all = rules_new();
	rule_engine *gated = rules_new();
	facts_memory *mem_all = facts_memory_new();
	facts_memory *mem_gated = facts_memory_new();
	int			facts_all = 0,
				facts_gated = 0,
				firing = 0,
				resolved_below_floor = 0,
				p95_events = 0,
				rate_events = 0;

	(void) state;
	assert_true(parse(&cfg, equivalence_cfg));
	world_init(&w);
	for (int p = 0; p < N_POLLS; p++)
	{
		int64_t		t = MONDAY_NOON + S(10 * p);
		fact_list	fa = {0},
					fg = {0};
		event_list	ea = {0},
					eg = {0};
		rules_gate	gate;
		char	   *ja,
				   *jg;

		world_poll(&w, p);
		facts_from_snapshot(&w.snap, mem_all, t, &fa);
		rules_gate_init(&gate, gated, &cfg, &cfg.nodes[0]);
		facts_from_snapshot_gated(&w.snap, mem_gated, t, &gate.gate, &fg);
		facts_all += fa.n;
		facts_gated += fg.n;
		rules_eval_node(all, &cfg, &cfg.nodes[0], &fa, t, &ea);
		rules_eval_node(gated, &cfg, &cfg.nodes[0], &fg, t, &eg);
		assert_events_equal(&ea, &eg);
		ja = rules_to_json(all);
		jg = rules_to_json(gated);
		assert_string_equal(ja, jg);
		for (int i = 0; i < ea.n; i++)
		{
			if (ea.v[i].status == ALERT_FIRING)
				firing++;
			else if (ea.v[i].value < 700)
				resolved_below_floor++;
			if (!strcmp(ea.v[i].rule, "slow_query_p95"))
				p95_events++;
			if (!strcmp(ea.v[i].rule, "slow_query_rate"))
				rate_events++;
		}
		free(ja);
		free(jg);
		events_free(&ea);
		events_free(&eg);
		facts_free(&fa);
		facts_free(&fg);
	}
	/* the sequence did exercise the machine */
	assert_true(firing >= 5);
	assert_true(resolved_below_floor >= 2);
	assert_true(p95_events > 0);
	assert_true(rate_events > 0);
	/* and the gate left most facts out */
	print_message("facts built: %d with every fact, %d with the gate\n", facts_all, facts_gated);
	assert_true(facts_gated * 3 < facts_all);
	rules_free(all);
	rules_free(gated);
	facts_memory_free(mem_all);
	facts_memory_free(mem_gated);
	config_free(&cfg);
}

/* a below-floor fact is wanted exactly when an alert instance would take it */
static void
test_gate_wants_held_subjects(void **state)
{
	agent_cfg	cfg = {0};
	rule_engine *re = rules_new();
	fact_list	facts = {0};
	event_list	ev = {0};
	rules_gate	gate;

	(void) state;
	assert_true(parse(&cfg, equivalence_cfg));
	rules_gate_init(&gate, re, &cfg, &cfg.nodes[0]);
	/* the floor of xid_age is xid_age_early's clear (700) */
	assert_false(rules_fact_wanted(&gate, RULE_XID_AGE, "odoo/t", 699));
	assert_true(rules_fact_wanted(&gate, RULE_XID_AGE, "odoo/t", 700));
	/* a kind without an enabled rule: nothing to act on */
	assert_false(rules_fact_wanted(&gate, RULE_LOCK_WAIT, "odoo/t", 1e9));
	assert_true(rules_fact_wanted(&gate, RULE_AUTOVACUUM_LAG, "odoo/t", 300));
	facts_add(&facts, RULE_XID_AGE, "odoo/t", 1500, "x");
	rules_eval_node(re, &cfg, &cfg.nodes[0], &facts, MONDAY_NOON, &ev);
	assert_int_equal(ev.n, 1);
	rules_gate_init(&gate, re, &cfg, &cfg.nodes[0]);
	assert_true(rules_fact_wanted(&gate, RULE_XID_AGE, "odoo/t", 1));
	assert_false(rules_fact_wanted(&gate, RULE_XID_AGE, "odoo/u", 1));
	assert_false(rules_fact_wanted(&gate, RULE_AUTOVACUUM_LAG, "odoo/t", 1));
	facts_free(&facts);
	events_free(&ev);
	rules_free(re);
	config_free(&cfg);
}

/* odd bytes and long subjects take the slow key path, with the same answer */
static void
test_gate_odd_subjects(void **state)
{
	agent_cfg	cfg = {0};
	rule_engine *re = rules_new();
	fact_list	facts = {0};
	event_list	ev = {0};
	rules_gate	gate;
	char		longsub[400];
	const char *odd = "odoo/caf\xe9";	/* LATIN1 */

	(void) state;
	memset(longsub, 'x', sizeof(longsub) - 1);
	longsub[sizeof(longsub) - 1] = '\0';
	assert_true(parse(&cfg, equivalence_cfg));
	facts_add(&facts, RULE_XID_AGE, odd, 1500, "x");
	facts_add(&facts, RULE_XID_AGE, longsub, 1500, "x");
	rules_eval_node(re, &cfg, &cfg.nodes[0], &facts, MONDAY_NOON, &ev);
	assert_int_equal(ev.n, 2);
	rules_gate_init(&gate, re, &cfg, &cfg.nodes[0]);
	assert_true(rules_fact_wanted(&gate, RULE_XID_AGE, odd, 1));
	assert_true(rules_fact_wanted(&gate, RULE_XID_AGE, longsub, 1));
	longsub[300] = 'y';
	assert_false(rules_fact_wanted(&gate, RULE_XID_AGE, longsub, 1));
	/* another invalid byte cleans to the same key, so the same alert takes it */
	assert_true(rules_fact_wanted(&gate, RULE_XID_AGE, "odoo/caf\xe8", 1));
	assert_false(rules_fact_wanted(&gate, RULE_XID_AGE, "odoo/cafe", 1));
	facts_free(&facts);
	events_free(&ev);
	rules_free(re);
	config_free(&cfg);
}

#define N_NODES 500
#define PER_NODE 20

static char *
many_nodes_cfg(void)
{
	strbuf		sb;

	sb_init(&sb);
	/* one more node than evaluated: one without any alert */
	for (int i = 0; i <= N_NODES; i++)
		sb_printf(&sb, "[node store%d]\nconninfo = host=x\ncluster = c%d\n", i, i % 50);
	sb_printf(&sb, "[rule lock_wait]\nthreshold = 30s\nclear = 20s\nfor = 0\n"
			  "[rule node_unreachable]\nfor = 0\nflap_count = 3\nflap_window = 10m\n");
	return sb_steal(&sb);
}

static void
eval_node(rule_engine *re, const agent_cfg *cfg, int node, double value, int64_t t, event_list *ev)
{
	fact_list	facts = {0};

	for (int j = 0; j < PER_NODE; j++)
	{
		char		subject[32];

		snprintf(subject, sizeof(subject), "odoo/model.m%d", j);
		facts_add(&facts, RULE_LOCK_WAIT, subject, value, "wait");
	}
	rules_eval_node(re, cfg, &cfg->nodes[node], &facts, t, ev);
	facts_free(&facts);
}

/*
 * 500 nodes with 20 firing alerts each: one node's evaluation walks its own
 * 20 instances (reset, unseen pass, collection), not the 10,000.
 */
static void
test_eval_walks_one_node(void **state)
{
	agent_cfg	cfg = {0};
	char	   *text = many_nodes_cfg();
	rule_engine *re = rules_new();
	event_list	ev = {0};
	uint64_t	before;
	int64_t		t = MONDAY_NOON;

	(void) state;
	assert_true(parse(&cfg, text));
	for (int n = 0; n < N_NODES; n++)
	{
		eval_node(re, &cfg, n, 40, t, &ev);
		assert_int_equal(ev.n, PER_NODE);
		events_free(&ev);
	}
	assert_int_equal(rules_count(re, NULL).firing, N_NODES * PER_NODE);
	events_free(&ev);

	before = rules_visits(re);
	eval_node(re, &cfg, 250, 40, t + S(10), &ev);
	assert_int_equal(ev.n, 0);
	assert_true(rules_visits(re) - before <= 3 * PER_NODE);
	/* the node's alerts end: its own, and only its own, resolve */
	before = rules_visits(re);
	eval_node(re, &cfg, 251, 5, t + S(20), &ev);
	assert_int_equal(ev.n, PER_NODE);
	for (int i = 0; i < ev.n; i++)
	{
		assert_int_equal(ev.v[i].status, ALERT_RESOLVED);
		assert_string_equal(ev.v[i].node, "store251");
	}
	assert_true(rules_visits(re) - before <= 3 * PER_NODE);
	assert_int_equal(rules_count(re, NULL).firing, (N_NODES - 1) * PER_NODE);
	/* a node with no alert at all walks nothing */
	before = rules_visits(re);
	eval_node(re, &cfg, N_NODES, 5, t + S(30), &ev);
	assert_true(rules_visits(re) == before);
	events_free(&ev);
	rules_free(re);
	config_free(&cfg);
	free(text);
}

static bool
state_mentions(const rule_engine *re, const char *what)
{
	char	   *json = rules_to_json(re);
	bool		found = strstr(json, what) != NULL;

	free(json);
	return found;
}

/*
 * An inactive alert kept for its flap history goes when the history ages
 * out, at whichever node's evaluation comes next (as when every
 * evaluation collected the whole engine).
 */
static void
test_other_nodes_history_ages_out(void **state)
{
	agent_cfg	cfg = {0};
	char	   *text = many_nodes_cfg();
	rule_engine *re = rules_new();
	event_list	ev = {0};
	fact_list	facts = {0};
	int64_t		t = MONDAY_NOON;

	(void) state;
	assert_true(parse(&cfg, text));
	/* store7 goes down and comes back: inactive, kept for its flap history */
	facts_add(&facts, RULE_NODE_UNREACHABLE, "node", 1, "down");
	rules_eval_node(re, &cfg, &cfg.nodes[7], &facts, t, &ev);
	facts_free(&facts);
	facts_add(&facts, RULE_NODE_UNREACHABLE, "node", 0, "up");
	rules_eval_node(re, &cfg, &cfg.nodes[7], &facts, t + S(10), &ev);
	assert_int_equal(ev.n, 2);
	assert_int_equal(rules_count(re, NULL).firing, 0);
	assert_true(state_mentions(re, "c7/store7/node_unreachable/node"));
	/* other nodes (with alerts of their own, or none) within the window keep it; the first one after drops it */
	eval_node(re, &cfg, 8, 40, t + S(300), &ev);
	eval_node(re, &cfg, 9, 5, t + S(400), &ev);
	assert_true(state_mentions(re, "c7/store7/node_unreachable/node"));
	eval_node(re, &cfg, 8, 40, t + S(601), &ev);
	assert_false(state_mentions(re, "c7/store7/node_unreachable/node"));
	facts_free(&facts);
	events_free(&ev);
	rules_free(re);
	config_free(&cfg);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate_changes_no_event),
		cmocka_unit_test(test_gate_wants_held_subjects),
		cmocka_unit_test(test_gate_odd_subjects),
		cmocka_unit_test(test_eval_walks_one_node),
		cmocka_unit_test(test_other_nodes_history_ages_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
