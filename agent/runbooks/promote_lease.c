/*
 * promote_lease.c: the promotion lease's keys, claims and quorum (see
 * promote_lease.h).  Pure: the executor takes the locks and reads and
 * writes the claims.
 */
#include "runbooks/promote_lease.h"
#include "common/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t
promote_lease_key(const char *cluster)
{
	uint32_t	h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *) cluster; p && *p; p++)
	{
		h ^= *p;
		h *= 16777619u;
	}
	return (int32_t) (h & 0x7fffffff);
}

int
promote_lease_quorum(int n_standbys)
{
	return n_standbys / 2 + 1;
}

static bool
eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* bytes other than [A-Za-z0-9._-] as %XX: no space, quote or newline reaches the setting */
static void
encode(strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			*p == '.' || *p == '_' || *p == '-')
			sb_printf(sb, "%c", *p);
		else
			sb_printf(sb, "%%%02X", *p);
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* decodes len bytes of s; NULL when malformed or empty */
static char *
decode(const char *s, size_t len)
{
	char	   *out = xcalloc(len + 1, 1);
	size_t		k = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%')
		{
			int			hi,
						lo;

			if (i + 2 >= len)
				goto bad;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			out[k++] = (char) (hi * 16 + lo);
			i += 2;
		}
		else
			out[k++] = s[i];
	}
	if (k == 0)
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

char *
promote_claim_format(const promote_claim *c)
{
	strbuf		sb;

	sb_init(&sb);
	sb_append(&sb, "v1 run=");
	encode(&sb, c->run);
	sb_append(&sb, " primary=");
	encode(&sb, c->primary);
	sb_printf(&sb, " timeline=%" PRIu32 " candidate=", c->timeline);
	encode(&sb, c->candidate);
	return sb_steal(&sb);
}

/* the value of " key=" in text, decoded; NULL when absent */
static char *
field(const char *text, const char *key)
{
	size_t		kl = strlen(key);

	for (const char *p = text; (p = strchr(p, ' ')) != NULL; p++)
		if (!strncmp(p + 1, key, kl) && p[1 + kl] == '=')
		{
			const char *v = p + 2 + kl;

			return decode(v, strcspn(v, " "));
		}
	return NULL;
}

bool
promote_claim_parse(const char *text, promote_claim *c)
{
	char	   *tl,
			   *end = NULL;
	unsigned long v;

	memset(c, 0, sizeof(*c));
	if (!text || strncmp(text, "v1 ", 3) != 0)
		return false;
	c->run = field(text, "run");
	c->primary = field(text, "primary");
	c->candidate = field(text, "candidate");
	tl = field(text, "timeline");
	v = tl ? strtoul(tl, &end, 10) : 0;
	if (tl && (*end || v == 0 || v > UINT32_MAX))
		v = 0;
	free(tl);
	c->timeline = (uint32_t) v;
	if (!c->run || !c->primary || !c->candidate || c->timeline == 0)
	{
		promote_claim_free(c);
		return false;
	}
	return true;
}

void
promote_claim_free(promote_claim *c)
{
	free(c->run);
	free(c->primary);
	free(c->candidate);
	memset(c, 0, sizeof(*c));
}

const char *
promote_lease_held(const lease_member *m, int n, const char *candidate, char *why, size_t len)
{
	int			held = 0,
				need = promote_lease_quorum(n);
	bool		cand_held = candidate == NULL;
	strbuf		missing;

	sb_init(&missing);
	for (int i = 0; i < n; i++)
	{
		if (m[i].locked)
		{
			held++;
			cand_held = cand_held || eq(m[i].name, candidate);
		}
		else
			sb_printf(&missing, "%s%s", missing.len ? ", " : "", m[i].name);
	}
	if (held >= need && cand_held)
	{
		sb_free(&missing);
		return NULL;
	}
	if (held < need)
		snprintf(why, len, "holds the promotion lock on %d of %d standbys, needs %d: not locked on %s "
				 "(another agent holds it, or the standby does not answer)", held, n, need, missing.data);
	else
		snprintf(why, len, "the promotion lock on the candidate %s is not held (another agent holds it, "
				 "or it does not answer)", candidate);
	sb_free(&missing);
	return "lease";
}

char *
promote_lease_claimed(const lease_member *m, int n, const char *primary, uint32_t timeline_now,
					  const char *run, bool *conflict, char **by)
{
	char	   *cand = NULL;

	*conflict = false;
	*by = NULL;
	for (int i = 0; i < n; i++)
	{
		promote_claim c;

		if (!m[i].claim || !promote_claim_parse(m[i].claim, &c))
			continue;
		/* its own earlier claim (a resumed run), another primary, or a past failover */
		if (eq(c.run, run) || !eq(c.primary, primary) || timeline_now > c.timeline + 1)
		{
			promote_claim_free(&c);
			continue;
		}
		if (!cand)
		{
			cand = xstrdup(c.candidate);
			*by = xstrdup(c.run);
		}
		else if (strcmp(cand, c.candidate) != 0)
			*conflict = true;
		promote_claim_free(&c);
	}
	return cand;
}
