/*
 * test_metrics.c: Prometheus text exposition: HELP/TYPE once per family,
 * escaping, special values, invalid names dropped, top-N cardinality,
 * and the per-cycle merge of every node's set by reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "export/metrics.h"
#include "export/metrics_server.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_format(void **state)
{
	metric_set	ms = {0};
	metric_family *f;
	char	   *text;

	(void) state;
	f = mset_family(&ms, "orguard_node_up", "Whether the node answered.", METRIC_GAUGE);
	mset_add(f, 1, "cluster", "eu", "node", "store-1", NULL);
	mset_add(f, 0, "cluster", "eu", "node", "store-2", NULL);
	f = mset_family(&ms, "orguard_polls_total", "Polls.\nSecond line \\ backslash.", METRIC_COUNTER);
	mset_add(f, 12345678901234.0, NULL);
	/* same family again: samples stay together */
	f = mset_family(&ms, "orguard_node_up", "ignored", METRIC_GAUGE);
	mset_add(f, 1, "cluster", "eu", "node", "quote\"back\\slash\nnewline", NULL);
	text = mset_format(&ms);
	assert_string_equal(text,
						"# HELP orguard_node_up Whether the node answered.\n"
						"# TYPE orguard_node_up gauge\n"
						"orguard_node_up{cluster=\"eu\",node=\"store-1\"} 1\n"
						"orguard_node_up{cluster=\"eu\",node=\"store-2\"} 0\n"
						"orguard_node_up{cluster=\"eu\",node=\"quote\\\"back\\\\slash\\nnewline\"} 1\n"
						"# HELP orguard_polls_total Polls.\\nSecond line \\\\ backslash.\n"
						"# TYPE orguard_polls_total counter\n"
						"orguard_polls_total 12345678901234\n");
	free(text);
	mset_free(&ms);
}

static void
test_invalid_names_dropped(void **state)
{
	metric_set	ms = {0};
	metric_family *f;
	char	   *text;

	(void) state;
	f = mset_family(&ms, "bad-name", "x", METRIC_GAUGE);
	mset_add(f, 1, NULL);
	f = mset_family(&ms, "ok_metric", "x", METRIC_GAUGE);
	mset_add(f, 2, "bad-label", "v", "__reserved", "v", "good", "v", NULL);
	text = mset_format(&ms);
	assert_null(strstr(text, "bad-name"));
	assert_non_null(strstr(text, "ok_metric{good=\"v\"} 2\n"));
	free(text);
	mset_free(&ms);
}

static void
test_values(void **state)
{
	char		buf[64];

	(void) state;
	metric_format_value(NAN, buf, sizeof(buf));
	assert_string_equal(buf, "NaN");
	metric_format_value(INFINITY, buf, sizeof(buf));
	assert_string_equal(buf, "+Inf");
	metric_format_value(-INFINITY, buf, sizeof(buf));
	assert_string_equal(buf, "-Inf");
	metric_format_value(0.1, buf, sizeof(buf));
	assert_string_equal(buf, "0.1");
	metric_format_value(1.0 / 3.0, buf, sizeof(buf));
	assert_true(strtod(buf, NULL) == 1.0 / 3.0);
	metric_format_value(-2.5e-7, buf, sizeof(buf));
	assert_string_equal(buf, "-2.5e-07");
}

static void
test_top_n(void **state)
{
	metric_set	ms = {0};
	metric_family *f = mset_family(&ms, "orguard_table_dead_tuples", "x", METRIC_GAUGE);
	char		name[16];

	(void) state;
	for (int i = 0; i < 100; i++)
	{
		snprintf(name, sizeof(name), "t%d", i);
		mset_add(f, (double) ((i * 37) % 100), "relation", name, NULL);
	}
	mset_top_n(f, 5);
	assert_int_equal(f->n, 5);
	for (int i = 0; i < 5; i++)
		assert_true(f->s[i].value == 99 - i);
	mset_top_n(f, 10);			/* fewer than n: unchanged */
	assert_int_equal(f->n, 5);
	mset_free(&ms);
}

static void
test_empty(void **state)
{
	metric_set	ms = {0};
	char	   *text = mset_format(&ms);

	(void) state;
	assert_string_equal(text, "");
	free(text);
}

/* /healthz: a main loop without a completed poll cycle for too long is stuck */
static void
test_health(void **state)
{
	char	   *why;

	(void) state;
	assert_null(metrics_health(NULL, 10000, 9000, 3500));
	/* no cycle yet: not judged stuck (the loop reports its start as a cycle) */
	assert_null(metrics_health(NULL, 100000, 0, 3500));
	why = metrics_health(NULL, 14000, 10000, 3500);
	assert_non_null(why);
	assert_non_null(strstr(why, "not completed a poll cycle for 4.0s"));
	free(why);
	/* what the loop reported, when it is not stuck */
	why = metrics_health("pager am has not delivered", 10000, 9000, 3500);
	assert_string_equal(why, "pager am has not delivered");
	free(why);
	/* a stuck loop wins: its own report is stale */
	why = metrics_health("pager am has not delivered", 20000, 9000, 3500);
	assert_non_null(strstr(why, "stuck"));
	free(why);
}

