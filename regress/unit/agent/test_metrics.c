/*
 * test_metrics.c: Prometheus text exposition: HELP/TYPE once per family,
 * escaping, special values, invalid names dropped, top-N cardinality,
 * the per-cycle merge of every node's set by reference, and the per-node
 * families stats.c builds from a poll (top N by value, ties in snapshot
 * order, histograms of the top models).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "export/metrics.h"
#include "export/metrics_server.h"
#include "export/stats.h"

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

/*
 * Label values and help texts take one of two paths: plain ASCII is copied
 * whole; anything else is checked as UTF-8 and escaped.  Both give the
 * same text, and names are checked byte by byte.
 */
static void
test_escape_paths(void **state)
{
	metric_set	ms = {0};
	metric_family *f;
	char	   *text;
	char		longv[3001];
	char	   *want;

	(void) state;
	memset(longv, 'v', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	f = mset_family(&ms, "m", "Says \"hi\"\tand caf\xc3\xa9.", METRIC_GAUGE);
	mset_add(f, 1, "a", "plain", "b", "caf\xc3\xa9 \"x\"", "c", "\xe5\xba\x97", "d", "bad\xff\"q\"",
			 "e", "", "f", "tab\there", "g", "only\xfe", NULL);
	mset_add(f, 2, "9lead", "x", "_", "u", "a9", "y", "__", "z", "\xc3\xa9t\xc3\xa9", "w", "_x", "v", NULL);
	mset_add(f, 3, "long", longv, NULL);
	text = mset_format(&ms);
	want = xmalloc(4000);
	snprintf(want, 4000,
			 "# HELP m Says \"hi\"\tand caf\xc3\xa9.\n"
			 "# TYPE m gauge\n"
			 "m{a=\"plain\",b=\"caf\xc3\xa9 \\\"x\\\"\",c=\"\xe5\xba\x97\",d=\"bad\xef\xbf\xbd\\\"q\\\"\","
			 "e=\"\",f=\"tab\there\",g=\"only\xef\xbf\xbd\"} 1\n"
			 "m{_=\"u\",a9=\"y\",_x=\"v\"} 2\n"
			 "m{long=\"%s\"} 3\n", longv);
	assert_string_equal(text, want);
	free(want);
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

/* a model's histogram series one sample at a time, as stats.c built them before */
static void
histogram_one_by_one(metric_family *f, const labelrefs *series, size_t nb, const char *const *les,
					 const double *counts, double count, double sum)
{
	labelrefs	b = {0};

	for (size_t k = 0; k <= nb; k++)
	{
		labelrefs_assign(&b, series);
		labelrefs_set(&b, "le", k < nb ? les[k] : "+Inf");
		mset_add_refs(f, "_bucket", &b, k < nb ? counts[k] : count);
	}
	labelrefs_free(&b);
	mset_add_refs(f, "_sum", series, sum);
	mset_add_refs(f, "_count", series, count);
}

/*
 * A model's histogram series with their labels in one shared allocation:
 * byte for byte the text of one allocation per sample, also merged by
 * reference into the cycle's set and with an "le" among the series' own
 * labels (replaced in place); freed once (asan and valgrind).
 */
static void
test_histogram_shared_labels(void **state)
{
	const char *les[3] = {"0.001", "0.01", "0.1"};
	double		counts[3] = {1, 4, 9};

	(void) state;
	for (int with_le = 0; with_le < 2; with_le++)
	{
		metric_set	a = {0},
					b = {0},
					merged = {0};
		labelrefs	r = {0};
		char	   *ta,
				   *tb,
				   *tm;

		labelrefs_set(&r, "cluster", "eu");
		labelrefs_set(&r, "node", "shop-1");
		if (with_le)
			labelrefs_set(&r, "le", "a tag named le");
		labelrefs_set(&r, "model", "sale.order");
		for (int m = 0; m < 2; m++)
		{
			histogram_one_by_one(mset_family(&a, "orguard_model_duration_seconds", "Time.", METRIC_HISTOGRAM),
								 &r, m ? 3 : 0, les, counts, 12 + m, 0.5 + m);
			mset_add_histogram_refs(mset_family(&b, "orguard_model_duration_seconds", "Time.", METRIC_HISTOGRAM),
									&r, m ? 3 : 0, les, counts, 12 + m, 0.5 + m);
		}
		ta = mset_format(&a);
		tb = mset_format(&b);
		assert_string_equal(ta, tb);
		assert_non_null(strstr(tb, "_bucket{cluster=\"eu\",node=\"shop-1\","));
		mset_merge_borrowed(&merged, &b);
		tm = mset_format(&merged);
		assert_string_equal(tm, tb);
		mset_free(&merged);
		free(ta);
		free(tb);
		free(tm);
		labelrefs_free(&r);
		mset_free(&a);
		mset_free(&b);
	}
}

/* a shrunk set keeps its samples, and grows again when added to */
static void
test_shrink(void **state)
{
	metric_set	ms = {0};
	metric_family *f;
	char	   *before;
	char	   *after;

	(void) state;
	f = mset_family(&ms, "orguard_node_up", "Up.", METRIC_GAUGE);
	for (int i = 0; i < 5; i++)
		mset_add(f, i, "node", i % 2 ? "a" : "b", NULL);
	assert_int_equal(f->cap, 8);
	before = mset_format(&ms);
	mset_shrink(&ms);
	assert_int_equal(ms.f[0].cap, 5);
	after = mset_format(&ms);
	assert_string_equal(before, after);
	mset_add(&ms.f[0], 9, "node", "c", NULL);
	assert_int_equal(ms.f[0].n, 6);
	free(after);
	after = mset_format(&ms);
	assert_non_null(strstr(after, "orguard_node_up{node=\"c\"} 9\n"));
	free(before);
	free(after);
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

static OdooRetailGuard__ModelStat *
model(const char *name, const char *op, uint64_t calls, double total_ms, uint64_t slow)
{
	OdooRetailGuard__ModelStat *m = calloc(1, sizeof(*m));
	static const double le_ms[] = {1, 12.5};

	odoo_retail_guard__model_stat__init(m);
	m->database = strdup("odoo");
	m->model = strdup(name);
	m->operation = strdup(op);
	m->calls = calls;
	m->total_ms = total_ms;
	m->slow_calls = slow;
	m->n_duration_le_ms = m->n_duration_le_count = 2;
	m->duration_le_ms = malloc(sizeof(le_ms));
	memcpy(m->duration_le_ms, le_ms, sizeof(le_ms));
	m->duration_le_count = malloc(2 * sizeof(uint64_t));
	m->duration_le_count[0] = calls / 2;
	m->duration_le_count[1] = calls - 1;
	return m;
}

static OdooRetailGuard__AutovacuumLag *
table(const char *db, const char *rel, int64_t dead, double lag_s)
{
	OdooRetailGuard__AutovacuumLag *a = calloc(1, sizeof(*a));

	odoo_retail_guard__autovacuum_lag__init(a);
	a->database = strdup(db);
	a->relation = strdup(rel);
	a->dead_tuples = dead;
	a->lag_s = lag_s;
	return a;
}

/* the lines of text that start with prefix, in order */
static char *
lines_of(const char *text, const char *prefix)
{
	strbuf		sb;

	sb_init(&sb);
	for (const char *l = text; *l;)
	{
		const char *e = strchr(l, '\n');
		size_t		len = e ? (size_t) (e - l) + 1 : strlen(l);

		if (!strncmp(l, prefix, strlen(prefix)))
			sb_append_len(&sb, l, len);
		l += len;
	}
	return sb_steal(&sb);
}

static void
assert_family(const char *text, const char *prefix, const char *want)
{
	char	   *got = lines_of(text, prefix);

	assert_string_equal(got, want);
	free(got);
}

/*
 * One node's families after a poll: the top_n largest per family, largest
 * first and ties in snapshot order, the node's labels first (a tag named
 * like a series label is replaced in place), empty texts as "unknown", and
 * the histograms of the top_n models by total time.
 */
static void
test_node_families(void **state)
{
	node		n;
	OdooRetailGuard__Snapshot *s = calloc(1, sizeof(*s));
	metric_set	ms = {0};
	char	   *text;

	(void) state;
	memset(&n, 0, sizeof(n));
	n.cfg.name = "store-1";
	n.cfg.cluster = "eu";
	labels_set(&n.cfg.tags, "region", "eu-west");
	labels_set(&n.cfg.tags, "relname", "tag");
	n.obs.reachable = true;
	n.polls = 7;
	odoo_retail_guard__snapshot__init(s);
	s->n_models = 5;
	s->models = calloc(5, sizeof(*s->models));
	s->models[0] = model("sale.order", "read", 10, 100, 1);
	s->models[1] = model("stock.quant", "write", 30, 50, 1);
	s->models[2] = model("pos.order", "create", 10, 300, 2);
	s->models[3] = model("account.move", "read", 30, 100, 1);
	s->models[4] = model("res.partner", "read", 5, 100, 0);
	s->n_autovacuum_lag = 4;
	s->autovacuum_lag = calloc(4, sizeof(*s->autovacuum_lag));
	s->autovacuum_lag[0] = table("odoo", "a", 5, 0);
	s->autovacuum_lag[1] = table("odoo", "b", 9, 3);
	s->autovacuum_lag[2] = table("odoo", "c", 9, 0);
	s->autovacuum_lag[3] = table("", "d", 1, 3);
	n.snap = s;

	stats_node_update(&ms, &n, 2);
	text = mset_format(&ms);
	assert_family(text, "orguard_node_polls_total",
				  "orguard_node_polls_total{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\"} 7\n");
	assert_family(text, "orguard_model_calls_total{",
				  "orguard_model_calls_total{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"stock.quant\",operation=\"write\"} 30\n"
				  "orguard_model_calls_total{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"account.move\",operation=\"read\"} 30\n");
	assert_family(text, "orguard_model_seconds_total{",
				  "orguard_model_seconds_total{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"pos.order\",operation=\"create\"} 0.3\n"
				  "orguard_model_seconds_total{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"sale.order\",operation=\"read\"} 0.1\n");
	assert_family(text, "orguard_model_slow_calls_total{",
				  "orguard_model_slow_calls_total{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"pos.order\",operation=\"create\"} 2\n"
				  "orguard_model_slow_calls_total{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"sale.order\",operation=\"read\"} 1\n");
	/* the table's relname replaces the tag of that name, in its place */
	assert_family(text, "orguard_table_dead_tuples{",
				  "orguard_table_dead_tuples{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"b\","
				  "datname=\"odoo\"} 9\n"
				  "orguard_table_dead_tuples{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"c\","
				  "datname=\"odoo\"} 9\n");
	assert_family(text, "orguard_table_autovacuum_lag_seconds{",
				  "orguard_table_autovacuum_lag_seconds{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"b\","
				  "datname=\"odoo\"} 3\n"
				  "orguard_table_autovacuum_lag_seconds{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"d\","
				  "datname=\"unknown\"} 3\n");
	assert_family(text, "orguard_model_duration_seconds",
				  "orguard_model_duration_seconds_bucket{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"pos.order\",operation=\"create\",le=\"0.001\"} 5\n"
				  "orguard_model_duration_seconds_bucket{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"pos.order\",operation=\"create\",le=\"0.0125\"} 9\n"
				  "orguard_model_duration_seconds_bucket{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"pos.order\",operation=\"create\",le=\"+Inf\"} 10\n"
				  "orguard_model_duration_seconds_sum{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"pos.order\",operation=\"create\"} 0.3\n"
				  "orguard_model_duration_seconds_count{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"pos.order\",operation=\"create\"} 10\n"
				  "orguard_model_duration_seconds_bucket{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"sale.order\",operation=\"read\",le=\"0.001\"} 5\n"
				  "orguard_model_duration_seconds_bucket{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"sale.order\",operation=\"read\",le=\"0.0125\"} 9\n"
				  "orguard_model_duration_seconds_bucket{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"sale.order\",operation=\"read\",le=\"+Inf\"} 10\n"
				  "orguard_model_duration_seconds_sum{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"sale.order\",operation=\"read\"} 0.1\n"
				  "orguard_model_duration_seconds_count{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"tag\","
				  "datname=\"odoo\",model=\"sale.order\",operation=\"read\"} 10\n");
	free(text);

	/* every table when top_n is above their count: all of them, by value */
	stats_node_update(&ms, &n, 10);
	text = mset_format(&ms);
	assert_family(text, "orguard_table_dead_tuples{",
				  "orguard_table_dead_tuples{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"b\","
				  "datname=\"odoo\"} 9\n"
				  "orguard_table_dead_tuples{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"c\","
				  "datname=\"odoo\"} 9\n"
				  "orguard_table_dead_tuples{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"a\","
				  "datname=\"odoo\"} 5\n"
				  "orguard_table_dead_tuples{cluster=\"eu\",node=\"store-1\",region=\"eu-west\",relname=\"d\","
				  "datname=\"unknown\"} 1\n");
	free(text);
	mset_free(&ms);
	odoo_retail_guard__snapshot__free_unpacked(s, NULL);
	labels_free(&n.cfg.tags);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_histogram_shared_labels),
		cmocka_unit_test(test_shrink),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_invalid_names_dropped),
		cmocka_unit_test(test_escape_paths),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_top_n),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_merge_borrowed),
		cmocka_unit_test(test_packed_top_n),
		cmocka_unit_test(test_values_integer_path),
		cmocka_unit_test(test_node_families),
	};

	return cmocka_run_group_tests_name("agent metrics", tests, NULL, NULL);
}
