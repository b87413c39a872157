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
 */
#include "runbooks/cli.h"
#include "runbooks/announce_spool.h"
#include "runbooks/list_json.h"
#include "runbooks/modes.h"
#include "runbooks/pitr.h"
#include "runbooks/promote.h"
#include "runbooks/rbutil.h"
#include "runbooks/run.h"
#include "runbooks/settings.h"
#include "exit_status.h"
#include "http.h"
#include "log.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one runbook command's help: what it does, its arguments and options */
typedef struct command_help
{
	const char *name;
	const char *summary;
	const char *synopsis;
	const char *text;
} command_help;

static const command_help commands[] = {
	{"backup", "take a base backup (immediate checkpoint) and check WAL archiving",
		"backup [NAME] [--dry-run [--format json]]",
		"Takes a base backup of the pitr runbook's node (pg_basebackup, immediate checkpoint) into\n"
		"backup_dir, forces a WAL switch and waits until the segment is archived.  With\n"
		"backend = pgbackrest: pgbackrest backup.  Progress goes to stderr and the journal.\n"
		"\n"
		"  --dry-run               check the guards and print the plan; change nothing\n"
		"  --format json           with --dry-run: the plan as one JSON object (docs/runbooks.md)\n"},
	{"list-backups", "list the base backups a pitr runbook can restore from",
		"list-backups [NAME] [--format text|json]",
		"Lists the base backups the pitr runbook can restore from.\n"
		"\n"
		"  --format json           a JSON array, one object per backup, oldest first\n"},
	{"pitr", "restore to a point in time, side by side (new directory and port)",
		"pitr [NAME] (--target-time T | --target-lsn LSN | --before-event ID) [OPTIONS]",
		"Restores the newest base backup that ends before the target, side by side (a new\n"
		"directory and port), replays WAL up to the target and checks check_query.  The\n"
		"source is never touched unless --in-place.  Progress goes to stderr and the journal.\n"
		"\n"
		"  --target-time TIME      'YYYY-MM-DD HH:MM:SS[.ffffff]+00': a UTC offset is required, and\n"
		"                          an impossible date or time (2025-02-29, 24:00:00) is refused, never\n"
		"                          moved to another day\n"
		"  --target-lsn LSN        a WAL position, e.g. 0/3000028 (inclusive)\n"
		"  --before-event ID       just before a destructive event of the extension's journal\n"
		"  --restore-dir DIR       new data directory (default: restore_dir)\n"
		"  --restore-port PORT     port of the restored node (default: restore_port)\n"
		"  --in-place              restore into the stopped source's data_dir (the old one is kept aside)\n"
		"  --dry-run               check the guards and print the plan; change nothing\n"
		"  --format json           with --dry-run: the plan as one JSON object (docs/runbooks.md)\n"},
	{"promote", "promote the most advanced standby when the primary is dead",
		"promote [NAME] [--watch [--watch-for DURATION]] [--last-primary-lsn LSN] [--dry-run]",
		"Promotes the most advanced standby when the primary is dead: probes, fences the old\n"
		"primary (fence_command), promotes, repoints the other standbys.  backend = patroni\n"
		"asks Patroni instead (--candidate, --switchover).\n"
		"\n"
		"  --watch                 keep probing until the primary is dead, then act\n"
		"  --watch-for DURATION    with --watch: give up after DURATION if the primary answers\n"
		"  --last-primary-lsn LSN  the primary's last known flush position (bounds the data loss)\n"
		"  --candidate MEMBER      patroni: the member to promote (default: chosen)\n"
		"  --switchover            patroni: hand over from a live leader\n"
		"  --dry-run               check the guards and print the plan; change nothing\n"
		"  --format json           with --dry-run: the plan as one JSON object (docs/runbooks.md)\n"},
	{"rejoin", "make a fenced old primary a standby of the new one (pg_rewind)",
		"rejoin NODE [NAME] [--dry-run [--format json]]",
		"Makes a fenced old primary NODE a standby of the new primary (pg_rewind on its\n"
		"data_dir.NODE, standby.signal, primary_conninfo).\n"
		"\n"
		"  --dry-run               check the guards and print the plan; change nothing\n"
		"  --format json           with --dry-run: the plan as one JSON object (docs/runbooks.md)\n"},
	{"abandon", "close an interrupted run of NAME (its steps are not undone)",
		"abandon NAME",
		"Closes an interrupted run of the runbook NAME in its journal; its steps are not undone.\n"},
	{"check-config", "validate every [runbook] section",
		"check-config",
		"Validates the configuration and every [runbook] section; each error names file:line.\n"},
	{"trigger", "what a rule with \"runbook = NAME\" starts (auto: run; page-first: propose)",
		"trigger NAME --rule R --node N --subject S",
		"What a rule with \"runbook = NAME\" starts: mode = auto runs the runbook; mode = page-first\n"
		"pages its plan as a proposal to approve.\n"
		"\n"
		"  --rule R, --node N, --subject S   the rule that fired, on which node, for which subject\n"},
	{"approve", "run a pending proposal (it expires after approve_within)",
		"approve ID",
		"Runs a pending proposal (it expires after approve_within).\n"},
	{"reject", "close a pending proposal without running it",
		"reject ID",
		"Closes a pending proposal without running it.\n"},
	{"proposals", "list the pending proposals with their age",
		"proposals [--format text|json]",
		"Lists the pending proposals with their age.\n"
		"\n"
		"  --format json           a JSON array, one object per pending proposal\n"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	fputs("Usage: orguard-agent [-c FILE] runbook COMMAND [NAME] [OPTIONS]\n"
		  "       orguard-agent runbook COMMAND --help\n"
		  "\n"
		  "Commands:\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
		  "NAME is a [runbook NAME] section; it may be left out when only one of the kind exists.\n"
		  "Steps, results and proposals are announced to the configured pagers (not dry runs);\n"
		  "promote and pitr typed by hand run at once in either mode.\n"
		  "\n" ORG_EXIT_STATUS_HELP, f);
}

static const command_help *
find_command(const char *cmd)
{
	for (size_t i = 0; cmd && i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, cmd))
			return &commands[i];
	return NULL;
}

