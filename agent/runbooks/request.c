/*
 * request.c: the runbook commands' help and options, and argv -> rb_request
 * (request.h).
 */
#include "runbooks/request.h"
#include "runbooks/rbutil.h"
#include "runbooks/run.h"
#include "common/config.h"
#include "common/exit_status.h"
#include "common/util.h"

#include <getopt.h>
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
		"backup_dir, forces a WAL switch and waits until the segment is archived;\n"
		"backup_max_rate paces it.  With backend = pgbackrest: pgbackrest backup.  Progress\n"
		"goes to stderr and the journal.\n"
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

void
rb_request_usage(FILE *f)
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

bool
rb_request_known(const char *cmd)
{
	return find_command(cmd) != NULL;
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
rb_request_help(int argc, char **argv)
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
		rb_request_usage(stdout);
	return true;
}

int
rb_request_parse(int argc, char **argv, rb_request *req)
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
	const char *cmd;
	char		err[512];
	int			c;

	memset(req, 0, sizeof(*req));
	req->fmt = RB_FORMAT_TEXT;
	if (argc < 2)
	{
		rb_request_usage(stderr);
		return RB_EXIT_USAGE;
	}
	cmd = req->cmd = argv[1];
	if (rb_request_help(argc, argv))
		return RB_EXIT_DONE;
	optind = 0;					/* full re-initialisation of getopt */
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1)
	{
		pitr_target_kind kind = PITR_TARGET_TIME;

		switch (c)
		{
			case 'n':
				req->dry_run = true;
				break;
			case 'T':
			case 'L':
			case 'E':
				if (req->have_target)
				{
					fprintf(stderr, "orguard-agent: give one target (--target-time, --target-lsn or --before-event)\n");
					return RB_EXIT_USAGE;
				}
				kind = c == 'T' ? PITR_TARGET_TIME : c == 'L' ? PITR_TARGET_LSN : PITR_TARGET_EVENT;
				if (!pitr_target_parse(kind, optarg, &req->pitr.target, err, sizeof(err)))
				{
					fprintf(stderr, "orguard-agent: %s\n", err);
					return RB_EXIT_USAGE;
				}
				req->have_target = true;
				break;
			case 'D':
				req->pitr.restore_dir = optarg;
				break;
			case 'P':
				req->pitr.restore_port = atoi(optarg);
				if (req->pitr.restore_port <= 0 || req->pitr.restore_port > 65535)
				{
					fprintf(stderr, "orguard-agent: --restore-port: \"%s\" is not a port\n", optarg);
					return RB_EXIT_USAGE;
				}
				break;
			case 'I':
				req->pitr.in_place = true;
				break;
			case 'w':
				req->watch = true;
				break;
			case 'l':
				if (!rb_lsn_parse(optarg, &req->promote.last_primary_lsn))
				{
					fprintf(stderr, "orguard-agent: --last-primary-lsn: \"%s\" is not an LSN\n", optarg);
					return RB_EXIT_USAGE;
				}
				req->promote.primary_lsn_known = true;
				break;
			case 'W':
				/* at most a week: the deadline is computed in milliseconds */
				if (!parse_duration(optarg, &req->promote.watch_for_s) || req->promote.watch_for_s <= 0 ||
					req->promote.watch_for_s > 7 * 86400)
				{
					fprintf(stderr, "orguard-agent: --watch-for: \"%s\" is not a duration "
							"between 1s and 7d\n", optarg);
					return RB_EXIT_USAGE;
				}
				req->watch = true;
				break;
			case 'R':
				req->trigger.rule = optarg;
				break;
			case 'N':
				req->trigger.node = optarg;
				break;
			case 'S':
				req->trigger.subject = optarg;
				break;
			case 'C':
				req->promote.candidate = optarg;
				break;
			case 'O':
				req->promote.switchover = true;
				break;
			case 'F':
				if (!rb_format_parse(optarg, &req->fmt))
				{
					fprintf(stderr, "orguard-agent: --format must be text or json, not \"%s\"\n", optarg);
					return RB_EXIT_USAGE;
				}
				break;
			case 'h':
				if (!command_usage(cmd, stdout))
					rb_request_usage(stdout);
				return RB_EXIT_DONE;
			default:
				fprintf(stderr, "orguard-agent: see orguard-agent runbook %s%s--help\n",
						find_command(cmd) ? cmd : "", find_command(cmd) ? " " : "");
				return RB_EXIT_USAGE;
		}
	}
	/* JSON is for output that is data: plans, backups, proposals */
	if (req->fmt == RB_FORMAT_JSON && !(req->dry_run || !strcmp(cmd, "list-backups") || !strcmp(cmd, "proposals")))
	{
		fprintf(stderr, "orguard-agent: --format json is for --dry-run, list-backups and proposals\n");
		return RB_EXIT_USAGE;
	}
	if (req->fmt == RB_FORMAT_JSON && req->watch)
	{
		fprintf(stderr, "orguard-agent: --format json cannot be combined with --watch\n");
		return RB_EXIT_USAGE;
	}
	/* getopt saw argv + 1: its optind counts from the subcommand */
	if (!strcmp(cmd, "rejoin"))
	{
		if (optind >= argc - 1)
		{
			fprintf(stderr, "orguard-agent: rejoin needs the NODE to rejoin\n");
			return RB_EXIT_USAGE;
		}
		req->node = argv[1 + optind++];
	}
	if (optind < argc - 1)
		req->name = argv[1 + optind++];
	if (optind < argc - 1)
	{
		fprintf(stderr, "orguard-agent: unexpected argument \"%s\"\n", argv[1 + optind]);
		return RB_EXIT_USAGE;
	}
	return RB_REQUEST_OK;
}
