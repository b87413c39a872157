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

/* "default_pool_size=20 max_db_connections=0": the journal's record of saved */
void		pgb_saved_format(const pgb_saved *saved, char *buf, size_t len);
/* finds that record anywhere in text; false when it is not there */
bool		pgb_saved_parse(const char *text, pgb_saved *saved);

#endif
