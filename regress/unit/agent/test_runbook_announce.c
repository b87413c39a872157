/*
 * test_runbook_announce.c
 *	  Unit tests for a runbook step as a pager notification: one alert
 *	  instance per run, resolved by a successful closing step, critical
 *	  when a run fails or is refused; proposals close when decided.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runbooks/announce.h"

static rb_announcement
step(const char *st, const char *result, bool final)
{
	rb_announcement a = {
		.cluster = "shop", .node = "pg1", .runbook = "pitr", .run = "20261123T101112Z-42",
		.step = st, .target = "/srv/restore", .result = result, .detail = "backup 20261123T100000Z",
		.final = final, .started_us = 1000000, .now_us = 5000000,
	};

	return a;
}

static void
test_step_fires_with_labels(void **state)
{
	rb_announcement a = step("copy-backup", "ok", false);
	alert_event ev;

	(void) state;
	rb_announce_event(&a, &ev);
	assert_int_equal(ev.status, ALERT_FIRING);
	assert_int_equal(ev.sev, SEV_WARNING);
	assert_string_equal(ev.rule, RB_ANNOUNCE_RULE);
	assert_string_equal(ev.subject, "20261123T101112Z-42");
	assert_string_equal(ev.summary,
						"runbook pitr (run 20261123T101112Z-42): copy-backup /srv/restore: ok (backup 20261123T100000Z)");
	assert_string_equal(labels_get(&ev.labels, "alertname"), RB_ANNOUNCE_RULE);
	assert_string_equal(labels_get(&ev.labels, "runbook"), "pitr");
	assert_string_equal(labels_get(&ev.labels, "step"), "copy-backup");
	assert_string_equal(labels_get(&ev.labels, "result"), "ok");
	assert_string_equal(labels_get(&ev.labels, "node"), "pg1");
	assert_int_equal(ev.starts_at_us, 1000000);
	assert_int_equal(ev.event_at_us, 5000000);
	assert_int_equal(ev.ends_at_us, 0);
	alert_free(&ev);
}

static void
test_every_step_of_a_run_has_one_key(void **state)
{
	rb_announcement a = step("copy-backup", "ok", false);
	rb_announcement b = step("runbook", "done", true);
	alert_event e1,
				e2;

	(void) state;
	rb_announce_event(&a, &e1);
	rb_announce_event(&b, &e2);
	assert_string_equal(e1.dedup_key, e2.dedup_key);
	alert_free(&e1);
	alert_free(&e2);
}

static void
test_done_resolves(void **state)
{
	rb_announcement a = step("runbook", "done", true);
	alert_event ev;

	(void) state;
	rb_announce_event(&a, &ev);
	assert_int_equal(ev.status, ALERT_RESOLVED);
	assert_int_equal(ev.sev, SEV_WARNING);
	assert_int_equal(ev.ends_at_us, 5000000);
	alert_free(&ev);
}

static void
test_failed_or_refused_run_stays_critical(void **state)
{
	const char *results[] = {"failed", "refused", "abandoned"};

	(void) state;
	for (int i = 0; i < 3; i++)
	{
		rb_announcement a = step("runbook", results[i], true);
		alert_event ev;

		rb_announce_event(&a, &ev);
		assert_int_equal(ev.status, ALERT_FIRING);
		assert_int_equal(ev.sev, SEV_CRITICAL);
		alert_free(&ev);
	}
}

static void
test_failed_step_mid_run_is_not_critical_yet(void **state)
{
	rb_announcement a = step("verify", "failed", false);
	alert_event ev;

	(void) state;
	rb_announce_event(&a, &ev);
	assert_int_equal(ev.status, ALERT_FIRING);
	assert_int_equal(ev.sev, SEV_WARNING);
	alert_free(&ev);
}

static void
test_decided_proposal_resolves(void **state)
{
	const char *results[] = {"approved", "rejected", "expired"};

	(void) state;
	for (int i = 0; i < 3; i++)
	{
		rb_announcement a = step("proposal", results[i], true);
		alert_event ev;

		rb_announce_event(&a, &ev);
		assert_int_equal(ev.status, ALERT_RESOLVED);
		alert_free(&ev);
	}
}

static void
test_missing_fields_are_empty(void **state)
{
	rb_announcement a = {.runbook = "promote", .run = "r1", .step = "probe", .result = "ok", .now_us = 7};
	alert_event ev;

	(void) state;
	rb_announce_event(&a, &ev);
	assert_string_equal(ev.summary, "runbook promote (run r1): probe: ok");
	assert_string_equal(ev.cluster, "");
	assert_null(labels_get(&ev.labels, "node"));
	assert_int_equal(ev.starts_at_us, 7);
	alert_free(&ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_fires_with_labels),
		cmocka_unit_test(test_every_step_of_a_run_has_one_key),
		cmocka_unit_test(test_done_resolves),
		cmocka_unit_test(test_failed_or_refused_run_stays_critical),
		cmocka_unit_test(test_failed_step_mid_run_is_not_critical_yet),
		cmocka_unit_test(test_decided_proposal_resolves),
		cmocka_unit_test(test_missing_fields_are_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
