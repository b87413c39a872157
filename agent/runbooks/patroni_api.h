/*
 * patroni_api.h: Patroni's REST API for the runbooks (libcurl): GET and
 * POST against a list of member URLs tried in order, bounded in time,
 * with basic auth from patroni_auth_file for the requests that change
 * something.
 */
#ifndef ORGUARD_RB_PATRONI_API_H
#define ORGUARD_RB_PATRONI_API_H

#include "runbooks/settings.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct patroni_api
{
	char	  **urls;			/* borrowed from the settings */
	int			n_urls;
	bool		auth;
	char		user[128];
	char		password[256];
	double		timeout_s;
} patroni_api;

typedef struct patroni_reply
{
	long		status;			/* 0: no HTTP answer */
	char	   *body;			/* the whole answer (NUL-terminated), or NULL */
	const char *url;			/* the member that answered (or was tried last) */
	char		error[512];		/* why no member answered */
} patroni_reply;

/* reads the auth file; false with err filled when it is unreadable or malformed */
bool		patroni_api_init(patroni_api *a, const rb_patroni_settings *pt, char *err, size_t errlen);
void		patroni_api_clear(patroni_api *a);

/*
 * GET path from the first member that answers 200.  False when none does;
 * r->error then lists every member's failure.
 */
bool		patroni_api_get(const patroni_api *a, const char *path, patroni_reply *r);

/*
 * POST a JSON body to the first member that can be reached, waiting up to
 * timeout_s for the answer (Patroni answers /failover only once it has
 * acted).  A member that cannot be connected to is skipped; once a request
 * has been sent it is never sent again to another member.  True when an
 * HTTP answer arrived (any status).
 */
bool		patroni_api_post(const patroni_api *a, const char *path, const char *body, double timeout_s,
							 patroni_reply *r);

void		patroni_reply_free(patroni_reply *r);

#endif