/* "runbook COMMAND --help"; false when COMMAND is not one */
static bool
command_usage(const char *cmd, FILE *f)
{
	const command_help *c = find_command(cmd);

	if (c)
		fprintf(f, "Usage: orguard-agent [-c FILE] runbook %s\n\n%s\n%s", c->synopsis, c->text,
				ORG_EXIT_STATUS_HELP);
	return c != NULL;
}

bool
runbook_cli_help(int argc, char **argv)
{
	const char *cmd = NULL;
	bool		help = false;

	/* argv[0] is "runbook"; the first word that is not an option is the command */
	for (int i = 1; i < argc; i++)
	{
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			help = true;
		else if (!cmd && argv[i][0] != '-')
			cmd = argv[i];
	}
	if (cmd && !strcmp(cmd, "help"))
	{
		help = true;
		cmd = argc > 2 && strcmp(argv[1], "help") == 0 ? argv[2] : NULL;
	}
	if (!help)
		return false;
	if (!cmd || !command_usage(cmd, stdout))
		usage(stdout);
	return true;
}

static bool
load_settings(const agent_cfg *cfg, const char *name, rb_kind kind, rb_settings *s)
{
	char		err[512];
	const runbook_cfg *rb = rb_settings_find(cfg, name, kind, err, sizeof(err));
	config_errors errs = {0};
	bool		ok;

	if (!rb)
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return false;
	}
	ok = rb_settings_load(cfg, rb, s, &errs);
	for (int i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	config_errors_free(&errs);
	if (!ok)
		rb_settings_free(s);
	return ok;
}

static int
list_backups(const rb_settings *s, rb_format fmt)
{
	pitr_backup *b;
	int			n;
	char		err[512];

	if (!rb_backups_load(s->pitr.backup_dir, &b, &n, err, sizeof(err)))
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return RB_EXIT_FAILED;
	}
	if (fmt == RB_FORMAT_JSON)
	{
		char	   *json = rb_backups_json(b, NULL, n);

		printf("%s\n", json);
		free(json);
		rb_backups_free(b, n);
		return RB_EXIT_DONE;
	}
	for (int i = 0; i < n; i++)
	{
		char	   *one = pitr_describe_backups(&b[i], 1);

		printf("%s\n", one);
		free(one);
	}
	if (n == 0)
		printf("no base backups in %s\n", s->pitr.backup_dir);
	rb_backups_free(b, n);
	return RB_EXIT_DONE;
}

/* backend = patroni: Patroni rejoins old leaders itself and watches on its own */
static int
patroni_promote_cli(const rb_settings *s, const char *node, const rb_promote_request *req)
{
	if (node)
	{
		fprintf(stderr, "orguard-agent: rejoin is for the native backend; Patroni rejoins an old leader "
				"itself (postgresql.use_pg_rewind)\n");
		return RB_EXIT_USAGE;
	}
	if (req->watch || req->primary_lsn_known)
	{
		fprintf(stderr, "orguard-agent: --watch and --last-primary-lsn are for the native backend; "
				"Patroni detects a dead leader by itself\n");
		return RB_EXIT_USAGE;
	}
	return rb_promote_patroni(s, req);
}

