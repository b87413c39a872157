/*
 * regress/workload/cursor.c: an Odoo cursor on libpq.
 *
 * Odoo (odoo/sql_db.py 17.0) connects through psycopg2 with
 * application_name "odoo-<pid>" (connection_info_for), runs every cursor at
 * REPEATABLE READ (Cursor.__init__: set_isolation_level(
 * ISOLATION_LEVEL_REPEATABLE_READ), so psycopg2 opens each transaction with
 * "BEGIN ISOLATION LEVEL REPEATABLE READ"), and interpolates parameters on
 * the client: the server receives simple-protocol statements with literals.
 * Every connection of one process shares the process's application_name.
 */
#include "workload.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool
cursor_open(odoo_cursor *cur, const char *conninfo, const char *dbname, const char *label)
{
	char		appname[32];
	const char *keys[4];
	const char *vals[4];
	int			n = 0;

	memset(cur, 0, sizeof(*cur));
	cur->label = label;
	sb_init(&cur->sql);
	snprintf(appname, sizeof(appname), "odoo-%d", (int) getpid());
	keys[n] = "dbname";
	vals[n++] = conninfo;
	keys[n] = "application_name";
	vals[n++] = appname;
	if (dbname != NULL)
	{
		/* a later dbname overrides the one inside the connection string */
		keys[n] = "dbname";
		vals[n++] = dbname;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	cur->conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(cur->conn) != CONNECTION_OK)
	{
		snprintf(cur->error, sizeof(cur->error), "%s", PQerrorMessage(cur->conn));
		fprintf(stderr, "orguard-workload: %s: cannot connect: %s", label, cur->error);
		return false;
	}
	return true;
}

void
cursor_close(odoo_cursor *cur)
{
	if (cur->conn)
		PQfinish(cur->conn);
	cur->conn = NULL;
	sb_free(&cur->sql);
}

static PGresult *
cursor_vexec(odoo_cursor *cur, const char *fmt, va_list ap)
{
	PGresult   *res;
	ExecStatusType st;

	sb_reset(&cur->sql);
	sb_vprintf(&cur->sql, fmt, ap);
	cur->sqlstate[0] = '\0';
	cur->error[0] = '\0';
	res = PQexec(cur->conn, cur->sql.data);
	cur->statements++;
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	snprintf(cur->sqlstate, sizeof(cur->sqlstate), "%s",
			 res && PQresultErrorField(res, PG_DIAG_SQLSTATE) ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "08006");
	snprintf(cur->error, sizeof(cur->error), "%s", PQerrorMessage(cur->conn));
	{
		/* keep the message on one line */
		char	   *nl = strchr(cur->error, '\n');

		if (nl)
			*nl = '\0';
	}
	PQclear(res);
	return NULL;
}

PGresult *
cursor_exec(odoo_cursor *cur, const char *fmt, ...)
{
	va_list		ap;
	PGresult   *res;

	va_start(ap, fmt);
	res = cursor_vexec(cur, fmt, ap);
	va_end(ap);
	return res;
}

bool
cursor_run(odoo_cursor *cur, const char *fmt, ...)
{
	va_list		ap;
	PGresult   *res;

	va_start(ap, fmt);
	res = cursor_vexec(cur, fmt, ap);
	va_end(ap);
	PQclear(res);
	return res != NULL;
}

bool
cursor_begin(odoo_cursor *cur)
{
	return cursor_run(cur, "BEGIN ISOLATION LEVEL REPEATABLE READ");
}

bool
cursor_commit(odoo_cursor *cur)
{
	return cursor_run(cur, "COMMIT");
}

void
cursor_rollback(odoo_cursor *cur)
{
	char		state[6];
	char		error[256];

	/* keep the error that caused the rollback */
	memcpy(state, cur->sqlstate, sizeof(state));
	memcpy(error, cur->error, sizeof(error));
	PQclear(PQexec(cur->conn, "ROLLBACK"));
	memcpy(cur->sqlstate, state, sizeof(state));
	memcpy(cur->error, error, sizeof(error));
}

bool
cursor_concurrency_error(const odoo_cursor *cur)
{
	/* odoo/service/model.py 17.0: PG_CONCURRENCY_ERRORS_TO_RETRY */
	return strcmp(cur->sqlstate, "40001") == 0 ||
		strcmp(cur->sqlstate, "40P01") == 0 ||
		strcmp(cur->sqlstate, "55P03") == 0;
}

bool
odoo_retrying(odoo_cursor *cur, rng *r, double backoff_scale, request_fn fn, void *arg, long *retries)
{
	/* odoo/service/model.py 17.0: MAX_TRIES_ON_CONCURRENCY_FAILURE = 5 */
	for (int tryno = 1; tryno <= 5; tryno++)
	{
		if (cursor_begin(cur) && fn(cur, arg) && cursor_commit(cur))
			return true;
		cursor_rollback(cur);
		if (!cursor_concurrency_error(cur) || tryno == 5)
			break;
		if (retries)
			(*retries)++;
		/* retrying(): time.sleep(random.uniform(0.0, 2 ** tryno)), compressed */
		sleep_s(backoff_scale * (double) rng_between(r, 0, 1000 << tryno) / 1000.0);
	}
	return false;
}

bool
notify_postgres(const char *conninfo, const char *channel, const char *payload)
{
	odoo_cursor pg;
	bool		ok;
	char	   *lit;

	if (!cursor_open(&pg, conninfo, "postgres", "notify"))
	{
		cursor_close(&pg);
		return false;
	}
	lit = PQescapeLiteral(pg.conn, payload, strlen(payload));
	/* bus.py 17.0 _sendmany postcommit / ir_cron.py 17.0 _notifydb:
	 * cr.execute("SELECT pg_notify(%s, %s)", (channel, payload)) on a cursor
	 * of db_connect('postgres'), then the connection is closed */
	ok = lit != NULL && cursor_run(&pg, "SELECT \"pg_notify\"('%s', %s)", channel, lit);
	PQfreemem(lit);
	cursor_close(&pg);
	return ok;
}
