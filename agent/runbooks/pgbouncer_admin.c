/*
 * pgbouncer_admin.c: SHOW CONFIG, SET, RECONNECT, SHOW SERVERS, PAUSE,
 * KILL and RESUME on pgbouncer's admin console (see pgbouncer_admin.h).
 */
#include "runbooks/pgbouncer_admin.h"

#include "runbooks/pgbouncer_pool.h"
#include "runbooks/pgconn.h"
#include "common/util.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one console command; a simple query, never a prepared one */
static bool
console(PGconn *c, const char *cmd, const char *tolerated, char *err, size_t errlen)
{
	PGresult   *res = PQexec(c, cmd);
	ExecStatusType st = PQresultStatus(res);
	bool		ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok && tolerated && strstr(PQerrorMessage(c), tolerated))
		ok = true;
	else if (!ok)
	{
		snprintf(err, errlen, "pgbouncer: %s: %s", cmd, PQerrorMessage(c));
		err[strcspn(err, "\n")] = '\0';
	}
	PQclear(res);
	return ok;
}

static bool
read_config(PGconn *c, pgb_saved *saved, char *err, size_t errlen)
{
	PGresult   *res = PQexec(c, "SHOW CONFIG");
	int			found = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		snprintf(err, errlen, "pgbouncer: SHOW CONFIG: %s", PQerrorMessage(c));
		err[strcspn(err, "\n")] = '\0';
		PQclear(res);
		return false;
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *key = PQgetvalue(res, i, 0);
		const char *val = PQgetvalue(res, i, 1);

		if (!strcmp(key, "default_pool_size"))
		{
			saved->default_pool_size = atoi(val);
			found++;
		}
		else if (!strcmp(key, "max_db_connections"))
		{
			saved->max_db_connections = atoi(val);
			found++;
		}
	}
	PQclear(res);
	if (found != 2)
		snprintf(err, errlen, "pgbouncer: SHOW CONFIG lacks default_pool_size or max_db_connections");
	return found == 2;
}

/* pgbouncer's names are identifiers: refuse anything else rather than quote */
static bool
plain_name(const char *db, char *err, size_t errlen)
{
	if (*db && strspn(db, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == strlen(db))
		return true;
	snprintf(err, errlen, "pgbouncer: database name \"%s\" is not a plain name", db);
	return false;
}

static bool
set_both(PGconn *c, int pool, int maxdb, char *err, size_t errlen)
{
	char		cmd[64];

	snprintf(cmd, sizeof(cmd), "SET default_pool_size = %d", pool);
	if (!console(c, cmd, NULL, err, errlen))
		return false;
	snprintf(cmd, sizeof(cmd), "SET max_db_connections = %d", maxdb);
	return console(c, cmd, NULL, err, errlen);
}

bool
pgb_cap(const char *conninfo, const char *db, int pool_size, double timeout_s, pgb_saved *saved,
		char *err, size_t errlen)
{
	PGconn	   *c;
	char	   *cmd;
	bool		ok;

	if (!plain_name(db, err, errlen))
		return false;
	if (!(c = rb_connect_console(conninfo, timeout_s, err, errlen)))
		return false;
	ok = read_config(c, saved, err, errlen) && set_both(c, pool_size, pool_size, err, errlen);
	if (ok)
	{
		cmd = xasprintf("RECONNECT %s", db);
		ok = console(c, cmd, NULL, err, errlen);
		free(cmd);
	}
	PQfinish(c);
	return ok;
}

bool
pgb_restore(const char *conninfo, const char *db, const pgb_saved *saved, double timeout_s,
			char *err, size_t errlen)
{
	PGconn	   *c;
	char	   *cmd;
	bool		ok;

	if (!plain_name(db, err, errlen))
		return false;
	if (!(c = rb_connect_console(conninfo, timeout_s, err, errlen)))
		return false;
	ok = set_both(c, saved->default_pool_size, saved->max_db_connections, err, errlen);
	/* RESUME even when SET failed: a database left paused by the cap's PAUSE or KILL blocks every client */
	cmd = xasprintf("RESUME %s", db);
	if (ok)
		ok = console(c, cmd, "is not paused", err, errlen);
	else
	{
		char		err2[256];

		console(c, cmd, "is not paused", err2, sizeof(err2));
	}
	free(cmd);
	PQfinish(c);
	return ok;
}

/* one console command on a connection of its own */
static bool
console_once(const char *conninfo, const char *db, const char *verb, const char *tolerated,
			 double timeout_s, char *err, size_t errlen)
{
	PGconn	   *c;
	char	   *cmd;
	bool		ok;

	if (!plain_name(db, err, errlen))
		return false;
	if (!(c = rb_connect_console(conninfo, timeout_s, err, errlen)))
		return false;
	cmd = xasprintf("%s %s", verb, db);
	ok = console(c, cmd, tolerated, err, errlen);
	free(cmd);
	PQfinish(c);
	return ok;
}

/* the server connections of db now, -1 (err) when SHOW SERVERS fails */
static int
servers_now(PGconn *c, const char *db, int cap, char *err, size_t errlen)
{
	PGresult   *res = PQexec(c, "SHOW SERVERS");
	int			n = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		snprintf(err, errlen, "pgbouncer: SHOW SERVERS: %s", PQerrorMessage(c));
		err[strcspn(err, "\n")] = '\0';
	}
	else
	{
		int			ncols = PQnfields(res),
					nrows = PQntuples(res);
		const char **cols = xcalloc((size_t) ncols + 1, sizeof(char *));
		const char **cells = xcalloc((size_t) (ncols * nrows) + 1, sizeof(char *));
		pgb_rows	rows = {ncols, cols, nrows, cells};

		for (int j = 0; j < ncols; j++)
			cols[j] = PQfname(res, j);
		for (int i = 0; i < nrows; i++)
			for (int j = 0; j < ncols; j++)
				cells[i * ncols + j] = PQgetvalue(res, i, j);
		pgb_over_cap(&rows, db, cap, &n);
		if (n < 0)
			snprintf(err, errlen, "pgbouncer: SHOW SERVERS has no database column");
		free(cols);
		free(cells);
	}
	PQclear(res);
	return n;
}

