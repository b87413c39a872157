/*
 * run.h: the life of one runbook run, shared by every executor.
 *
 * A run holds the cluster's lock (one runbook at a time per cluster),
 * opens or resumes its journal run, records each step (journal, stdout and
 * the log) and closes with a final result.  A dry run takes no lock and
 * writes nothing: it only prints.
 */
#ifndef ORGUARD_RB_RUN_H
#define ORGUARD_RB_RUN_H

#include "common/exit_status.h"
#include "runbooks/journal.h"
#include "runbooks/plan.h"
#include "runbooks/progress.h"
#include "runbooks/settings.h"

#include <stdbool.h>
#include <stdint.h>

/* exit codes of "orguard-agent runbook ..." (exit_status.h) */
#define RB_EXIT_DONE ORG_EXIT_OK
#define RB_EXIT_FAILED ORG_EXIT_FAILED
#define RB_EXIT_USAGE ORG_EXIT_CONFIG
#define RB_EXIT_REFUSED ORG_EXIT_REFUSED
#define RB_EXIT_UNREACHABLE ORG_EXIT_UNREACHABLE

/* the guard of a refusal because a node does not answer: exits RB_EXIT_UNREACHABLE */
#define RB_GUARD_UNREACHABLE "node_reachable"

typedef struct rb_run
{
	const rb_settings *s;
	const char *runbook;		/* the section name */
	bool		dry_run;
	bool		resumed;
	char	   *run;
	rb_journal	j;
	journal_entries past;		/* the journal as it was when the run began */
	int			lock_fd;
	int64_t		t0_ms;
	int64_t		started_us;		/* wall clock, for the announcements */
	rb_plan		plan;			/* a dry run's plan, as data */
} rb_run;

/* one recorded line of a real run, as an observer sees it */
typedef struct rb_run_line
{
	const rb_settings *s;
	const char *run;
	const char *step;
	const char *target;
	const char *result;
	const char *detail;
	bool		final;			/* the run's closing line */
	int64_t		started_us;
} rb_run_line;

typedef void (*rb_run_observer) (const rb_run_line *line);

/*
 * Every journaled line of every real run (and every refusal) is also
 * handed to fn: the CLI announces them to the pagers.  NULL: none.
 */
void		rb_run_observe(rb_run_observer fn);

/*
 * Takes the cluster lock, reads the journal and either resumes the
 * interrupted run of this runbook (when its parameters are the same) or
 * starts a new one.  Returns RB_EXIT_DONE to go on, or an exit code with
 * err filled (another run holds the cluster, the journal is unusable, an
 * interrupted run has other parameters).
 */
int			rb_run_begin(rb_run *r, const rb_settings *s, const char *params, bool dry_run,
						 char *err, size_t errlen);
/* true when this run (resumed) already recorded step on target as ok */
bool		rb_run_step_done(const rb_run *r, const char *step, const char *target);
/* did this (resumed) run start, not necessarily finish, step on target? */
bool		rb_run_step_started(const rb_run *r, const char *step, const char *target);
/* records one step */
void		rb_run_step(rb_run *r, const char *step, const char *target, const char *result,
						const char *fmt,...) __attribute__((format(printf, 5, 6)));
/*
 * closes the run with done, failed or refused and returns the exit code;
 * a refusal whose detail starts "node_reachable:" exits RB_EXIT_UNREACHABLE
 */
int			rb_run_finish(rb_run *r, const char *result, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
/* closes an interrupted run by hand */
int			rb_run_abandon(const rb_settings *s, char *err, size_t errlen);
/*
 * A progress figure of a long step (progress.h): written to stderr when
 * due (redrawn in place on a terminal) and, now and then, to the journal
 * as result "progress" (not to stdout, and not announced to the pagers).
 */
void		rb_run_progress(rb_run *r, rb_progress *p, const char *step, const char *target, uint64_t done);
/* ends a step's progress: closes a line left open on the terminal */
void		rb_run_progress_end(rb_progress *p);
/* true when progress goes to a terminal (stderr is one) */
bool		rb_run_progress_tty(void);

/*
 * How dry runs print their plan: text as each piece comes (the default) or
 * one JSON document when the run finishes (plan.h).  Set by the CLI.
 */
void		rb_run_set_format(rb_format f);
/*
 * While out is set (NULL: never), a dry run prints nothing and hands its
 * plan to *out when it finishes (rb_plan_free it); out->output is the text
 * the same dry run would have printed.
 */
void		rb_run_keep_plan(rb_plan *out);
rb_format	rb_run_format(void);
/*
 * A piece of a dry run's plan ("plan: ..." and the lines after it): kept in
 * the run's plan and, in text format, printed as it is.
 */
void		rb_plan_text(rb_run *r, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* seconds since rb_run_begin */
double		rb_run_elapsed(const rb_run *r);

#endif
