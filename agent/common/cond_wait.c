/*
 * cond_wait.c: a bounded wait on a condition variable that ends early when
 * asked to stop (see cond_wait.h).
 */
#include "common/cond_wait.h"

#include <time.h>

bool
cond_wait_ms(pthread_mutex_t *lock, pthread_cond_t *cond, const bool *stop,
			 int64_t ms)
{
	struct timespec ts;
	bool		go;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000)
	{
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(lock);
	while (!*stop)
		if (pthread_cond_timedwait(cond, lock, &ts) != 0)
			break;
	go = !*stop;
	pthread_mutex_unlock(lock);
	return go;
}
