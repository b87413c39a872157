/*-------------------------------------------------------------------------
 *
 * throttle_match.h
 *	  Which connections a throttle rule is about.  Pure C (libc only, no
 *	  allocation), called from the ClientAuthentication hook and unit tested.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_THROTTLE_MATCH_H
#define ORG_THROTTLE_MATCH_H

#include <stdbool.h>

#define ORG_THROTTLE_ANY_CLASS (-1)

/* the match part of a rule; an empty string or ANY_CLASS matches anything */
typedef struct OrgThrottleMatch
{
	const char *appname_pattern;
	const char *role;
	const char *database;
	int			worker_class;	/* OrgWorkerClass or ORG_THROTTLE_ANY_CLASS */
} OrgThrottleMatch;

/*
 * Glob match of the whole text: '*' matches any run of characters (also
 * none), '?' exactly one byte, '\' makes the next character literal; every
 * other character matches itself (case-sensitive, as application_name is).
 * So "odoo-*" is a prefix match and "odoo-4242" an exact one.  Iterative,
 * O(len(pattern) * len(text)) in the worst case.
 */
extern bool org_glob_match(const char *pattern, const char *text);

/* true when a pattern is well formed (no trailing lone backslash) */
extern bool org_glob_valid(const char *pattern);

/* true when the connection described by the arguments matches the rule */
extern bool org_throttle_matches(const OrgThrottleMatch *m,
								 const char *appname, const char *role,
								 const char *database, int worker_class);

/*
 * True when a rule would match every role without naming a database or a
 * worker class: such a rule is refused.  An application_name pattern does
 * not narrow a rule down by itself, since every client chooses its own
 * application_name ('*' matches them all).
 */
extern bool org_throttle_match_too_broad(const OrgThrottleMatch *m);

/* true when text holds an ASCII control character (below 0x20, or 0x7f) */
extern bool org_has_control_chars(const char *text);

/*
 * True when name is an element of a comma-separated list of role names, as
 * odoo_retail_guard.exempt_roles holds them.  Blanks around elements are
 * ignored; "quoted" elements keep their case and blanks, unquoted ones are
 * compared case-insensitively as SQL identifiers are folded.
 */
extern bool org_name_in_list(const char *list, const char *name);

#endif							/* ORG_THROTTLE_MATCH_H */
