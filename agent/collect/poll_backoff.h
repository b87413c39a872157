/*
 * poll_backoff.h: how long the collector leaves a node alone after it
 * failed or ran past its deadline, and how many sessions it opens at once.
 *
 * A node that has failed k polls in a row (a connection that failed, or a
 * poll past its deadline) is polled again no sooner than 0.5 s x 2^(k-1)
 * after the last failure, capped by reconnect_max; the first poll that
 * ends in time resets k.  The backoff is in time, not in intervals: the
 * same shape as the reconnect backoff it replaces, and one reconnect_max
 * bounds how long a recovered server goes unseen whatever the interval.
 */
#ifndef ORGUARD_POLL_BACKOFF_H
#define ORGUARD_POLL_BACKOFF_H

#include <stdint.h>

/* the first pause, doubled per failure in a row */
#define POLL_BACKOFF_FIRST_MS 500

/*
 * At most this many sessions of one agent are being opened (TCP connect,
 * authentication, the session's SET commands) at once; a node whose poll
 * would open one more waits for a slot.  A server too slow to answer
 * queues every connection in its listen backlog and forks a backend for
 * each one it accepts: hundreds at once overflow the backlog and keep
 * the postmaster forking.
 */
#define POLL_MAX_OPENING 16

/*
 * The pause after the given number of failures in a row (0: none), in ms,
 * at most cap_s (reconnect_max; 0 or less: no pause).
 */
int64_t		poll_backoff_ms(int failures_in_row, double cap_s);

/*
 * A node's next allowed poll after reconnect_max changed to cap_s: no
 * later than cap_s from now (a pause set under a larger cap is cut short).
 */
int64_t		poll_backoff_recap(int64_t next_poll_ms, int64_t now_ms, double cap_s);

#endif