/*
 * A histogram family: TYPE histogram once, samples named with their
 * _bucket/_sum/_count suffix, and top_n leaves it whole (cutting by value
 * would keep the big _bucket samples and drop _sum).
 */
static void
test_histogram(void **state)
{
	metric_set	ms = {0};
	metric_family *f;
	labelset	ls = {0},
				bl = {0};
	char	   *text;

	(void) state;
	f = mset_family(&ms, "orguard_model_duration_seconds", "Time.", METRIC_HISTOGRAM);
	labels_set(&ls, "model", "sale.order");
	labels_copy(&bl, &ls);
	labels_set(&bl, "le", "0.00128");
	mset_add_suffixed(f, "_bucket", &bl, 3);
	labels_set(&bl, "le", "+Inf");
	mset_add_suffixed(f, "_bucket", &bl, 5);
	mset_add_suffixed(f, "_sum", &ls, 0.25);
	mset_add_suffixed(f, "_count", &ls, 5);
	mset_top_n(f, 1);
	text = mset_format(&ms);
	assert_string_equal(text,
						"# HELP orguard_model_duration_seconds Time.\n"
						"# TYPE orguard_model_duration_seconds histogram\n"
						"orguard_model_duration_seconds_bucket{model=\"sale.order\",le=\"0.00128\"} 3\n"
						"orguard_model_duration_seconds_bucket{model=\"sale.order\",le=\"+Inf\"} 5\n"
						"orguard_model_duration_seconds_sum{model=\"sale.order\"} 0.25\n"
						"orguard_model_duration_seconds_count{model=\"sale.order\"} 5\n");
	free(text);
	labels_free(&ls);
	labels_free(&bl);
	mset_free(&ms);
}

/* one node's set as stats.c builds it: packed label sets, a histogram */
static void
node_set(metric_set *ms, const char *node, double up, double dead)
{
	labelrefs	r = {0};
	metric_family *f;

	labelrefs_set(&r, "cluster", "eu");
	labelrefs_set(&r, "node", node);
	f = mset_family(ms, "orguard_node_up", "Whether the last poll reached the node.", METRIC_GAUGE);
	mset_add_refs(f, NULL, &r, up);
	f = mset_family(ms, "orguard_model_duration_seconds", "Time.", METRIC_HISTOGRAM);
	labelrefs_set(&r, "model", "sale.order");
	mset_add_refs(f, "_sum", &r, 0.5);
	mset_add_refs(f, "_count", &r, 2);
	f = mset_family(ms, "orguard_table_dead_tuples", "Dead \"tuples\".", METRIC_GAUGE);
	labelrefs_set(&r, "model", "stock.quant");
	/* a label value the exposition must escape, and a replaced label keeps its place */
	labelrefs_set(&r, "relname", "a\"b\\c\nd");
	labelrefs_set(&r, "cluster", "eu-2");
	mset_add_refs(f, NULL, &r, dead);
	labelrefs_free(&r);
}

/*
 * publish() merges every node's set once per cycle: by reference (the
 * merged samples point at the node sets' labels), families grouped in
 * first-seen order, byte for byte what a copying merge printed, and each
 * label set freed once (valgrind and ASan see the frees).
 */
