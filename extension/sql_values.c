/*-------------------------------------------------------------------------
 *
 * sql_values.c
 *		Helpers shared by the set-returning SQL functions (sql_values.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "sql_values.h"

Datum
org_text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL || s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

bool
org_may_read_text(void)
{
	return has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

uint64
org_cursor_arg(int64 cursor)
{
	if (cursor < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cursor must not be negative"),
				 errhint("Pass 0 to read every entry still in the ring.")));
	return (uint64) cursor;
}
