/*
 * test_runbook_journal.c
 *	  Unit tests for the runbooks' append-only audit journal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "runbooks/journal.h"

static void
test_format_parse_roundtrip(void **state)
{
	journal_entry e = {"2026-11-23T10:00:00.000Z", "r1", "pitr", "copy-backup", "/srv/pg \"x\"",
	"ok", "line1\nline2 \\ \x01"};
	journal_entry back;
	char	   *line;

	(void) state;
	line = journal_format(&e);
	assert_null(strchr(line, '\n'));
	assert_true(strncmp(line, "{\"time\":", 8) == 0);
	assert_true(journal_parse_line(line, &back));
	assert_string_equal(back.target, e.target);
	assert_string_equal(back.detail, e.detail);
	assert_string_equal(back.step, "copy-backup");
	journal_entry_free(&back);
	free(line);
}

static void
test_parse_rejects(void **state)
{
	journal_entry e;

	(void) state;
	assert_false(journal_parse_line("", &e));
	assert_false(journal_parse_line("{\"run\":\"r1\",\"step\":\"x\"", &e));	/* torn */
	assert_false(journal_parse_line("[1,2]", &e));
	assert_false(journal_parse_line("{\"run\":1,\"step\":\"x\",\"result\":\"ok\"}", &e));
	assert_false(journal_parse_line("{\"run\":\"a\",\"run\":\"b\",\"step\":\"x\",\"result\":\"ok\"}", &e));
}

static void
test_final_results(void **state)
{
	(void) state;
	assert_true(journal_result_is_final("done"));
	assert_true(journal_result_is_final("refused"));
	assert_true(journal_result_is_final("failed"));
	assert_true(journal_result_is_final("abandoned"));
	assert_false(journal_result_is_final("started"));
	assert_false(journal_result_is_final("ok"));
	assert_false(journal_result_is_final(NULL));
}

static char *
temp_path(void)
{
	char		tmpl[] = "/tmp/rbjournal-test.XXXXXX";
	int			fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	close(fd);
	unlink(tmpl);
	return strdup(tmpl);
}

static void
test_write_read_resume(void **state)
{
	char	   *path = temp_path();
	rb_journal	j;
	journal_entries es;
	char		err[256];
	const char *params = NULL;
	const char *run;
	FILE	   *f;

	(void) state;
	/* a missing journal reads as empty */
	assert_true(journal_read(path, &es, err, sizeof(err)));
	assert_int_equal(es.n, 0);

	/* run r1 completes; run r2 stops after its first step (a crash) */
	assert_true(journal_open(&j, path, "pitr", "r1", err, sizeof(err)));
	assert_true(journal_write(&j, "runbook", "c1", "started", "target lsn %s", "0/3000000"));
	assert_true(journal_write(&j, "copy-backup", "/d1", "ok", NULL));
	assert_true(journal_write(&j, "runbook", "c1", "done", NULL));
	journal_close(&j);
	assert_true(journal_open(&j, path, "pitr", "r2", err, sizeof(err)));
	assert_true(journal_write(&j, "runbook", "c1", "started", "target lsn 0/4000000"));
	assert_true(journal_write(&j, "copy-backup", "/d2", "ok", "%d files", 12));
	assert_true(journal_write(&j, "start", "/d2", "started", NULL));
	journal_close(&j);
	/* and a torn half line at the end */
	f = fopen(path, "a");
	fputs("{\"time\":\"2026", f);
	fclose(f);

	assert_true(journal_read(path, &es, err, sizeof(err)));
	assert_int_equal(es.n, 6);	/* before r3 */
	assert_int_equal(es.torn, 1);
	run = journal_unfinished_run(&es, "pitr", &params);
	assert_non_null(run);
	assert_string_equal(run, "r2");
	assert_string_equal(params, "target lsn 0/4000000");
	assert_null(journal_unfinished_run(&es, "promote", NULL));
	assert_true(journal_step_done(&es, "r2", "copy-backup", "/d2"));
	assert_false(journal_step_done(&es, "r2", "copy-backup", "/d1"));
	assert_true(journal_step_done(&es, "r2", "copy-backup", NULL));
	assert_false(journal_step_done(&es, "r2", "start", NULL));
	assert_string_equal(journal_step_detail(&es, "r2", "copy-backup"), "12 files");
	journal_entries_free(&es);

	/* a run refused at once afterwards does not hide the interrupted one */
	assert_true(journal_open(&j, path, "pitr", "r3", err, sizeof(err)));
	assert_true(journal_write(&j, "runbook", "c1", "started", "target lsn 0/5000000"));
	assert_true(journal_write(&j, "runbook", "c1", "refused", "unfinished_run: r2"));
	journal_close(&j);
	assert_true(journal_read(path, &es, err, sizeof(err)));
	run = journal_unfinished_run(&es, "pitr", &params);
	assert_non_null(run);
	assert_string_equal(run, "r2");
	journal_entries_free(&es);

	/* abandoning closes it */
	assert_true(journal_open(&j, path, "pitr", "r2", err, sizeof(err)));
	assert_true(journal_write(&j, "runbook", "c1", "abandoned", "by hand"));
	journal_close(&j);
	assert_true(journal_read(path, &es, err, sizeof(err)));
	assert_null(journal_unfinished_run(&es, "pitr", NULL));
	journal_entries_free(&es);
	unlink(path);
	free(path);
}

static void
test_open_fails_cleanly(void **state)
{
	rb_journal	j;
	char		err[256];

	(void) state;
	assert_false(journal_open(&j, "/nonexistent-dir/x/journal", "pitr", "r", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open journal"));
}

static void
test_run_id(void **state)
{
	char	   *id = journal_new_run_id(1795342612000000LL, 4242);

	(void) state;
	assert_string_equal(id, "20261122T101652Z-4242");
	free(id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse_roundtrip),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_final_results),
		cmocka_unit_test(test_write_read_resume),
		cmocka_unit_test(test_open_fails_cleanly),
		cmocka_unit_test(test_run_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
