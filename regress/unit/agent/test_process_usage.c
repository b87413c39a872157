/*
 * test_process_usage.c: the agent's own CPU time and resident memory, read
 * from /proc's formats (process_cpu_seconds_total,
 * process_resident_memory_bytes on /metrics).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/process_usage.h"

#include <stdlib.h>
#include <string.h>

/* a /proc/<pid>/stat line as Linux writes it: utime 1234 and stime 566 ticks */
#define STAT_TAIL " S 1 4242 4242 0 -1 4194560 5321 0 12 0 1234 566 0 0 20 0 3 0 98765 123456789 4321 " \
	"18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0\n"

static void
test_parse(void **state)
{
	process_usage u;

	(void) state;
	assert_true(process_usage_parse("4242 (orguard-agent)" STAT_TAIL, "30000 4321 700 10 0 900 0\n",
									100, 4096, &u));
	assert_true(u.cpu_seconds == 18.0);
	assert_true(u.resident_bytes == 4321.0 * 4096);
}

/* the command name may hold spaces and parentheses: the fields follow the last ')' */
static void
test_odd_command_name(void **state)
{
	process_usage u;

	(void) state;
	assert_true(process_usage_parse("4242 (a) b (c))" STAT_TAIL, "1 2", 100, 4096, &u));
	assert_true(u.cpu_seconds == 18.0);
	assert_true(u.resident_bytes == 2.0 * 4096);
}

static void
test_malformed(void **state)
{
	process_usage u;

	(void) state;
	assert_false(process_usage_parse("4242 orguard-agent S 1", "1 2", 100, 4096, &u));
	assert_false(process_usage_parse("4242 (orguard-agent) S 1 2", "1 2", 100, 4096, &u));
	assert_false(process_usage_parse("4242 (orguard-agent)" STAT_TAIL, "x", 100, 4096, &u));
	assert_false(process_usage_parse(NULL, "1 2", 100, 4096, &u));
	assert_false(process_usage_parse("4242 (orguard-agent)" STAT_TAIL, "1 2", 0, 4096, &u));
}

/* this very process: some resident memory, CPU time that does not go back */
static void
test_read_self(void **state)
{
	process_usage a;
	process_usage b;
	volatile double x = 0;

	(void) state;
	assert_true(process_usage_read(&a));
	assert_true(a.resident_bytes > 0);
	for (long i = 0; i < 20000000; i++)
		x += (double) i;
	assert_true(process_usage_read(&b));
	assert_true(b.cpu_seconds >= a.cpu_seconds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_odd_command_name),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_read_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
