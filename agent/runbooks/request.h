/*
 * request.h: a runbook command line as a request.
 *
 * rb_request_parse turns "runbook COMMAND [NODE] [NAME] [OPTIONS]" into an
 * rb_request and nothing else: it reads no configuration and runs nothing.
 * The CLI (cli.c) hands the request to its command table; modes.c parses
 * the arguments a proposal recorded the same way and runs them through
 * rb_execute (execute.h).  The commands' help lives here with their options.
 */
#ifndef ORGUARD_RB_REQUEST_H
#define ORGUARD_RB_REQUEST_H

#include "runbooks/pitr.h"
#include "runbooks/plan.h"
#include "runbooks/promote.h"

#include <stdbool.h>
#include <stdio.h>

/* runbook trigger: the rule that fired, on which node, for which subject */
typedef struct rb_trigger_request
{
	const char *runbook;
	const char *rule;
	const char *node;
	const char *subject;
} rb_trigger_request;

typedef struct rb_request
{
	const char *cmd;			/* the command word (argv[1]) */
	const char *name;			/* [runbook NAME], approve/reject's ID; NULL: none */
	const char *node;			/* rejoin's NODE */
	bool		dry_run;
	bool		watch;
	bool		have_target;	/* pitr: one of the targets was given */
	rb_format	fmt;
	rb_pitr_request pitr;
	rb_promote_request promote;
	rb_trigger_request trigger;
} rb_request;

/* the parse went through: dispatch the request */
#define RB_REQUEST_OK (-1)

/*
 * argv[0] is "runbook", argv[1] the command; the strings of *req point into
 * argv.  Returns RB_REQUEST_OK, or the exit code to end with: done when
 * help was asked for (printed to stdout), usage when the line is wrong
 * (said on stderr).  The command word itself is checked by the dispatcher.
 */
int			rb_request_parse(int argc, char **argv, rb_request *req);

/* true when cmd is one of the runbook commands */
bool		rb_request_known(const char *cmd);

/* the list of commands, options and exit codes */
void		rb_request_usage(FILE *f);

/*
 * argv[0] is "runbook": when --help, -h or help appears, prints the help
 * of the command named (or of runbook) to stdout and returns true.
 */
bool		rb_request_help(int argc, char **argv);

#endif
