/*
 * cli.h: "orguard-agent runbook ...", the operator's entry to the
 * runbooks.  main.c hands over the whole command line when its command is
 * "runbook" (runbook_cli_wanted), before its own option parsing, so that
 * runbook options never collide with the daemon's.
 */
#ifndef ORGUARD_RB_CLI_H
#define ORGUARD_RB_CLI_H

#include "common/config.h"
#include "runbooks/request.h"

#include <stdbool.h>

/*
 * argv[0] is "runbook"; returns the process exit code (see run.h).  Runs
 * the command with its announcements, and waits (bounded) for their
 * delivery before returning.
 */
int			runbook_cli_main(int argc, char **argv, const agent_cfg *cfg);
/* the command alone: parses argv (request.h), then runbook_cli_run */
int			runbook_cli_command(int argc, char **argv, const agent_cfg *cfg);
/* dispatches a parsed request through the command table */
int			runbook_cli_run(const agent_cfg *cfg, const rb_request *req);

/*
 * argv[0] is "runbook": when --help, -h or help appears, prints the help
 * of the command named (or of runbook) to stdout and returns true; reads
 * no configuration.
 */
bool		runbook_cli_help(int argc, char **argv);

/* true when the command line's command is "runbook" */
bool		runbook_cli_wanted(int argc, char **argv);
/* loads -c/--config (or the default) and runs runbook_cli_main */
int			runbook_cli_dispatch(int argc, char **argv);

#endif
