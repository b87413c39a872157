/*
 * pgbouncer_admin.h: the throttle's optional cap on pgbouncer, through its
 * admin console.  The console speaks only the simple query protocol, so
 * every command is a PQexec of plain text without parameters.
 *
 * Capping lowers default_pool_size and max_db_connections (pgbouncer-wide
 * settings) and RECONNECTs the database, so that server connections over
 * the cap are closed as soon as their clients release them; the previous
 * values, read with SHOW CONFIG first, are put back on release, followed
 * by RESUME in case the database was left paused.
 *
 * RECONNECT cannot close a server connection its client keeps busy, so
 * the cap is then enforced harder: PAUSE db (which returns once every
 * server connection of db is released) with a deadline, and past it KILL
 * db from a second console connection, then RESUME db.
 */
#ifndef ORGUARD_RB_PGBOUNCER_ADMIN_H
#define ORGUARD_RB_PGBOUNCER_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pgb_saved
{
	int			default_pool_size;
	int			max_db_connections;
} pgb_saved;

/* reads the current values into saved, sets both to pool_size, RECONNECT db */
bool		pgb_cap(const char *conninfo, const char *db, int pool_size, double timeout_s,
					pgb_saved *saved, char *err, size_t errlen);
/* puts saved back, RESUME db (a database that is not paused is fine) */
bool		pgb_restore(const char *conninfo, const char *db, const pgb_saved *saved, double timeout_s,
						char *err, size_t errlen);

/*
 * polls SHOW SERVERS until db holds at most cap server connections: 1 when
 * it does within timeout_s, 0 when it still does not (*count: how many it
 * holds, -1 unknown), -1 on a console failure
 */
int			pgb_wait_under_cap(const char *conninfo, const char *db, int cap, double timeout_s,
							   double connect_timeout_s, int *count, char *err, size_t errlen);
/*
 * PAUSE db, waiting for it at most timeout_s: 1 when it completed, 0 when
 * the deadline passed (the PAUSE is left pending: KILL ends it), -1 on a
 * console failure
 */
int			pgb_pause(const char *conninfo, const char *db, double timeout_s, double connect_timeout_s,
					  char *err, size_t errlen);
/* KILL db: drops its client and server connections (and ends a pending PAUSE) */
bool		pgb_kill(const char *conninfo, const char *db, double timeout_s, char *err, size_t errlen);
/* RESUME db (a database that is not paused is fine) */
bool		pgb_resume(const char *conninfo, const char *db, double timeout_s, char *err, size_t errlen);

/* "default_pool_size=20 max_db_connections=0": the journal's record of saved */
void		pgb_saved_format(const pgb_saved *saved, char *buf, size_t len);
/* finds that record anywhere in text; false when it is not there */
bool		pgb_saved_parse(const char *text, pgb_saved *saved);

#endif
