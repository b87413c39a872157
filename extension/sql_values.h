/*-------------------------------------------------------------------------
 *
 * sql_values.h
 *		Small helpers shared by the set-returning SQL functions: turning the
 *		trackers' C values into column values, and checking arguments.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_SQL_VALUES_H
#define ORG_SQL_VALUES_H

#include "postgres.h"

/* a text column, NULL for NULL or empty strings */
extern Datum org_text_or_null(const char *s, bool *isnull);

/* query texts show to pg_read_all_stats (and superusers) only */
extern bool org_may_read_text(void);

/* a ring cursor argument: errors on a negative value */
extern uint64 org_cursor_arg(int64 cursor);

#endif							/* ORG_SQL_VALUES_H */
