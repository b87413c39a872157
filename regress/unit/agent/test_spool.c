/*
 * test_spool.c: the durable outbox keeps order, survives a crash mid-write
 * (leftover tmp files), continues its sequence after a restart, and moves
 * refused entries to the dead-letter directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "deliver/spool.h"
#include "common/util.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
setup(void **state)
{
	char	   *dir = xstrdup("/tmp/orguard-spool-XXXXXX");

	if (!mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static void
rm_rf(const char *path)
{
	DIR		   *d = opendir(path);
	struct dirent *de;

	if (!d)
	{
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL)
	{
		char	   *p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", path, de->d_name);
		rm_rf(p);
		free(p);
	}
	closedir(d);
	rmdir(path);
}

static int
teardown(void **state)
{
	rm_rf(*state);
	free(*state);
	return 0;
}

static int
count_files(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_order_and_ack(void **state)
{
	char	   *err = NULL;
	spool	   *s = spool_open(*state, "pd", &err);
	uint64_t   *seqs;
	int			n;

	assert_non_null(s);
	/* more than 9 entries: numeric, not lexical, order matters */
	for (int i = 0; i < 25; i++)
	{
		char		buf[32];
		uint64_t	seq;

		snprintf(buf, sizeof(buf), "{\"i\":%d}", i);
		assert_true(spool_put(s, buf, &seq, &err));
		assert_int_equal(seq, (uint64_t) i + 1);
	}
	n = spool_list(s, &seqs);
	assert_int_equal(n, 25);
	for (int i = 0; i < n; i++)
	{
		char	   *data = spool_read(s, seqs[i]);
		char		want[32];

		snprintf(want, sizeof(want), "{\"i\":%d}", i);
		assert_string_equal(data, want);
		free(data);
	}
	assert_true(spool_ack(s, seqs[0]));
	assert_true(spool_ack(s, seqs[0]));	/* idempotent */
	assert_null(spool_read(s, seqs[0]));
	free(seqs);
	n = spool_list(s, &seqs);
	assert_int_equal(n, 24);
	assert_int_equal(seqs[0], 2);
	free(seqs);
	spool_close(s);
}

static void
test_crash_recovery(void **state)
{
	char	   *err = NULL;
	spool	   *s = spool_open(*state, "am", &err);
	char	   *tmp;
	FILE	   *f;
	uint64_t   *seqs;
	uint64_t	seq;
	int			n;

	for (int i = 0; i < 3; i++)
		assert_true(spool_put(s, "{}", NULL, &err));
	spool_close(s);
	/* a crash mid-write leaves a tmp file and a stray file behind */
	tmp = xasprintf("%s/am/.tmp-00000000000000000004", (char *) *state);
	f = fopen(tmp, "w");
	fputs("{\"half", f);
	fclose(f);
	free(tmp);
	tmp = xasprintf("%s/am/notes.txt", (char *) *state);
	f = fopen(tmp, "w");
	fclose(f);
	free(tmp);
	s = spool_open(*state, "am", &err);
	assert_non_null(s);
	n = spool_list(s, &seqs);
	assert_int_equal(n, 3);		/* tmp discarded, stray set aside */
	free(seqs);
	tmp = xasprintf("%s/am", (char *) *state);
	assert_int_equal(count_files(tmp), 3);	/* 3 entries; notes.txt went to dead-letter */
	free(tmp);
	/* the sequence continues after the highest entry */
	assert_true(spool_put(s, "{}", &seq, &err));
	assert_int_equal(seq, 4);
	spool_close(s);
}

static void
test_dead_letter(void **state)
{
	char	   *err = NULL;
	spool	   *s = spool_open(*state, "hook", &err);
	uint64_t	seq;
	uint64_t   *seqs;
	char	   *dl;

	assert_true(spool_put(s, "{\"refused\":true}", &seq, &err));
	assert_true(spool_dead_letter(s, seq));
	assert_int_equal(spool_list(s, &seqs), 0);
	free(seqs);
	dl = xasprintf("%s/dead-letter", (char *) *state);
	assert_int_equal(count_files(dl), 1);
	free(dl);
	spool_close(s);
}

