/*
 * regress/workload/main.c: orguard-workload's command line.
 */
#include "workload.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
	fprintf(f,
			"Usage: orguard-workload [OPTIONS] MODE [ARGS]\n"
			"\n"
			"Plays the SQL an Odoo 17 server sends to PostgreSQL (statement shapes,\n"
			"transactions, connections named odoo-<pid>, REPEATABLE READ) against a\n"
			"database loaded with demo/schema.sql (or created by \"schema minimal\").\n"
			"\n"
			"Modes:\n"
			"  day                      a retail day compressed: one POS till per store,\n"
			"                           back-office reads, invoice posting on a no_gap\n"
			"                           journal, the websocket bus, the cron worker\n"
			"  mass-unlink MODEL N      a mistaken ORM mass unlink: search([], limit=N)\n"
			"                           .unlink() of MODEL (e.g. sale.order), 1000-id\n"
			"                           batches in one transaction\n"
			"  mass-write MODEL N       the same with .write({'state': 'cancel'})\n"
			"  cron-job NAME SECONDS    trigger the ir_cron job NAME and run it for about\n"
			"                           SECONDS: the cron cursor holds its row idle in\n"
			"                           transaction, the job cursor commits per batch\n"
			"  housekeeping             the nightly ir.autovacuum job (bus messages,\n"
			"                           transient records)\n"
			"  cron-unlink NAME         delete the scheduled action NAME (ir.cron unlink):\n"
			"                           waits while a worker runs the job\n"
			"  schema minimal           create a tiny fixture with Odoo's table and column\n"
			"                           names (no shop data) for the one-shot modes\n"
			"\n"
			"Options:\n"
			"  -d, --dbname=CONNINFO    libpq connection string or database name\n"
			"                           (default: the PG* environment)\n"
			"      --seed=N             seed of every random choice (default 1)\n"
			"      --stores=N           day: stores, 1 to 10 (default 3)\n"
			"      --seconds=S          day: wall-clock length (default 120)\n"
			"      --hours=H            day: store hours it stands for (default 10);\n"
			"                           paces the hourly cron jobs\n"
			"      --night              day: end with the nightly housekeeping\n"
			"  -h, --help               this help\n"
			"\n"
			"Each finished mode prints one summary line per process; mass-unlink and\n"
			"mass-write print committed_at=EPOCH (the client's clock after COMMIT).\n"
			"Exit status: 0 done, 1 database error, 2 bad usage.\n");
}

static bool
parse_long(const char *s, long lo, long hi, long *out)
{
	char	   *end;
	long		v;

	if (s == NULL || *s == '\0')
		return false;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool
parse_double(const char *s, double lo, double hi, double *out)
{
	char	   *end;
	double		v;

	if (s == NULL || *s == '\0')
		return false;
	v = strtod(s, &end);
	if (*end != '\0' || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

static int
bad(const char *msg, const char *arg)
{
	fprintf(stderr, "orguard-workload: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	fprintf(stderr, "Try \"orguard-workload --help\".\n");
	return 2;
}

/* the Odoo database's name: bus channels and cron_trigger payloads carry it */
static char *
database_name(const char *conninfo)
{
	char	   *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	char	   *name = NULL;

	if (opts)
	{
		for (PQconninfoOption *op = opts; op->keyword; op++)
			if (strcmp(op->keyword, "dbname") == 0 && op->val && *op->val)
				name = strdup(op->val);
		PQconninfoFree(opts);
	}
	else
	{
		/* a bare database name */
		PQfreemem(err);
		name = strdup(conninfo);
	}
	if (name == NULL && getenv("PGDATABASE"))
		name = strdup(getenv("PGDATABASE"));
	if (name == NULL && getenv("PGUSER"))
		name = strdup(getenv("PGUSER"));
	return name;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"seed", required_argument, NULL, 1},
		{"stores", required_argument, NULL, 2},
		{"seconds", required_argument, NULL, 3},
		{"hours", required_argument, NULL, 4},
		{"night", no_argument, NULL, 5},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	workload_opts o = {
		.conninfo = "",
		.seed = 1,
		.stores = 3,
		.seconds = 120,
		.hours = 10,
	};
	const char *mode;
	char	   *dbname;
	long		v;
	int			c,
				rc;

	while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				o.conninfo = optarg;
				break;
			case 1:
				if (!parse_long(optarg, 0, 2147483647L, &v))
					return bad("--seed must be a whole number", optarg);
				o.seed = (uint64_t) v;
				break;
			case 2:
				if (!parse_long(optarg, 1, 10, &v))
					return bad("--stores must be 1 to 10 (the fixture has 10 shops)", optarg);
				o.stores = (int) v;
				break;
			case 3:
				if (!parse_double(optarg, 1, 86400, &o.seconds))
					return bad("--seconds must be 1 to 86400", optarg);
				break;
			case 4:
				if (!parse_double(optarg, 0.1, 24, &o.hours))
					return bad("--hours must be 0.1 to 24", optarg);
				break;
			case 5:
				o.night = true;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				return bad("unknown option", NULL);
		}
	}
	if (optind >= argc)
		return bad("a MODE is required (day, mass-unlink, mass-write, cron-job, housekeeping, cron-unlink, schema)", NULL);
	mode = argv[optind++];
	dbname = database_name(o.conninfo);
	o.dbname = dbname ? dbname : "odoo";
	/* the name goes into SQL literals and JSON: keep it plain */
	if (strspn(o.dbname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(o.dbname))
	{
		rc = bad("the database name must be letters, digits, '_' or '-'", o.dbname);
		free(dbname);
		return rc;
	}

	if (strcmp(mode, "day") == 0 && optind == argc)
		rc = run_day(&o);
	else if ((strcmp(mode, "mass-unlink") == 0 || strcmp(mode, "mass-write") == 0) && argc - optind == 2)
	{
		if (!parse_long(argv[optind + 1], 1, 100000000L, &v))
			rc = bad("N must be a whole number of records, at least 1", argv[optind + 1]);
		else if (mode[5] == 'u')
			rc = run_mass_unlink(&o, argv[optind], v);
		else
			rc = run_mass_write(&o, argv[optind], v);
	}
	else if (strcmp(mode, "cron-job") == 0 && argc - optind == 2)
	{
		double		secs;

		if (!parse_double(argv[optind + 1], 0, 86400, &secs))
			rc = bad("SECONDS must be 0 to 86400", argv[optind + 1]);
		else
			rc = run_cron_job(&o, argv[optind], secs);
	}
	else if (strcmp(mode, "housekeeping") == 0 && optind == argc)
		rc = run_housekeeping(&o);
	else if (strcmp(mode, "schema") == 0 && argc - optind == 1)
		rc = run_schema(&o, argv[optind]);
	else if (strcmp(mode, "cron-unlink") == 0 && argc - optind == 1)
		rc = run_cron_unlink(&o, argv[optind]);
	else
		rc = bad("unknown mode or wrong arguments", mode);
	free(dbname);
	return rc;
}
