/*
 * journal.h: the runbooks' append-only audit journal.
 *
 * One JSON object per line: {"time", "run", "runbook", "step", "target",
 * "result", "detail"}.  Every line is written with a single write() on an
 * O_APPEND descriptor and fsync()ed before the step it records goes on, so
 * the journal is the evidence of what was done and the memory a re-run
 * resumes from.  A run opens with step "runbook" result "started" and
 * closes with step "runbook" and a final result (done, failed, refused,
 * abandoned); a run without its closing line was interrupted.
 */
#ifndef ORGUARD_RB_JOURNAL_H
#define ORGUARD_RB_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct journal_entry
{
	char	   *time;
	char	   *run;
	char	   *runbook;
	char	   *step;
	char	   *target;
	char	   *result;
	char	   *detail;
} journal_entry;

typedef struct journal_entries
{
	journal_entry *v;
	int			n;
	int			torn;			/* unparsable lines (a torn last write) */
} journal_entries;

typedef struct rb_journal
{
	int			fd;
	char	   *path;
	char	   *run;
	char	   *runbook;
} rb_journal;

/* results that close a run */
bool		journal_result_is_final(const char *result);

/* one line without its newline; NULL fields are written as "" */
char	   *journal_format(const journal_entry *e);
/* false when the line is not a journal object */
bool		journal_parse_line(const char *line, journal_entry *e);
void		journal_entry_free(journal_entry *e);

/* reads every entry of path; a missing file reads as empty */
bool		journal_read(const char *path, journal_entries *out, char *err, size_t errlen);
void		journal_entries_free(journal_entries *es);

/*
 * The run of runbook that was started and never closed (the last one), or
 * NULL; *params receives the detail of its "started" line.
 */
const char *journal_unfinished_run(const journal_entries *es, const char *runbook, const char **params);
/* true when run recorded step on target with result "ok" */
bool		journal_step_done(const journal_entries *es, const char *run, const char *step, const char *target);
/* the detail of the last "ok" entry of step in run, or NULL */
const char *journal_step_detail(const journal_entries *es, const char *run, const char *step);

/* a fresh run id: time and pid, e.g. 20261123T101112Z-4242 */
char	   *journal_new_run_id(int64_t now_us, int pid);

/* opens path for appending (creating it 0640); run is copied */
bool		journal_open(rb_journal *j, const char *path, const char *runbook, const char *run,
						 char *err, size_t errlen);
/* appends and fsyncs one entry; false (and errno) when it is not durable */
bool		journal_write(rb_journal *j, const char *step, const char *target, const char *result,
						  const char *fmt,...) __attribute__((format(printf, 5, 6)));
void		journal_close(rb_journal *j);

#endif
