/*
 * test_runbook_output_json.c: --format json of runbook commands: a dry
 * run's plan (plan.c, plan_json.c), list-backups and proposals
 * (list_json.c).  Each document is parsed back and its fields checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runbooks/list_json.h"
#include "runbooks/plan.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *
parse(char *text)
{
	json_error_t e;
	json_t	   *v;

	assert_non_null(text);
	v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("not JSON (%s): %s", e.text, text);
	free(text);
	return v;
}

static const char *
str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("%s is not a string", key);
	return json_string_value(v);
}

static void
test_format_parse(void **state)
{
	rb_format	f = RB_FORMAT_JSON;

	(void) state;
	assert_true(rb_format_parse("text", &f));
	assert_int_equal(f, RB_FORMAT_TEXT);
	assert_true(rb_format_parse("table", &f));
	assert_int_equal(f, RB_FORMAT_TEXT);
	assert_true(rb_format_parse("json", &f));
	assert_int_equal(f, RB_FORMAT_JSON);
	f = RB_FORMAT_TEXT;
	assert_false(rb_format_parse("yaml", &f));
	assert_false(rb_format_parse("JSON ", &f));
	assert_false(rb_format_parse("", &f));
	assert_int_equal(f, RB_FORMAT_TEXT);	/* left alone */
}

/* the shape of a pitr dry run: a multi-line plan built in pieces, steps, a verdict */
static void
test_plan(void **state)
{
	rb_plan		p;
	json_t	   *o,
			   *steps,
			   *s;

	(void) state;
	rb_plan_init(&p, "pitr", "shop");
	rb_plan_add_note(&p, "run 20261207-1 of pitr was interrupted; a real run would resume it");
	rb_plan_add_step(&p, "guard", "shop", "ok", "archive_mode = on");
	rb_plan_add_text(&p, "plan: restore shop to 2026-12-07 01:00:00+00\n  base backup  b1 (lsn 0/2000028..0/2000100, timeline 1)\n");
	rb_plan_add_text(&p, "  copy to      /srv/r (side by side, port 5499)\n");
	rb_plan_add_step(&p, "plan", NULL, "ok", NULL);
	rb_plan_finish(&p, "planned", "restore of shop", 0);
	o = parse(rb_plan_json(&p));
	assert_string_equal(str(o, "runbook"), "pitr");
	assert_string_equal(str(o, "cluster"), "shop");
	assert_true(json_is_true(json_object_get(o, "dry_run")));
	assert_string_equal(str(o, "result"), "planned");
	assert_string_equal(str(o, "detail"), "restore of shop");
	assert_int_equal(json_integer_value(json_object_get(o, "exit_status")), 0);
	/* the pieces joined, without the terminal's "plan: " and the last newline */
	assert_string_equal(str(o, "plan"),
						"restore shop to 2026-12-07 01:00:00+00\n  base backup  b1 (lsn 0/2000028..0/2000100, timeline 1)\n"
						"  copy to      /srv/r (side by side, port 5499)");
	assert_int_equal(json_array_size(json_object_get(o, "notes")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "notes"), 0)),
						"run 20261207-1 of pitr was interrupted; a real run would resume it");
	steps = json_object_get(o, "steps");
	assert_int_equal(json_array_size(steps), 2);
	s = json_array_get(steps, 0);
	assert_string_equal(str(s, "step"), "guard");
	assert_string_equal(str(s, "target"), "shop");
	assert_string_equal(str(s, "result"), "ok");
	assert_string_equal(str(s, "detail"), "archive_mode = on");
	s = json_array_get(steps, 1);
	assert_string_equal(str(s, "target"), "");	/* no target: "" rather than a missing field */
	assert_string_equal(str(s, "detail"), "");
	json_decref(o);
	rb_plan_free(&p);
}

