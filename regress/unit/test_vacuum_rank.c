/*-------------------------------------------------------------------------
 *
 * test_vacuum_rank.c
 *	  Unit tests for the autovacuum lag tracker's eviction ranking (the
 *	  worst tables are kept) and its transaction ages (age(), mxid_age()).
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "vacuum_rank.h"

static OrgVacuumRank
rank(unsigned int relid, bool over, double badness)
{
	OrgVacuumRank r;

	memset(&r, 0, sizeof(r));
	r.dbid = 5;
	r.relid = relid;
	r.over_threshold = over;
	r.badness = badness;
	r.index = (int) relid;
	return r;
}

static void
test_badness_is_the_higher_ratio(void **state)
{
	(void) state;
	/* 300 dead over a threshold of 100: 3 */
	assert_true(org_vacuum_badness(300, 100, 10, 200000000) == 3.0);
	/* 150M of 200M transactions: 0.75 beats 0.5 dead */
	assert_true(org_vacuum_badness(50, 100, 150000000, 200000000) == 0.75);
	/* unknown inputs count as nothing, never a division by zero */
	assert_true(org_vacuum_badness(50, 0, 10, 0) == 0.0);
}

static void
test_over_threshold_ranks_first(void **state)
{
	OrgVacuumRank r[4];
	int			kept;

	(void) state;
	r[0] = rank(10, false, 0.9);	/* near wraparound, under threshold */
	r[1] = rank(11, true, 1.01);
	r[2] = rank(12, false, 0.1);
	r[3] = rank(13, true, 7.0);
	kept = org_vacuum_rank_keep_worst(r, 4, 3);
	assert_int_equal(kept, 3);
	assert_int_equal(r[0].relid, 13);
	assert_int_equal(r[1].relid, 11);
	assert_int_equal(r[2].relid, 10);
	/* the least bad one is what a cap drops */
	assert_int_equal(r[3].relid, 12);
	assert_true(org_vacuum_rank_worse(&r[2], &r[3]));
	assert_false(org_vacuum_rank_worse(&r[3], &r[2]));
}

static void
test_ties_are_stable(void **state)
{
	OrgVacuumRank a[3];
	OrgVacuumRank b[3];

	(void) state;
	a[0] = rank(30, false, 0.5);
	a[1] = rank(20, false, 0.5);
	a[2] = rank(25, false, 0.5);
	b[0] = a[2];
	b[1] = a[0];
	b[2] = a[1];
	assert_int_equal(org_vacuum_rank_keep_worst(a, 3, 1), 1);
	assert_int_equal(org_vacuum_rank_keep_worst(b, 3, 1), 1);
	/* same figures, any input order: the same table is kept */
	assert_int_equal(a[0].relid, 20);
	assert_int_equal(b[0].relid, 20);
	assert_false(org_vacuum_rank_worse(&a[0], &b[0]));
}

static void
test_no_cap_and_empty(void **state)
{
	OrgVacuumRank r[2];

	(void) state;
	r[0] = rank(1, false, 0.1);
	r[1] = rank(2, false, 0.2);
	assert_int_equal(org_vacuum_rank_keep_worst(r, 2, -1), 2);
	assert_int_equal(org_vacuum_rank_keep_worst(r, 2, 5), 2);
	assert_int_equal(r[0].relid, 2);
	assert_int_equal(org_vacuum_rank_keep_worst(r, 0, 1), 0);
	assert_int_equal(org_vacuum_rank_keep_worst(r, 2, 0), 0);
}

static void
test_ages_follow_the_server(void **state)
{
	(void) state;
	assert_int_equal(org_xid_age(1000, 900), 100);
	/* across the 2^32 wrap: next 5, frozen at 4294967000 */
	assert_int_equal(org_xid_age(5, 4294967000u), 301);
	/* special xids are infinitely old to age() */
	assert_int_equal(org_xid_age(1000, 2), INT32_MAX);
	assert_int_equal(org_xid_age(1000, 0), INT32_MAX);
	assert_int_equal(org_mxid_age(50, 1), 49);
	assert_int_equal(org_mxid_age(50, 0), 0);
	assert_int_equal(org_mxid_age(3, 4294967295u), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_badness_is_the_higher_ratio),
		cmocka_unit_test(test_over_threshold_ranks_first),
		cmocka_unit_test(test_ties_are_stable),
		cmocka_unit_test(test_no_cap_and_empty),
		cmocka_unit_test(test_ages_follow_the_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
