/*
 * test_runbook_promote_lease.c
 *	  Unit tests for the cluster-wide promotion lease: the lock keys, the
 *	  majority rule, the claims written on the standbys (names with any
 *	  bytes) and which claims bind a later run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "runbooks/promote_lease.h"

static void
test_keys_and_quorum(void **state)
{
	(void) state;
	assert_int_equal(promote_lease_key("shop"), promote_lease_key("shop"));
	assert_int_not_equal(promote_lease_key("shop"), promote_lease_key("shop2"));
	assert_true(promote_lease_key("shop") >= 0);
	assert_true(promote_lease_key("") >= 0);
	assert_int_equal(promote_lease_quorum(1), 1);
	assert_int_equal(promote_lease_quorum(2), 2);
	assert_int_equal(promote_lease_quorum(3), 2);
	assert_int_equal(promote_lease_quorum(4), 3);
	assert_int_equal(promote_lease_quorum(5), 3);
}

static void
test_claim_round_trip(void **state)
{
	promote_claim in = {"20261206T211800Z-4242", "store 0042 'main'\n", 7, "мagазин-2"};
	promote_claim out;
	char	   *v;

	(void) state;
	v = promote_claim_format(&in);
	/* nothing that needs quoting reaches the setting */
	assert_null(strchr(v, '\''));
	assert_null(strchr(v, '\n'));
	assert_non_null(strstr(v, "timeline=7"));
	assert_true(promote_claim_parse(v, &out));
	assert_string_equal(out.run, in.run);
	assert_string_equal(out.primary, in.primary);
	assert_string_equal(out.candidate, in.candidate);
	assert_int_equal(out.timeline, 7);
	promote_claim_free(&out);
	free(v);
}

static void
test_claim_parse_rejects(void **state)
{
	promote_claim c;

	(void) state;
	assert_false(promote_claim_parse(NULL, &c));
	assert_false(promote_claim_parse("", &c));
	assert_false(promote_claim_parse("v2 run=a primary=p timeline=1 candidate=s1", &c));
	assert_false(promote_claim_parse("v1 run=a primary=p timeline=1", &c));
	assert_false(promote_claim_parse("v1 run=a primary=p timeline=0 candidate=s1", &c));
	assert_false(promote_claim_parse("v1 run=a primary=p timeline=1x candidate=s1", &c));
	assert_false(promote_claim_parse("v1 run=a primary=p timeline=99999999999 candidate=s1", &c));
	assert_false(promote_claim_parse("v1 run=a primary=p%2 timeline=1 candidate=s1", &c));
	assert_false(promote_claim_parse("v1 run=a primary=p%zz timeline=1 candidate=s1", &c));
	assert_false(promote_claim_parse("v1 run=a primary=p%00 timeline=1 candidate=s1", &c));
	assert_false(promote_claim_parse("v1 run=a primary= timeline=1 candidate=s1", &c));
	assert_true(promote_claim_parse("v1 run=a primary=p timeline=1 candidate=s1", &c));
	promote_claim_free(&c);
}

static void
test_lease_held_needs_majority_and_candidate(void **state)
{
	lease_member m[3] = {{"s1", true, NULL}, {"s2", false, NULL}, {"s3", true, NULL}};
	char		why[512];

	(void) state;
	assert_null(promote_lease_held(m, 3, NULL, why, sizeof(why)));
	assert_null(promote_lease_held(m, 3, "s3", why, sizeof(why)));
	/* the candidate must be among the locked */
	assert_string_equal(promote_lease_held(m, 3, "s2", why, sizeof(why)), "lease");
	assert_non_null(strstr(why, "candidate s2"));
	/* one of three is no majority */
	m[2].locked = false;
	assert_string_equal(promote_lease_held(m, 3, NULL, why, sizeof(why)), "lease");
	assert_non_null(strstr(why, "1 of 3"));
	assert_non_null(strstr(why, "s2, s3"));
	/* two standbys: both */
	assert_string_equal(promote_lease_held(m, 2, NULL, why, sizeof(why)), "lease");
	m[1].locked = true;
	assert_null(promote_lease_held(m, 2, "s1", why, sizeof(why)));
	/* one standby: itself */
	assert_null(promote_lease_held(m, 1, "s1", why, sizeof(why)));
}

static char *
claim(const char *run, const char *primary, uint32_t tl, const char *cand)
{
	promote_claim c = {(char *) run, (char *) primary, tl, (char *) cand};

	return promote_claim_format(&c);
}

static void
test_claims_that_bind(void **state)
{
	char	   *a = claim("run-a", "p", 1, "s1");
	char	   *a2 = claim("run-b", "p", 1, "s1");
	char	   *other = claim("run-c", "p", 1, "s3");
	char	   *mine = claim("run-me", "p", 1, "s3");
	char	   *old = claim("run-d", "s1", 1, "s3");
	lease_member m[3] = {{"s1", true, NULL}, {"s2", true, a}, {"s3", true, "not a claim"}};
	bool		conflict;
	char	   *by,
			   *c;

	(void) state;
	c = promote_lease_claimed(m, 3, "p", 1, "run-me", &conflict, &by);
	assert_string_equal(c, "s1");
	assert_string_equal(by, "run-a");
	assert_false(conflict);
	free(c);
	free(by);
	/* after that promotion the standbys follow timeline 2: still the same failover */
	c = promote_lease_claimed(m, 3, "p", 2, "run-me", &conflict, &by);
	assert_string_equal(c, "s1");
	free(c);
	free(by);
	/* a failover of p two timelines later is a new one */
	c = promote_lease_claimed(m, 3, "p", 3, "run-me", &conflict, &by);
	assert_null(c);
	assert_null(by);
	/* a claim about another primary, or this run's own, binds nothing */
	c = promote_lease_claimed(m, 3, "s1", 1, "run-me", &conflict, &by);
	assert_null(c);
	m[1].claim = mine;
	c = promote_lease_claimed(m, 3, "p", 1, "run-me", &conflict, &by);
	assert_null(c);
	m[1].claim = old;
	c = promote_lease_claimed(m, 3, "p", 1, "run-me", &conflict, &by);
	assert_null(c);
	/* two runs agreeing is fine; disagreeing is a conflict */
	m[0].claim = a;
	m[1].claim = a2;
	c = promote_lease_claimed(m, 3, "p", 1, "run-me", &conflict, &by);
	assert_string_equal(c, "s1");
	assert_false(conflict);
	free(c);
	free(by);
	m[2].claim = other;
	c = promote_lease_claimed(m, 3, "p", 1, "run-me", &conflict, &by);
	assert_true(conflict);
	free(c);
	free(by);
	free(a);
	free(a2);
	free(other);
	free(mine);
	free(old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_and_quorum),
		cmocka_unit_test(test_claim_round_trip),
		cmocka_unit_test(test_claim_parse_rejects),
		cmocka_unit_test(test_lease_held_needs_majority_and_candidate),
		cmocka_unit_test(test_claims_that_bind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