static void
test_open_failure(void **state)
{
	char	   *err = NULL;

	(void) state;
	assert_null(spool_open("/proc/orguard-cannot-exist", "x", &err));
	assert_non_null(strstr(err, "cannot create spool directory"));
	free(err);
}

static void
test_fanout_intent(void **state)
{
	char	   *err = NULL;
	char	   *text;

	assert_null(spool_intent_read(*state));
	assert_true(spool_intent_write(*state, "[{\"pagers\":[\"pd\"]}]", &err));
	text = spool_intent_read(*state);
	assert_string_equal(text, "[{\"pagers\":[\"pd\"]}]");
	free(text);
	spool_intent_clear(*state);
	assert_null(spool_intent_read(*state));
	assert_false(spool_intent_write("/proc/orguard-no", "[]", &err));
	free(err);
}

static void
test_names(void **state)
{
	uint64_t	seq;

	(void) state;
	assert_true(spool_parse_name("00000000000000000042.json", &seq));
	assert_int_equal(seq, 42);
	assert_false(spool_parse_name(".tmp-00000000000000000042", &seq));
	assert_false(spool_parse_name("42.json.bak", &seq));
	assert_false(spool_parse_name(".json", &seq));
	assert_false(spool_parse_name("", &seq));
	/* exactly 20 digits: a short or long name would never match its path */
	assert_false(spool_parse_name("42.json", &seq));
	assert_false(spool_parse_name("000000000000000000042.json", &seq));
	assert_false(spool_parse_name("0000000000000000004.json", &seq));
	assert_false(spool_parse_name("99999999999999999999.json", &seq));	/* > UINT64_MAX */
	assert_false(spool_parse_name("00000000000000000000.json", &seq));
	assert_false(spool_parse_name("0000000000000000004x.json", &seq));
	assert_true(spool_parse_name("18446744073709551615.json", &seq));
	assert_true(seq == UINT64_MAX);
}

static void
touch(const char *dir, const char *name)
{
	char	   *p = xasprintf("%s/%s", dir, name);
	FILE	   *f = fopen(p, "w");

	assert_non_null(f);
	fputs("{}", f);
	fclose(f);
	free(p);
}

/*
 * A stray file (short or over-long numeric name, anything else) used to be
 * listed as an entry whose file was "already gone", forever: the pager
 * loop never waited.  It is moved to dead-letter/ and never listed.
 */
static void
test_stray_files(void **state)
{
	char	   *err = NULL;
	spool	   *s = spool_open(*state, "wh", &err);
	char	   *dir = xasprintf("%s/wh", (char *) *state);
	char	   *dl = xasprintf("%s/dead-letter", (char *) *state);
	uint64_t   *seqs;
	uint64_t	seq;
	struct stat st;

	assert_non_null(s);
	assert_true(spool_put(s, "{\"a\":1}", &seq, &err));
	touch(dir, "5.json");
	touch(dir, "000000000000000000005.json");
	touch(dir, "99999999999999999999.json");
	touch(dir, "notes.txt");
	touch(dir, ".tmp-00000000000000000009");	/* a write under way: left alone */
	assert_int_equal(spool_list(s, &seqs), 1);
	assert_true(seqs[0] == seq);
	free(seqs);
	assert_int_equal(count_files(dir), 1);
	assert_int_equal(count_files(dl), 4);
	{
		char	   *tmp = xasprintf("%s/.tmp-00000000000000000009", dir);

		assert_int_equal(stat(tmp, &st), 0);
		free(tmp);
	}
	assert_true(spool_exists(s, seq));
	assert_false(spool_exists(s, seq + 1));
	/* a second listing finds nothing new to move */
	assert_int_equal(spool_list(s, &seqs), 1);
	free(seqs);
	assert_int_equal(count_files(dl), 4);
	free(dir);
	free(dl);
	spool_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_letter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fanout_intent, setup, teardown),
		cmocka_unit_test(test_open_failure),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_stray_files, setup, teardown),
	};

	return cmocka_run_group_tests_name("agent spool", tests, NULL, NULL);
}
