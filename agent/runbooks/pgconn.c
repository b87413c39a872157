/*
 * pgconn.c: blocking libpq helpers for the runbooks.  Passwords come from
 * the node's password_file/password_env (never from conninfo) and are
 * handed to libpq as a separate parameter, never logged.
 *
 * Every session on a PostgreSQL node is pinned to search_path = pg_catalog,
 * pg_temp before its first query (pgsession.h): the runbooks often run as
 * a superuser, so a function the database owner planted must never shadow
 * a built-in they call.  pgbouncer's admin console takes no SET, so it has
 * its own connect.
 */
#include "runbooks/pgconn.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libpq's messages span lines ("...\n\tIs the server running..."): keep one */
static void
one_line(char *s)
{
	char	   *w = s;

	for (char *r = s; *r; r++)
	{
		if (*r == '\n' || *r == '\t')
		{
			if (w > s && w[-1] != ' ')
				*w++ = ' ';
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
}

static void
connect_error(PGconn *c, char *err, size_t errlen)
{
	const char *m = c ? PQerrorMessage(c) : "out of memory";
	size_t		n = strlen(m);

	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	snprintf(err, errlen, "%.*s", (int) n, m);
	one_line(err);
}

static PGconn *
connect_plain(const char *conninfo, const char *password, double timeout_s, char *err, size_t errlen)
{
	const char *keys[6];
	const char *vals[6];
	char		tmo[16];
	int			i = 0;
	PGconn	   *c;

	/* libpq counts whole seconds and treats 1 as 2 */
	snprintf(tmo, sizeof(tmo), "%d", timeout_s < 2 ? 2 : (int) (timeout_s + 0.5));
	keys[i] = "dbname";
	vals[i++] = conninfo;
	keys[i] = "connect_timeout";
	vals[i++] = tmo;
	keys[i] = "application_name";
	vals[i++] = "orguard-agent runbook";
	if (password)
	{
		keys[i] = "password";
		vals[i++] = password;
	}
	keys[i] = NULL;
	vals[i] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK)
	{
		connect_error(c, err, errlen);
		PQfinish(c);
		return NULL;
	}
	return c;
}

bool
rb_pin_search_path(PGconn *c, char *err, size_t errlen)
{
	PGresult   *r = PQexec(c, PGSESSION_SEARCH_PATH_SQL);
	bool		ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
	{
		const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);

		snprintf(err, errlen, "cannot set search_path: %.*s", (int) strcspn(m, "\n"), m);
	}
	PQclear(r);
	return ok;
}

PGconn *
rb_connect(const char *conninfo, const char *password, double timeout_s, char *err, size_t errlen)
{
	PGconn	   *c = connect_plain(conninfo, password, timeout_s, err, errlen);

	if (c && !rb_pin_search_path(c, err, errlen))
	{
		PQfinish(c);
		return NULL;
	}
	return c;
}

PGconn *
rb_connect_console(const char *conninfo, double timeout_s, char *err, size_t errlen)
{
	return connect_plain(conninfo, NULL, timeout_s, err, errlen);
}

PGconn *
rb_connect_node(const node_cfg *n, double timeout_s, char *err, size_t errlen)
{
	return rb_connect(n->conninfo, n->password, timeout_s, err, errlen);
}

static void
result_error(PGconn *c, PGresult *r, char *err, size_t errlen)
{
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
	size_t		n = strlen(m);

	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	snprintf(err, errlen, "%.*s", (int) n, m);
	one_line(err);
}

bool
rb_query_value(PGconn *c, const char *sql, char **val, char *err, size_t errlen)
{
	PGresult   *r = PQexec(c, sql);

	*val = NULL;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		result_error(c, r, err, errlen);
		PQclear(r);
		return false;
	}
	if (PQntuples(r) > 0 && PQnfields(r) > 0 && !PQgetisnull(r, 0, 0))
		*val = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return true;
}

bool
rb_exec_sql(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult   *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		result_error(c, r, err, errlen);
		PQclear(r);
		return false;
	}
	PQclear(r);
	return true;
}

bool
rb_query_operator_value(PGconn *c, const char *sql, char **val, char *err, size_t errlen)
{
	char		pin_err[256];
	bool		ok;

	*val = NULL;
	if (!rb_exec_sql(c, "SET search_path = pg_catalog, public", err, errlen))
		return false;
	ok = rb_query_value(c, sql, val, err, errlen);
	/* the session goes on with the pinned path; if that fails, so does the query */
	if (!rb_pin_search_path(c, pin_err, sizeof(pin_err)) && ok)
	{
		snprintf(err, errlen, "%s", pin_err);
		free(*val);
		*val = NULL;
		ok = false;
	}
	return ok;
}

char *
rb_password_env(const node_cfg *n)
{
	return n && n->password ? xasprintf("PGPASSWORD=%s", n->password) : NULL;
}
