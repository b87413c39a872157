/*
 * test_runbook_pgbackrest_plan.c
 *	  Unit tests for the pgBackRest backend's pure part: its catalogue
 *	  (`pgbackrest info --output=json` as pgBackRest 2.45 printed it for a
 *	  stanza with two full backups and an incremental one, and for a new
 *	  stanza) and the command lines it runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runbooks/pgbackrest_plan.h"
#include "runbooks/rbutil.h"

/* captured: stanza-create, backup --type=full twice, backup --type=incr */
static const char *const info_three =
	"[{\"archive\":[{\"database\":{\"id\":1,\"repo-key\":1},\"id\":\"15-1\",\"max\":\"000000010000000000000007\",\"min\":\"0"
	"00000010000000000000001\"}],\"backup\":[{\"archive\":{\"start\":\"000000010000000000000002\",\"stop\":\"00000001"
	"0000000000000002\"},\"backrest\":{\"format\":5,\"version\":\"2.45\"},\"database\":{\"id\":1,\"repo-key\":1},\"error\""
	":false,\"info\":{\"delta\":23214046,\"repository\":{\"delta\":3062615,\"size\":3062615},\"size\":23214046},\"labe"
	"l\":\"20261123-133507F\",\"lsn\":{\"start\":\"0/2000028\",\"stop\":\"0/2000100\"},\"prior\":null,\"reference\":null,\""
	"timestamp\":{\"start\":1795440907,\"stop\":1795440910},\"type\":\"full\"},{\"archive\":{\"start\":\"00000001000000"
	"0000000004\",\"stop\":\"000000010000000000000005\"},\"backrest\":{\"format\":5,\"version\":\"2.45\"},\"database\":{"
	"\"id\":1,\"repo-key\":1},\"error\":false,\"info\":{\"delta\":23214046,\"repository\":{\"delta\":3062615,\"size\":306"
	"2615},\"size\":23214046},\"label\":\"20261123-133512F\",\"lsn\":{\"start\":\"0/4000028\",\"stop\":\"0/5000050\"},\"pr"
	"ior\":null,\"reference\":null,\"timestamp\":{\"start\":1795440912,\"stop\":1795440914},\"type\":\"full\"},{\"archi"
	"ve\":{\"start\":\"000000010000000000000006\",\"stop\":\"000000010000000000000007\"},\"backrest\":{\"format\":5,\"v"
	"ersion\":\"2.45\"},\"database\":{\"id\":1,\"repo-key\":1},\"error\":false,\"info\":{\"delta\":8456,\"repository\":{\"d"
	"elta\":429,\"size\":3062613},\"size\":23214044},\"label\":\"20261123-133512F_20261123-133515I\",\"lsn\":{\"start"
	"\":\"0/6000028\",\"stop\":\"0/7000050\"},\"prior\":\"20261123-133512F\",\"reference\":[\"20261123-133512F\"],\"times"
	"tamp\":{\"start\":1795440915,\"stop\":1795440916},\"type\":\"incr\"}],\"cipher\":\"none\",\"db\":[{\"id\":1,\"repo-key"
	"\":1,\"system-id\":7711359971680315612,\"version\":\"15\"}],\"name\":\"shop\",\"repo\":[{\"cipher\":\"none\",\"key\":1,"
	"\"status\":{\"code\":0,\"message\":\"ok\"}}],\"status\":{\"code\":0,\"lock\":{\"backup\":{\"held\":false}},\"message\":\""
	"ok\"}}]";

/* captured right after stanza-create */
static const char *const info_empty =
	"[{\"archive\":[{\"database\":{\"id\":1,\"repo-key\":1},\"id\":\"15-1\",\"max\":null,\"min\":null}],\"backup\":[],\"ciph"
	"er\":\"none\",\"db\":[{\"id\":1,\"repo-key\":1,\"system-id\":7711359971680315612,\"version\":\"15\"}],\"name\":\"shop\""
	",\"repo\":[{\"cipher\":\"none\",\"key\":1,\"status\":{\"code\":2,\"message\":\"no valid backups\"}}],\"status\":{\"code"
	"\":2,\"lock\":{\"backup\":{\"held\":false}},\"message\":\"no valid backups\"}}]";