/* a refusal has no plan text; a name with odd bytes still gives valid JSON */
static void
test_plan_refused_odd_bytes(void **state)
{
	rb_plan		p;
	json_t	   *o;

	(void) state;
	rb_plan_init(&p, "promote", "sh\xffop\"\n");
	rb_plan_add_step(&p, "guard", "db\xc3", "refused", "node_reachable: db1 does not answer");
	rb_plan_finish(&p, "refused", "node_reachable: db1 does not answer", 4);
	o = parse(rb_plan_json(&p));
	assert_true(json_is_null(json_object_get(o, "plan")));
	assert_string_equal(str(o, "cluster"), "sh\xef\xbf\xbdop\"\n");
	assert_string_equal(str(json_array_get(json_object_get(o, "steps"), 0), "target"), "db\xef\xbf\xbd");
	assert_string_equal(str(o, "result"), "refused");
	assert_int_equal(json_integer_value(json_object_get(o, "exit_status")), 4);
	assert_int_equal(json_array_size(json_object_get(o, "notes")), 0);
	json_decref(o);
	rb_plan_free(&p);
}

static void
test_backups(void **state)
{
	pitr_backup b[2] = {
		{.label = "20261207T010000Z", .sysid = 7445012345678901234ULL, .timeline = 1,
		.start_lsn = 0x2000028, .stop_lsn = 0x2000100, .start_us = 1796605200000000LL,
		.stop_us = 1796605205123000LL},
		{.label = "old", .sysid = 0, .timeline = 3, .start_lsn = 0x100000000ULL, .stop_lsn = 0x1000000A0ULL},
	};
	const char *types[2] = {"full", "incr"};
	json_t	   *a,
			   *o;

	(void) state;
	a = parse(rb_backups_json(b, NULL, 2));
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 2);
	o = json_array_get(a, 0);
	assert_string_equal(str(o, "label"), "20261207T010000Z");
	assert_null(json_object_get(o, "type"));	/* native backups have no type */
	/* above 2^53: a string, or a JSON reader would round it */
	assert_string_equal(str(o, "system_identifier"), "7445012345678901234");
	assert_int_equal(json_integer_value(json_object_get(o, "timeline")), 1);
	assert_string_equal(str(o, "start_lsn"), "0/2000028");
	assert_string_equal(str(o, "stop_lsn"), "0/2000100");
	assert_string_equal(str(o, "start_time"), "2026-12-07T01:00:00.000Z");
	assert_string_equal(str(o, "stop_time"), "2026-12-07T01:00:05.123Z");
	o = json_array_get(a, 1);
	assert_true(json_is_null(json_object_get(o, "system_identifier")));
	assert_string_equal(str(o, "start_lsn"), "1/0");
	assert_true(json_is_null(json_object_get(o, "stop_time")));
	json_decref(a);

	a = parse(rb_backups_json(b, types, 2));
	assert_string_equal(str(json_array_get(a, 1), "type"), "incr");
	json_decref(a);

	/* none: an empty array, not a sentence */
	a = parse(rb_backups_json(NULL, NULL, 0));
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
}

static void
test_proposals(void **state)
{
	const int64_t now = 1796605200000000LL;
	rb_proposal_row rows[2] = {
		{"p20261207-1", "failover", "", "db1", now - 90 * 1000000LL, now + 810 * 1000000LL},
		{"p20261207-2", "restore", "--target-lsn 0/3000028", NULL, now - 1000000LL, now + 3599 * 1000000LL},
	};
	json_t	   *a,
			   *o;

	(void) state;
	a = parse(rb_proposals_json(rows, 2, now));
	assert_int_equal(json_array_size(a), 2);
	o = json_array_get(a, 0);
	assert_string_equal(str(o, "id"), "p20261207-1");
	assert_string_equal(str(o, "runbook"), "failover");
	assert_string_equal(str(o, "params"), "");
	assert_string_equal(str(o, "node"), "db1");
	assert_string_equal(str(o, "proposed_at"), "2026-12-07T00:58:30.000Z");
	assert_string_equal(str(o, "expires_at"), "2026-12-07T01:13:30.000Z");
	assert_int_equal(json_integer_value(json_object_get(o, "age_seconds")), 90);
	assert_int_equal(json_integer_value(json_object_get(o, "expires_in_seconds")), 810);
	o = json_array_get(a, 1);
	assert_true(json_is_null(json_object_get(o, "node")));
	assert_string_equal(str(o, "params"), "--target-lsn 0/3000028");
	json_decref(a);

	a = parse(rb_proposals_json(NULL, 0, now));
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_plan_refused_odd_bytes),
		cmocka_unit_test(test_backups),
		cmocka_unit_test(test_proposals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
