/*
 * test_runbook_fenced.c: the old primary a cluster's journal says is
 * fenced: set by a completed promotion (also with fence_command = none),
 * cleared by a completed rejoin of that node, untouched by refused,
 * failed or interrupted runs, by other clusters and by other rejoins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runbooks/fenced.h"

#include <stdlib.h>
#include <string.h>

typedef struct line
{
	const char *run,
			   *step,
			   *target,
			   *result,
			   *detail;
} line;

static journal_entries
entries(const line *l, int n)
{
	journal_entries es = {0};

	es.v = calloc((size_t) n, sizeof(journal_entry));
	for (int i = 0; i < n; i++)
	{
		es.v[i].time = strdup("2026-11-23T10:00:00.000Z");
		es.v[i].run = strdup(l[i].run);
		es.v[i].runbook = strdup("promote");
		es.v[i].step = strdup(l[i].step);
		es.v[i].target = strdup(l[i].target);
		es.v[i].result = strdup(l[i].result);
		es.v[i].detail = strdup(l[i].detail ? l[i].detail : "");
	}
	es.n = n;
	return es;
}

/* a completed promotion of s1 over p in cluster shop */
#define PROMOTE(run, old, new, how) \
	{run, "runbook", "shop", "started", "promote " old}, \
	{run, "primary-dead", old, "ok", NULL}, \
	{run, "choose", new, "ok", NULL}, \
	{run, "fence", old, "ok", how}, \
	{run, "promote", new, "ok", NULL}, \
	{run, "runbook", "shop", "done", NULL}

#define REJOIN(run, node, final) \
	{run, "runbook", "shop", "started", "rejoin " node}, \
	{run, "check", node, "ok", NULL}, \
	{run, "follow", node, "ok", NULL}, \
	{run, "runbook", "shop", final, NULL}

static void
test_empty_and_refusals(void **state)
{
	const line	l[] = {
		{"r1", "runbook", "shop", "started", "promote p"},
		{"r1", "runbook", "shop", "refused", "primary_dead: p answers"},
		/* fenced, then refused: the primary answered again, nothing promoted */
		{"r2", "runbook", "shop", "started", "promote p"},
		{"r2", "fence", "p", "ok", NULL},
		{"r2", "runbook", "shop", "refused", "primary_dead: p answers again after fencing"},
		/* interrupted after the fence: a re-run resumes it */
		{"r3", "runbook", "shop", "started", "promote p"},
		{"r3", "fence", "p", "ok", NULL},
	};
	journal_entries es = entries(l, 7);
	fenced_primary fp;

	(void) state;
	assert_false(journal_fenced_primary(&es, "shop", &fp));
	es.n = 0;
	assert_false(journal_fenced_primary(&es, "shop", &fp));
	es.n = 7;
	journal_entries_free(&es);
}

static void
test_promotion_fences_until_rejoin(void **state)
{
	const line	l[] = {
		PROMOTE("r1", "p", "s1", "exit 0"),
		/* a rejoin of another node, and a failed rejoin of p: still fenced */
		REJOIN("r2", "s2", "done"),
		{"r3", "runbook", "shop", "started", "rejoin p"},
		{"r3", "start", "p", "failed", NULL},
		{"r3", "runbook", "shop", "failed", NULL},
		REJOIN("r4", "p", "done"),
	};
	journal_entries es = entries(l, 17);
	fenced_primary fp;

	(void) state;
	es.n = 6;
	assert_true(journal_fenced_primary(&es, "shop", &fp));
	assert_string_equal(fp.node, "p");
	assert_string_equal(fp.run, "r1");
	assert_string_equal(fp.promoted, "s1");
	assert_false(journal_fenced_primary(&es, "warehouse", &fp));
	es.n = 13;					/* up to the failed rejoin of p */
	assert_true(journal_fenced_primary(&es, "shop", &fp));
	assert_string_equal(fp.node, "p");
	es.n = 17;
	assert_false(journal_fenced_primary(&es, "shop", &fp));
	journal_entries_free(&es);
}

static void
test_newest_promotion_wins(void **state)
{
	const line	l[] = {
		PROMOTE("r1", "p", "s1", "fence_command = none: not fenced"),
		REJOIN("r2", "p", "done"),
		/* fail back: s1 is the old primary now */
		PROMOTE("r3", "s1", "p", "exit 0"),
	};
	journal_entries es = entries(l, 16);
	fenced_primary fp;

	(void) state;
	es.n = 6;
	assert_true(journal_fenced_primary(&es, "shop", &fp));
	assert_string_equal(fp.node, "p");
	es.n = 16;
	assert_true(journal_fenced_primary(&es, "shop", &fp));
	assert_string_equal(fp.node, "s1");
	assert_string_equal(fp.run, "r3");
	assert_string_equal(fp.promoted, "p");
	journal_entries_free(&es);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_refusals),
		cmocka_unit_test(test_promotion_fences_until_rejoin),
		cmocka_unit_test(test_newest_promotion_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
