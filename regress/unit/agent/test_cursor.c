/*
 * test_cursor.c: the ring cursor file: format, parse, change tracking and a
 * save/load round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collect/cursor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_format_parse(void **state)
{
	cursor_store cs = {0},
				back = {0};
	char	   *text;

	(void) state;
	cursor_set(&cs, "store-1", 7311234567890123456ULL, 1795435200000000LL, 42);
	cursor_set(&cs, "store-2", 1, 2, 0);
	assert_true(cs.dirty);
	text = cursor_format(&cs);
	assert_string_equal(text, "store-1 7311234567890123456 1795435200000000 42\nstore-2 1 2 0\n");
	assert_true(cursor_parse(text, &back));
	assert_false(back.dirty);
	assert_int_equal(back.n, 2);
	assert_true(cursor_get(&back, "store-1")->cursor == 42);
	assert_true(cursor_get(&back, "store-1")->system_id == 7311234567890123456ULL);
	assert_null(cursor_get(&back, "store-3"));
	/* same values: not dirty; a change: dirty */
	cursor_set(&back, "store-2", 1, 2, 0);
	assert_false(back.dirty);
	cursor_set(&back, "store-2", 1, 2, 5);
	assert_true(back.dirty);
	free(text);
	cursor_store_free(&cs);
	cursor_store_free(&back);
	assert_false(cursor_parse("good 1 2 3\nbad line\n", &cs));
	assert_int_equal(cs.n, 1);
	cursor_store_free(&cs);
}

/* the incarnation is a fifth field, written only when known */
static void
test_incarnation_field(void **state)
{
	cursor_store cs = {0},
				back = {0};
	char	   *text;

	(void) state;
	cursor_set(&cs, "n1", 7, 1000, 12);
	cursor_set_incarnation(&cs, "n1", 18446744073709551615ULL);
	cursor_set(&cs, "n2", 7, 1000, 3);
	cursor_set_incarnation(&cs, "n2", 0);
	cursor_set_incarnation(&cs, "absent", 5);	/* no such node: nothing */
	assert_int_equal(cs.n, 2);
	text = cursor_format(&cs);
	assert_string_equal(text, "n1 7 1000 12 18446744073709551615\nn2 7 1000 3\n");
	assert_true(cursor_parse(text, &back));
	assert_true(cursor_get(&back, "n1")->incarnation == 18446744073709551615ULL);
	assert_true(cursor_get(&back, "n2")->incarnation == 0);
	assert_false(back.dirty);
	cursor_set_incarnation(&back, "n1", 18446744073709551615ULL);
	assert_false(back.dirty);
	cursor_set_incarnation(&back, "n1", 42);
	assert_true(back.dirty);
	free(text);
	cursor_store_free(&cs);
	cursor_store_free(&back);
}

/* which changes of a node's identity invalidate a cursor */
static void
test_life_check(void **state)
{
	(void) state;
	/* nothing known yet: the first snapshot is the same life */
	assert_int_equal(cursor_life_check(0, 0, 0, 7, 1000, 55), CURSOR_SAME_LIFE);
	assert_int_equal(cursor_life_check(7, 1000, 55, 7, 1000, 55), CURSOR_SAME_LIFE);
	/* a new postmaster or another system */
	assert_int_equal(cursor_life_check(7, 1000, 55, 7, 2000, 66), CURSOR_NODE_RESTARTED);
	assert_int_equal(cursor_life_check(7, 1000, 55, 8, 1000, 55), CURSOR_NODE_RESTARTED);
	/* crash-restart: same postmaster, shared memory initialized again */
	assert_int_equal(cursor_life_check(7, 1000, 55, 7, 1000, 66), CURSOR_SHMEM_RESTARTED);
	/* cursor loaded from a file without the incarnation, or an old extension: unknown */
	assert_int_equal(cursor_life_check(7, 1000, 0, 7, 1000, 66), CURSOR_SAME_LIFE);
	assert_int_equal(cursor_life_check(7, 1000, 55, 7, 1000, 0), CURSOR_SAME_LIFE);
	/* the incarnation alone is known (no start time yet) */
	assert_int_equal(cursor_life_check(0, 0, 55, 7, 1000, 66), CURSOR_SHMEM_RESTARTED);
}

static void
test_save_load(void **state)
{
	char		dir[] = "/tmp/orguard-cursor-XXXXXX";
	char		path[128];
	cursor_store cs = {0},
				back = {0};
	char	   *err = NULL;

	(void) state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cursors", dir);
	assert_true(cursor_load(path, &back, &err));	/* missing: empty */
	assert_int_equal(back.n, 0);
	cursor_set(&cs, "n1", 9, 8, 77);
	assert_true(cursor_save(path, &cs, &err));
	assert_false(cs.dirty);
	assert_true(cursor_load(path, &back, &err));
	assert_true(cursor_get(&back, "n1")->cursor == 77);
	assert_true(cursor_save("/proc/orguard-no/cursors", &back, &err));	/* not dirty: nothing to do */
	back.dirty = true;
	assert_false(cursor_save("/proc/orguard-no/cursors", &back, &err));
	assert_non_null(strstr(err, "cannot write"));
	free(err);
	cursor_store_free(&cs);
	cursor_store_free(&back);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_incarnation_field),
		cmocka_unit_test(test_life_check),
		cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests_name("agent cursor", tests, NULL, NULL);
}
