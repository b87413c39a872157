/*
 * pgbouncer_pool.h: is pgbouncer's pool of one database over the cap?
 * Pure: it reads the rows of SHOW SERVERS (one row per server connection)
 * as the admin console returns them, so the decision is unit-tested
 * without a pgbouncer.
 */
#ifndef ORGUARD_RB_PGBOUNCER_POOL_H
#define ORGUARD_RB_PGBOUNCER_POOL_H

#include <stdbool.h>

/* a result of the admin console: column names, then row-major cells */
typedef struct pgb_rows
{
	int			ncols;
	const char *const *cols;
	int			nrows;
	const char *const *cells;	/* nrows * ncols values */
} pgb_rows;

/* the server connections of db in SHOW SERVERS' rows; -1 without a "database" column */
int			pgb_servers_of(const pgb_rows *servers, const char *db);

/*
 * true when db holds more than cap server connections; *count gets the
 * number (-1 when the rows cannot be read, which is never "under the cap")
 */
bool		pgb_over_cap(const pgb_rows *servers, const char *db, int cap, int *count);

#endif
