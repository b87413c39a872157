/*
 * sd_notify.h: the agent's side of systemd's Type=notify protocol
 * (sd_notify(3), libsystemd): READY=1 after the first configuration load
 * with /metrics listening, RELOADING=1 and READY=1 around a SIGHUP reload,
 * STOPPING=1 on the way out, and WATCHDOG=1 from the main loop as
 * watchdog.h paces it.  Outside systemd (no NOTIFY_SOCKET) every call is
 * a no-op.  Main thread only.
 */
#ifndef ORGUARD_SD_NOTIFY_H
#define ORGUARD_SD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

void		notify_ready(const char *status);
void		notify_reloading(void);
void		notify_stopping(void);

/* reads WATCHDOG_USEC; the period in ms, 0 when systemd set no watchdog */
int64_t		notify_watchdog_start(double node_timeout_s);

/* called every turn of the main loop: feeds the watchdog when it is due */
void		notify_watchdog_turn(bool poll_in_flight, int64_t now_ms);

#endif
