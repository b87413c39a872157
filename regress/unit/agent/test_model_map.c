/*
 * test_model_map.c: Odoo's ir_model as a table -> model map: lookups by
 * bare or schema-qualified relation, and the map applied to every part of
 * a snapshot that names a relation, for the node's own database only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collect/model_map.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

/* a map as node.c reads ir_model: sorted by table in C order, owned */
static void
fill(model_map *m)
{
	static const char *const pairs[][2] = {
		{"account_move", "account.move"},
		{"pos_order", "pos.order"},
		{"res_partner", "res.partner"},
		{"sale_order", "sale.order"},
		{"stock_quant", "stock.quant"},
	};
	int			n = (int) (sizeof(pairs) / sizeof(pairs[0]));

	m->table = xcalloc((size_t) n, sizeof(char *));
	m->model = xcalloc((size_t) n, sizeof(char *));
	for (int i = 0; i < n; i++)
	{
		m->table[i] = xstrdup(pairs[i][0]);
		m->model[i] = xstrdup(pairs[i][1]);
	}
	m->n = n;
}

static void
test_lookup(void **state)
{
	model_map	map = {0};

	(void) state;
	assert_null(model_map_lookup(&map, "sale_order"));	/* nothing read yet */
	fill(&map);
	/* every entry, the first and last too */
	assert_string_equal(model_map_lookup(&map, "account_move"), "account.move");
	assert_string_equal(model_map_lookup(&map, "pos_order"), "pos.order");
	assert_string_equal(model_map_lookup(&map, "res_partner"), "res.partner");
	assert_string_equal(model_map_lookup(&map, "sale_order"), "sale.order");
	assert_string_equal(model_map_lookup(&map, "stock_quant"), "stock.quant");
	/* the schema does not matter: the last dot splits */
	assert_string_equal(model_map_lookup(&map, "public.sale_order"), "sale.order");
	assert_string_equal(model_map_lookup(&map, "a.b.pos_order"), "pos.order");
	/* before, between and after the entries; a prefix is not a match */
	assert_null(model_map_lookup(&map, "aaa"));
	assert_null(model_map_lookup(&map, "res_partner_bank"));
	assert_null(model_map_lookup(&map, "sale_orde"));
	assert_null(model_map_lookup(&map, "zzz"));
	assert_null(model_map_lookup(&map, "public."));
	assert_null(model_map_lookup(&map, ""));
	assert_null(model_map_lookup(&map, NULL));
	model_map_free(&map);
	assert_int_equal(map.n, 0);
	assert_null(map.table);
	assert_null(map.model);
}