int
runbook_cli_command(int argc, char **argv, const agent_cfg *cfg)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{"target-time", required_argument, NULL, 'T'},
		{"target-lsn", required_argument, NULL, 'L'},
		{"before-event", required_argument, NULL, 'E'},
		{"restore-dir", required_argument, NULL, 'D'},
		{"restore-port", required_argument, NULL, 'P'},
		{"in-place", no_argument, NULL, 'I'},
		{"watch", no_argument, NULL, 'w'},
		{"last-primary-lsn", required_argument, NULL, 'l'},
		{"watch-for", required_argument, NULL, 'W'},
		{"rule", required_argument, NULL, 'R'},
		{"node", required_argument, NULL, 'N'},
		{"subject", required_argument, NULL, 'S'},
		{"candidate", required_argument, NULL, 'C'},
		{"switchover", no_argument, NULL, 'O'},
		{"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *cmd,
			   *name = NULL,
			   *node = NULL;
	bool		dry_run = false,
				watch = false,
				have_target = false;
	rb_trigger_request treq = {0};
	rb_pitr_request preq = {0};
	rb_promote_request mreq = {0};
	char		err[512];
	int			c,
				rc;
	rb_settings s;
	rb_format	fmt = RB_FORMAT_TEXT;

	if (argc < 2)
	{
		usage(stderr);
		return RB_EXIT_USAGE;
	}
	cmd = argv[1];
	if (runbook_cli_help(argc, argv))
		return RB_EXIT_DONE;
	optind = 0;					/* full re-initialisation of getopt */
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1)
	{
		pitr_target_kind kind = PITR_TARGET_TIME;

		switch (c)
		{
			case 'n':
				dry_run = true;
				break;
			case 'T':
			case 'L':
			case 'E':
				if (have_target)
				{
					fprintf(stderr, "orguard-agent: give one target (--target-time, --target-lsn or --before-event)\n");
					return RB_EXIT_USAGE;
				}
				kind = c == 'T' ? PITR_TARGET_TIME : c == 'L' ? PITR_TARGET_LSN : PITR_TARGET_EVENT;
				if (!pitr_target_parse(kind, optarg, &preq.target, err, sizeof(err)))
				{
					fprintf(stderr, "orguard-agent: %s\n", err);
					return RB_EXIT_USAGE;
				}
				have_target = true;
				break;
			case 'D':
				preq.restore_dir = optarg;
				break;
			case 'P':
				preq.restore_port = atoi(optarg);
				if (preq.restore_port <= 0 || preq.restore_port > 65535)
				{
					fprintf(stderr, "orguard-agent: --restore-port: \"%s\" is not a port\n", optarg);
					return RB_EXIT_USAGE;
				}
				break;
			case 'I':
				preq.in_place = true;
				break;
			case 'w':
				watch = true;
				break;
			case 'l':
				if (!lsn_parse(optarg, &mreq.last_primary_lsn))
				{
					fprintf(stderr, "orguard-agent: --last-primary-lsn: \"%s\" is not an LSN\n", optarg);
					return RB_EXIT_USAGE;
				}
				mreq.primary_lsn_known = true;
				break;
			case 'W':
				/* at most a week: the deadline is computed in milliseconds */
				if (!parse_duration(optarg, &mreq.watch_for_s) || mreq.watch_for_s <= 0 ||
					mreq.watch_for_s > 7 * 86400)
				{
					fprintf(stderr, "orguard-agent: --watch-for: \"%s\" is not a duration "
							"between 1s and 7d\n", optarg);
					return RB_EXIT_USAGE;
				}
				watch = true;
				break;
			case 'R':
				treq.rule = optarg;
				break;
			case 'N':
				treq.node = optarg;
				break;
			case 'S':
				treq.subject = optarg;
				break;
			case 'C':
				mreq.candidate = optarg;
				break;
			case 'O':
				mreq.switchover = true;
				break;
			case 'F':
				if (!rb_format_parse(optarg, &fmt))
				{
					fprintf(stderr, "orguard-agent: --format must be text or json, not \"%s\"\n", optarg);
					return RB_EXIT_USAGE;
				}
				break;
			case 'h':
				if (!command_usage(cmd, stdout))
					usage(stdout);
				return RB_EXIT_DONE;
			default:
				fprintf(stderr, "orguard-agent: see orguard-agent runbook %s%s--help\n",
						find_command(cmd) ? cmd : "", find_command(cmd) ? " " : "");
				return RB_EXIT_USAGE;
		}
	}
	/* JSON is for output that is data: plans, backups, proposals */
	if (fmt == RB_FORMAT_JSON && !(dry_run || !strcmp(cmd, "list-backups") || !strcmp(cmd, "proposals")))
	{
		fprintf(stderr, "orguard-agent: --format json is for --dry-run, list-backups and proposals\n");
		return RB_EXIT_USAGE;
	}
	if (fmt == RB_FORMAT_JSON && watch)
	{
		fprintf(stderr, "orguard-agent: --format json cannot be combined with --watch\n");
		return RB_EXIT_USAGE;
	}
	rb_run_set_format(fmt);
	/* getopt saw argv + 1: its optind counts from the subcommand */
	if (!strcmp(cmd, "rejoin"))
	{
		if (optind >= argc - 1)
		{
			fprintf(stderr, "orguard-agent: rejoin needs the NODE to rejoin\n");
			return RB_EXIT_USAGE;
		}
		node = argv[1 + optind++];
	}
	if (optind < argc - 1)
		name = argv[1 + optind++];
	if (optind < argc - 1)
	{
		fprintf(stderr, "orguard-agent: unexpected argument \"%s\"\n", argv[1 + optind]);
		return RB_EXIT_USAGE;
	}

	if (!strcmp(cmd, "backup") || !strcmp(cmd, "list-backups") || !strcmp(cmd, "pitr"))
	{
		if (!load_settings(cfg, name, RB_KIND_PITR, &s))
			return RB_EXIT_USAGE;
		bool		pgbr = s.pitr.backend == RB_PITR_PGBACKREST;

		if (!strcmp(cmd, "backup"))
			rc = pgbr ? rb_backup_pgbackrest(&s, dry_run) : rb_backup_native(&s, dry_run);
		else if (!strcmp(cmd, "list-backups"))
			rc = pgbr ? rb_list_backups_pgbackrest(&s, fmt) : list_backups(&s, fmt);
		else if (!have_target)
		{
			fprintf(stderr, "orguard-agent: pitr needs --target-time, --target-lsn or --before-event\n");
			rc = RB_EXIT_USAGE;
		}
		else
		{
			preq.dry_run = dry_run;
			rc = pgbr ? rb_pitr_pgbackrest(&s, &preq) : rb_pitr_native(&s, &preq);
		}
		rb_settings_free(&s);
		return rc;
	}
	if (!strcmp(cmd, "promote") || !strcmp(cmd, "rejoin"))
	{
		if (!load_settings(cfg, name, RB_KIND_PROMOTE, &s))
			return RB_EXIT_USAGE;
		mreq.dry_run = dry_run;
		mreq.watch = watch;
		if (s.promote.backend == RB_BACKEND_PATRONI)
			rc = patroni_promote_cli(&s, node, &mreq);
		else if (mreq.candidate || mreq.switchover)
		{
			fprintf(stderr, "orguard-agent: --candidate and --switchover need backend = patroni\n");
			rc = RB_EXIT_USAGE;
		}
		else
			rc = node ? rb_rejoin_native(&s, node, dry_run) : rb_promote_native(&s, &mreq);
		rb_settings_free(&s);
		return rc;
	}
	if (!strcmp(cmd, "trigger"))
	{
		treq.runbook = name;
		return rb_modes_trigger(cfg, &treq);
	}
	if (!strcmp(cmd, "approve"))
		return rb_modes_approve(cfg, name);
	if (!strcmp(cmd, "reject"))
		return rb_modes_reject(cfg, name);
	if (!strcmp(cmd, "proposals"))
		return rb_modes_proposals(cfg, fmt);
	if (!strcmp(cmd, "check-config"))
	{
		config_errors errs = {0};
		bool		ok = rb_settings_check_all(cfg, &errs);

		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		config_errors_free(&errs);
		if (ok)
			printf("%s: %d runbook%s ok\n", cfg->path, cfg->n_runbooks, cfg->n_runbooks == 1 ? "" : "s");
		return ok ? RB_EXIT_DONE : RB_EXIT_USAGE;
	}
	if (!strcmp(cmd, "abandon"))
	{
		const runbook_cfg *rb;
		config_errors errs = {0};

		if (!name)
		{
			fprintf(stderr, "orguard-agent: abandon needs the runbook's NAME\n");
			return RB_EXIT_USAGE;
		}
		for (int i = 0; i < cfg->n_runbooks; i++)
			if (!strcmp(cfg->runbooks[i].name, name))
			{
				rb = &cfg->runbooks[i];
				if (!rb_settings_load(cfg, rb, &s, &errs))
				{
					for (int k = 0; k < errs.n; k++)
						fprintf(stderr, "%s\n", errs.msg[k]);
					config_errors_free(&errs);
					rb_settings_free(&s);
					return RB_EXIT_USAGE;
				}
				rc = rb_run_abandon(&s, err, sizeof(err));
				if (rc != RB_EXIT_DONE)
					fprintf(stderr, "orguard-agent: %s\n", err);
				rb_settings_free(&s);
				return rc;
			}
		fprintf(stderr, "orguard-agent: no [runbook %s] section\n", name);
		return RB_EXIT_USAGE;
	}
	fprintf(stderr, "orguard-agent: unknown runbook command \"%s\"\n", cmd);
	usage(stderr);
	return RB_EXIT_USAGE;
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
