/*
 * poll_backoff.c: the pause after failed polls (see poll_backoff.h).
 * Pure arithmetic, no I/O.
 */
#include "collect/poll_backoff.h"

/* cap_s in ms, 0 when it is not a positive number */
static int64_t
cap_ms(double cap_s)
{
	/* 1e15 ms is far above any duration the configuration accepts */
	if (!(cap_s > 0))
		return 0;
	if (cap_s >= 1e12)
		return INT64_C(1000000000000000);
	return (int64_t) (cap_s * 1000.0);
}

int64_t
poll_backoff_ms(int failures_in_row, double cap_s)
{
	int64_t		cap = cap_ms(cap_s);
	int64_t		delay = POLL_BACKOFF_FIRST_MS;

	if (failures_in_row <= 0 || cap == 0)
		return 0;
	/* doubling stops at the cap, so it never overflows whatever the count */
	for (int i = 1; i < failures_in_row && delay < cap; i++)
		delay *= 2;
	return delay < cap ? delay : cap;
}

int64_t
poll_backoff_recap(int64_t next_poll_ms, int64_t now_ms, double cap_s)
{
	int64_t		latest = now_ms + cap_ms(cap_s);

	return next_poll_ms > latest ? latest : next_poll_ms;
}
