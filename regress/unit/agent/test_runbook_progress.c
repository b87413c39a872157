/*
 * test_runbook_progress.c: the progress lines of long runbook steps (base
 * backup, restore copy, recovery replay): their text, pg_basebackup -P's
 * lines, and when the terminal and the journal get one (bounded).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runbooks/progress.h"

#include <string.h>

static void
test_format(void **state)
{
	rb_progress p;
	char		buf[256];

	(void) state;
	rb_progress_init(&p, "base backup", RB_PROGRESS_BYTES, 0, 51200 * 1024, false, 1000);
	rb_progress_format(&p, 10240 * 1024, 13000, buf, sizeof(buf));
	assert_string_equal(buf, "base backup: 10240/51200 kB (20%), elapsed 12 s, about 48 s left");
	rb_progress_format(&p, 0, 2000, buf, sizeof(buf));
	assert_string_equal(buf, "base backup: 0/51200 kB (0%), elapsed 1 s");
	/* an estimate passed (the server's grows as the backup goes): never above 100% */
	rb_progress_format(&p, 60000 * 1024, 1000 + 600000, buf, sizeof(buf));
	assert_string_equal(buf, "base backup: 60000/51200 kB (100%), elapsed 10 min");
	/* no total: the figure alone */
	rb_progress_init(&p, "restore copy", RB_PROGRESS_BYTES, 0, 0, false, 0);
	rb_progress_format(&p, 4096, 3 * 3600 * 1000, buf, sizeof(buf));
	assert_string_equal(buf, "restore copy: 4 kB, elapsed 3.0 h");
	/* replay: LSNs from the backup's start to the target */
	rb_progress_init(&p, "recovery replay", RB_PROGRESS_LSN, 0x3000000, 0x5000000, false, 0);
	rb_progress_format(&p, 0x4000000, 30000, buf, sizeof(buf));
	assert_string_equal(buf, "recovery replay: 0/4000000 of 0/5000000 (50%), elapsed 30 s, about 30 s left");
	assert_int_equal(rb_progress_percent(&p, 0x2000000), 0);	/* before the start */
	/* a time target: the LSN reached, no percent */
	rb_progress_init(&p, "recovery replay", RB_PROGRESS_LSN, 0x3000000, 0, false, 0);
	rb_progress_format(&p, 0x16B374D848ULL, 5000, buf, sizeof(buf));
	assert_string_equal(buf, "recovery replay: 16/B374D848, elapsed 5 s");
	assert_int_equal(rb_progress_percent(&p, 0x16B374D848ULL), -1);
}

static void
test_parse_basebackup(void **state)
{
	uint64_t	d,
				t;

	(void) state;
	/* pg_basebackup -P (PostgreSQL 15, src/bin/pg_basebackup/pg_basebackup.c, progress_report) */
	assert_true(rb_progress_parse_basebackup("    10240/51200 kB (20%), 0/1 tablespace", &d, &t));
	assert_true(d == 10240 && t == 51200);
	assert_true(rb_progress_parse_basebackup("\r51200/51200 kB (100%), 1/1 tablespace", &d, &t));
	assert_true(d == 51200 && t == 51200);
	assert_true(rb_progress_parse_basebackup("1/2 kB (50%), 0/1 tablespace (data/base/1/1249)", &d, &t));
	assert_false(rb_progress_parse_basebackup("pg_basebackup: error: connection to server failed", &d, &t));
	assert_false(rb_progress_parse_basebackup("waiting for checkpoint", &d, &t));
	assert_false(rb_progress_parse_basebackup("1/2 MB", &d, &t));
	assert_false(rb_progress_parse_basebackup("", &d, &t));
}

/* a terminal: a redraw at most once a second */
static void
test_due_tty(void **state)
{
	rb_progress p;

	(void) state;
	rb_progress_init(&p, "restore copy", RB_PROGRESS_BYTES, 0, 1000, true, 0);
	assert_int_equal(rb_progress_due(&p, 10, 500), 0);
	assert_int_equal(rb_progress_due(&p, 10, 1000), RB_PROGRESS_TERM);
	assert_int_equal(rb_progress_due(&p, 20, 1500), 0);
	assert_int_equal(rb_progress_due(&p, 30, 2000), RB_PROGRESS_TERM);
}

/* not a terminal: one line every RB_PROGRESS_LINE_S, none for a short step */
static void
test_due_lines(void **state)
{
	rb_progress p;
	int			lines = 0;

	(void) state;
	rb_progress_init(&p, "base backup", RB_PROGRESS_BYTES, 0, 1000, false, 0);
	for (int64_t ms = 0; ms < RB_PROGRESS_LINE_S * 1000; ms += 100)
		lines += rb_progress_due(&p, 1, ms) != 0;
	assert_int_equal(lines, 0);
	for (int64_t ms = RB_PROGRESS_LINE_S * 1000; ms < 25 * 1000; ms += 100)
		lines += (rb_progress_due(&p, 1, ms) & RB_PROGRESS_TERM) != 0;
	assert_int_equal(lines, 2);
}

/* the journal: bounded, whatever the length of the step */
static void
test_due_journal_bounded(void **state)
{
	rb_progress p;
	int			journal = 0;

	(void) state;
	/* a day-long step with a known total, polled 10 times a second */
	rb_progress_init(&p, "base backup", RB_PROGRESS_BYTES, 0, 86400, false, 0);
	for (int64_t ms = 0; ms <= 86400LL * 1000; ms += 100)
		journal += (rb_progress_due(&p, (uint64_t) (ms / 1000), ms) & RB_PROGRESS_JOURNAL) != 0;
	/* one per 10 points at most: 0%, 10%, ... 100% */
	assert_true(journal >= 10 && journal <= 11);
	/* nothing in the first RB_PROGRESS_JOURNAL_S */
	rb_progress_init(&p, "base backup", RB_PROGRESS_BYTES, 0, 100, false, 0);
	for (int64_t ms = 0; ms < RB_PROGRESS_JOURNAL_S * 1000; ms += 100)
		assert_false(rb_progress_due(&p, 99, ms) & RB_PROGRESS_JOURNAL);
	assert_true(rb_progress_due(&p, 99, RB_PROGRESS_JOURNAL_S * 1000) & RB_PROGRESS_JOURNAL);
	/* stuck at the same figure: no further record */
	for (int64_t ms = RB_PROGRESS_JOURNAL_S * 1000 + 100; ms < 3600 * 1000; ms += 1000)
		assert_false(rb_progress_due(&p, 99, ms) & RB_PROGRESS_JOURNAL);
	/* no total: one every RB_PROGRESS_JOURNAL_QUIET_S, at most RB_PROGRESS_JOURNAL_MAX */
	journal = 0;
	rb_progress_init(&p, "recovery replay", RB_PROGRESS_LSN, 0, 0, false, 0);
	for (int64_t ms = 0; ms <= 7 * 86400LL * 1000; ms += 1000)
		journal += (rb_progress_due(&p, (uint64_t) ms, ms) & RB_PROGRESS_JOURNAL) != 0;
	assert_int_equal(journal, RB_PROGRESS_JOURNAL_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_basebackup),
		cmocka_unit_test(test_due_tty),
		cmocka_unit_test(test_due_lines),
		cmocka_unit_test(test_due_journal_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
