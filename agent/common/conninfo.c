/*
 * conninfo.c: refuses passwords inside connection strings.  libpq parses
 * the string exactly as it will when connecting, so a password given as
 * password=..., in a URI's user:password@ part, as ?password= or with a
 * percent-encoded key is found alike.  libpq's own parse errors are not
 * repeated: they quote the string, which may hold the secret.
 */
#include "common/conninfo.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <string.h>

/* what libpq expands (expand_dbname): a URI or anything with '=' */
static bool
is_connection_string(const char *s)
{
	return !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11) || strchr(s, '=');
}

/*
 * true when s holds a password; *bad when it does not parse.  A dbname
 * that is itself a connection string is looked into once: its secret
 * would travel as the database name (an odd name that does not parse is
 * only a name).
 */
static bool
has_password(const char *s, bool nested, bool *bad)
{
	char	   *errmsg = NULL;
	PQconninfoOption *opts;
	bool		found = false;
	bool		nested_bad = false;

	if (!is_connection_string(s))
		return false;
	opts = PQconninfoParse(s, &errmsg);
	if (!opts)
	{
		PQfreemem(errmsg);
		*bad = true;
		return false;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (!o->val)
			continue;
		if (!strcmp(o->keyword, "password"))
			found = true;
		else if (!strcmp(o->keyword, "dbname") && !nested && has_password(o->val, true, &nested_bad))
			found = true;
	}
	PQconninfoFree(opts);
	return found;
}

const char *
conninfo_password_problem(const char *conninfo)
{
	bool		bad = false;

	if (has_password(conninfo, false, &bad))
		return "must not contain a password; use password_file, password_env or ~/.pgpass";
	if (bad)
		return "not a libpq connection string (key=value pairs or a postgresql:// URI)";
	return NULL;
}
