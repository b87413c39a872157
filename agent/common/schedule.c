/*
 * schedule.c: parsing and evaluation of weekly windows (pure).
 *
 *   spec   := window { (";" | ",") window }
 *   window := days " " HH:MM "-" HH:MM
 *   days   := "*" | day | day "-" day
 *   day    := mon | tue | wed | thu | fri | sat | sun
 *
 * A window whose end is before its start crosses midnight and belongs to
 * the day it starts on (so "fri 22:00-02:00" covers Saturday 01:00).
 */
#include "common/schedule.h"
#include "common/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int
parse_day(const char *s, size_t len)
{
	if (len != 3)
		return -1;
	for (int i = 0; i < 7; i++)
		if (strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

static int
parse_hhmm(const char *s, const char **end)
{
	int			h,
				m;

	if (!isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1]) || s[2] != ':' ||
		!isdigit((unsigned char) s[3]) || !isdigit((unsigned char) s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	*end = s + 5;
	return h * 60 + m;
}

static const char *
parse_window(const char *s, window *w)
{
	const char *sp;
	const char *p;
	int			a,
				b;

	while (isspace((unsigned char) *s))
		s++;
	sp = s;
	while (*sp && !isspace((unsigned char) *sp))
		sp++;
	if (!*sp)
		return "expected \"DAYS HH:MM-HH:MM\"";
	if (sp - s == 1 && *s == '*')
		w->days = 0x7f;
	else
	{
		const char *dash = memchr(s, '-', (size_t) (sp - s));

		if (dash)
		{
			a = parse_day(s, (size_t) (dash - s));
			b = parse_day(dash + 1, (size_t) (sp - dash - 1));
		}
		else
			a = b = parse_day(s, (size_t) (sp - s));
		if (a < 0 || b < 0)
			return "unknown day, expected mon..sun, a range like mon-fri, or *";
		w->days = 0;
		for (int d = a;; d = (d + 1) % 7)
		{
			w->days |= 1u << d;
			if (d == b)
				break;
		}
	}
	p = sp;
	while (isspace((unsigned char) *p))
		p++;
	if ((w->start_min = parse_hhmm(p, &p)) < 0 || *p++ != '-' ||
		(w->end_min = parse_hhmm(p, &p)) < 0)
		return "bad time range, expected HH:MM-HH:MM";
	while (isspace((unsigned char) *p))
		p++;
	if (*p)
		return "unexpected text after time range";
	if (w->start_min == w->end_min)
		return "empty time range";
	return NULL;
}

const char *
schedule_parse(const char *spec, schedule *out)
{
	char	   *copy = xstrdup(spec);
	char	   *tok,
			   *save = NULL;
	const char *err = NULL;

	out->w = NULL;
	out->n = 0;
	for (tok = strtok_r(copy, ";,", &save); tok; tok = strtok_r(NULL, ";,", &save))
	{
		window		w;

		if ((err = parse_window(tok, &w)) != NULL)
			break;
		out->w = xrealloc(out->w, sizeof(window) * (size_t) (out->n + 1));
		out->w[out->n++] = w;
	}
	if (!err && out->n == 0)
		err = "empty schedule";
	free(copy);
	if (err)
		schedule_free(out);
	return err;
}

bool
schedule_contains(const schedule *s, const struct tm *tm)
{
	int			day = (tm->tm_wday + 6) % 7;	/* Monday = 0 */
	int			prev = (day + 6) % 7;
	int			min = tm->tm_hour * 60 + tm->tm_min;

	for (int i = 0; s && i < s->n; i++)
	{
		const window *w = &s->w[i];

		if (w->start_min < w->end_min)
		{
			if ((w->days & (1u << day)) && min >= w->start_min && min < w->end_min)
				return true;
		}
		else
		{
			if ((w->days & (1u << day)) && min >= w->start_min)
				return true;
			if ((w->days & (1u << prev)) && min < w->end_min)
				return true;
		}
	}
	return false;
}

bool
schedule_active_at(const schedule *s, time_t t)
{
	struct tm	tm;

	if (!s || s->n == 0)
		return false;
	localtime_r(&t, &tm);
	return schedule_contains(s, &tm);
}

void
schedule_free(schedule *s)
{
	free(s->w);
	s->w = NULL;
	s->n = 0;
}
