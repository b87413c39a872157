/*
 * test_runbook_journal_runs.c
 *	  Unit tests for the runbook journal as the status page shows it: lines
 *	  grouped into runs (pure), and the bounded, cached reading of the
 *	  journal files (in a temporary directory).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/config.h"
#include "export/journal_view.h"
#include "runbooks/journal.h"
#include "runbooks/journal_runs.h"
#include "common/util.h"

/* appends one journal line, as journal_write() formats it */
static void
add(strbuf *sb, const char *time, const char *run, const char *runbook, const char *step,
	const char *target, const char *result, const char *detail)
{
	journal_entry e = {(char *) time, (char *) run, (char *) runbook, (char *) step, (char *) target,
	(char *) result, (char *) detail};
	char	   *line = journal_format(&e);

	sb_append(sb, line);
	sb_append(sb, "\n");
	free(line);
}

static const char *
str(json_t *o, const char *key)
{
	json_t	   *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_t *
runs_of(const char *text, size_t len, bool mid_file, int max_runs, int *torn)
{
	json_t	   *a = journal_runs_json(text, len, mid_file, max_runs, torn);

	assert_true(json_is_array(a));
	return a;
}

static void
test_done_in_progress_and_proposal(void **state)
{
	strbuf		sb;
	json_t	   *a,
			   *r,
			   *steps;
	int			torn;

	(void) state;
	sb_init(&sb);
	add(&sb, "T1", "r1", "backup", "runbook", "shop", "started", "");
	add(&sb, "T2", "r1", "backup", "base-backup", "/b/1", "started", "pg_basebackup from src");
	add(&sb, "T3", "r1", "backup", "base-backup", "/b/1", "ok", "in 1.2 s");
	add(&sb, "T4", "p-r9", "pitr", "proposal", "src", "pending", "--before-event 42");
	add(&sb, "T5", "r2", "pitr", "runbook", "shop", "started", "--before-event 42");
	add(&sb, "T6", "r1", "backup", "archive-check", "src", "ok", "");
	add(&sb, "T7", "r1", "backup", "runbook", "shop", "done", "");
	add(&sb, "T8", "r2", "pitr", "copy-backup", "/srv/restore", "progress", "10%");
	add(&sb, "T9", "r2", "pitr", "copy-backup", "/srv/restore", "progress", "50%");
	add(&sb, "TA", "p-r9", "pitr", "proposal", "src", "approved", "by oncall");
	a = runs_of(sb.data, sb.len, false, 10, &torn);
	assert_int_equal(torn, 0);
	assert_int_equal(json_array_size(a), 3);

	/* newest first: the run that appeared last comes first */
	r = json_array_get(a, 0);
	assert_string_equal(str(r, "run"), "r2");
	assert_true(json_is_true(json_object_get(r, "in_progress")));
	assert_string_equal(str(r, "result"), "in progress");
	assert_true(json_is_null(json_object_get(r, "finished")));
	assert_string_equal(str(r, "params"), "--before-event 42");
	steps = json_object_get(r, "steps");
	/* progress lines of one step collapse into the newest */
	assert_int_equal(json_array_size(steps), 1);
	assert_string_equal(str(json_array_get(steps, 0), "detail"), "50%");

	r = json_array_get(a, 1);
	assert_string_equal(str(r, "run"), "p-r9");
	assert_string_equal(str(r, "kind"), "proposal");
	assert_string_equal(str(r, "result"), "approved");
	assert_true(json_is_false(json_object_get(r, "in_progress")));
	assert_string_equal(str(r, "started"), "T4");
	assert_string_equal(str(r, "finished"), "TA");

	r = json_array_get(a, 2);
	assert_string_equal(str(r, "run"), "r1");
	assert_string_equal(str(r, "runbook"), "backup");
	assert_string_equal(str(r, "target"), "shop");
	assert_string_equal(str(r, "started"), "T1");
	assert_string_equal(str(r, "finished"), "T7");
	assert_string_equal(str(r, "result"), "done");
	assert_true(json_is_false(json_object_get(r, "in_progress")));
	assert_true(json_is_false(json_object_get(r, "partial")));
	steps = json_object_get(r, "steps");
	assert_int_equal(json_array_size(steps), 3);
	assert_string_equal(str(json_array_get(steps, 0), "result"), "started");
	assert_string_equal(str(json_array_get(steps, 1), "detail"), "in 1.2 s");
	assert_string_equal(str(json_array_get(steps, 2), "step"), "archive-check");
	json_decref(a);
	free(sb.data);
}

static void
test_cut_first_and_torn_last_line(void **state)
{
	strbuf		sb;
	json_t	   *a,
			   *r;
	int			torn;
	const char *cut;

	(void) state;
	sb_init(&sb);
	add(&sb, "T1", "r0", "pitr", "runbook", "shop", "started", "");
	add(&sb, "T2", "r0", "pitr", "copy-backup", "/srv/r", "ok", "");
	add(&sb, "T3", "r0", "pitr", "runbook", "shop", "failed", "start: port taken");
	/* a crash mid-write: the last line has no newline */
	sb_append(&sb, "{\"time\":\"T4\",\"run\":\"r1\",\"runbook\":\"pitr\",\"step\":\"runb");
	/* the tail of the file begins in the middle of the first line */
	cut = strstr(sb.data, "\"step\"");
	a = runs_of(cut, sb.len - (size_t) (cut - sb.data), true, 10, &torn);
	assert_int_equal(torn, 1);
	assert_int_equal(json_array_size(a), 1);
	r = json_array_get(a, 0);
	assert_string_equal(str(r, "run"), "r0");
	/* its "started" line was before the tail: partial, yet finished */
	assert_true(json_is_true(json_object_get(r, "partial")));
	assert_true(json_is_null(json_object_get(r, "started")));
	assert_string_equal(str(r, "result"), "failed");
	assert_string_equal(str(r, "detail"), "start: port taken");
	assert_string_equal(str(r, "target"), "shop");
	assert_int_equal(json_array_size(json_object_get(r, "steps")), 1);
	json_decref(a);

	/* the same text from the file's start: the first line is whole */
	a = runs_of(sb.data, sb.len, false, 10, &torn);
	assert_int_equal(torn, 1);
	assert_true(json_is_false(json_object_get(json_array_get(a, 0), "partial")));
	json_decref(a);
	free(sb.data);
}

static const char nul_line[] = "{\"run\":\"r1\",\"step\":\"y\",\0\"result\":\"ok\"}\n";

static void
test_odd_bytes(void **state)
{
	strbuf		sb;
	json_t	   *a,
			   *r,
			   *step;
	int			torn;
	char	   *text;
	char	   *dumped;

	(void) state;
	sb_init(&sb);
	add(&sb, "T1", "r1", "rejoin", "runbook", "shop", "started", "");
	/* a target with control bytes and non-ASCII, escaped by the writer */
	add(&sb, "T2", "r1", "rejoin", "check", "st\x01ore \xc3\xa9\n7", "ok", "</script><b>x</b>");
	/* raw invalid UTF-8 and a NUL: not journal entries */
	sb_append(&sb, "{\"time\":\"T3\",\"run\":\"r1\",\"step\":\"x\xff\",\"result\":\"ok\"}\n");
	sb_append_len(&sb, nul_line, sizeof(nul_line) - 1);
	sb_append(&sb, "not json at all\r\n\n");
	sb_append(&sb, "[\"an\",\"array\"]\n");
	add(&sb, "T4", "r1", "rejoin", "runbook", "shop", "done", "");
	text = sb.data;
	a = runs_of(text, sb.len, false, 10, &torn);
	assert_int_equal(torn, 4);
	assert_int_equal(json_array_size(a), 1);
	r = json_array_get(a, 0);
	assert_string_equal(str(r, "result"), "done");
	assert_int_equal(json_array_size(json_object_get(r, "steps")), 1);
	step = json_array_get(json_object_get(r, "steps"), 0);
	assert_string_equal(str(step, "target"), "st\x01ore \xc3\xa9\n7");
	/* as the page embeds it: '/' escaped, so no "</script>" */
	dumped = json_dumps(a, JSON_COMPACT | JSON_ESCAPE_SLASH);
	assert_null(strstr(dumped, "</script>"));
	free(dumped);
	json_decref(a);
	free(text);
}

static void
test_bounds(void **state)
{
	strbuf		sb;
	json_t	   *a,
			   *r,
			   *steps;
	int			torn;
	char		run[16],
				step[16];

	(void) state;
	sb_init(&sb);
	for (int i = 0; i < 30; i++)
	{
		snprintf(run, sizeof(run), "r%02d", i);
		add(&sb, "T", run, "throttle", "runbook", "n1", "started", "");
		add(&sb, "T", run, "throttle", "runbook", "n1", "done", "");
	}
	add(&sb, "T", "big", "promote", "runbook", "shop", "started", "");
	for (int i = 0; i < JOURNAL_RUN_STEPS_KEPT + 5; i++)
	{
		snprintf(step, sizeof(step), "s%02d", i);
		add(&sb, "T", "big", "promote", step, "x", "ok", "");
	}
	a = runs_of(sb.data, sb.len, false, 4, &torn);
	assert_int_equal(json_array_size(a), 4);
	r = json_array_get(a, 0);
	assert_string_equal(str(r, "run"), "big");
	steps = json_object_get(r, "steps");
	assert_int_equal(json_array_size(steps), JOURNAL_RUN_STEPS_KEPT);
	assert_int_equal(json_integer_value(json_object_get(r, "steps_omitted")), 5);
	/* the newest steps are the ones kept */
	assert_string_equal(str(json_array_get(steps, 0), "step"), "s05");
	assert_string_equal(str(json_array_get(a, 3), "run"), "r27");
	json_decref(a);

	/* an empty journal has no runs */
	a = runs_of("", 0, false, 4, &torn);
	assert_int_equal(json_array_size(a), 0);
	assert_int_equal(torn, 0);
	json_decref(a);
	free(sb.data);
}

/* journal_view over real files */
static char dir[64];

static void
config_with(agent_cfg *cfg, const char *journal_a, const char *journal_b)
{
	config_errors errs = {0};
	char	   *text = xasprintf("[node n1]\nconninfo = host=/tmp dbname=odoo\n"
								 "[runbook a]\nkind = throttle\nnode = n1\nmax_connections = 5\njournal = %s\n"
								 "[runbook b]\nkind = throttle\nnode = n1\nmax_connections = 5\njournal = %s\n",
								 journal_a, journal_b);

	if (!config_parse("/etc/orguard/agent.conf", text, cfg, &errs))
		fail_msg("config: %s", errs.n ? errs.msg[0] : "?");
	free(text);
}

static void
write_file(const char *path, const char *text)
{
	FILE	   *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static json_t *
journal_doc(json_t *all, const char *path)
{
	for (size_t i = 0; i < json_array_size(all); i++)
		if (!strcmp(str(json_array_get(all, i), "path"), path))
			return json_array_get(all, i);
	fail_msg("no journal %s", path);
	return NULL;
}

static void
test_view_files(void **state)
{
	agent_cfg	cfg;
	journal_view *v = journal_view_new();
	char	   *ja,
			   *fifo,
			   *big;
	json_t	   *all,
			   *d;
	strbuf		sb;

	(void) state;
	strcpy(dir, "/tmp/orguard-jview-XXXXXX");
	assert_non_null(mkdtemp(dir));
	ja = xasprintf("%s/runbooks.journal", dir);
	fifo = xasprintf("%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	config_with(&cfg, ja, fifo);

	/* missing, and a FIFO that would block a plain open() */
	all = journal_view_json(v, &cfg);
	assert_int_equal(json_array_size(all), 2);
	assert_string_equal(str(journal_doc(all, ja), "state"), "missing");
	d = journal_doc(all, fifo);
	assert_string_equal(str(d, "state"), "unreadable");
	assert_string_equal(str(d, "error"), "not a regular file");
	json_decref(all);

	sb_init(&sb);
	add(&sb, "T1", "r1", "a", "runbook", "n1", "started", "");
	write_file(ja, sb.data);
	all = journal_view_json(v, &cfg);
	d = journal_doc(all, ja);
	assert_string_equal(str(d, "state"), "ok");
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(d, "runs"), 0), "in_progress")));
	json_decref(all);

	/* the run closes: the grown file is read again */
	add(&sb, "T2", "r1", "a", "runbook", "n1", "done", "");
	write_file(ja, sb.data);
	all = journal_view_json(v, &cfg);
	d = journal_doc(all, ja);
	assert_string_equal(str(json_array_get(json_object_get(d, "runs"), 0), "result"), "done");
	json_decref(all);

	/* a journal larger than the budget: only its tail is read */
	big = xmalloc(JOURNAL_VIEW_BUDGET + 1);
	memset(big, 'x', JOURNAL_VIEW_BUDGET);
	big[JOURNAL_VIEW_BUDGET] = '\0';
	{
		strbuf		t;

		sb_init(&t);
		sb_append(&t, big);
		sb_append(&t, "\n");
		add(&t, "T3", "r2", "a", "runbook", "n1", "started", "");
		add(&t, "T4", "r2", "a", "lease", "n1", "ok", "");
		write_file(ja, t.data);
		free(t.data);
	}
	all = journal_view_json(v, &cfg);
	d = journal_doc(all, ja);
	/* the x line was cut by the tail and dropped, not counted as torn */
	assert_int_equal(json_integer_value(json_object_get(d, "torn")), 0);
	assert_int_equal(json_array_size(json_object_get(d, "runs")), 1);
	assert_string_equal(str(json_array_get(json_object_get(d, "runs"), 0), "run"), "r2");
	json_decref(all);

	/* unreadable: a directory where the journal should be */
	unlink(ja);
	assert_int_equal(mkdir(ja, 0700), 0);
	all = journal_view_json(v, &cfg);
	assert_string_equal(str(journal_doc(all, ja), "state"), "unreadable");
	json_decref(all);
	rmdir(ja);

	unlink(fifo);
	rmdir(dir);
	free(big);
	free(sb.data);
	free(ja);
	free(fifo);
	config_free(&cfg);
	journal_view_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_done_in_progress_and_proposal),
		cmocka_unit_test(test_cut_first_and_torn_last_line),
		cmocka_unit_test(test_odd_bytes),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_view_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