static void
test_merge_borrowed(void **state)
{
	metric_set	nodes[3] = {{0}};
	metric_set	out = {0};
	metric_family *f;
	char	   *text;

	(void) state;
	node_set(&nodes[0], "store-1", 1, 10);
	node_set(&nodes[1], "store-2", 0, 20);
	/* a node whose last poll built only its first family */
	f = mset_family(&nodes[2], "orguard_node_up", "Whether the last poll reached the node.", METRIC_GAUGE);
	mset_add(f, 1, "cluster", "eu", "node", "store-\xff", NULL);
	f = mset_family(&out, "orguard_agent_nodes", "Configured nodes.", METRIC_GAUGE);
	mset_add(f, 3, NULL);
	for (int i = 0; i < 3; i++)
		mset_merge_borrowed(&out, &nodes[i]);
	f = mset_family(&out, "orguard_alerts", "Alerts.", METRIC_GAUGE);
	mset_add(f, 0, "rule", "r", NULL);
	text = mset_format(&out);
	assert_string_equal(text,
						"# HELP orguard_agent_nodes Configured nodes.\n"
						"# TYPE orguard_agent_nodes gauge\n"
						"orguard_agent_nodes 3\n"
						"# HELP orguard_node_up Whether the last poll reached the node.\n"
						"# TYPE orguard_node_up gauge\n"
						"orguard_node_up{cluster=\"eu\",node=\"store-1\"} 1\n"
						"orguard_node_up{cluster=\"eu\",node=\"store-2\"} 0\n"
						"orguard_node_up{cluster=\"eu\",node=\"store-\xef\xbf\xbd\"} 1\n"
						"# HELP orguard_model_duration_seconds Time.\n"
						"# TYPE orguard_model_duration_seconds histogram\n"
						"orguard_model_duration_seconds_sum{cluster=\"eu\",node=\"store-1\",model=\"sale.order\"} 0.5\n"
						"orguard_model_duration_seconds_count{cluster=\"eu\",node=\"store-1\",model=\"sale.order\"} 2\n"
						"orguard_model_duration_seconds_sum{cluster=\"eu\",node=\"store-2\",model=\"sale.order\"} 0.5\n"
						"orguard_model_duration_seconds_count{cluster=\"eu\",node=\"store-2\",model=\"sale.order\"} 2\n"
						"# HELP orguard_table_dead_tuples Dead \"tuples\".\n"
						"# TYPE orguard_table_dead_tuples gauge\n"
						"orguard_table_dead_tuples{cluster=\"eu-2\",node=\"store-1\",model=\"stock.quant\",relname=\"a\\\"b\\\\c\\nd\"} 10\n"
						"orguard_table_dead_tuples{cluster=\"eu-2\",node=\"store-2\",model=\"stock.quant\",relname=\"a\\\"b\\\\c\\nd\"} 20\n"
						"# HELP orguard_alerts Alerts.\n"
						"# TYPE orguard_alerts gauge\n"
						"orguard_alerts{rule=\"r\"} 0\n");
	/* not copied: the merged samples hold the node sets' own label arrays */
	assert_int_equal(out.f[1].n, 3);
	assert_ptr_equal(out.f[1].s[0].labels.v, nodes[0].f[0].s[0].labels.v);
	assert_ptr_equal(out.f[1].s[2].labels.v, nodes[2].f[0].s[0].labels.v);
	assert_ptr_equal(out.f[2].s[3].labels.v, nodes[1].f[1].s[1].labels.v);
	assert_ptr_equal(out.f[3].s[1].labels.v, nodes[1].f[2].s[0].labels.v);
	free(text);
	/* the merged set first, as publish() does: the node sets keep their labels */
	mset_free(&out);
	text = mset_format(&nodes[1]);
	assert_non_null(strstr(text, "orguard_table_dead_tuples{cluster=\"eu-2\",node=\"store-2\""));
	free(text);
	for (int i = 0; i < 3; i++)
		mset_free(&nodes[i]);
}

/* a packed label set is one allocation that mset_top_n and mset_free release */
static void
test_packed_top_n(void **state)
{
	metric_set	ms = {0};
	metric_family *f = mset_family(&ms, "orguard_table_dead_tuples", "x", METRIC_GAUGE);
	labelrefs	r = {0};
	char		name[16];
	char	   *text;

	(void) state;
	labelrefs_set(&r, "relname", "");
	for (int i = 0; i < 50; i++)
	{
		snprintf(name, sizeof(name), "t%d", i);
		labelrefs_set(&r, "relname", name);	/* replaced, not added */
		mset_add_refs(f, NULL, &r, (double) ((i * 7) % 50));
	}
	assert_int_equal(r.n, 1);
	mset_top_n(f, 2);
	text = mset_format(&ms);
	assert_string_equal(text, "# HELP orguard_table_dead_tuples x\n"
						"# TYPE orguard_table_dead_tuples gauge\n"
						"orguard_table_dead_tuples{relname=\"t7\"} 49\n"
						"orguard_table_dead_tuples{relname=\"t14\"} 48\n");
	free(text);
	labelrefs_free(&r);
	mset_free(&ms);
}

/* integers skip snprintf: the text must be what %.15g (or %.17g) printed */
static void
test_values_integer_path(void **state)
{
	const double v[] = {0, 1, -1, 7, 10, 42, 100, 999999, 1e6, -123456789, 4294967296.0,
		123456789012345.0, 999999999999999.0, -999999999999999.0, 1e15, 1e15 + 1,
	9007199254740993.0, 1e300, -0.0, 0.5, 2.5, 1e-9, 1e14 + 0.5};

	(void) state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
	{
		char		got[64],
					want[64];

		metric_format_value(v[i], got, sizeof(got));
		snprintf(want, sizeof(want), "%.15g", v[i]);
		if (strtod(want, NULL) != v[i])
			snprintf(want, sizeof(want), "%.17g", v[i]);
		assert_string_equal(got, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_invalid_names_dropped),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_top_n),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_merge_borrowed),
		cmocka_unit_test(test_packed_top_n),
		cmocka_unit_test(test_values_integer_path),
	};

	return cmocka_run_group_tests_name("agent metrics", tests, NULL, NULL);
}
