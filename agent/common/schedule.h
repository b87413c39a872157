/*
 * schedule.h: weekly time windows such as "mon-fri 08:00-21:00; sat
 * 09:00-18:00" used by rules to raise severity during retail trading hours
 * or to mute non-critical alerts during the nightly batch.  Local time.
 */
#ifndef ORGUARD_SCHEDULE_H
#define ORGUARD_SCHEDULE_H

#include <stdbool.h>
#include <time.h>

typedef struct window
{
	unsigned	days;			/* bit 0 = Monday ... bit 6 = Sunday */
	int			start_min;		/* minutes after midnight */
	int			end_min;		/* exclusive; < start_min crosses midnight */
} window;

typedef struct schedule
{
	window	   *w;
	int			n;
} schedule;

/* returns NULL on success, else a static error message */
const char *schedule_parse(const char *spec, schedule *out);
bool		schedule_contains(const schedule *s, const struct tm *local);
bool		schedule_active_at(const schedule *s, time_t t);
void		schedule_free(schedule *s);

#endif
