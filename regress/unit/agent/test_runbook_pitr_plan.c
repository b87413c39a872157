/*
 * test_runbook_pitr_plan.c
 *	  Unit tests for the PITR runbook's decisions: targets, the base backup
 *	  that precedes a target, and the recovery settings text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runbooks/pitr_plan.h"
#include "runbooks/rbutil.h"

static void
test_lsn(void **state)
{
	uint64_t	v;
	char		buf[24];

	(void) state;
	assert_true(rb_lsn_parse("16/B374D848", &v));
	assert_int_equal(v, 0x16B374D848ULL);
	rb_lsn_format(v, buf, sizeof(buf));
	assert_string_equal(buf, "16/B374D848");
	assert_true(rb_lsn_parse("0/0", &v));
	assert_int_equal(v, 0);
	assert_false(rb_lsn_parse("", &v));
	assert_false(rb_lsn_parse("0/", &v));
	assert_false(rb_lsn_parse("/1", &v));
	assert_false(rb_lsn_parse("1/2/3", &v));
	assert_false(rb_lsn_parse("123456789/0", &v));
	assert_false(rb_lsn_parse("0/3000000 ", &v));
}

static void
test_time(void **state)
{
	int64_t		us,
				us2;
	char		buf[48];

	(void) state;
	assert_true(rb_time_parse("2026-11-22 10:16:52+00", &us));
	assert_int_equal(us, 1795342612000000LL);
	assert_true(rb_time_parse("2026-11-22T10:16:52.5Z", &us2));
	assert_int_equal(us2, us + 500000);
	assert_true(rb_time_parse("2026-11-22 12:46:52.000001+02:30", &us2));
	assert_int_equal(us2, us + 1);
	assert_true(rb_time_parse("2026-11-22 10:16:52 UTC", &us2));
	assert_int_equal(us2, us);
	assert_true(rb_time_parse("2026-11-22 05:16:52-0500", &us2));
	assert_int_equal(us2, us);
	/* no zone, bad fields */
	assert_false(rb_time_parse("2026-11-22 10:16:52", &us2));
	assert_false(rb_time_parse("2026-13-22 10:16:52+00", &us2));
	assert_false(rb_time_parse("2026-11-22 24:16:52+00", &us2));
	assert_false(rb_time_parse("2026-11-22 10:16:52+00junk", &us2));
	/* found by fuzzing: a day that does not exist, and times before 1970,
	 * which rb_time_format wrote back unreadable (a negative fraction) */
	assert_false(rb_time_parse("2026-02-29 10:00:00+00", &us2));
	assert_false(rb_time_parse("2025-02-29 10:00:00+00", &us2));
	assert_false(rb_time_parse("2100-02-29 10:00:00+00", &us2));
	assert_true(rb_time_parse("2000-02-29 10:00:00+00", &us2));
	assert_false(rb_time_parse("2026-04-31 10:00:00+00", &us2));
	assert_false(rb_time_parse("2026-11-22 10:60:00+00", &us2));
	assert_false(rb_time_parse("2026-11-22 10:16:60+00", &us2));
	assert_false(rb_time_parse("2026-11-22 10:16:52+16", &us2));
	/* PostgreSQL rounds past microseconds, the agent would truncate: refused */
	assert_false(rb_time_parse("2026-11-22 10:16:52.1234567+00", &us2));
	assert_true(rb_time_parse("2028-02-29 10:00:00+00", &us2));
	assert_false(rb_time_parse("0026-11-23 10:04:05 +05:30", &us2));
	assert_false(rb_time_parse("1970-01-01 00:00:00+01", &us2));
	assert_true(rb_time_parse("1970-01-01 00:00:00+00", &us2));
	assert_int_equal(us2, 0);
	rb_time_format(us + 123456, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22 10:16:52.123456+00");
	assert_true(rb_time_parse(buf, &us2));
	assert_int_equal(us2, us + 123456);
}

