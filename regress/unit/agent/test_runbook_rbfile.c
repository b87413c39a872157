/*
 * test_runbook_rbfile.c
 *	  Unit tests for the runbooks' configuration file writes (rbfile.c):
 *	  a file is replaced whole or not at all, also when the disk fills up
 *	  mid-write, keeps its mode and stays a symlink; and for the quoting of
 *	  values in postgresql.conf, libpq conninfo and SQL (rbutil.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "runbooks/rbfile.h"
#include "runbooks/rbutil.h"
#include "common/files.h"
#include "common/util.h"

static char dir[64];

static int
setup(void **state)
{
	(void) state;
	snprintf(dir, sizeof(dir), "/tmp/orguard-rbfile.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char	   *cmd = xasprintf("rm -rf '%s'", dir);
	int			rc = system(cmd);

	(void) state;
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static char *
path_of(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void
test_replace_and_append(void **state)
{
	char	   *p = path_of("postgresql.auto.conf");
	char	   *text;
	struct stat st;

	(void) state;
	assert_true(rb_file_write(p, "port = 5432\n", false));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(chmod(p, 0640), 0);
	assert_true(rb_file_write(p, "primary_conninfo = ''\n", true));
	text = file_read(p);
	assert_string_equal(text, "port = 5432\nprimary_conninfo = ''\n");
	free(text);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);	/* the mode is kept */
	assert_true(rb_file_write(p, "port = 5433\n", false));
	text = file_read(p);
	assert_string_equal(text, "port = 5433\n");
	free(text);
	free(p);
}

static void
test_symlink_stays(void **state)
{
	char	   *real = path_of("real.conf");
	char	   *link = path_of("postgresql.conf");
	char	   *text;
	struct stat st;

	(void) state;
	assert_true(rb_file_write(real, "a = 1\n", false));
	assert_int_equal(symlink(real, link), 0);
	assert_true(rb_file_write(link, "b = 2\n", true));
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	text = file_read(real);
	assert_string_equal(text, "a = 1\nb = 2\n");
	free(text);
	free(real);
	free(link);
}

/* a disk that fills up mid-write: the old file stays whole */
static void
test_full_disk_keeps_old_file(void **state)
{
	char	   *p = path_of("pg_hba.conf");
	char	   *tmp = path_of("pg_hba.conf.orguard-tmp");
	char	   *big = xcalloc(1, 256 * 1024);
	char	   *old = xcalloc(1, 64 * 1024);
	char	   *text;
	struct rlimit saved,
				small;
	bool		ok;

	(void) state;
	memset(old, 'o', 64 * 1024 - 2);
	old[64 * 1024 - 2] = '\n';
	assert_true(rb_file_write(p, old, false));
	memset(big, 'n', 256 * 1024 - 1);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	small = saved;
	small.rlim_cur = 100 * 1024;	/* writes past 100 kB fail with EFBIG */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	ok = rb_file_write(p, big, false);
	assert_false(ok);
	ok = rb_file_write(p, big, true);	/* appending: old + new does not fit either */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_false(ok);
	text = file_read(p);
	assert_non_null(text);
	assert_string_equal(text, old);
	assert_int_not_equal(access(tmp, F_OK), 0);	/* no temporary file left */
	free(text);
	free(big);
	free(old);
	free(p);
	free(tmp);
}

static void
test_missing_directory_fails_cleanly(void **state)
{
	char	   *p = path_of("nodir/postgresql.conf");

	(void) state;
	assert_false(rb_file_write(p, "x = 1\n", false));
	assert_false(rb_file_touch(p));
	free(p);
}

static void
test_conf_quote(void **state)
{
	char	   *q;

	(void) state;
	/* as PostgreSQL's own writer (ALTER SYSTEM) and its config parser read them */
	q = rb_conf_quote("it's");
	assert_string_equal(q, "'it''s'");
	free(q);
	q = rb_conf_quote("C:\\wal\\arch");
	assert_string_equal(q, "'C:\\\\wal\\\\arch'");
	free(q);
	q = rb_conf_quote("a\nrestore_command = 'evil'");
	assert_string_equal(q, "'a\\nrestore_command = ''evil'''");
	assert_null(strchr(q, '\n'));
	free(q);
	q = rb_conf_quote("");
	assert_string_equal(q, "''");
	free(q);
}

static void
test_conninfo_and_sql_quote(void **state)
{
	char	   *q;

	(void) state;
	q = rb_conninfo_quote("/tmp/so\\ck'et");
	assert_string_equal(q, "'/tmp/so\\\\ck\\'et'");
	free(q);
	q = rb_sql_quote("host=h password='x'");
	assert_string_equal(q, "'host=h password=''x'''");
	free(q);
	q = rb_sql_quote("a\\b'c");
	assert_string_equal(q, "E'a\\\\b''c'");
	free(q);
	/* E'' reads the same with standard_conforming_strings on or off */
	q = rb_sql_quote("host=/tmp/a\\b' dbname=odoo");
	assert_string_equal(q, "E'host=/tmp/a\\\\b'' dbname=odoo'");
	free(q);
	q = rb_sql_quote("ends with a backslash\\");
	assert_string_equal(q, "E'ends with a backslash\\\\'");
	free(q);
	q = rb_sql_quote("");
	assert_string_equal(q, "''");
	free(q);
	q = rb_shell_quote("it's");
	assert_string_equal(q, "'it'\\''s'");
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_and_append),
		cmocka_unit_test(test_symlink_stays),
		cmocka_unit_test(test_full_disk_keeps_old_file),
		cmocka_unit_test(test_missing_directory_fails_cleanly),
		cmocka_unit_test(test_conf_quote),
		cmocka_unit_test(test_conninfo_and_sql_quote),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
