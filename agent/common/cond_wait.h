/*
 * cond_wait.h: how the agent's worker threads (pagers, remote write) sleep
 * between retries and still end promptly when told to stop.
 */
#ifndef ORGUARD_COND_WAIT_H
#define ORGUARD_COND_WAIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Waits up to ms on cond (lock not held by the caller) or until *stop is set;
 * returns false when asked to stop.  For worker threads that sleep between
 * retries but must end promptly.
 */
bool		cond_wait_ms(pthread_mutex_t *lock, pthread_cond_t *cond,
						 const bool *stop, int64_t ms);

#endif
