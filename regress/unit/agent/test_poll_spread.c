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
#include <string.h>

#include "collect/node.h"
#include "common/config.h"
#include "common/util.h"

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

/*
 * A reload that shortens the interval: the next cycle comes one new
 * interval after the last one started, not at the end of the old interval
 * (a 120 s interval cut to 10 s 46 s after a cycle started polled again
 * only 74 s later, and the liveness checks, sized by the new interval,
 * saw a stalled agent meanwhile).
 */
static void
test_reload_reschedules(void **state)
{
	const int64_t started = 1000000;

	(void) state;
	/* cycle started at `started` with 120 s: next at +120 s; cut to 10 s: next at +10 s */
	assert_int_equal(poll_next_tick_after_reload(started + 120000, 120, 10), started + 10000);
	/* lengthened: counted from the same start */
	assert_int_equal(poll_next_tick_after_reload(started + 10000, 10, 600), started + 600000);
	/* unchanged: unchanged */
	assert_int_equal(poll_next_tick_after_reload(started + 10000, 10, 10), started + 10000);
	/* sub-second intervals */
	assert_int_equal(poll_next_tick_after_reload(started + 1000, 1, 0.5), started + 500);
}

/*
 * An overloaded agent: one node is still busy from the previous cycle when
 * the next one starts.  The new cycle's own polls end (here at once: the
 * others are backing off from a failed connection, so no I/O), and the
 * cycle is over although some node is busy: it is published, its cursors
 * saved and the watchdog fed.  Waiting for every node idle never ended
 * under a steady overload.
 */
static void
test_cycle_ends_without_the_straggler(void **state)
{
	agent_cfg	cfg;
	config_errors errs = {0};
	collector  *c;
	int64_t		now = mono_ms();

	(void) state;
	memset(&cfg, 0, sizeof(cfg));
	assert_true(config_parse("t.conf",
							 "[agent]\ninterval = 10s\nnode_timeout = 10s\n"
							 "[node slow]\nconninfo = host=slow.invalid\n"
							 "[node a]\nconninfo = host=a.invalid\n"
							 "[node b]\nconninfo = host=b.invalid\n", &cfg, &errs));
	config_errors_free(&errs);
	c = collector_new(&cfg);
	for (int i = 0; i < c->n; i++)
		c->v[i]->next_connect_ms = now + 3600 * 1000;	/* backing off: no connection */

	/* cycle 1: every poll ends at once (backing off) */
	assert_int_equal(collector_start_poll(c, now), 0);
	assert_false(collector_busy(c));
	assert_false(collector_cycle_busy(c));

	/* the slow node is still in its poll when cycle 2 starts */
	c->v[0]->busy = true;
	c->v[0]->deadline_ms = now + 3600 * 1000;
	assert_int_equal(collector_start_poll(c, now + 10000), 1);
	assert_int_equal(c->v[0]->cycle, 1);
	assert_int_equal(c->v[1]->cycle, 2);
	assert_true(collector_busy(c));
	assert_false(collector_cycle_busy(c));

	/* a poll of the cycle under way holds it */
	c->v[1]->busy = true;
	assert_true(collector_cycle_busy(c));
	c->v[1]->busy = false;
	c->v[0]->busy = false;

	collector_free(c);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_few_nodes_start_at_once),
		cmocka_unit_test(test_hundreds_fit_in_the_spread),
		cmocka_unit_test(test_no_spread_no_delay),
		cmocka_unit_test(test_reload_reschedules),
		cmocka_unit_test(test_cycle_ends_without_the_straggler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
