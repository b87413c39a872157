/*
 * main.c: orguard-agent's command line, signals and main loop.  It wires
 * the parts together and holds no business logic of its own.
 */
#include "config.h"
#include "log.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
	fputs("Usage: orguard-agent [--config FILE] [COMMAND]\n"
		  "\n"
		  "Watches Odoo PostgreSQL nodes, pages on-call and serves metrics.\n"
		  "\n"
		  "Commands:\n"
		  "  run            run the agent (the default)\n"
		  "  check-config   validate the configuration and explain every error\n"
		  "  once           poll every node once and print what it sees\n"
		  "\n"
		  "Options:\n"
		  "  -c, --config FILE   configuration file (default " ORGUARD_DEFAULT_CONFIG ")\n"
		  "  -f, --format FMT    output of once: table (default) or json\n"
		  "  -h, --help          show this help\n"
		  "  -V, --version       show the version\n", f);
}

static int
check_config(const char *path)
{
	agent_cfg	cfg;
	config_errors errs = {0};
	bool		ok = config_load(path, &cfg, &errs);

	for (int i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	if (ok)
		printf("%s: ok (%d nodes, %d pagers, %d rules, %d runbooks)\n", path, cfg.n_nodes,
			   cfg.n_pagers, cfg.n_rules, cfg.n_runbooks);
	else
		fprintf(stderr, "%s: %d error%s\n", path, errs.n, errs.n == 1 ? "" : "s");
	config_errors_free(&errs);
	config_free(&cfg);
	return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *path = ORGUARD_DEFAULT_CONFIG;
	const char *cmd = "run";
	int			c;

	while ((c = getopt_long(argc, argv, "c:f:hV", opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				path = optarg;
				break;
			case 'f':
				break;
			case 'h':
				usage(stdout);
				return 0;
			case 'V':
				printf("orguard-agent " ORGUARD_VERSION "\n");
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (optind < argc)
	{
		fprintf(stderr, "orguard-agent: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!strcmp(cmd, "check-config"))
		return check_config(path);
	fprintf(stderr, "orguard-agent: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 2;
}