int
pgb_wait_under_cap(const char *conninfo, const char *db, int cap, double timeout_s,
				   double connect_timeout_s, int *count, char *err, size_t errlen)
{
	PGconn	   *c;
	int64_t		deadline = mono_ms() + (int64_t) (timeout_s * 1000);
	int			rc = -1;

	*count = -1;
	if (!plain_name(db, err, errlen))
		return -1;
	if (!(c = rb_connect_console(conninfo, connect_timeout_s, err, errlen)))
		return -1;
	for (;;)
	{
		*count = servers_now(c, db, cap, err, errlen);
		if (*count < 0)
		{
			rc = -1;
			break;
		}
		rc = *count <= cap;
		if (rc || mono_ms() >= deadline)
			break;
		/* pgbouncer closes a released server connection at once: look again soon */
		poll(NULL, 0, 100);
	}
	PQfinish(c);
	return rc;
}

int
pgb_pause(const char *conninfo, const char *db, double timeout_s, double connect_timeout_s,
		  char *err, size_t errlen)
{
	PGconn	   *c;
	char	   *cmd;
	int64_t		deadline = mono_ms() + (int64_t) (timeout_s * 1000);
	int			rc = -1;

	if (errlen)
		*err = '\0';
	if (!plain_name(db, err, errlen))
		return -1;
	if (!(c = rb_connect_console(conninfo, connect_timeout_s, err, errlen)))
		return -1;
	cmd = xasprintf("PAUSE %s", db);
	/* PAUSE blocks its console connection until db's servers are released: never wait unbounded */
	if (!PQsendQuery(c, cmd))
		snprintf(err, errlen, "pgbouncer: %s: %s", cmd, PQerrorMessage(c));
	else
		for (;;)
		{
			int64_t		left = deadline - mono_ms();
			struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};

			if (!PQconsumeInput(c))
			{
				snprintf(err, errlen, "pgbouncer: %s: %s", cmd, PQerrorMessage(c));
				break;
			}
			if (!PQisBusy(c))
			{
				PGresult   *res;

				rc = 1;
				while ((res = PQgetResult(c)) != NULL)
				{
					if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 1)
					{
						snprintf(err, errlen, "pgbouncer: %s: %s", cmd, PQresultErrorMessage(res));
						rc = -1;
					}
					PQclear(res);
				}
				break;
			}
			if (left <= 0)
			{
				snprintf(err, errlen, "pgbouncer: %s did not complete within %.1fs: server connections still busy",
						 cmd, timeout_s);
				rc = 0;
				break;
			}
			poll(&pfd, 1, (int) (left > 1000 ? 1000 : left));
		}
	err[strcspn(err, "\n")] = '\0';
	free(cmd);
	/* a PAUSE left pending stays in force in pgbouncer after this close: KILL, RESUME end it */
	PQfinish(c);
	return rc;
}

bool
pgb_kill(const char *conninfo, const char *db, double timeout_s, char *err, size_t errlen)
{
	return console_once(conninfo, db, "KILL", NULL, timeout_s, err, errlen);
}

bool
pgb_resume(const char *conninfo, const char *db, double timeout_s, char *err, size_t errlen)
{
	return console_once(conninfo, db, "RESUME", "is not paused", timeout_s, err, errlen);
}

void
pgb_saved_format(const pgb_saved *saved, char *buf, size_t len)
{
	snprintf(buf, len, "default_pool_size=%d max_db_connections=%d", saved->default_pool_size,
			 saved->max_db_connections);
}

bool
pgb_saved_parse(const char *text, pgb_saved *saved)
{
	const char *p = text ? strstr(text, "default_pool_size=") : NULL;

	return p && sscanf(p, "default_pool_size=%d max_db_connections=%d", &saved->default_pool_size,
					   &saved->max_db_connections) == 2;
}
