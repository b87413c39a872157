/*
 * pgbouncer_admin.c: SHOW CONFIG, SET, RECONNECT and RESUME on pgbouncer's
 * admin console (see pgbouncer_admin.h).
 */
#include "runbooks/pgbouncer_admin.h"

#include "runbooks/pgconn.h"
#include "util.h"

#include <libpq-fe.h>
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
	if (!(c = rb_connect(conninfo, NULL, timeout_s, err, errlen)))
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
	if (!(c = rb_connect(conninfo, NULL, timeout_s, err, errlen)))
		return false;
	ok = set_both(c, saved->default_pool_size, saved->max_db_connections, err, errlen);
	if (ok)
	{
		cmd = xasprintf("RESUME %s", db);
		ok = console(c, cmd, "is not paused", err, errlen);
		free(cmd);
	}
	PQfinish(c);
	return ok;
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
