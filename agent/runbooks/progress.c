/*
 * progress.c: progress lines of long runbook steps and when they are due
 * (see progress.h).  Pure: the caller passes the clock and writes.
 */
#include "runbooks/progress.h"
#include "runbooks/rbutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
rb_progress_init(rb_progress *p, const char *what, rb_progress_unit unit, uint64_t start, uint64_t total,
				 bool tty, int64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->unit = unit;
	p->start = start;
	p->total = total;
	p->tty = tty;
	p->t0_ms = now_ms;
	p->term_ms = -1;
	p->journal_ms = now_ms;
	p->journal_pct = -1;
}

int
rb_progress_percent(const rb_progress *p, uint64_t done)
{
	uint64_t	span,
				got;

	if (p->total == 0 || p->total <= p->start)
		return -1;
	span = p->total - p->start;
	got = done > p->start ? done - p->start : 0;
	if (got >= span)
		return 100;
	return (int) ((double) got * 100.0 / (double) span);
}

int
rb_progress_due(rb_progress *p, uint64_t done, int64_t now_ms)
{
	int			due = 0;
	int			pct = rb_progress_percent(p, done);
	int64_t		every = p->tty ? RB_PROGRESS_TTY_MS : RB_PROGRESS_LINE_S * 1000;
	int64_t		since_journal = now_ms - p->journal_ms;

	/* a non-terminal's first line waits a period too: short steps stay quiet */
	if (p->term_ms < 0 ? now_ms - p->t0_ms >= every : now_ms - p->term_ms >= every)
	{
		due |= RB_PROGRESS_TERM;
		p->term_ms = now_ms;
	}
	if (p->journal_n < RB_PROGRESS_JOURNAL_MAX && since_journal >= RB_PROGRESS_JOURNAL_S * 1000 &&
		(pct < 0 ? since_journal >= RB_PROGRESS_JOURNAL_QUIET_S * 1000
		 : p->journal_pct < 0 || pct >= p->journal_pct + 10))
	{
		due |= RB_PROGRESS_TERM | RB_PROGRESS_JOURNAL;
		p->journal_ms = now_ms;
		p->journal_pct = pct;
		p->journal_n++;
	}
	return due;
}

static void
append_seconds(char *buf, size_t len, const char *label, double s)
{
	size_t		n = strlen(buf);

	if (s < 120)
		snprintf(buf + n, len - n, ", %s %.0f s", label, s);
	else if (s < 7200)
		snprintf(buf + n, len - n, ", %s %.0f min", label, s / 60);
	else
		snprintf(buf + n, len - n, ", %s %.1f h", label, s / 3600);
}

void
rb_progress_format(const rb_progress *p, uint64_t done, int64_t now_ms, char *buf, size_t len)
{
	int			pct = rb_progress_percent(p, done);
	double		elapsed = (double) (now_ms - p->t0_ms) / 1000.0;
	char		d[24],
				t[24];

	if (p->unit == RB_PROGRESS_LSN)
	{
		rb_lsn_format(done, d, sizeof(d));
		rb_lsn_format(p->total, t, sizeof(t));
		if (p->total)
			snprintf(buf, len, "%s: %s of %s", p->what, d, t);
		else
			snprintf(buf, len, "%s: %s", p->what, d);
	}
	else if (p->total)
		snprintf(buf, len, "%s: %" PRIu64 "/%" PRIu64 " kB", p->what, done / 1024, p->total / 1024);
	else
		snprintf(buf, len, "%s: %" PRIu64 " kB", p->what, done / 1024);
	if (pct >= 0)
	{
		size_t		n = strlen(buf);

		snprintf(buf + n, len - n, " (%d%%)", pct);
	}
	append_seconds(buf, len, "elapsed", elapsed);
	/* a guess from the average rate, once there is one to speak of */
	if (pct > 0 && pct < 100 && elapsed >= 5)
		append_seconds(buf, len, "about", elapsed * (100.0 - pct) / pct);
	if (pct > 0 && pct < 100 && elapsed >= 5)
	{
		size_t		n = strlen(buf);

		snprintf(buf + n, len - n, " left");
	}
}

bool
rb_progress_parse_basebackup(const char *line, uint64_t *done_kb, uint64_t *total_kb)
{
	unsigned long long d,
				t;
	int			used = 0;

	while (*line == ' ' || *line == '\r' || *line == '\n')
		line++;
	if (sscanf(line, "%llu/%llu kB%n", &d, &t, &used) != 2 || used == 0)
		return false;
	*done_kb = d;
	*total_kb = t;
	return true;
}
