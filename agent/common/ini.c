/*
 * ini.c: the INI dialect of agent.conf.  "[section name]" headers,
 * "key = value" entries, comment lines and blank lines.
 *
 * One comment rule for every key: a comment is a whole line whose first
 * non-blank character is '#' or ';'.  A value is everything after the
 * first '=' to the end of the line, blanks around it removed; there are no
 * inline comments.  Double quotes around a whole value are removed (they
 * keep leading or trailing blanks).
 *
 * A value typed with an inline comment would silently change meaning, so
 * an unquoted value holding " #" or " ;" is an error, except in a command
 * (a key ending in "_command"): a command is handed to the shell exactly
 * as written, quotes, ';' and all, and its shell quotes must balance.
 */
#include "common/ini.h"
#include "common/util.h"

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

bool
ini_is_command_key(const char *key)
{
	size_t		n = strlen(key);

	return n >= 8 && strcmp(key + n - 8, "_command") == 0;
}

const char *
ini_shell_quote_problem(const char *v)
{
	char		open = 0;

	for (const char *p = v; *p; p++)
	{
		if (open == '\'')
		{
			if (*p == '\'')
				open = 0;
		}
		else if (*p == '\\')
		{
			if (!p[1])
				return "ends with a lone backslash";
			p++;
		}
		else if (open == '"')
		{
			if (*p == '"')
				open = 0;
		}
		else if (*p == '\'' || *p == '"')
			open = *p;
	}
	if (open == '\'')
		return "unbalanced single quote (the shell would fail or run something else)";
	if (open == '"')
		return "unbalanced double quote (the shell would fail or run something else)";
	return NULL;
}

/* " #" or " ;": what an inline comment looks like */
static bool
looks_like_inline_comment(const char *v)
{
	if (!*v)
		return false;			/* an empty value: "key =" */
	for (const char *p = v + 1; *p; p++)
		if ((*p == '#' || *p == ';') && isspace((unsigned char) p[-1]))
			return true;
	return false;
}

/*
 * The value of key; NULL with *why set when it is refused.  v is trimmed
 * and may be changed in place.
 */
static char *
clean_value(const char *key, char *v, const char **why)
{
	size_t		n;

	v = trim(v);
	n = strlen(v);
	if (ini_is_command_key(key))
	{
		*why = ini_shell_quote_problem(v);
		return *why ? NULL : v;
	}
	if (*v == '"')
	{
		if (n < 2 || v[n - 1] != '"' || memchr(v + 1, '"', n - 2))
		{
			*why = "unbalanced quotes in value: a quoted value is one \"...\" and nothing after it "
				"(comments go on their own line)";
			return NULL;
		}
		v[n - 1] = '\0';
		return v + 1;
	}
	if (looks_like_inline_comment(v))
	{
		*why = "'#' or ';' after a blank: comments go on their own line (values are taken whole); "
			"quote the value if the character belongs to it";
		return NULL;
	}
	return v;
}

int
ini_parse_string(const char *text, ini_handler handler, void *ctx)
{
	char	   *copy = xstrdup(text);
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

		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[')
		{
			char	   *end = strchr(line, ']');

			if (!end || *trim(end + 1) != '\0')
			{
				rc = handler(ctx, lineno, "!", NULL, "malformed section header, expected [name] "
							 "(comments go on their own line)");
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
			const char *why = NULL;

			if (!eq)
			{
				rc = handler(ctx, lineno, "!", NULL, "expected key = value");
				continue;
			}
			*eq = '\0';
			key = trim(line);
			if (*key == '\0')
			{
				rc = handler(ctx, lineno, "!", NULL, "missing key before '='");
				continue;
			}
			value = clean_value(key, eq + 1, &why);
			if (!value)
			{
				char	   *msg = xasprintf("%s: %s", key, why);

				rc = handler(ctx, lineno, "!", NULL, msg);
				free(msg);
			}
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
