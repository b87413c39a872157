/*-------------------------------------------------------------------------
 *
 * odoo_cron.c
 *	  Odoo's scheduler as PostgreSQL sees it: cron cursor statements, the
 *	  backends that run a job, and Odoo's own garbage-collection deletes.
 *
 * Pure C (libc only, no allocation).  Statements are read with a small
 * tokenizer that skips whitespace and comments, strips identifier quotes
 * and treats every literal as one constant token, so raw text from
 * pg_stat_activity and normalized text ($n) classify alike.
 *
 *-------------------------------------------------------------------------
 */
#include "odoo_cron.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

typedef enum TokKind
{
	TOK_END = 0,
	TOK_WORD,					/* keyword or unquoted identifier */
	TOK_QWORD,					/* "quoted identifier", quotes stripped */
	TOK_NUMBER,
	TOK_CONST,					/* string, $n, $$...$$ */
	TOK_PUNCT
} TokKind;

typedef struct Tok
{
	TokKind		kind;
	const char *s;
	size_t		len;
} Tok;

static bool
is_ident_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* skip a '...' literal starting at p (on the quote); backslashes for E'' */
static const char *
skip_string(const char *p, bool backslash)
{
	p++;
	while (*p)
	{
		if (*p == '\'')
		{
			if (p[1] == '\'')
			{
				p += 2;
				continue;
			}
			return p + 1;
		}
		if (backslash && *p == '\\' && p[1] != '\0')
			p += 2;
		else
			p++;
	}
	return p;
}

/* p is on '$': the end of a $$...$$ or $tag$...$tag$ literal, or NULL */
static const char *
skip_dollar_quote(const char *p)
{
	const char *q = p + 1;
	size_t		taglen;

	while (*q && (isalnum((unsigned char) *q) || *q == '_'))
		q++;
	if (*q != '$')
		return NULL;
	taglen = (size_t) (q - p) + 1;
	q++;
	while (*q)
	{
		if (*q == '$' && strncmp(q, p, taglen) == 0)
			return q + taglen;
		q++;
	}
	return q;
}