static void
test_target_parse(void **state)
{
	pitr_target t;
	char		err[256];
	char		d[96];

	(void) state;
	assert_true(pitr_target_parse(PITR_TARGET_LSN, "0/3000028", &t, err, sizeof(err)));
	assert_int_equal(t.lsn, 0x3000028);
	assert_true(t.inclusive);
	pitr_target_describe(&t, d, sizeof(d));
	assert_string_equal(d, "lsn 0/3000028");
	assert_false(pitr_target_parse(PITR_TARGET_LSN, "3000028", &t, err, sizeof(err)));
	assert_non_null(strstr(err, "16/B374D848"));
	assert_true(pitr_target_parse(PITR_TARGET_TIME, "2026-11-22 10:16:52+00", &t, err, sizeof(err)));
	assert_false(t.inclusive);
	assert_false(pitr_target_parse(PITR_TARGET_TIME, "yesterday", &t, err, sizeof(err)));
	assert_non_null(strstr(err, "UTC offset"));
	assert_true(pitr_target_parse(PITR_TARGET_EVENT, "42", &t, err, sizeof(err)));
	assert_int_equal(t.event_id, 42);
	pitr_target_describe(&t, d, sizeof(d));
	assert_string_equal(d, "before event 42");
	pitr_target_resolve_event(&t, 0x5000000);
	assert_false(t.inclusive);
	pitr_target_describe(&t, d, sizeof(d));
	assert_string_equal(d, "before event 42 (lsn 0/5000000)");
	assert_false(pitr_target_parse(PITR_TARGET_EVENT, "-1", &t, err, sizeof(err)));
	assert_false(pitr_target_parse(PITR_TARGET_EVENT, "4x", &t, err, sizeof(err)));
}

static void
test_choose_backup(void **state)
{
	pitr_backup b[3] = {
		{"b1", 77, 1, 0x2000028, 0x2000100, 1000000, 2000000},
		{"b3", 77, 1, 0x6000028, 0x6000100, 9000000, 10000000},
		{"b2", 77, 1, 0x4000028, 0x4000100, 5000000, 6000000},
	};
	pitr_target t = {0};
	char	   *list;

	(void) state;
	t.kind = PITR_TARGET_LSN;
	t.lsn = 0x5000000;
	assert_int_equal(pitr_choose_backup(b, 3, &t, 77), 2);
	t.lsn = 0x4000100;			/* consistent exactly at the target */
	assert_int_equal(pitr_choose_backup(b, 3, &t, 77), 2);
	t.lsn = 0x40000FF;
	assert_int_equal(pitr_choose_backup(b, 3, &t, 77), 0);
	t.lsn = 0x2000000;			/* inside the first backup: none precedes */
	assert_int_equal(pitr_choose_backup(b, 3, &t, 77), -1);
	t.lsn = 0x9000000;
	assert_int_equal(pitr_choose_backup(b, 3, &t, 77), 1);
	/* another cluster's backups never qualify */
	assert_int_equal(pitr_choose_backup(b, 3, &t, 78), -1);
	assert_int_equal(pitr_choose_backup(b, 3, &t, 0), 1);

	t.kind = PITR_TARGET_TIME;
	t.time_us = 7000000;
	assert_int_equal(pitr_choose_backup(b, 3, &t, 77), 2);
	t.time_us = 1999999;
	assert_int_equal(pitr_choose_backup(b, 3, &t, 77), -1);
	b[2].stop_us = 0;			/* stop time unknown: no time target */
	t.time_us = 7000000;
	assert_int_equal(pitr_choose_backup(b, 3, &t, 77), 0);
	assert_int_equal(pitr_choose_backup(b, 0, &t, 77), -1);

	list = pitr_describe_backups(b, 2);
	assert_non_null(strstr(list, "b1 (timeline 1, lsn 0/2000028..0/2000100, consistent at 1970-01-01 00:00:02.000000+00)"));
	assert_non_null(strstr(list, "; b3 "));
	free(list);
	list = pitr_describe_backups(b, 0);
	assert_string_equal(list, "none");
	free(list);
}

static void
test_recovery_settings(void **state)
{
	pitr_target t = {0};
	char	   *cmd = pitr_restore_command("/srv/wal archive/it's");
	char	   *txt;

	(void) state;
	assert_string_equal(cmd, "cp '/srv/wal archive/it'\\''s'/%f \"%p\"");
	t.kind = PITR_TARGET_LSN;
	t.lsn = 0x3000028;
	t.inclusive = true;
	txt = pitr_recovery_settings(&t, cmd, NULL, "r1");
	/* the shell's backslash doubled: PostgreSQL's config parser reads \\ back as one */
	assert_non_null(strstr(txt, "restore_command = 'cp ''/srv/wal archive/it''\\\\''''s''/%f \"%p\"'\n"));
	assert_non_null(strstr(txt, "recovery_target_lsn = '0/3000028'\n"));
	assert_non_null(strstr(txt, "recovery_target_inclusive = on\n"));
	assert_non_null(strstr(txt, "recovery_target_action = 'promote'\n"));
	assert_non_null(strstr(txt, "recovery_target_timeline = 'latest'\n"));
	assert_null(strstr(txt, "recovery_target_time "));
	free(txt);
	t.kind = PITR_TARGET_TIME;
	t.time_us = 1795342612000000LL;
	t.inclusive = false;
	txt = pitr_recovery_settings(&t, "cp /a/%f %p", "current", "r2");
	assert_non_null(strstr(txt, "recovery_target_time = '2026-11-22 10:16:52.000000+00'\n"));
	assert_non_null(strstr(txt, "recovery_target_inclusive = off\n"));
	assert_non_null(strstr(txt, "recovery_target_timeline = 'current'\n"));
	assert_null(strstr(txt, "recovery_target_lsn"));
	free(txt);
	free(cmd);
}

