/*
 * web_auth.c: basic auth users and their password hashes (see web_auth.h).
 */
#include "common/web_auth.h"
#include "common/util.h"

#include <crypt.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a hash of "x", so an unknown user costs as much as a known one */
#define DUMMY_HASH "$5$rounds=5000$orguardorguard$Uyt/lpdj4vJELcsH66mAnKNeMVNCoZmtpdWb/cNokt2"

static bool
known_hash(const char *h)
{
	return !strncmp(h, "$2a$", 4) || !strncmp(h, "$2b$", 4) || !strncmp(h, "$2y$", 4) ||
		!strncmp(h, "$5$", 3);
}

static char *
trim(char *s)
{
	char	   *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char) end[-1]))
		*--end = '\0';
	return s;
}

/* a YAML scalar as Prometheus writes them: bare, 'single' or "double" quoted */
static char *
unquote(char *s)
{
	size_t		len = strlen(s);

	if (len >= 2 && (s[0] == '"' || s[0] == '\'') && s[len - 1] == s[0])
	{
		s[len - 1] = '\0';
		return s + 1;
	}
	return s;
}

static void
add_user(web_users *u, const char *name, const char *hash)
{
	u->name = xrealloc(u->name, sizeof(char *) * (size_t) (u->n + 1));
	u->hash = xrealloc(u->hash, sizeof(char *) * (size_t) (u->n + 1));
	u->name[u->n] = xstrdup(name);
	u->hash[u->n] = xstrdup(hash);
	u->n++;
}

bool
web_users_parse(const char *text, web_users *users, char **err)
{
	char	   *copy = xstrdup(text);
	bool		in_users = false;
	int			line = 0;

	memset(users, 0, sizeof(*users));
	*err = NULL;
	for (char *l = copy, *next; l && !*err; l = next)
	{
		char	   *colon,
				   *name,
				   *hash;
		bool		indented = *l == ' ' || *l == '\t';

		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		line++;
		if (*trim(l) == '\0' || *trim(l) == '#')
			continue;
		if (!indented)
		{
			/* other top-level keys of a web.config.file (tls_server_config, ...) are not ours */
			in_users = !strcmp(trim(l), "basic_auth_users:");
			continue;
		}
		if (!in_users)
			continue;
		colon = strchr(l, ':');
		if (!colon)
		{
			*err = xasprintf("line %d: expected \"user: hash\"", line);
			break;
		}
		*colon = '\0';
		name = unquote(trim(l));
		hash = unquote(trim(colon + 1));
		if (!*name)
			*err = xasprintf("line %d: empty user name", line);
		else if (!known_hash(hash))
			*err = xasprintf("line %d: user \"%s\": expected a bcrypt ($2b$) or SHA-256 crypt ($5$) hash, "
							 "not a plain password", line, name);
		else
		{
			for (int i = 0; i < users->n && !*err; i++)
				if (!strcmp(users->name[i], name))
					*err = xasprintf("line %d: user \"%s\" given twice", line, name);
			if (!*err)
				add_user(users, name, hash);
		}
	}
	free(copy);
	if (!*err && users->n == 0)
		*err = xstrdup("no users under basic_auth_users:");
	if (*err)
	{
		web_users_free(users);
		return false;
	}
	return true;
}

void
web_users_free(web_users *users)
{
	for (int i = 0; i < users->n; i++)
	{
		free(users->name[i]);
		free(users->hash[i]);
	}
	free(users->name);
	free(users->hash);
	memset(users, 0, sizeof(*users));
}

/* compares without stopping at the first difference */
static bool
same(const char *a, const char *b)
{
	size_t		la = strlen(a),
				lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char) (a[i] ^ b[i]);
	return diff == 0;
}

bool
web_auth_check(const web_users *users, const char *user, const char *password)
{
	const char *hash = DUMMY_HASH;
	bool		found = false;
	struct crypt_data *cd;
	const char *out;
	bool		ok;

	if (!user || !password)
		return false;
	for (int i = 0; i < users->n && !found; i++)
		if (!strcmp(users->name[i], user))
		{
			hash = users->hash[i];
			found = true;
		}
	cd = xcalloc(1, sizeof(struct crypt_data));
	out = crypt_r(password, hash, cd);
	/* crypt_r fails with "*0"-style strings, never equal to a real hash */
	ok = found && out && out[0] == '$' && same(out, hash);
	free(cd);
	return ok;
}