/* a snapshot as the agent receives it: packed and unpacked (owned strings) */
static OdooRetailGuard__Snapshot *
wire_snapshot(const char *db)
{
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	OdooRetailGuard__BlockingChain bc = ODOO_RETAIL_GUARD__BLOCKING_CHAIN__INIT;
	OdooRetailGuard__BlockingChain *bcs[1] = {&bc};
	OdooRetailGuard__LockWaitEvent lw = ODOO_RETAIL_GUARD__LOCK_WAIT_EVENT__INIT;
	OdooRetailGuard__LockWaitEvent *lws[1] = {&lw};
	OdooRetailGuard__LockContention lc = ODOO_RETAIL_GUARD__LOCK_CONTENTION__INIT;
	OdooRetailGuard__LockContention *lcs[1] = {&lc};
	OdooRetailGuard__AutovacuumLag av = ODOO_RETAIL_GUARD__AUTOVACUUM_LAG__INIT;
	OdooRetailGuard__AutovacuumLag *avs[2] = {&av, NULL};
	OdooRetailGuard__AutovacuumLag av2 = ODOO_RETAIL_GUARD__AUTOVACUUM_LAG__INIT;
	OdooRetailGuard__DestructiveEvent de = ODOO_RETAIL_GUARD__DESTRUCTIVE_EVENT__INIT;
	OdooRetailGuard__DestructiveEvent *des[1] = {&de};
	OdooRetailGuard__SlowSample ss = ODOO_RETAIL_GUARD__SLOW_SAMPLE__INIT;
	OdooRetailGuard__SlowSample *sss[1] = {&ss};
	OdooRetailGuard__QueryStat qs = ODOO_RETAIL_GUARD__QUERY_STAT__INIT;
	OdooRetailGuard__QueryStat *qss[1] = {&qs};
	uint8_t    *buf;
	size_t		len;
	OdooRetailGuard__Snapshot *out;

	bc.database = lw.database = lc.database = av.database = (char *) db;
	de.database = ss.database = qs.database = (char *) db;
	bc.relation = "stock_quant";
	lw.relation = "public.sale_order";
	lc.relation = "res_partner";
	lc.model = "res.partner.guess";
	av.relation = "account_move";
	av.model = "account.move.guess";
	/* a table ir_model does not know keeps the extension's guess */
	av2.database = (char *) db;
	av2.relation = "pg_largeobject";
	av2.model = "kept.guess";
	avs[1] = &av2;
	de.relation = "pos_order";
	ss.relation = "sale_order";
	qs.relation = "stock_quant";
	s.n_blocking_chains = 1;
	s.blocking_chains = bcs;
	s.n_lock_wait_events = 1;
	s.lock_wait_events = lws;
	s.n_lock_contention = 1;
	s.lock_contention = lcs;
	s.n_autovacuum_lag = 2;
	s.autovacuum_lag = avs;
	s.n_destructive_events = 1;
	s.destructive_events = des;
	s.n_slow_samples = 1;
	s.slow_samples = sss;
	s.n_queries = 1;
	s.queries = qss;
	len = odoo_retail_guard__snapshot__get_packed_size(&s);
	buf = xmalloc(len ? len : 1);
	odoo_retail_guard__snapshot__pack(&s, buf);
	out = odoo_retail_guard__snapshot__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

static void
assert_models(const OdooRetailGuard__Snapshot *s, const char *bc, const char *lw, const char *lc,
			  const char *av, const char *de, const char *ss, const char *qs)
{
	assert_string_equal(s->blocking_chains[0]->model, bc);
	assert_string_equal(s->lock_wait_events[0]->model, lw);
	assert_string_equal(s->lock_contention[0]->model, lc);
	assert_string_equal(s->autovacuum_lag[0]->model, av);
	assert_string_equal(s->autovacuum_lag[1]->model, "kept.guess");
	assert_string_equal(s->destructive_events[0]->model, de);
	assert_string_equal(s->slow_samples[0]->model, ss);
	assert_string_equal(s->queries[0]->model, qs);
}

static void
test_apply(void **state)
{
	model_map	map = {0};
	model_map	empty = {0};
	OdooRetailGuard__Snapshot *s;

	(void) state;
	fill(&map);

	/* the node's database: every part names its model */
	s = wire_snapshot("odoo");
	model_map_apply(&map, "odoo", s);
	assert_models(s, "stock.quant", "sale.order", "res.partner", "account.move", "pos.order",
				  "sale.order", "stock.quant");
	/* again: nothing changes (and nothing leaks) */
	model_map_apply(&map, "odoo", s);
	assert_models(s, "stock.quant", "sale.order", "res.partner", "account.move", "pos.order",
				  "sale.order", "stock.quant");
	odoo_retail_guard__snapshot__free_unpacked(s, NULL);

	/* another database on the node: its own ir_model may differ, guesses stay */
	s = wire_snapshot("other_db");
	model_map_apply(&map, "odoo", s);
	assert_models(s, "", "", "res.partner.guess", "account.move.guess", "", "", "");
	/* an empty map changes nothing either */
	model_map_apply(&empty, "other_db", s);
	assert_models(s, "", "", "res.partner.guess", "account.move.guess", "", "", "");
	odoo_retail_guard__snapshot__free_unpacked(s, NULL);

	/* no database named (cluster-wide entries) or none known: the map applies */
	s = wire_snapshot("");
	model_map_apply(&map, "odoo", s);
	assert_models(s, "stock.quant", "sale.order", "res.partner", "account.move", "pos.order",
				  "sale.order", "stock.quant");
	odoo_retail_guard__snapshot__free_unpacked(s, NULL);
	s = wire_snapshot("odoo");
	model_map_apply(&map, NULL, s);
	assert_string_equal(s->queries[0]->model, "stock.quant");
	odoo_retail_guard__snapshot__free_unpacked(s, NULL);

	/* no snapshot: nothing to do */
	model_map_apply(&map, "odoo", NULL);
	model_map_free(&map);
}

/* a reloaded ir_model that names a table otherwise is another map: the kept delta state is dropped */
static void
test_equal(void **state)
{
	model_map	a = {0};
	model_map	b = {0};
	model_map	empty = {0};

	(void) state;
	fill(&a);
	fill(&b);
	assert_true(model_map_equal(&a, &b));
	assert_true(model_map_equal(&empty, &empty));
	assert_false(model_map_equal(&a, &empty));
	free(b.model[2]);
	b.model[2] = xstrdup("res.partner.custom");
	assert_false(model_map_equal(&a, &b));
	free(b.model[2]);
	b.model[2] = xstrdup("res.partner");
	b.n--;
	assert_false(model_map_equal(&a, &b));
	b.n++;
	assert_true(model_map_equal(&a, &b));
	model_map_free(&a);
	model_map_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests_name("agent model_map", tests, NULL, NULL);
}