static void
test_backup_files(void **state)
{
	const char *label =
		"START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n"
		"CHECKPOINT LOCATION: 0/2000060\n"
		"BACKUP METHOD: streamed\n"
		"BACKUP FROM: primary\n"
		"START TIME: 2026-11-22 10:16:52 UTC\n"
		"LABEL: pg_basebackup base backup\n"
		"START TIMELINE: 1\n";
	const char *manifest =
		"{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n"
		"\"Files\": [],\n"
		"\"WAL-Ranges\": [\n"
		"{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/2000138\" }\n"
		"],\n\"Manifest-Checksum\": \"x\"}\n";
	pitr_backup b = {0},
				back;
	char	   *json;

	(void) state;
	assert_true(pitr_parse_backup_label(label, &b));
	assert_int_equal(b.start_lsn, 0x2000028);
	assert_int_equal(b.timeline, 1);
	assert_int_equal(b.start_us, 1795342612000000LL);
	assert_false(pitr_parse_backup_label("LABEL: x\n", &back));
	assert_true(pitr_parse_manifest(manifest, &b));
	assert_int_equal(b.stop_lsn, 0x2000138);
	assert_false(pitr_parse_manifest("{\"Files\": []}", &back));
	assert_false(pitr_parse_manifest("not json", &back));

	b.label = "20261122T101652Z";
	b.sysid = 7710937794862906196ULL;
	b.stop_us = b.start_us + 1500000;
	json = pitr_backup_to_json(&b);
	assert_true(pitr_backup_from_json(json, &back));
	assert_string_equal(back.label, b.label);
	assert_int_equal(back.sysid, b.sysid);
	assert_int_equal(back.timeline, 1);
	assert_int_equal(back.start_lsn, b.start_lsn);
	assert_int_equal(back.stop_lsn, b.stop_lsn);
	assert_int_equal(back.start_us, b.start_us);
	assert_int_equal(back.stop_us, b.stop_us);
	pitr_backup_free(&back);
	free(json);
	assert_false(pitr_backup_from_json("{\"label\": \"x\"}", &back));
}

/* an impossible date is refused with the value and the reason, never normalized */
static void
test_target_time_impossible(void **state)
{
	pitr_target t;
	char		err[256];

	(void) state;
	assert_false(pitr_target_parse(PITR_TARGET_TIME, "2025-02-29 10:00:00+00", &t, err, sizeof(err)));
	assert_string_equal(err, "--target-time: \"2025-02-29 10:00:00+00\" is not a date: 2025-02 has no day 29; "
						"nothing was changed");
	assert_false(pitr_target_parse(PITR_TARGET_TIME, "2026-06-31 08:00:00+02", &t, err, sizeof(err)));
	assert_non_null(strstr(err, "2026-06 has no day 31"));
	assert_false(pitr_target_parse(PITR_TARGET_TIME, "2026-06-30 24:00:00+00", &t, err, sizeof(err)));
	assert_non_null(strstr(err, "is not a time of day: 24:00:00"));
	assert_false(pitr_target_parse(PITR_TARGET_TIME, "2026-06-30 10:00:00", &t, err, sizeof(err)));
	assert_non_null(strstr(err, "has no UTC offset"));
	assert_false(pitr_target_parse(PITR_TARGET_TIME, "2026-13-01 10:00:00+00", &t, err, sizeof(err)));
	assert_non_null(strstr(err, "has no month 13"));
	/* what is accepted is written back to recovery_target_time as the same instant */
	assert_true(pitr_target_parse(PITR_TARGET_TIME, "2028-02-29 23:30:00.25-01:00", &t, err, sizeof(err)));
	{
		char	   *conf = pitr_recovery_settings(&t, "cp a b", "latest", "r1");

		assert_non_null(strstr(conf, "recovery_target_time = '2028-03-01 00:30:00.250000+00'"));
		free(conf);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_time_impossible),
		cmocka_unit_test(test_lsn),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_target_parse),
		cmocka_unit_test(test_choose_backup),
		cmocka_unit_test(test_recovery_settings),
		cmocka_unit_test(test_backup_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