static void
test_parse_info(void **state)
{
	pgbr_backups b;
	char		err[256];
	char		lsn[24];

	(void) state;
	assert_true(pgbr_parse_info(info_three, "shop", &b, err, sizeof(err)));
	assert_int_equal(b.n, 3);
	assert_string_equal(b.v[0].label, "20261123-133507F");
	assert_string_equal(b.type[0], "full");
	assert_string_equal(b.v[2].label, "20261123-133512F_20261123-133515I");
	assert_string_equal(b.type[2], "incr");
	rb_lsn_format(b.v[1].start_lsn, lsn, sizeof(lsn));
	assert_string_equal(lsn, "0/4000028");
	rb_lsn_format(b.v[1].stop_lsn, lsn, sizeof(lsn));
	assert_string_equal(lsn, "0/5000050");
	assert_int_equal(b.v[1].timeline, 1);
	assert_true(b.v[1].sysid == 7711359971680315612ULL);
	assert_int_equal(b.v[1].start_us, 1795440912LL * 1000000);
	/* whole seconds: consistent by the next one */
	assert_int_equal(b.v[1].stop_us, 1795440915LL * 1000000);
	pgbr_backups_free(&b);

	assert_true(pgbr_parse_info(info_empty, "shop", &b, err, sizeof(err)));
	assert_int_equal(b.n, 0);
	pgbr_backups_free(&b);

	assert_false(pgbr_parse_info(info_three, "other", &b, err, sizeof(err)));
	assert_non_null(strstr(err, "no stanza other"));
	assert_false(pgbr_parse_info("ERROR: [055]: unable to load info file", "shop", &b, err, sizeof(err)));
	assert_non_null(strstr(err, "not a JSON array"));
	assert_false(pgbr_parse_info(NULL, "shop", &b, err, sizeof(err)));
	assert_false(pgbr_parse_info("[{\"name\":\"shop\",\"backup\":[{\"label\":\"x\"}]}]", "shop", &b, err, sizeof(err)));
	assert_non_null(strstr(err, "backup 1 of stanza shop lacks"));
	assert_int_equal(b.n, 0);
}

/* the newest backup consistent before the target is the one restored */
static void
test_choice(void **state)
{
	pgbr_backups b;
	char		err[256];
	pitr_target t;
	char	   *list;

	(void) state;
	assert_true(pgbr_parse_info(info_three, "shop", &b, err, sizeof(err)));
	assert_true(pitr_target_parse(PITR_TARGET_LSN, "0/6FFFFFF", &t, err, sizeof(err)));
	assert_int_equal(pitr_choose_backup(b.v, b.n, &t, 7711359971680315612ULL), 1);
	assert_true(pitr_target_parse(PITR_TARGET_LSN, "0/7000050", &t, err, sizeof(err)));
	assert_int_equal(pitr_choose_backup(b.v, b.n, &t, 0), 2);
	/* another cluster's backups are never chosen */
	assert_int_equal(pitr_choose_backup(b.v, b.n, &t, 42), -1);
	assert_true(pitr_target_parse(PITR_TARGET_LSN, "0/2000000", &t, err, sizeof(err)));
	assert_int_equal(pitr_choose_backup(b.v, b.n, &t, 0), -1);
	/* 13:35:14 is the second the second backup stopped in: not yet sure */
	assert_true(pitr_target_parse(PITR_TARGET_TIME, "2026-11-23 13:35:14.5+00", &t, err, sizeof(err)));
	assert_int_equal(pitr_choose_backup(b.v, b.n, &t, 0), 0);
	assert_true(pitr_target_parse(PITR_TARGET_TIME, "2026-11-23 13:35:15+00", &t, err, sizeof(err)));
	assert_int_equal(pitr_choose_backup(b.v, b.n, &t, 0), 1);
	list = pgbr_describe_backups(&b);
	assert_non_null(strstr(list, "20261123-133507F (full, timeline 1, lsn 0/2000028..0/2000100, started 2026-11-23 13:35:07"));
	assert_non_null(strstr(list, "\n20261123-133512F_20261123-133515I (incr, "));
	free(list);
	pgbr_backups_free(&b);
	memset(&b, 0, sizeof(b));
	list = pgbr_describe_backups(&b);
	assert_string_equal(list, "none");
	free(list);
}

