/*
 * cli.c: "orguard-agent [-c FILE] runbook SUBCOMMAND [NAME] [options]".
 *
 *   runbook backup [NAME] [--dry-run]
 *   runbook pitr [NAME] (--target-time T | --target-lsn LSN | --before-event ID)
 *                [--restore-dir DIR] [--restore-port N] [--in-place] [--dry-run]
 *   runbook promote [NAME] [--dry-run] [--watch] [--last-primary-lsn LSN]
 *   runbook promote [NAME] [--candidate MEMBER] [--switchover] [--dry-run]   (backend = patroni)
 *   runbook rejoin NODE [NAME] [--dry-run]
 *   runbook list-backups [NAME] [--format text|json]
 *   runbook abandon NAME
 *   runbook check-config
 *   runbook trigger RBNAME --rule R --node N --subject S
 *   runbook approve ID | reject ID | proposals [--format text|json]
 *
 * --format json (with --dry-run, list-backups, proposals): stdout holds one
 * JSON document and nothing else; errors stay on stderr.
 *
 * Exit codes (exit_status.h): 0 done (or planned), 1 failed, 2 usage or
 * configuration error, 3 refused by a guard, 4 a node it needs does not
 * answer (nothing changed in either case).  --help at any level prints
 * without reading the configuration.
 *
 * Parsing (request.c: argv -> rb_request) is apart from dispatch: the
 * command table below maps each command word to the handler that takes the
 * request, as pgbouncer's admin console maps its commands.
 */
#include "runbooks/cli.h"
#include "runbooks/announce_spool.h"
#include "runbooks/execute.h"
#include "runbooks/modes.h"
#include "runbooks/request.h"
#include "runbooks/run.h"
#include "common/exit_status.h"
#include "common/http.h"
#include "common/log.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one runbook command: its word and the handler of its request */
typedef struct rb_command
{
	const char *name;
	int			(*handler) (const agent_cfg *cfg, const rb_request *req);
} rb_command;

static int
cmd_trigger(const agent_cfg *cfg, const rb_request *req)
{
	rb_trigger_request t = req->trigger;

	t.runbook = req->name;
	return rb_modes_trigger(cfg, &t);
}

static int
cmd_approve(const agent_cfg *cfg, const rb_request *req)
{
	return rb_modes_approve(cfg, req->name);
}

static int
cmd_reject(const agent_cfg *cfg, const rb_request *req)
{
	return rb_modes_reject(cfg, req->name);
}

static int
cmd_proposals(const agent_cfg *cfg, const rb_request *req)
{
	return rb_modes_proposals(cfg, req->fmt);
}

static const rb_command command_table[] = {
	{"backup", rb_execute_pitr_kind},
	{"list-backups", rb_execute_pitr_kind},
	{"pitr", rb_execute_pitr_kind},
	{"promote", rb_execute_promote_kind},
	{"rejoin", rb_execute_promote_kind},
	{"trigger", cmd_trigger},
	{"approve", cmd_approve},
	{"reject", cmd_reject},
	{"proposals", cmd_proposals},
	{"check-config", rb_execute_check_config},
	{"abandon", rb_execute_abandon},
};

bool
runbook_cli_help(int argc, char **argv)
{
	return rb_request_help(argc, argv);
}

int
runbook_cli_run(const agent_cfg *cfg, const rb_request *req)
{
	rb_run_set_format(req->fmt);
	for (size_t i = 0; i < sizeof(command_table) / sizeof(command_table[0]); i++)
		if (!strcmp(command_table[i].name, req->cmd))
			return command_table[i].handler(cfg, req);
	fprintf(stderr, "orguard-agent: unknown runbook command \"%s\"\n", req->cmd);
	rb_request_usage(stderr);
	return RB_EXIT_USAGE;
}

int
runbook_cli_command(int argc, char **argv, const agent_cfg *cfg)
{
	rb_request	req;
	int			rc = rb_request_parse(argc, argv, &req);

	return rc == RB_REQUEST_OK ? runbook_cli_run(cfg, &req) : rc;
}

int
runbook_cli_main(int argc, char **argv, const agent_cfg *cfg)
{
	int			rc;

	/* every journaled line of a real run goes to the pagers too */
	http_global_init();			/* before any pager thread exists */
	rb_announcer_init(cfg);
	rb_run_observe(rb_announcer_run_line);
	rc = runbook_cli_command(argc, argv, cfg);
	rb_run_observe(NULL);
	rb_announcer_finish();
	http_global_cleanup();
	return rc;
}

/* the index of the command word: the first argument that is not an option */
static int
command_index(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];

		if (!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "-f") || !strcmp(a, "--format"))
		{
			i++;
			continue;
		}
		if (a[0] == '-')
			continue;
		return i;
	}
	return -1;
}

bool
runbook_cli_wanted(int argc, char **argv)
{
	int			i = command_index(argc, argv);

	return i > 0 && !strcmp(argv[i], "runbook");
}

int
runbook_cli_dispatch(int argc, char **argv)
{
	const char *path = ORGUARD_DEFAULT_CONFIG;
	int			at = command_index(argc, argv);
	agent_cfg	cfg;
	config_errors errs = {0};
	int			rc;

	/* help needs no configuration: it must work before one exists */
	for (int i = 1; i < at; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
		{
			/* "orguard-agent --help runbook [COMMAND]" */
			char	   *help[] = {"runbook", at + 1 < argc ? argv[at + 1] : "--help", "--help", NULL};

			return runbook_cli_help(3, help) ? RB_EXIT_DONE : RB_EXIT_USAGE;
		}
	if (runbook_cli_help(argc - at, argv + at))
		return RB_EXIT_DONE;
	for (int i = 1; i < at; i++)
	{
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < at)
			path = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			path = argv[i] + 9;
		else if (!strncmp(argv[i], "-c", 2) && argv[i][2])
			path = argv[i] + 2;
	}
	if (!config_load(path, &cfg, &errs))
	{
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		fprintf(stderr, "%s: %d error%s\n", path, errs.n, errs.n == 1 ? "" : "s");
		config_errors_free(&errs);
		config_free(&cfg);
		return RB_EXIT_USAGE;
	}
	config_errors_free(&errs);
	log_configure(cfg.log_fmt, cfg.log_lvl);
	rc = runbook_cli_main(argc - at, argv + at, &cfg);
	config_free(&cfg);
	return rc;
}
