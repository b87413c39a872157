/*
 * patroni_plan.c: reading Patroni's /cluster, choosing the member to
 * promote and building the REST requests (jansson; no I/O).
 */
#include "runbooks/patroni_plan.h"
#include "common/util.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

patroni_role
patroni_role_parse(const char *role)
{
	if (!role)
		return PATRONI_ROLE_OTHER;
	/* 3.x /patroni says master, 4.x primary, /cluster leader */
	if (!strcmp(role, "leader") || !strcmp(role, "master") || !strcmp(role, "primary"))
		return PATRONI_ROLE_LEADER;
	if (!strcmp(role, "standby_leader") || !strcmp(role, "standby-leader"))
		return PATRONI_ROLE_STANDBY_LEADER;
	if (!strcmp(role, "sync_standby") || !strcmp(role, "sync-standby"))
		return PATRONI_ROLE_SYNC_STANDBY;
	if (!strcmp(role, "replica"))
		return PATRONI_ROLE_REPLICA;
	return PATRONI_ROLE_OTHER;
}

static char *
str_or_null(json_t *o, const char *key)
{
	json_t	   *v = json_object_get(o, key);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static bool
tag_true(json_t *tags, const char *key)
{
	json_t	   *v = json_object_get(tags, key);

	/* Patroni accepts true and the usual spellings of it */
	if (json_is_true(v))
		return true;
	if (json_is_string(v))
	{
		const char *s = json_string_value(v);

		return !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "1");
	}
	return false;
}

bool
patroni_cluster_parse(const char *json, patroni_cluster *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t	   *root = json_loads(json ? json : "", 0, &je);
	json_t	   *members,
			   *m;
	size_t		i;

	memset(out, 0, sizeof(*out));
	if (!root)
	{
		snprintf(err, errlen, "not JSON: %s (line %d)", je.text, je.line);
		return false;
	}
	members = json_object_get(root, "members");
	if (!json_is_array(members))
	{
		snprintf(err, errlen, "no \"members\" array: not a Patroni /cluster answer");
		json_decref(root);
		return false;
	}
	out->paused = json_is_true(json_object_get(root, "pause"));
	out->m = xcalloc(json_array_size(members) + 1, sizeof(patroni_member));
	json_array_foreach(members, i, m)
	{
		patroni_member *pm = &out->m[out->n];
		json_t	   *v;

		if (!json_is_object(m) || !json_is_string(json_object_get(m, "name")))
			continue;
		pm->name = str_or_null(m, "name");
		pm->role_text = str_or_null(m, "role");
		pm->role = patroni_role_parse(pm->role_text);
		pm->state = str_or_null(m, "state");
		pm->host = str_or_null(m, "host");
		v = json_object_get(m, "port");
		pm->port = json_is_integer(v) ? (int) json_integer_value(v) : 0;
		v = json_object_get(m, "timeline");
		pm->timeline = json_is_integer(v) ? (int) json_integer_value(v) : 0;
		/* "lag" is bytes, or "unknown" when the member does not report a position */
		v = json_object_get(m, "lag");
		if (json_is_integer(v) && json_integer_value(v) >= 0)
		{
			pm->lag_known = true;
			pm->lag = (int64_t) json_integer_value(v);
		}
		pm->nofailover = tag_true(json_object_get(m, "tags"), "nofailover");
		out->n++;
	}
	json_decref(root);
	return true;
}

void
patroni_cluster_free(patroni_cluster *c)
{
	for (int i = 0; i < c->n; i++)
	{
		free(c->m[i].name);
		free(c->m[i].role_text);
		free(c->m[i].state);
		free(c->m[i].host);
	}
	free(c->m);
	memset(c, 0, sizeof(*c));
}

bool
patroni_member_running(const patroni_member *m)
{
	return m->state && (!strcmp(m->state, "running") || !strcmp(m->state, "streaming"));
}

int
patroni_live_leader(const patroni_cluster *c)
{
	for (int i = 0; i < c->n; i++)
		if (c->m[i].role == PATRONI_ROLE_LEADER && patroni_member_running(&c->m[i]))
			return i;
	return -1;
}

int
patroni_member_index(const patroni_cluster *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->m[i].name, name))
			return i;
	return -1;
}