static void
test_argv(void **state)
{
	pgbr_cmd	c = {"pgbackrest", NULL, "shop"};
	pgbr_argv	a;
	pitr_target t;
	char		err[128];
	char	   *d;

	(void) state;
	a = pgbr_backup_argv(&c);
	d = pgbr_argv_describe(&a);
	assert_string_equal(d, "pgbackrest --stanza=shop --type=full --start-fast backup");
	assert_null(a.v[a.n]);
	free(d);
	pgbr_argv_free(&a);

	c.config = "/srv/pg backrest/pgbackrest.conf";
	a = pgbr_check_argv(&c);
	d = pgbr_argv_describe(&a);
	assert_string_equal(d, "pgbackrest '--config=/srv/pg backrest/pgbackrest.conf' --stanza=shop check");
	free(d);
	pgbr_argv_free(&a);
	c.config = "/etc/pgbackrest/pgbackrest.conf";
	a = pgbr_info_argv(&c);
	d = pgbr_argv_describe(&a);
	assert_string_equal(d, "pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=shop --output=json info");
	free(d);
	pgbr_argv_free(&a);

	/* --before-event: stop just before the event's LSN */
	assert_true(pitr_target_parse(PITR_TARGET_EVENT, "42", &t, err, sizeof(err)));
	pitr_target_resolve_event(&t, 0x3000028);
	a = pgbr_restore_argv(&c, "/srv/restore", "20261123-133512F", &t, "latest");
	d = pgbr_argv_describe(&a);
	assert_string_equal(d, "pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=shop --pg1-path=/srv/restore "
						"--set=20261123-133512F --type=lsn --target=0/3000028 --target-exclusive "
						"--target-action=promote --target-timeline=latest restore");
	free(d);
	pgbr_argv_free(&a);
	/* a time: exclusive, as the native backend (a commit at the target is after it) */
	assert_true(pitr_target_parse(PITR_TARGET_TIME, "2026-11-23 13:35:15.25+00", &t, err, sizeof(err)));
	a = pgbr_restore_argv(&c, "/srv/restore", "L", &t, NULL);
	assert_string_equal(a.v[5], "--type=time");
	assert_string_equal(a.v[6], "--target=2026-11-23 13:35:15.250000+00");
	assert_string_equal(a.v[7], "--target-exclusive");
	assert_string_equal(a.v[8], "--target-action=promote");
	assert_string_equal(a.v[9], "restore");
	assert_null(a.v[10]);
	pgbr_argv_free(&a);
}

/* found by fuzzing: a timestamp past int64 microseconds overflowed (UBSan) */
static void
test_timestamp_range(void **state)
{
	static const char *const bad[] = {"9223372036854775807", "-9223372036854775807", "-1", "99999999999999"};
	pgbr_backups b;
	char		err[256];

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		const char *at = strstr(info_three, "1795440907");
		char	   *text;

		assert_non_null(at);
		text = malloc(strlen(info_three) + strlen(bad[i]) + 1);
		memcpy(text, info_three, (size_t) (at - info_three));
		strcpy(text + (at - info_three), bad[i]);
		strcat(text, at + strlen("1795440907"));
		assert_false(pgbr_parse_info(text, "shop", &b, err, sizeof(err)));
		assert_non_null(strstr(err, "backup 1 of stanza shop lacks"));
		free(text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_info),
		cmocka_unit_test(test_choice),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_timestamp_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
