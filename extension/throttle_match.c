/*-------------------------------------------------------------------------
 *
 * throttle_match.c
 *	  Throttle rule matching: glob patterns over application_name, role,
 *	  database and Odoo worker class, and the exempt role list.  Pure C.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "throttle_match.h"

bool
org_glob_valid(const char *pattern)
{
	const char *p;

	if (pattern == NULL)
		return false;
	for (p = pattern; *p; p++)
	{
		if (*p == '\\')
		{
			if (p[1] == '\0')
				return false;
			p++;
		}
	}
	return true;
}

/*
 * Classic backtracking glob: on a mismatch after a '*', retry with the star
 * swallowing one more character.  Only the last star needs remembering.
 */
bool
org_glob_match(const char *pattern, const char *text)
{
	const char *p = pattern;
	const char *t = text;
	const char *star_p = NULL;
	const char *star_t = NULL;

	if (pattern == NULL || text == NULL)
		return false;

	while (*t)
	{
		if (*p == '*')
		{
			while (*p == '*')
				p++;
			if (*p == '\0')
				return true;
			star_p = p;
			star_t = t;
			continue;
		}
		if (*p == '?' ||
			(*p == '\\' && p[1] != '\0' && p[1] == *t) ||
			(*p != '\\' && *p != '\0' && *p == *t))
		{
			p += (*p == '\\') ? 2 : 1;
			t++;
			continue;
		}
		if (star_p == NULL)
			return false;
		p = star_p;
		t = ++star_t;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static bool
empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

bool
org_throttle_matches(const OrgThrottleMatch *m, const char *appname,
					 const char *role, const char *database, int worker_class)
{
	if (!empty(m->appname_pattern) &&
		!org_glob_match(m->appname_pattern, appname ? appname : ""))
		return false;
	if (!empty(m->role) && (role == NULL || strcmp(m->role, role) != 0))
		return false;
	if (!empty(m->database) &&
		(database == NULL || strcmp(m->database, database) != 0))
		return false;
	if (m->worker_class != ORG_THROTTLE_ANY_CLASS &&
		m->worker_class != worker_class)
		return false;
	return true;
}

bool
org_throttle_match_too_broad(const OrgThrottleMatch *m)
{
	return empty(m->role) && empty(m->database) &&
		m->worker_class == ORG_THROTTLE_ANY_CLASS;
}

bool
org_has_control_chars(const char *text)
{
	const unsigned char *p;

	if (text == NULL)
		return false;
	for (p = (const unsigned char *) text; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f)
			return true;
	}
	return false;
}

bool
org_name_in_list(const char *list, const char *name)
{
	const char *p = list;

	if (list == NULL || name == NULL || name[0] == '\0')
		return false;

	while (*p)
	{
		const char *start;
		size_t		len;
		bool		quoted = false;
		bool		equal;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '"')
		{
			quoted = true;
			start = ++p;
			while (*p && *p != '"')
				p++;
			len = (size_t) (p - start);
			if (*p == '"')
				p++;
		}
		else
		{
			start = p;
			while (*p && *p != ',')
				p++;
			len = (size_t) (p - start);
			while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
				len--;
		}
		while (*p && *p != ',')
			p++;

		if (strlen(name) != len)
			continue;
		if (quoted)
			equal = (strncmp(start, name, len) == 0);
		else
		{
			size_t		i;

			equal = true;
			for (i = 0; i < len && equal; i++)
				equal = (tolower((unsigned char) start[i]) == (unsigned char) name[i]);
		}
		if (equal)
			return true;
	}
	return false;
}
