/*
 * announce.h: a runbook's steps as notifications for the pagers, so that
 * on-call sees what the agent is doing without reading the journal.
 *
 * One run is one alert instance (rule "OrguardRunbook", subject the run
 * id): every step re-sends it firing with the step in its summary and
 * labels; the closing step of a successful run resolves it, a failed or
 * refused run stays firing at critical severity until someone looks.  A
 * page-first proposal is an instance of its own (subject the proposal id)
 * that fires "pending" and resolves once approved, rejected or expired.
 * Pure: building the event does no I/O.
 */
#ifndef ORGUARD_RB_ANNOUNCE_H
#define ORGUARD_RB_ANNOUNCE_H

#include "alert/alert.h"

#include <stdbool.h>
#include <stdint.h>

#define RB_ANNOUNCE_RULE "OrguardRunbook"

typedef struct rb_announcement
{
	const char *cluster;
	const char *node;			/* the node acted on, or NULL */
	const char *runbook;		/* the [runbook NAME] section */
	const char *run;			/* the run (or proposal) id */
	const char *step;
	const char *target;
	const char *result;			/* ok, failed, started, done, refused, ... */
	const char *detail;
	bool		final;			/* the run's closing line */
	int64_t		started_us;		/* when the run began */
	int64_t		now_us;
} rb_announcement;

/* fills ev (alert_free it); ev's labels carry runbook, run, step, result */
void		rb_announce_event(const rb_announcement *a, alert_event *ev);

#endif
