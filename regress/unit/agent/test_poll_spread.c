/*
 * test_poll_spread.c: when each node's poll starts within an interval.
 * Starts are POLL_START_GAP_MS apart, closer when the nodes would not all
 * start within the spread (the interval less the node deadline), so every
 * poll still ends before the next interval; no spread, no delay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collect/node.h"

static void
test_few_nodes_start_at_once(void **state)
{
	(void) state;
	/* a handful of nodes: 10 ms apart, as good as together */
	assert_int_equal(poll_start_offset_ms(0, 3, 5.0), 0);
	assert_int_equal(poll_start_offset_ms(1, 3, 5.0), POLL_START_GAP_MS);
	assert_int_equal(poll_start_offset_ms(2, 3, 5.0), 2 * POLL_START_GAP_MS);
}

static void
test_hundreds_fit_in_the_spread(void **state)
{
	(void) state;
	/*
	 * 500 nodes, 10 s interval, 5 s deadline: spread over 2.5 s, 5 ms apart;
	 * the last poll ends 2.5 s before the next interval
	 */
	assert_int_equal(poll_start_offset_ms(250, 500, 2.5), 1250);
	assert_true(poll_start_offset_ms(499, 500, 2.5) + 5000 <= 7500);
	/* 2,000 nodes in the same 2.5 s: 1.25 ms apart */
	assert_int_equal(poll_start_offset_ms(1000, 2000, 2.5), 1250);
	assert_true(poll_start_offset_ms(1999, 2000, 2.5) < 2500);
	/* 1 s interval, 0.8 s deadline: 500 starts within 0.1 s */
	assert_true(poll_start_offset_ms(499, 500, 0.1) < 100);
	assert_true(poll_start_offset_ms(250, 500, 0.1) > 0);
}

static void
test_no_spread_no_delay(void **state)
{
	(void) state;
	/* a deadline as long as the interval: nothing to spread over */
	assert_int_equal(poll_start_offset_ms(7, 10, 0), 0);
	assert_int_equal(poll_start_offset_ms(0, 0, 5.0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_few_nodes_start_at_once),
		cmocka_unit_test(test_hundreds_fit_in_the_spread),
		cmocka_unit_test(test_no_spread_no_delay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
