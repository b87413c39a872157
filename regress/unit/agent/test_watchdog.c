/*
 * test_watchdog.c: when the main loop feeds systemd's watchdog: after a
 * completed poll, between polls at a quarter of the period, never while a
 * poll is in flight (a stuck poll starves it), and never without WatchdogSec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/watchdog.h"

static void
test_no_watchdog(void **state)
{
	watchdog_pace w;

	(void) state;
	watchdog_pace_init(&w, 0);
	assert_false(watchdog_due(&w, false, 1000));
	assert_false(watchdog_due(&w, false, 100000));
	assert_false(watchdog_too_short(&w, 3600));
}

static void
test_paced_between_polls(void **state)
{
	watchdog_pace w;

	(void) state;
	watchdog_pace_init(&w, 60 * 1000000ULL);	/* WatchdogSec=60s */
	assert_int_equal(w.period_ms, 60000);
	assert_true(watchdog_due(&w, false, 1000));
	/* a quarter of the period between feeds, not every turn of the loop */
	assert_false(watchdog_due(&w, false, 1250));
	assert_false(watchdog_due(&w, false, 15999));
	assert_true(watchdog_due(&w, false, 16000));
	assert_false(watchdog_due(&w, false, 16001));
}

static void
test_stuck_poll_starves(void **state)
{
	watchdog_pace w;
	int			feeds = 0;

	(void) state;
	watchdog_pace_init(&w, 2 * 1000000ULL);
	assert_true(watchdog_due(&w, false, 0));
	/* a poll that never completes: no feed for ten periods */
	for (int64_t t = 1; t <= 20000; t += 250)
		feeds += watchdog_due(&w, true, t);
	assert_int_equal(feeds, 0);
	/* it completes: fed at once */
	assert_true(watchdog_due(&w, false, 20001));
}

static void
test_too_short(void **state)
{
	watchdog_pace w;

	(void) state;
	watchdog_pace_init(&w, 60 * 1000000ULL);
	assert_false(watchdog_too_short(&w, 5));
	assert_false(watchdog_too_short(&w, 30));
	assert_true(watchdog_too_short(&w, 31));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_watchdog),
		cmocka_unit_test(test_paced_between_polls),
		cmocka_unit_test(test_stuck_poll_starves),
		cmocka_unit_test(test_too_short),
	};

	return cmocka_run_group_tests_name("agent watchdog", tests, NULL, NULL);
}
