/*
 * pgsession.h: the first statement of every agent session on a PostgreSQL
 * node, in the collector and in the runbooks.  The Odoo database's owner
 * may create functions and operators in public (replace(varchar, text,
 * text) beats the built-in for an Odoo varchar column) or ALTER DATABASE
 * ... SET search_path; with this path only the built-ins (and the
 * session's own temporary tables) are found without a schema.  The agent's
 * SQL qualifies every name as well, so a failed SET is never the only
 * guard.
 */
#ifndef ORGUARD_PGSESSION_H
#define ORGUARD_PGSESSION_H

#define PGSESSION_SEARCH_PATH_SQL "SET search_path = pg_catalog, pg_temp"

#endif