static const char *
next_token(const char *p, Tok *t)
{
	unsigned char c;
	const char *q;

	for (;;)
	{
		while (*p && isspace((unsigned char) *p))
			p++;
		if (p[0] == '-' && p[1] == '-')
		{
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (p[0] == '/' && p[1] == '*')
		{
			int			depth = 1;

			p += 2;
			while (*p && depth > 0)
			{
				if (p[0] == '/' && p[1] == '*')
				{
					depth++;
					p += 2;
				}
				else if (p[0] == '*' && p[1] == '/')
				{
					depth--;
					p += 2;
				}
				else
					p++;
			}
			continue;
		}
		break;
	}

	t->s = p;
	t->len = 0;
	c = (unsigned char) *p;
	if (c == '\0')
	{
		t->kind = TOK_END;
		return p;
	}
	if (isalpha(c) || c == '_' || c >= 0x80)
	{
		q = p;
		while (*q && is_ident_char((unsigned char) *q))
			q++;
		/* E'...', B'...', X'...', N'...' are literals */
		if (q - p == 1 && *q == '\'' && strchr("eEbBxXnN", c) != NULL)
		{
			t->kind = TOK_CONST;
			q = skip_string(q, c == 'e' || c == 'E');
			t->len = (size_t) (q - p);
			return q;
		}
		t->kind = TOK_WORD;
		t->len = (size_t) (q - p);
		return q;
	}
	if (c == '"')
	{
		q = p + 1;
		while (*q)
		{
			if (*q == '"')
			{
				if (q[1] != '"')
					break;
				q += 2;
			}
			else
				q++;
		}
		t->kind = TOK_QWORD;
		t->s = p + 1;
		t->len = (size_t) (q - (p + 1));
		return *q ? q + 1 : q;
	}
	if (isdigit(c) || (c == '.' && isdigit((unsigned char) p[1])))
	{
		q = p;
		while (isdigit((unsigned char) *q))
			q++;
		if (*q == '.')
		{
			q++;
			while (isdigit((unsigned char) *q))
				q++;
		}
		if ((*q == 'e' || *q == 'E') &&
			(isdigit((unsigned char) q[1]) ||
			 ((q[1] == '+' || q[1] == '-') && isdigit((unsigned char) q[2]))))
		{
			q += 2;
			while (isdigit((unsigned char) *q))
				q++;
		}
		t->kind = TOK_NUMBER;
		t->len = (size_t) (q - p);
		return q;
	}
	if (c == '\'')
	{
		q = skip_string(p, false);
		t->kind = TOK_CONST;
		t->len = (size_t) (q - p);
		return q;
	}
	if (c == '$')
	{
		if (isdigit((unsigned char) p[1]))
		{
			q = p + 1;
			while (isdigit((unsigned char) *q))
				q++;
			t->kind = TOK_CONST;
			t->len = (size_t) (q - p);
			return q;
		}
		q = skip_dollar_quote(p);
		if (q != NULL)
		{
			t->kind = TOK_CONST;
			t->len = (size_t) (q - p);
			return q;
		}
	}
	t->kind = TOK_PUNCT;
	t->len = 1;
	return p + 1;
}

/* an identifier (quoted or not) equal to word, case-insensitive */
static bool
tok_is_word(const Tok *t, const char *word)
{
	return (t->kind == TOK_WORD || t->kind == TOK_QWORD) &&
		t->len == strlen(word) && strncasecmp(t->s, word, t->len) == 0;
}

/* a keyword: unquoted */
static bool
tok_is_kw(const Tok *t, const char *kw)
{
	return t->kind == TOK_WORD && tok_is_word(t, kw);
}

static bool
tok_is_punct(const Tok *t, char c)
{
	return t->kind == TOK_PUNCT && t->s[0] == c;
}

static bool
tok_is_const(const Tok *t)
{
	return t->kind == TOK_CONST || t->kind == TOK_NUMBER;
}

/* a plain non-negative integer literal that fits; false otherwise */
static bool
tok_int64(const Tok *t, int64_t *out)
{
	int64_t		v = 0;
	size_t		i;

	if (t->kind != TOK_NUMBER || t->len == 0 || t->len > 18)
		return false;
	for (i = 0; i < t->len; i++)
	{
		if (!isdigit((unsigned char) t->s[i]))
			return false;
		v = v * 10 + (t->s[i] - '0');
	}
	*out = v;
	return true;
}

/* ---- job ids named by a statement ---- */

typedef struct JobIds
{
	int64_t		id;
	bool		seen;
	bool		conflict;
} JobIds;

static void
job_ids_add(JobIds *j, int64_t id)
{
	if (j->seen && j->id != id)
		j->conflict = true;
	j->id = id;
	j->seen = true;
}

static int64_t
job_ids_result(const JobIds *j)
{
	return (j->seen && !j->conflict) ? j->id : 0;
}

/* the last tokens seen, newest at [0] */
#define WINDOW 8

static void
window_push(Tok *w, const Tok *t)
{
	memmove(&w[1], &w[0], sizeof(Tok) * (WINDOW - 1));
	w[0] = *t;
}

/*
 * Look at the newest token of the window for the ways Odoo names the job:
 * id = N, cron_id = N (17.0, 18.0), id IN (N) (before 17.0, a tuple of one).
 * A list of several ids names no single job.
 */
static void
collect_job_id(const Tok *w, JobIds *ids, bool want_cron_id_only)
{
	int64_t		v;

	if (tok_int64(&w[0], &v) && tok_is_punct(&w[1], '=') &&
		(tok_is_word(&w[2], "cron_id") ||
		 (!want_cron_id_only && tok_is_word(&w[2], "id"))))
		job_ids_add(ids, v);
	if (want_cron_id_only)
		return;
	/* id IN ( N ) */
	if (tok_is_punct(&w[0], ')') && tok_int64(&w[1], &v) &&
		tok_is_punct(&w[2], '(') && tok_is_kw(&w[3], "in") &&
		tok_is_word(&w[4], "id"))
		job_ids_add(ids, v);
	/* id IN ( N , ...: several jobs */
	if (tok_is_punct(&w[0], ',') && tok_is_const(&w[1]) &&
		tok_is_punct(&w[2], '(') && tok_is_kw(&w[3], "in") &&
		tok_is_word(&w[4], "id"))
		ids->conflict = true;
}

/* after FROM / INTO / UPDATE / DELETE FROM: [schema .] table */
static const char *
read_table_name(const char *p, Tok *name)
{
	Tok			t;
	const char *q;

	p = next_token(p, name);
	if (name->kind != TOK_WORD && name->kind != TOK_QWORD)
	{
		name->kind = TOK_END;
		return p;
	}
	q = next_token(p, &t);
	if (tok_is_punct(&t, '.'))
	{
		p = next_token(q, name);
		if (name->kind != TOK_WORD && name->kind != TOK_QWORD)
			name->kind = TOK_END;
	}
	return p;
}

/*
 * The main statement's keyword (SELECT, INSERT, UPDATE, DELETE) and its
 * table.  A WITH's own queries are inside parentheses, so the main
 * statement is the first of those keywords at parenthesis depth 0.
 */
static bool
main_statement(const char *sql, Tok *verb, Tok *table)
{
	const char *p = sql;
	Tok			t;
	int			depth = 0;

	verb->kind = TOK_END;
	table->kind = TOK_END;
	for (;;)
	{
		p = next_token(p, &t);
		if (t.kind == TOK_END)
			return false;
		if (tok_is_punct(&t, '('))
			depth++;
		else if (tok_is_punct(&t, ')'))
			depth = depth > 0 ? depth - 1 : 0;
		else if (depth == 0 &&
				 (tok_is_kw(&t, "select") || tok_is_kw(&t, "insert") ||
				  tok_is_kw(&t, "update") || tok_is_kw(&t, "delete")))
			break;
	}
	*verb = t;
	if (tok_is_kw(&t, "update"))
	{
		const char *q = next_token(p, &t);

		if (tok_is_kw(&t, "only"))
			p = q;
		read_table_name(p, table);
		return table->kind != TOK_END;
	}
	/* SELECT: its FROM at depth 0; INSERT: INTO; DELETE: FROM */
	for (;;)
	{
		p = next_token(p, &t);
		if (t.kind == TOK_END)
			return false;
		if (tok_is_punct(&t, '('))
			depth++;
		else if (tok_is_punct(&t, ')'))
			depth = depth > 0 ? depth - 1 : 0;
		else if (depth == 0 &&
				 (tok_is_kw(&t, "from") || tok_is_kw(&t, "into")))
			break;
	}
	read_table_name(p, table);
	return table->kind != TOK_END;
}

bool
org_sql_main_table(const char *sql, char *out, size_t outlen)
{
	Tok			verb;
	Tok			table;
	size_t		i;

	if (outlen > 0)
		out[0] = '\0';
	if (sql == NULL || outlen == 0 || !main_statement(sql, &verb, &table))
		return false;
	if (table.len + 1 > outlen || table.len == 0)
		return false;
	for (i = 0; i < table.len; i++)
		out[i] = table.kind == TOK_WORD ?
			(char) tolower((unsigned char) table.s[i]) : table.s[i];
	out[table.len] = '\0';
	return true;
}

/* the statement ends with FOR NO KEY UPDATE SKIP LOCKED (then maybe ;) */
static bool
ends_with_skip_locked(const Tok *w)
{
	static const char *const tail[] = {
		"locked", "skip", "update", "key", "no", "for"
	};
	int			k = tok_is_punct(&w[0], ';') ? 1 : 0;
	int			i;

	for (i = 0; i < 6; i++)
	{
		if (!tok_is_kw(&w[k + i], tail[i]))
			return false;
	}
	return true;
}

OrgCronStatement
org_cron_classify_statement(const char *sql, int64_t *job_id)
{
	Tok			w[WINDOW];
	Tok			t;
	Tok			verb;
	Tok			table;
	JobIds		ids;
	const char *p = sql;
	OrgCronStatement kind;

	if (job_id != NULL)
		*job_id = 0;
	if (sql == NULL)
		return ORG_CRON_STMT_OTHER;

	next_token(sql, &t);
	if (tok_is_kw(&t, "listen"))
		return ORG_CRON_STMT_LISTEN;

	if (!main_statement(sql, &verb, &table))
		return ORG_CRON_STMT_OTHER;
	if (tok_is_kw(&verb, "select") && tok_is_word(&table, "ir_cron"))
		kind = ORG_CRON_STMT_ACQUIRE;
	else if (tok_is_kw(&verb, "delete") && tok_is_word(&table, "ir_cron_trigger"))
		kind = ORG_CRON_STMT_CLEAR_TRIGGERS;
	else
		return ORG_CRON_STMT_OTHER;

	memset(w, 0, sizeof(w));
	memset(&ids, 0, sizeof(ids));
	for (;;)
	{
		p = next_token(p, &t);
		if (t.kind == TOK_END)
			break;
		window_push(w, &t);
		collect_job_id(w, &ids, kind == ORG_CRON_STMT_CLEAR_TRIGGERS);
	}

	/* a lock that waits (NOWAIT, plain FOR UPDATE) is not the acquire */
	if (kind == ORG_CRON_STMT_ACQUIRE && !ends_with_skip_locked(w))
		return ORG_CRON_STMT_OTHER;
	/* the clean-up names its job: other deletes of triggers are not it */
	if (kind == ORG_CRON_STMT_CLEAR_TRIGGERS && !ids.seen)
		return ORG_CRON_STMT_OTHER;
	if (job_id != NULL)
		*job_id = job_ids_result(&ids);
	return kind;
}

/* ---- backends that run a job ---- */

bool
org_cron_is_cron_cursor(const OrgCronBackend *be)
{
	return be->state == ORG_CRON_BE_IDLE_IN_XACT &&
		(be->stmt == ORG_CRON_STMT_ACQUIRE ||
		 be->stmt == ORG_CRON_STMT_CLEAR_TRIGGERS) &&
		be->appname != NULL && be->appname[0] != '\0';
}

static bool
same_process(const OrgCronBackend *a, const OrgCronBackend *b)
{
	return a->dbid == b->dbid && a->appname != NULL && b->appname != NULL &&
		strcmp(a->appname, b->appname) == 0;
}

/* a connection that only waits for notifications runs no job */
static bool
is_listen_only(const OrgCronBackend *be)
{
	return be->stmt == ORG_CRON_STMT_LISTEN && be->state == ORG_CRON_BE_IDLE;
}

static bool
may_be_job_connection(const OrgCronBackend *be)
{
	return !is_listen_only(be) &&
		be->stmt != ORG_CRON_STMT_ACQUIRE &&
		be->stmt != ORG_CRON_STMT_CLEAR_TRIGGERS;
}

int
org_cron_match_jobs(const OrgCronBackend *be, int n, OrgCronJobMatch *out,
					int max_out)
{
	int			nout = 0;
	int			i;

	for (i = 0; i < n && nout < max_out; i++)
	{
		OrgCronJobMatch *m;
		int			pass;
		int			j;

		if (!org_cron_is_cron_cursor(&be[i]))
			continue;
		m = &out[nout++];
		memset(m, 0, sizeof(*m));
		m->cron = i;
		m->job_id = be[i].stmt_job_id;
		/* busy connections first: a pooled idle one may be a leftover */
		for (pass = 0; pass < 2; pass++)
		{
			for (j = 0; j < n; j++)
			{
				bool		idle = be[j].state == ORG_CRON_BE_IDLE;

				if (j == i || !same_process(&be[i], &be[j]) ||
					!may_be_job_connection(&be[j]) || idle != (pass == 1))
					continue;
				m->n_jobs_total++;
				if (m->n_jobs < ORG_CRON_MAX_JOB_PIDS)
					m->jobs[m->n_jobs++] = j;
			}
		}
	}
	return nout;
}

int
org_cron_job_of(const OrgCronBackend *be, const OrgCronJobMatch *m,
				int n_matches, int index)
{
	int			i;

	if (!may_be_job_connection(&be[index]))
		return -1;
	for (i = 0; i < n_matches; i++)
	{
		if (m[i].cron != index && same_process(&be[m[i].cron], &be[index]))
			return i;
	}
	return -1;
}

/* ---- Odoo's scheduled garbage collection ---- */

/*
 * Statement shapes of @api.autovacuum methods, which the daily
 * ir.autovacuum job calls (odoo/addons/base/models/ir_autovacuum.py).  A
 * pattern is compared token by token: "?" is one constant, "?*" a list of
 * constants (normalization keeps the first and writes "...").  Only tables
 * that hold logs or expired technical rows are listed.
 */
typedef struct HousekeepingShape
{
	const char *relation;
	const char *pattern;
	bool		prefix;			/* the statement may go on after it */
	const char *source;
} HousekeepingShape;

static const HousekeepingShape housekeeping_shapes[] = {
	{"res_users_log",
		"DELETE FROM res_users_log log1 WHERE EXISTS ( SELECT ? FROM res_users_log log2"
		" WHERE log1.create_uid = log2.create_uid",
		true,
	"odoo/addons/base/models/res_users.py (16.0, 17.0, 18.0) ResUsersLog._gc_user_logs"},
	{"auth_totp_device",
		"DELETE FROM auth_totp_device WHERE create_date < (",
		true,
	"addons/auth_totp/models/auth_totp_device.py (16.0, 17.0, 18.0) AuthTotpDevice._gc_device"},
	{"bus_bus",
		"DELETE FROM bus_bus WHERE create_date < ?",
		false,
	"addons/bus/models/bus.py (after 18.0) BusBus._gc_messages, one DELETE"},
	{"bus_bus",
		"DELETE FROM bus_bus WHERE id IN ( ?* )",
		false,
	"addons/bus/models/bus.py (16.0, 17.0, 18.0) _gc_messages: search().unlink(), whose SQL is odoo/models.py BaseModel.unlink"},
};

#define N_HOUSEKEEPING_SHAPES \
	((int) (sizeof(housekeeping_shapes) / sizeof(housekeeping_shapes[0])))

static bool
tok_same(const Tok *pat, const Tok *t)
{
	if (pat->kind == TOK_WORD || pat->kind == TOK_QWORD)
		return (t->kind == TOK_WORD || t->kind == TOK_QWORD) &&
			t->len == pat->len && strncasecmp(t->s, pat->s, t->len) == 0;
	return t->kind == pat->kind && t->len == pat->len &&
		memcmp(t->s, pat->s, t->len) == 0;
}

/* after "?*": constants separated by commas, or ", ..." */
static const char *
skip_const_list(const char *p)
{
	Tok			t;
	const char *q;

	for (;;)
	{
		q = next_token(p, &t);
		if (tok_is_const(&t) || tok_is_punct(&t, ',') || tok_is_punct(&t, '.'))
			p = q;
		else
			return p;
	}
}

static bool
shape_matches(const HousekeepingShape *s, const char *sql)
{
	const char *pp = s->pattern;
	const char *sp = sql;
	Tok			pt;
	Tok			st;

	for (;;)
	{
		pp = next_token(pp, &pt);
		if (pt.kind == TOK_END)
			break;
		if (tok_is_punct(&pt, '?'))
		{
			const char *after = pp;
			Tok			star;

			after = next_token(pp, &star);
			sp = next_token(sp, &st);
			if (!tok_is_const(&st))
				return false;
			if (tok_is_punct(&star, '*'))
			{
				pp = after;
				sp = skip_const_list(sp);
			}
			continue;
		}
		sp = next_token(sp, &st);
		if (!tok_same(&pt, &st))
			return false;
	}
	if (s->prefix)
		return true;
	sp = next_token(sp, &st);
	if (tok_is_punct(&st, ';'))
		next_token(sp, &st);
	return st.kind == TOK_END;
}

int
org_housekeeping_shape(const char *sql, const char *relation)
{
	int			i;

	if (sql == NULL || relation == NULL)
		return -1;
	for (i = 0; i < N_HOUSEKEEPING_SHAPES; i++)
	{
		if (strcmp(relation, housekeeping_shapes[i].relation) == 0 &&
			shape_matches(&housekeeping_shapes[i], sql))
			return i;
	}
	return -1;
}

const char *
org_housekeeping_source(int shape)
{
	if (shape < 0 || shape >= N_HOUSEKEEPING_SHAPES)
		return "";
	return housekeeping_shapes[shape].source;
}
