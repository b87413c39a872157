/*
 * web_auth.h: HTTP basic auth for the agent's listener.  The users file is
 * the basic_auth_users part of a Prometheus web.config.file:
 *
 *     basic_auth_users:
 *       oncall: $2b$12$...
 *
 * with bcrypt ($2a$, $2b$, $2y$) or SHA-256 crypt ($5$) hashes, checked
 * with crypt(3) (libxcrypt).  Plain-text passwords are refused.  Pure: the
 * caller reads the file.
 */
#ifndef ORGUARD_WEB_AUTH_H
#define ORGUARD_WEB_AUTH_H

#include <stdbool.h>

typedef struct web_users
{
	char	  **name;
	char	  **hash;
	int			n;
} web_users;

/*
 * Parses the file's text into users; false with *err (malloc'd, naming the
 * line) on anything it does not understand, users then left empty.
 */
bool		web_users_parse(const char *text, web_users *users, char **err);
void		web_users_free(web_users *users);

/* the user exists and the password matches its hash */
bool		web_auth_check(const web_users *users, const char *user, const char *password);

#endif
