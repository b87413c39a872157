/*
 * fuzz_snapshot.c: the bytes of odoo_retail_guard.snapshot() as the agent
 * receives them: protobuf decode, ir_model mapping, facts, then the rule
 * engine over those facts (two polls, so state transitions run too).
 */
#include "fuzz.h"
#include "common/config.h"
#include "alert/facts.h"
#include "collect/node.h"
#include "alert/rules.h"

static agent_cfg cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	config_errors errs = {0};

	(void) argc;
	(void) argv;
	/* every rule fires at once, so that every fact reaches an event */
	if (!config_parse("/fuzz/agent.conf",
					  "[node n1]\nconninfo = host=/tmp dbname=odoo\n"
					  "[rule lock_wait]\nthreshold = 0\nfor = 0\n"
					  "[rule slow_query_p95]\nfor = 0\n"
					  "[rule replication_lag_bytes]\nfor = 0\n",
					  &cfg, &errs))
		abort();
	config_errors_free(&errs);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	OdooRetailGuard__Snapshot *snap = odoo_retail_guard__snapshot__unpack(NULL, size, data);
	facts_memory *mem;
	rule_engine *re;
	char	   *tables[] = {"account_move_line", "stock_quant", "sale_order"};
	char	   *models[] = {"account.move.line", "stock.quant", "sale.order"};
	model_map	map = {tables, models, 3};

	if (!snap)
		return 0;
	model_map_apply(&map, "odoo", snap);
	mem = facts_memory_new();
	re = rules_new();
	for (int poll = 0; poll < 2; poll++)
	{
		fact_list	facts = {0};
		event_list	events = {0};
		int64_t		now = 1764000000000000LL + poll * 60000000LL;
		node_observation obs = {true, NULL, 100, 42, 3, false, now};

		facts_from_observation(&obs, &facts);
		facts_from_snapshot(snap, mem, now, &facts);
		rules_eval_node(re, &cfg, &cfg.nodes[0], &facts, now, &events);
		events_free(&events);
		facts_free(&facts);
	}
	rules_free(re);
	facts_memory_free(mem);
	odoo_retail_guard__snapshot__free_unpacked(snap, NULL);
	return 0;
}
