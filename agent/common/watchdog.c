/*
 * watchdog.c: pacing of systemd watchdog feeds by the main loop (watchdog.h).
 */
#include "common/watchdog.h"

void
watchdog_pace_init(watchdog_pace *w, uint64_t watchdog_usec)
{
	w->period_ms = (int64_t) (watchdog_usec / 1000);
	w->last_feed_ms = -1;
}

bool
watchdog_due(watchdog_pace *w, bool poll_in_flight, int64_t now_ms)
{
	if (w->period_ms <= 0 || poll_in_flight)
		return false;
	if (w->last_feed_ms >= 0 && now_ms - w->last_feed_ms < w->period_ms / 4)
		return false;
	w->last_feed_ms = now_ms;
	return true;
}

bool
watchdog_too_short(const watchdog_pace *w, double node_timeout_s)
{
	return w->period_ms > 0 && node_timeout_s * 1000.0 * 2 > (double) w->period_ms;
}
