/*-------------------------------------------------------------------------
 *
 * test_throttle_match.c
 *	  Unit tests for throttle rule matching and the exempt role list.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "throttle_match.h"

static void
test_glob(void **state)
{
	(void) state;
	assert_true(org_glob_match("odoo-*", "odoo-4242"));
	assert_true(org_glob_match("odoo-*", "odoo-"));
	assert_false(org_glob_match("odoo-*", "odoo"));
	assert_false(org_glob_match("odoo-*", "xodoo-1"));
	assert_true(org_glob_match("odoo-4242", "odoo-4242"));
	assert_false(org_glob_match("odoo-4242", "odoo-42421"));
	assert_true(org_glob_match("*cron*", "odoo-cron-7"));
	assert_false(org_glob_match("*cron*", "odoo-http-7"));
	assert_true(org_glob_match("odoo-??", "odoo-12"));
	assert_false(org_glob_match("odoo-??", "odoo-123"));
	assert_true(org_glob_match("*", ""));
	assert_true(org_glob_match("", ""));
	assert_false(org_glob_match("", "a"));
	assert_true(org_glob_match("a*b*c", "aXXbYYbc"));
	assert_false(org_glob_match("a*b*c", "aXXbYYbd"));
	assert_true(org_glob_match("**x", "abx"));
	assert_true(org_glob_match("job\\*", "job*"));
	assert_false(org_glob_match("job\\*", "jobs"));
	assert_true(org_glob_match("\\?", "?"));
	assert_false(org_glob_match("\\?", "a"));
	assert_false(org_glob_match(NULL, "a"));
	assert_false(org_glob_match("a", NULL));
	assert_true(org_glob_match("Odoo-*", "Odoo-1"));
	assert_false(org_glob_match("Odoo-*", "odoo-1"));
}

static void
test_glob_valid(void **state)
{
	(void) state;
	assert_true(org_glob_valid("odoo-*"));
	assert_true(org_glob_valid("a\\*"));
	assert_false(org_glob_valid("a\\"));
	assert_false(org_glob_valid(NULL));
}

static void
test_matches(void **state)
{
	OrgThrottleMatch m = {"odoo-*", "", "retail", 1};

	(void) state;
	assert_true(org_throttle_matches(&m, "odoo-1", "odoo", "retail", 1));
	assert_false(org_throttle_matches(&m, "odoo-1", "odoo", "postgres", 1));
	assert_false(org_throttle_matches(&m, "odoo-1", "odoo", "retail", 2));
	assert_false(org_throttle_matches(&m, "psql", "odoo", "retail", 1));
	assert_false(org_throttle_matches(&m, NULL, "odoo", "retail", 1));
	m.role = "odoo";
	m.worker_class = ORG_THROTTLE_ANY_CLASS;
	assert_true(org_throttle_matches(&m, "odoo-1", "odoo", "retail", 4));
	assert_false(org_throttle_matches(&m, "odoo-1", "odoo_ro", "retail", 4));
	assert_false(org_throttle_matches(&m, "odoo-1", NULL, "retail", 4));
}

static void
test_too_broad(void **state)
{
	OrgThrottleMatch all = {"", NULL, "", ORG_THROTTLE_ANY_CLASS};
	OrgThrottleMatch star = {"*", "", "", ORG_THROTTLE_ANY_CLASS};
	OrgThrottleMatch prefix = {"odoo-*", NULL, NULL, ORG_THROTTLE_ANY_CLASS};
	OrgThrottleMatch cls = {"", "", "", 2};
	OrgThrottleMatch db = {"*", "", "odoo", ORG_THROTTLE_ANY_CLASS};
	OrgThrottleMatch role = {"*", "odoo", "", ORG_THROTTLE_ANY_CLASS};

	(void) state;
	assert_true(org_throttle_match_too_broad(&all));
	assert_true(org_throttle_matches(&all, "x", "y", "z", 3));
	/* '*' matches every application_name, so every role */
	assert_true(org_throttle_match_too_broad(&star));
	assert_true(org_throttle_matches(&star, "psql", "orguard_agent", "odoo", 4));
	/* any client may call itself odoo-1 */
	assert_true(org_throttle_match_too_broad(&prefix));
	assert_false(org_throttle_match_too_broad(&cls));
	assert_false(org_throttle_match_too_broad(&db));
	assert_false(org_throttle_match_too_broad(&role));
}

static void
test_control_chars(void **state)
{
	(void) state;
	assert_false(org_has_control_chars("lock storm on stock_quant"));
	assert_false(org_has_control_chars("склад: блокировка"));
	assert_false(org_has_control_chars(""));
	assert_false(org_has_control_chars(NULL));
	assert_true(org_has_control_chars("a\nFATAL:  fake"));
	assert_true(org_has_control_chars("bell\a"));
	assert_true(org_has_control_chars("tab\there"));
	assert_true(org_has_control_chars("esc\x1b[31m"));
	assert_true(org_has_control_chars("del\x7f"));
}

static void
test_name_in_list(void **state)
{
	(void) state;
	assert_true(org_name_in_list("orguard_agent", "orguard_agent"));
	assert_true(org_name_in_list(" a , orguard_agent ,b", "orguard_agent"));
	assert_true(org_name_in_list("ORGUARD_Agent", "orguard_agent"));
	assert_false(org_name_in_list("ORGUARD_Agent", "ORGUARD_Agent"));
	assert_true(org_name_in_list("\"ORGUARD Agent\", x", "ORGUARD Agent"));
	assert_false(org_name_in_list("\"ORGUARD Agent\"", "orguard agent"));
	assert_false(org_name_in_list("orguard_agent2", "orguard_agent"));
	assert_false(org_name_in_list("orguard", "orguard_agent"));
	assert_false(org_name_in_list("", "x"));
	assert_false(org_name_in_list(NULL, "x"));
	assert_false(org_name_in_list("a,,b", ""));
	assert_true(org_name_in_list("a,,b", "b"));
	assert_true(org_name_in_list("\"unterminated", "unterminated"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_glob_valid),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_too_broad),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_name_in_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