static int
newest_timeline(const patroni_cluster *c)
{
	int			tl = 0;

	for (int i = 0; i < c->n; i++)
		if (patroni_member_running(&c->m[i]) && c->m[i].role != PATRONI_ROLE_LEADER && c->m[i].timeline > tl)
			tl = c->m[i].timeline;
	return tl;
}

/* NULL when m may be promoted, else the unmet guard with why */
static const char *
unfit(const patroni_member *m, const patroni_request *req, int newest_tl, char *why, size_t len)
{
	if (m->role == PATRONI_ROLE_LEADER || m->role == PATRONI_ROLE_STANDBY_LEADER)
	{
		snprintf(why, len, "%s is the %s", m->name, m->role_text ? m->role_text : "leader");
		return "candidate";
	}
	if (m->role != PATRONI_ROLE_REPLICA && m->role != PATRONI_ROLE_SYNC_STANDBY)
	{
		snprintf(why, len, "%s has role %s, not replica", m->name, m->role_text ? m->role_text : "(none)");
		return "candidate";
	}
	if (!patroni_member_running(m))
	{
		snprintf(why, len, "%s is %s, not running", m->name, m->state ? m->state : "in no known state");
		return "candidate";
	}
	if (m->nofailover)
	{
		snprintf(why, len, "%s is tagged nofailover", m->name);
		return "candidate";
	}
	if (req->max_lag_bytes >= 0 && !m->lag_known)
	{
		snprintf(why, len, "%s's lag is unknown (max_lag_bytes %" PRId64 ")", m->name, req->max_lag_bytes);
		return "max_lag_bytes";
	}
	if (req->max_lag_bytes >= 0 && m->lag > req->max_lag_bytes)
	{
		snprintf(why, len, "%s is %" PRId64 " bytes behind, more than max_lag_bytes %" PRId64,
				 m->name, m->lag, req->max_lag_bytes);
		return "max_lag_bytes";
	}
	if (m->timeline && newest_tl && m->timeline < newest_tl)
	{
		snprintf(why, len, "%s is on timeline %d, another replica on %d", m->name, m->timeline, newest_tl);
		return "timeline";
	}
	return NULL;
}

/* a sync standby first, then the least lag, then the name */
static bool
better(const patroni_member *a, const patroni_member *b)
{
	bool		sa = a->role == PATRONI_ROLE_SYNC_STANDBY,
				sb = b->role == PATRONI_ROLE_SYNC_STANDBY;

	if (sa != sb)
		return sa;
	if (a->lag != b->lag)
		return a->lag < b->lag;
	return strcmp(a->name, b->name) < 0;
}

static bool
refuse(patroni_decision *d, const char *guard, const char *fmt,...) __attribute__((format(printf, 3, 4)));

static bool
refuse(patroni_decision *d, const char *guard, const char *fmt,...)
{
	va_list		ap;

	d->action = PATRONI_REFUSE;
	d->candidate = -1;
	d->guard = guard;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	return false;
}

