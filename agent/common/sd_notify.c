/*
 * sd_notify.c: readiness, reload, stop and watchdog notifications to
 * systemd through libsystemd's sd_notify() (sd_notify.h).
 */
#include "common/sd_notify.h"
#include "common/log.h"
#include "common/util.h"
#include "common/watchdog.h"

#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

static watchdog_pace pace;

static void
send_state(const char *state)
{
	int			r = sd_notify(0, state);

	/* r == 0: not run by systemd; a failure is worth one line, never fatal */
	if (r < 0)
		log_warn("sd_notify(\"%s\") failed: error %d", state, -r);
}

void
notify_ready(const char *status)
{
	char	   *state = xasprintf("READY=1\nSTATUS=%s", status ? status : "running");

	send_state(state);
	free(state);
}

/* systemd wants the CLOCK_MONOTONIC time of a reload (Type=notify-reload) */
void
notify_reloading(void)
{
	struct timespec ts;
	char		state[80];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
			 (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000);
	send_state(state);
}

void
notify_stopping(void)
{
	send_state("STOPPING=1");
}

int64_t
notify_watchdog_start(double node_timeout_s)
{
	uint64_t	usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		usec = 0;
	watchdog_pace_init(&pace, usec);
	if (watchdog_too_short(&pace, node_timeout_s))
		log_warn("node_timeout (%gs) is more than half of the systemd watchdog (%.3gs): "
				 "one slow node can get the agent killed; raise WatchdogSec= in a drop-in",
				 node_timeout_s, (double) pace.period_ms / 1000.0);
	return pace.period_ms;
}

void
notify_watchdog_turn(bool poll_in_flight, int64_t now_ms)
{
	if (watchdog_due(&pace, poll_in_flight, now_ms))
		send_state("WATCHDOG=1");
}
