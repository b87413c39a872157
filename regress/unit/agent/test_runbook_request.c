/*
 * test_runbook_request.c
 *	  Unit tests for the runbook command line as a request: argv parses to
 *	  the fields the dispatcher and the executors read, and wrong lines end
 *	  with the usage exit code before anything runs; a kept plan's text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runbooks/request.h"
#include "runbooks/run.h"

#define ARGC(a) ((int) (sizeof(a) / sizeof((a)[0])))

static void
test_pitr(void **state)
{
	char	   *argv[] = {"runbook", "pitr", "restore", "--target-lsn", "0/3000028",
		"--restore-dir", "/srv/r", "--restore-port", "5499", "--dry-run", "--format", "json"};
	rb_request	r;

	(void) state;
	assert_int_equal(rb_request_parse(ARGC(argv), argv, &r), RB_REQUEST_OK);
	assert_string_equal(r.cmd, "pitr");
	assert_string_equal(r.name, "restore");
	assert_null(r.node);
	assert_true(r.dry_run);
	assert_true(r.have_target);
	assert_int_equal(r.pitr.target.kind, PITR_TARGET_LSN);
	assert_int_equal(r.pitr.target.lsn, 0x3000028);
	assert_string_equal(r.pitr.restore_dir, "/srv/r");
	assert_int_equal(r.pitr.restore_port, 5499);
	assert_int_equal(r.fmt, RB_FORMAT_JSON);
}

static void
test_rejoin_and_promote(void **state)
{
	char	   *rejoin[] = {"runbook", "rejoin", "old", "ha", "--dry-run"};
	char	   *promote[] = {"runbook", "promote", "--watch-for", "90s", "--last-primary-lsn", "0/10"};
	rb_request	r;

	(void) state;
	assert_int_equal(rb_request_parse(ARGC(rejoin), rejoin, &r), RB_REQUEST_OK);
	assert_string_equal(r.node, "old");
	assert_string_equal(r.name, "ha");
	assert_int_equal(rb_request_parse(ARGC(promote), promote, &r), RB_REQUEST_OK);
	assert_null(r.name);
	assert_true(r.watch);
	assert_true(r.promote.watch_for_s == 90.0);
	assert_true(r.promote.primary_lsn_known);
	assert_int_equal(r.promote.last_primary_lsn, 0x10);
}

static void
test_trigger(void **state)
{
	char	   *argv[] = {"runbook", "trigger", "ha", "--rule", "primary_down", "--node", "p",
		"--subject", "p"};
	rb_request	r;

	(void) state;
	assert_int_equal(rb_request_parse(ARGC(argv), argv, &r), RB_REQUEST_OK);
	assert_string_equal(r.name, "ha");
	assert_string_equal(r.trigger.rule, "primary_down");
	assert_string_equal(r.trigger.node, "p");
	assert_string_equal(r.trigger.subject, "p");
}

static void
test_usage_errors(void **state)
{
	char	   *two_targets[] = {"runbook", "pitr", "--target-lsn", "0/1", "--target-lsn", "0/2"};
	char	   *bad_port[] = {"runbook", "pitr", "--restore-port", "70000"};
	char	   *json_real[] = {"runbook", "promote", "--format", "json"};
	char	   *extra[] = {"runbook", "backup", "a", "b"};
	char	   *rejoin_alone[] = {"runbook", "rejoin"};
	char	   *long_watch[] = {"runbook", "promote", "--watch-for", "8d"};
	rb_request	r;

	(void) state;
	assert_int_equal(rb_request_parse(ARGC(two_targets), two_targets, &r), RB_EXIT_USAGE);
	assert_int_equal(rb_request_parse(ARGC(bad_port), bad_port, &r), RB_EXIT_USAGE);
	assert_int_equal(rb_request_parse(ARGC(json_real), json_real, &r), RB_EXIT_USAGE);
	assert_int_equal(rb_request_parse(ARGC(extra), extra, &r), RB_EXIT_USAGE);
	assert_int_equal(rb_request_parse(ARGC(rejoin_alone), rejoin_alone, &r), RB_EXIT_USAGE);
	assert_int_equal(rb_request_parse(ARGC(long_watch), long_watch, &r), RB_EXIT_USAGE);
}

static void
test_known(void **state)
{
	(void) state;
	assert_true(rb_request_known("pitr"));
	assert_true(rb_request_known("proposals"));
	assert_false(rb_request_known("frobnicate"));
	assert_false(rb_request_known(NULL));
}

/* a kept plan's output is the text a dry run prints, in order */
static void
test_plan_output(void **state)
{
	rb_plan		p;

	(void) state;
	rb_plan_init(&p, "ha", "shop");
	assert_null(p.output);
	rb_plan_add_output(&p, "note: x\n");
	rb_plan_add_output(&p, "plan: y\n");
	assert_string_equal(p.output, "note: x\nplan: y\n");
	rb_plan_free(&p);
	assert_null(p.output);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pitr),
		cmocka_unit_test(test_rejoin_and_promote),
		cmocka_unit_test(test_trigger),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_plan_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
