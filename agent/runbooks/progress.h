/*
 * progress.h: pg_basebackup -P style progress of a long runbook step (the
 * base backup, the restore copy, recovery replay), without I/O: what the
 * line says and when it is due.
 *
 * On a terminal the line is redrawn in place at most once a second; when
 * stderr is not a terminal (a unit's journal, a pipe) one line is written
 * every RB_PROGRESS_LINE_S.  The runbook journal is an audit record, so it
 * gets few records: none for a step shorter than RB_PROGRESS_JOURNAL_S,
 * then one when at least RB_PROGRESS_JOURNAL_S have passed since the last
 * and the figure moved by 10 points (or, total unknown, every
 * RB_PROGRESS_JOURNAL_QUIET_S), at most RB_PROGRESS_JOURNAL_MAX per step.
 */
#ifndef ORGUARD_RB_PROGRESS_H
#define ORGUARD_RB_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RB_PROGRESS_TTY_MS 1000
#define RB_PROGRESS_LINE_S 10
#define RB_PROGRESS_JOURNAL_S 30
#define RB_PROGRESS_JOURNAL_QUIET_S 300
#define RB_PROGRESS_JOURNAL_MAX 12

typedef enum rb_progress_unit
{
	RB_PROGRESS_BYTES,			/* shown in kB, as pg_basebackup does */
	RB_PROGRESS_LSN				/* WAL positions: done and total are LSNs, from start */
} rb_progress_unit;

typedef struct rb_progress
{
	char		what[48];		/* "base backup", "restore copy", "recovery replay" */
	rb_progress_unit unit;
	uint64_t	start;			/* LSN: where replay began (percent is of total - start) */
	uint64_t	total;			/* 0: unknown */
	bool		tty;
	int64_t		t0_ms;
	int64_t		term_ms;		/* last terminal output, -1: none yet */
	int64_t		journal_ms;		/* last journal record */
	int			journal_pct;	/* its percent, -1: none yet */
	int			journal_n;
	bool		drawn;			/* a tty line is open (needs its newline) */
} rb_progress;

/* what an update asks for */
#define RB_PROGRESS_TERM	1	/* write the line to stderr */
#define RB_PROGRESS_JOURNAL 2	/* and record it in the runbook journal */

void		rb_progress_init(rb_progress *p, const char *what, rb_progress_unit unit, uint64_t start,
							 uint64_t total, bool tty, int64_t now_ms);
/* a new figure: which outputs are due (0, RB_PROGRESS_TERM, or both); updates the clocks */
int			rb_progress_due(rb_progress *p, uint64_t done, int64_t now_ms);
/* percent done, -1 when the total is unknown; never above 100 */
int			rb_progress_percent(const rb_progress *p, uint64_t done);
/*
 * "base backup: 10240/51200 kB (20%), 12 s elapsed, about 48 s left",
 * "recovery replay: 0/3000000 of 0/5000000 (50%), 30 s elapsed"
 */
void		rb_progress_format(const rb_progress *p, uint64_t done, int64_t now_ms, char *buf, size_t len);

/*
 * One line of pg_basebackup -P ("  10240/51200 kB (20%), 0/1 tablespace"):
 * true with the figures in kB when line is one.
 */
bool		rb_progress_parse_basebackup(const char *line, uint64_t *done_kb, uint64_t *total_kb);

#endif
