/*
 * bench_rules_cost.c: what one poll of one node costs the agent between
 * the decoded snapshot and the alert events (facts, rules, freeing the
 * facts), for callgrind: "make -C regress/unit/agent callgrind-rules-cost".
 * Not a test (it asserts nothing and is not run by make test).
 *
 * The node has 1,000 tables in autovacuum_lag and 1,000 model aggregates,
 * with values as on a healthy store (every xid age far below the rule's,
 * some tables over their autovacuum threshold for minutes, a few slow
 * calls) and three tables past xid_age firing.  With NODES > 1 the engine
 * also holds 20 firing alerts of each of NODES - 1 other nodes.  The poll
 * measured is the 13th (p95 baselines warm); only one_poll() is collected.
 *
 *   bench_rules_cost [NODES]      NO_GATE defined: every fact (the old path)
 */
#include "alert/alert.h"
#include "alert/facts.h"
#include "alert/rules.h"
#include "common/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_TABLES 1000
#define N_MODELS 1000
#define WARM_POLLS 12
#define S(x) ((int64_t) (x) * 1000000)
#define T0 ((int64_t) 1795435200 * 1000000)

static OdooRetailGuard__AutovacuumLag av[N_TABLES];
static OdooRetailGuard__AutovacuumLag *avp[N_TABLES];
static OdooRetailGuard__ModelStat ms[N_MODELS];
static OdooRetailGuard__ModelStat *msp[N_MODELS];
static char names[N_TABLES + N_MODELS][40];

static void
make_snapshot(OdooRetailGuard__Snapshot *s)
{
	static const char *const ops[] = {"read", "write", "create", "unlink"};

	for (int i = 0; i < N_TABLES; i++)
	{
		OdooRetailGuard__AutovacuumLag a = ODOO_RETAIL_GUARD__AUTOVACUUM_LAG__INIT;

		snprintf(names[i], sizeof(names[i]), "x_table_%04d", i);
		a.database = "odoo";
		a.relation = names[i];
		a.model = names[i];
		a.dead_tuples = 1000 + i;
		a.xid_age = i < 3 ? 1200000000 : 1000000 + 37 * i;
		a.freeze_max_age = 200000000;
		a.over_threshold_since_us = i % 20 == 0 ? 1 : 0;
		a.lag_s = i % 20 == 0 ? 120 : 0;
		av[i] = a;
		avp[i] = &av[i];
	}
	for (int i = 0; i < N_MODELS; i++)
	{
		OdooRetailGuard__ModelStat m = ODOO_RETAIL_GUARD__MODEL_STAT__INIT;

		snprintf(names[N_TABLES + i], sizeof(names[0]), "x_model.m%03d", i / 4);
		m.database = "odoo";
		m.model = names[N_TABLES + i];
		m.operation = (char *) ops[i % 4];
		m.p95_ms = 40 + i % 7;
		ms[i] = m;
		msp[i] = &ms[i];
	}
	s->n_autovacuum_lag = N_TABLES;
	s->autovacuum_lag = avp;
	s->n_models = N_MODELS;
	s->models = msp;
}

static void
next_poll(int p)
{
	for (int i = 0; i < N_MODELS; i++)
	{
		ms[i].slow_calls += (uint64_t) ((i + p) % 3 == 0);
		ms[i].p95_ms = 40 + (i + p) % 7;
	}
	for (int i = 0; i < N_TABLES; i++)
		if (av[i].over_threshold_since_us)
			av[i].lag_s += 10;
}

/* the measured work: facts of the poll, the rules over them, the facts freed */
__attribute__((noinline)) void one_poll(rule_engine *re, const agent_cfg *cfg, const node_cfg *node,
										const OdooRetailGuard__Snapshot *snap, facts_memory *mem,
										int64_t t, event_list *ev);

__attribute__((noinline)) void
one_poll(rule_engine *re, const agent_cfg *cfg, const node_cfg *node, const OdooRetailGuard__Snapshot *snap,
		 facts_memory *mem, int64_t t, event_list *ev)
{
	fact_list	facts = {0};
#ifdef NO_GATE
	facts_from_snapshot(snap, mem, t, &facts);
#else
	rules_gate	gate;

	rules_gate_init(&gate, re, cfg, node);
	facts_from_snapshot_gated(snap, mem, t, &gate.gate, &facts);
#endif
	rules_eval_node(re, cfg, node, &facts, t, ev);
	facts_free(&facts);
}

int
main(int argc, char **argv)
{
	int			nodes = argc > 1 ? atoi(argv[1]) : 1;
	strbuf		text;
	agent_cfg	cfg = {0};
	config_errors errs = {0};
	rule_engine *re = rules_new();
	facts_memory *mem = facts_memory_new();
	OdooRetailGuard__Snapshot snap = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	event_list	ev = {0};
	int			n_ev = 0;

	if (nodes < 1)
		nodes = 1;
	sb_init(&text);
	for (int i = 0; i < nodes; i++)
		sb_printf(&text, "[node store%d]\nconninfo = host=x\ncluster = c%d\n", i, i % 50);
	if (!config_parse("bench.conf", text.data, &cfg, &errs))
	{
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		return 1;
	}
	/* the other nodes' firing alerts */
	for (int n = 1; n < nodes; n++)
	{
		fact_list	facts = {0};

		for (int j = 0; j < 20; j++)
		{
			char		subject[32];

			snprintf(subject, sizeof(subject), "odoo/model.m%d", j);
			facts_add(&facts, RULE_LOCK_WAIT, subject, 100, "wait");
		}
		rules_eval_node(re, &cfg, &cfg.nodes[n], &facts, T0, &ev);
		facts_free(&facts);
	}
	make_snapshot(&snap);
	for (int p = 0; p <= WARM_POLLS; p++)
	{
		int64_t		t = T0 + S(10 * (p + 1));

		next_poll(p);
		n_ev += ev.n;
		events_free(&ev);
		if (p < WARM_POLLS)
		{
			fact_list	facts = {0};

			facts_from_snapshot(&snap, mem, t, &facts);
			rules_eval_node(re, &cfg, &cfg.nodes[0], &facts, t, &ev);
			facts_free(&facts);
		}
		else
			one_poll(re, &cfg, &cfg.nodes[0], &snap, mem, t, &ev);
	}
	printf("nodes %d, alerts firing %d, events %d (last poll %d)\n", nodes, rules_count(re, NULL).firing,
		   n_ev + ev.n, ev.n);
	events_free(&ev);
	sb_free(&text);
	rules_free(re);
	facts_memory_free(mem);
	config_free(&cfg);
	return 0;
}
