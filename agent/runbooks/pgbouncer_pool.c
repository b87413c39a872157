/*
 * pgbouncer_pool.c: counts a database's server connections in SHOW
 * SERVERS (see pgbouncer_pool.h).  Columns are found by name, not by
 * position, because pgbouncer adds columns between versions.
 */
#include "runbooks/pgbouncer_pool.h"

#include <string.h>

static int
column(const pgb_rows *r, const char *name)
{
	for (int i = 0; i < r->ncols; i++)
		if (r->cols[i] && !strcmp(r->cols[i], name))
			return i;
	return -1;
}

int
pgb_servers_of(const pgb_rows *servers, const char *db)
{
	int			col = column(servers, "database");
	int			n = 0;

	if (col < 0 || !db)
		return -1;
	for (int i = 0; i < servers->nrows; i++)
	{
		const char *v = servers->cells[i * servers->ncols + col];

		n += v && !strcmp(v, db);
	}
	return n;
}

bool
pgb_over_cap(const pgb_rows *servers, const char *db, int cap, int *count)
{
	int			n = pgb_servers_of(servers, db);

	if (count)
		*count = n;
	return n < 0 || n > cap;
}
