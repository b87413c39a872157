/*
 * test_split_brain.c: the two_primaries fact from the latest role of every
 * node (only fresh, reachable, not-in-recovery reports count; other
 * clusters do not), the anchor node, and the built-in rule firing at once
 * as critical and resolving when one primary is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert/alert.h"
#include "common/config.h"
#include "alert/facts.h"
#include "alert/rules.h"
#include "alert/split_brain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((int64_t) (x) * 1000000)

static const char conf[] =
"[node p]\nconninfo = host=a\ncluster = shop\n"
"[node s1]\nconninfo = host=b\ncluster = shop\n"
"[node other]\nconninfo = host=c\ncluster = warehouse\n";

static const fact *
only_fact(const fact_list *l)
{
	assert_int_equal(l->n, 1);
	assert_int_equal(l->v[0].kind, RULE_TWO_PRIMARIES);
	return &l->v[0];
}

static void
test_one_primary_is_fine(void **state)
{
	role_table	t = {0};
	fact_list	l = {0};
	const fact *f;

	(void) state;
	role_table_set(&t, "p", "shop", true, false, 1, 0, 0, S(100));
	role_table_set(&t, "s1", "shop", true, true, 1, 0, 0, S(100));
	split_brain_facts(&t, "shop", S(101), S(25), &l);
	f = only_fact(&l);
	assert_string_equal(f->subject, "shop");
	assert_true(f->value == 1);
	assert_string_equal(labels_get(&f->annotations, "primaries"), "p");
	facts_free(&l);
	role_table_free(&t);
}

static void
test_two_primaries_named_with_timelines(void **state)
{
	role_table	t = {0};
	fact_list	l = {0};
	const fact *f;

	(void) state;
	role_table_set(&t, "p", "shop", true, true, 1, 0, 0, S(90));
	/* the standby was promoted; the old primary came back writable */
	role_table_set(&t, "s1", "shop", true, false, 2, 0, 0, S(100));
	role_table_set(&t, "p", "shop", true, false, 1, 0, 0, S(100));
	/* another cluster's primary does not count */
	role_table_set(&t, "other", "warehouse", true, false, 1, 0, 0, S(100));
	assert_int_equal(t.n, 3);
	split_brain_facts(&t, "shop", S(101), S(25), &l);
	f = only_fact(&l);
	assert_true(f->value == 2);
	assert_string_equal(f->summary, "2 nodes of cluster shop accept writes: p (timeline 1), s1 (timeline 2)");
	assert_string_equal(labels_get(&f->annotations, "primaries"), "p,s1");
	facts_free(&l);
	role_table_free(&t);
}

static void
test_stale_unreachable_and_unknown_timeline(void **state)
{
	role_table	t = {0};
	fact_list	l = {0};
	const fact *f;

	(void) state;
	role_table_set(&t, "p", "shop", true, false, 1, 0, 0, S(10));	/* missed its polls */
	role_table_set(&t, "s1", "shop", true, false, 0, 0, 0, S(100));	/* no extension */
	role_table_set(&t, "x", "shop", false, false, 0, 0, 0, S(100));	/* does not answer */
	split_brain_facts(&t, "shop", S(101), S(25), &l);
	f = only_fact(&l);
	assert_true(f->value == 1);
	assert_string_equal(f->summary, "1 primary in cluster shop: s1 (timeline unknown)");
	facts_free(&l);

	/* p answers again, still writable: two */
	role_table_set(&t, "p", "shop", true, false, 1, 0, 0, S(101));
	split_brain_facts(&t, "shop", S(102), S(25), &l);
	assert_true(only_fact(&l)->value == 2);
	facts_free(&l);

	/* a node moved to another cluster by a reload */
	role_table_set(&t, "p", "warehouse", true, false, 1, 0, 0, S(102));
	split_brain_facts(&t, "shop", S(103), S(25), &l);
	assert_true(only_fact(&l)->value == 1);
	facts_free(&l);
	split_brain_facts(&t, "nowhere", S(103), S(25), &l);
	f = only_fact(&l);
	assert_true(f->value == 0);
	assert_string_equal(labels_get(&f->annotations, "primaries"), "");
	facts_free(&l);
	role_table_free(&t);
}

/* two Odoo databases of one server are one primary; another server is not */
static void
test_databases_of_one_server_count_once(void **state)
{
	role_table	t = {0};
	fact_list	l = {0};
	const fact *f;

	(void) state;
	role_table_set(&t, "shop_db", "shop", true, false, 1, 7711, 5000, S(100));
	role_table_set(&t, "ecom_db", "shop", true, false, 1, 7711, 5000, S(100));
	split_brain_facts(&t, "shop", S(101), S(25), &l);
	f = only_fact(&l);
	assert_true(f->value == 1);
	assert_string_equal(labels_get(&f->annotations, "primaries"), "shop_db");
	facts_free(&l);
	/* a promoted standby: same system identifier, another postmaster */
	role_table_set(&t, "standby", "shop", true, false, 2, 7711, 6000, S(100));
	split_brain_facts(&t, "shop", S(101), S(25), &l);
	f = only_fact(&l);
	assert_true(f->value == 2);
	assert_string_equal(labels_get(&f->annotations, "primaries"), "shop_db,standby");
	facts_free(&l);
	role_table_free(&t);
}

static void
test_anchor_is_first_node_of_cluster(void **state)
{
	agent_cfg	cfg;
	config_errors errs = {0};

	(void) state;
	assert_true(config_parse("t.conf", conf, &cfg, &errs));
	assert_true(split_brain_anchor(&cfg, &cfg.nodes[0]));
	assert_false(split_brain_anchor(&cfg, &cfg.nodes[1]));
	assert_true(split_brain_anchor(&cfg, &cfg.nodes[2]));
	config_free(&cfg);
	config_errors_free(&errs);
}