bool
patroni_decide(const patroni_cluster *c, const patroni_request *req, patroni_decision *d)
{
	int			newest_tl = newest_timeline(c);
	char		why[256];
	const char *guard;
	const patroni_member *m;

	memset(d, 0, sizeof(*d));
	d->candidate = -1;
	d->leader = patroni_live_leader(c);
	if (c->n == 0)
		return refuse(d, "candidate", "Patroni reports no members");
	for (int i = 0; i < c->n; i++)
		if (c->m[i].pg == PATRONI_PG_PRIMARY && i != d->leader)
			return refuse(d, "other_primary", "%s answers as a primary (its PostgreSQL is not in recovery) while "
						  "Patroni lists it as %s: a promotion would make two primaries; fix the cluster first",
						  c->m[i].name, c->m[i].role_text ? c->m[i].role_text : "no role");
	if (d->leader >= 0 && !req->switchover)
		return refuse(d, "leader_alive", "%s leads and runs: no failover (a planned hand-over is --switchover)",
					  c->m[d->leader].name);
	if (d->leader < 0 && req->switchover)
		return refuse(d, "no_leader", "no member leads and runs: a switchover needs a healthy leader "
					  "(run without --switchover to fail over)");
	if (c->paused && !req->candidate)
		return refuse(d, "paused", "Patroni is paused (maintenance mode): name the member to promote with --candidate "
					  "or the candidate setting");
	if (req->candidate)
	{
		int			i = patroni_member_index(c, req->candidate);

		if (i < 0)
			return refuse(d, "candidate", "%s is not a member of the Patroni cluster", req->candidate);
		if ((guard = unfit(&c->m[i], req, newest_tl, why, sizeof(why))))
			return refuse(d, guard, "%s", why);
		d->candidate = i;
	}
	else
	{
		strbuf		all;
		const char *first_guard = NULL;

		sb_init(&all);
		for (int i = 0; i < c->n; i++)
		{
			if (c->m[i].role == PATRONI_ROLE_LEADER)
				continue;
			if ((guard = unfit(&c->m[i], req, newest_tl, why, sizeof(why))))
			{
				/* a lag refusal says more than "no candidate" */
				if (!first_guard || strcmp(guard, "candidate"))
					first_guard = guard;
				sb_printf(&all, "%s%s", all.len ? "; " : "", why);
				continue;
			}
			if (d->candidate < 0 || better(&c->m[i], &c->m[d->candidate]))
				d->candidate = i;
		}
		if (d->candidate < 0)
		{
			refuse(d, first_guard ? first_guard : "candidate", "no healthy candidate%s%s",
				   all.len ? ": " : "", all.len ? all.data : "");
			sb_free(&all);
			return false;
		}
		sb_free(&all);
	}
	d->action = d->leader >= 0 ? PATRONI_SWITCHOVER : PATRONI_FAILOVER;
	m = &c->m[d->candidate];
	snprintf(d->reason, sizeof(d->reason), "%s: %s %s, lag %" PRId64 " bytes",
			 req->candidate ? "named" : "chosen", m->role_text ? m->role_text : "replica", m->state, m->lag);
	if (m->timeline)
	{
		size_t		k = strlen(d->reason);

		snprintf(d->reason + k, sizeof(d->reason) - k, ", timeline %d", m->timeline);
	}
	return true;
}

static char *
dump(json_t *o)
{
	char	   *s = json_dumps(o, JSON_COMPACT);
	char	   *r = xstrdup(s ? s : "{}");

	free(s);
	json_decref(o);
	return r;
}

char *
patroni_failover_body(const char *candidate)
{
	json_t	   *o = json_object();

	json_object_set_new(o, "candidate", json_string(candidate));
	return dump(o);
}

char *
patroni_switchover_body(const char *leader, const char *candidate)
{
	json_t	   *o = json_object();

	json_object_set_new(o, "leader", json_string(leader));
	json_object_set_new(o, "candidate", json_string(candidate));
	return dump(o);
}

bool
patroni_promoted(const patroni_cluster *c, const char *candidate)
{
	int			i = patroni_member_index(c, candidate);

	return i >= 0 && c->m[i].role == PATRONI_ROLE_LEADER && patroni_member_running(&c->m[i]);
}

bool
patroni_auth_parse(const char *text, char *user, size_t ulen, char *password, size_t plen)
{
	size_t		n = strcspn(text, "\r\n");
	const char *colon = memchr(text, ':', n);
	size_t		ul;

	if (!colon || colon == text || text[n + strspn(text + n, "\r\n")] != '\0')
		return false;
	ul = (size_t) (colon - text);
	if (ul >= ulen || n - ul - 1 >= plen)
		return false;
	memcpy(user, text, ul);
	user[ul] = '\0';
	memcpy(password, colon + 1, n - ul - 1);
	password[n - ul - 1] = '\0';
	return true;
}

char *
patroni_describe(const patroni_cluster *c)
{
	strbuf		sb;

	sb_init(&sb);
	for (int i = 0; i < c->n; i++)
	{
		const patroni_member *m = &c->m[i];

		sb_printf(&sb, "%s%s %s %s", i ? "; " : "", m->name, m->role_text ? m->role_text : "-",
				  m->state ? m->state : "-");
		if (m->timeline)
			sb_printf(&sb, " tl %d", m->timeline);
		if (m->role != PATRONI_ROLE_LEADER)
		{
			if (m->lag_known)
				sb_printf(&sb, " lag %" PRId64, m->lag);
			else
				sb_append(&sb, " lag unknown");
		}
		if (m->nofailover)
			sb_append(&sb, " nofailover");
	}
	if (c->paused)
		sb_append(&sb, " (paused)");
	return sb_steal(&sb);
}
