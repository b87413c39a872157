/*
 * plan.h: what a dry run would do, as data.
 *
 * A dry run records its plan sentence(s), its notes, every step line and
 * its final verdict here.  The text output stays what it always was (each
 * piece is printed as it is recorded); --format json prints the whole plan
 * as one JSON document when the run finishes (plan_json.c).
 */
#ifndef ORGUARD_RB_PLAN_H
#define ORGUARD_RB_PLAN_H

#include <stdbool.h>

/* the output of runbook commands that print data */
typedef enum rb_format
{
	RB_FORMAT_TEXT,
	RB_FORMAT_JSON
} rb_format;

/* "table"/"text" or "json"; false for anything else */
bool		rb_format_parse(const char *s, rb_format *out);

/* one step line: what it checked or would do, and its verdict */
typedef struct rb_plan_step
{
	char	   *step;
	char	   *target;
	char	   *result;
	char	   *detail;
} rb_plan_step;

typedef struct rb_plan
{
	char	   *runbook;
	char	   *cluster;
	char	   *text;			/* the plan as printed, "plan: " and all; NULL: none */
	char	   *output;			/* everything a text dry run prints, in order; NULL: none */
	char	  **notes;
	int			n_notes;
	rb_plan_step *steps;
	int			n_steps;
	char	   *result;			/* "planned", "refused" or "failed"; NULL: not finished */
	char	   *detail;
	int			exit_status;
} rb_plan;

void		rb_plan_init(rb_plan *p, const char *runbook, const char *cluster);
/* appends to the plan text (pieces of one sentence or several lines) */
void		rb_plan_add_text(rb_plan *p, const char *text);
void		rb_plan_add_note(rb_plan *p, const char *note);
/* appends to the output: notes, plan text, step and verdict lines as printed */
void		rb_plan_add_output(rb_plan *p, const char *text);
void		rb_plan_add_step(rb_plan *p, const char *step, const char *target, const char *result,
							 const char *detail);
void		rb_plan_finish(rb_plan *p, const char *result, const char *detail, int exit_status);
void		rb_plan_free(rb_plan *p);

/*
 * The plan as one JSON object (malloc'd, indented, no trailing newline):
 * runbook, cluster, dry_run (true), result, detail, exit_status, plan (the
 * text without its "plan: " prefix and final newline, or null), notes and
 * steps ({step, target, result, detail}).
 */
char	   *rb_plan_json(const rb_plan *p);

#endif
