/*
 * ini.c: the INI dialect of agent.conf.  "[section name]" headers,
 * "key = value" entries, full-line comments with '#' or ';', blank lines.
 * Values may be double-quoted to keep leading/trailing blanks or '#'.
 * Inline comments start with " #" or " ;" outside quotes.
 */
#include "ini.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char *
trim(char *s)
{
	char	   *e;

	while (*s && isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

/* strips an inline comment and quotes; returns NULL on a bad quote */
static char *
clean_value(char *v)
{
	v = trim(v);
	if (*v == '"')
	{
		char	   *end = strrchr(v + 1, '"');
		char	   *rest;

		if (!end)
			return NULL;
		rest = trim(end + 1);
		if (*rest && *rest != '#' && *rest != ';')
			return NULL;
		*end = '\0';
		return v + 1;
	}
	for (char *p = v; *p; p++)
		if ((*p == '#' || *p == ';') && p > v && isspace((unsigned char) p[-1]))
		{
			*p = '\0';
			break;
		}
	return trim(v);
}

int
ini_parse_string(const char *text, ini_handler handler, void *ctx)
{
	char	   *copy = xstrdup(text);
	char	   *save = NULL;
	char	   *section = xstrdup("");
	int			lineno = 0;
	int			rc = 0;
	char	   *p = copy;

	while (p && rc == 0)
	{
		char	   *nl = strchr(p, '\n');
		char	   *line;

		if (nl)
			*nl = '\0';
		lineno++;
		line = trim(p);
		p = nl ? nl + 1 : NULL;
		(void) save;

		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[')
		{
			char	   *end = strchr(line, ']');

			if (!end || *trim(end + 1) != '\0')
			{
				rc = handler(ctx, lineno, "!", NULL, "malformed section header, expected [name]");
				continue;
			}
			*end = '\0';
			free(section);
			section = xstrdup(trim(line + 1));
			if (*section == '\0')
				rc = handler(ctx, lineno, "!", NULL, "empty section name");
			else
				rc = handler(ctx, lineno, section, NULL, NULL);
			continue;
		}
		{
			char	   *eq = strchr(line, '=');
			char	   *key,
					   *value;

			if (!eq)
			{
				rc = handler(ctx, lineno, "!", NULL, "expected key = value");
				continue;
			}
			*eq = '\0';
			key = trim(line);
			value = clean_value(eq + 1);
			if (*key == '\0')
				rc = handler(ctx, lineno, "!", NULL, "missing key before '='");
			else if (!value)
				rc = handler(ctx, lineno, "!", NULL, "unbalanced quotes in value");
			else if (*section == '\0')
				rc = handler(ctx, lineno, "!", NULL, "key outside of any section");
			else
				rc = handler(ctx, lineno, section, key, value);
		}
	}
	free(section);
	free(copy);
	return rc;
}
