/*
 * watchdog.h: when the main loop feeds systemd's watchdog (WatchdogSec=).
 *
 * The loop proves it is alive by completing polls: it feeds the watchdog
 * only while no poll cycle is in flight, that is right after a cycle
 * completed and then, between cycles, at most every quarter of the
 * watchdog period (so an interval longer than WatchdogSec is fine).  A
 * poll that never completes, or a loop that stops turning, starves the
 * watchdog and systemd kills and restarts the agent.  Pure: no I/O.
 */
#ifndef ORGUARD_WATCHDOG_H
#define ORGUARD_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct watchdog_pace
{
	int64_t		period_ms;		/* systemd's WATCHDOG_USEC; 0: no watchdog */
	int64_t		last_feed_ms;	/* monotonic; -1 before the first feed */
} watchdog_pace;

void		watchdog_pace_init(watchdog_pace *w, uint64_t watchdog_usec);

/* whether the loop sends WATCHDOG=1 now; records the feed when it does */
bool		watchdog_due(watchdog_pace *w, bool poll_in_flight, int64_t now_ms);

/*
 * A node_timeout this long can keep one poll in flight past the watchdog:
 * true when it leaves less than half the period for the rest of the cycle.
 */
bool		watchdog_too_short(const watchdog_pace *w, double node_timeout_s);

#endif