/* the built-in rule: critical, fires on the first poll that sees two, resolves with one */
static void
test_rule_fires_and_resolves(void **state)
{
	agent_cfg	cfg;
	config_errors errs = {0};
	rule_engine *re = rules_new();
	event_list	ev = {0};
	role_table	t = {0};
	fact_list	l = {0};
	const rule_cfg *r;

	(void) state;
	assert_true(config_parse("t.conf", conf, &cfg, &errs));
	r = config_rule(&cfg, "two_primaries");
	assert_non_null(r);
	assert_true(r->enabled);
	assert_int_equal(r->sev, SEV_CRITICAL);
	assert_string_equal(rule_kind_name(RULE_TWO_PRIMARIES), "two_primaries");

	role_table_set(&t, "p", "shop", true, false, 1, 0, 0, S(100));
	role_table_set(&t, "s1", "shop", true, true, 1, 0, 0, S(100));
	split_brain_facts(&t, "shop", S(100), S(25), &l);
	rules_eval_node(re, &cfg, &cfg.nodes[0], &l, S(100), &ev);
	facts_free(&l);
	assert_int_equal(ev.n, 0);

	role_table_set(&t, "s1", "shop", true, false, 2, 0, 0, S(110));
	split_brain_facts(&t, "shop", S(110), S(25), &l);
	rules_eval_node(re, &cfg, &cfg.nodes[0], &l, S(110), &ev);
	facts_free(&l);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].status, ALERT_FIRING);
	assert_int_equal(ev.v[0].sev, SEV_CRITICAL);
	assert_string_equal(ev.v[0].subject, "shop");
	assert_string_equal(labels_get(&ev.v[0].labels, "alertname"), "two_primaries");
	assert_string_equal(labels_get(&ev.v[0].annotations, "primaries"), "p,s1");
	assert_non_null(strstr(ev.v[0].summary, "p (timeline 1), s1 (timeline 2)"));

	/* still two: keeps firing, no new notification before renotify */
	split_brain_facts(&t, "shop", S(120), S(25), &l);
	rules_eval_node(re, &cfg, &cfg.nodes[0], &l, S(120), &ev);
	facts_free(&l);
	assert_int_equal(ev.n, 1);
	assert_int_equal(rules_count(re, "two_primaries").firing, 1);

	/* the old primary is fenced (stops answering): resolved */
	role_table_set(&t, "p", "shop", false, false, 0, 0, 0, S(130));
	split_brain_facts(&t, "shop", S(130), S(25), &l);
	rules_eval_node(re, &cfg, &cfg.nodes[0], &l, S(130), &ev);
	facts_free(&l);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.v[1].status, ALERT_RESOLVED);
	assert_int_equal(rules_count(re, "two_primaries").firing, 0);

	events_free(&ev);
	rules_free(re);
	role_table_free(&t);
	config_free(&cfg);
	config_errors_free(&errs);
}

/*
 * Hundreds of nodes, found by name: each cluster's fact names its own
 * primaries in the order they were first seen, a node moved to another
 * cluster by a reload counts there only, and databases of one server once.
 */
static void
test_many_clusters_and_a_move(void **state)
{
	role_table	t = {0};
	fact_list	l = {0};
	char		node[32],
				cluster[32];
	const fact *f;

	(void) state;
	/* 300 nodes in 100 clusters, node i in cluster i % 100, all primaries */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 300; i++)
		{
			snprintf(node, sizeof(node), "n%d", i);
			snprintf(cluster, sizeof(cluster), "c%d", i % 100);
			role_table_set(&t, node, cluster, true, false, 1, 0, 0, S(100 + round));
		}
	assert_int_equal(t.n, 300);
	split_brain_facts(&t, "c7", S(102), S(25), &l);
	f = only_fact(&l);
	assert_true(f->value == 3);
	assert_string_equal(labels_get(&f->annotations, "primaries"), "n7,n107,n207");
	facts_free(&l);
	memset(&l, 0, sizeof(l));
	/* n107 moves to c8; n207 and n7 are databases of one server */
	role_table_set(&t, "n107", "c8", true, false, 1, 0, 0, S(102));
	role_table_set(&t, "n7", "c7", true, false, 1, 42, 9, S(102));
	role_table_set(&t, "n207", "c7", true, false, 1, 42, 9, S(102));
	assert_int_equal(t.n, 300);
	split_brain_facts(&t, "c7", S(102), S(25), &l);
	f = only_fact(&l);
	assert_true(f->value == 1);
	assert_string_equal(labels_get(&f->annotations, "primaries"), "n7");
	facts_free(&l);
	memset(&l, 0, sizeof(l));
	split_brain_facts(&t, "c8", S(102), S(25), &l);
	f = only_fact(&l);
	assert_true(f->value == 4);
	assert_string_equal(labels_get(&f->annotations, "primaries"), "n8,n107,n108,n208");
	facts_free(&l);
	memset(&l, 0, sizeof(l));
	/* a cluster nobody reported */
	split_brain_facts(&t, "c999", S(102), S(25), &l);
	assert_true(only_fact(&l)->value == 0);
	facts_free(&l);
	role_table_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_clusters_and_a_move),
		cmocka_unit_test(test_one_primary_is_fine),
		cmocka_unit_test(test_two_primaries_named_with_timelines),
		cmocka_unit_test(test_stale_unreachable_and_unknown_timeline),
		cmocka_unit_test(test_databases_of_one_server_count_once),
		cmocka_unit_test(test_anchor_is_first_node_of_cluster),
		cmocka_unit_test(test_rule_fires_and_resolves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
