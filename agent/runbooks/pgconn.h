/*
 * pgconn.h: the runbooks' plain blocking libpq access: connect to a
 * configured node (or a conninfo) with a timeout, one-value queries.
 */
#ifndef ORGUARD_RB_PGCONN_H
#define ORGUARD_RB_PGCONN_H

#include "common/config.h"
#include "common/pgsession.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * NULL with err filled when the node does not answer within timeout_s;
 * the session's search_path is pinned (pgsession.h)
 */
PGconn	   *rb_connect(const char *conninfo, const char *password, double timeout_s,
					   char *err, size_t errlen);
PGconn	   *rb_connect_node(const node_cfg *n, double timeout_s, char *err, size_t errlen);
/* pgbouncer's admin console: no session settings (it accepts none) */
PGconn	   *rb_connect_console(const char *conninfo, double timeout_s, char *err, size_t errlen);
/* PGSESSION_SEARCH_PATH_SQL on a connection opened elsewhere */
bool		rb_pin_search_path(PGconn *c, char *err, size_t errlen);
/* first column of the first row (NULL for SQL NULL) in *val, caller frees */
bool		rb_query_value(PGconn *c, const char *sql, char **val, char *err, size_t errlen);
/*
 * rb_query_value for SQL the operator wrote in the configuration (a
 * check_query), which names Odoo's tables without a schema: run with
 * search_path = pg_catalog, public, so built-ins still come first, then
 * pinned again
 */
bool		rb_query_operator_value(PGconn *c, const char *sql, char **val, char *err, size_t errlen);
/* a statement whose result is not needed */
bool		rb_exec_sql(PGconn *c, const char *sql, char *err, size_t errlen);
/* "PGPASSWORD=..." for a child process, or NULL */
char	   *rb_password_env(const node_cfg *n);

#endif
