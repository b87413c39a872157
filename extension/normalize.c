/*-------------------------------------------------------------------------
 *
 * normalize.c
 *	  Strip customer data out of SQL text before it is stored or shipped.
 *
 * A small single-pass lexer that follows the PostgreSQL scanner closely
 * enough to find every literal, assuming standard_conforming_strings = on
 * (the default, and what Odoo uses).  Literals are replaced by $n, constant
 * lists are collapsed so that IN lists of a thousand ids from the ORM give
 * one statement shape, and everything else is copied with whitespace and
 * comments squeezed.  Writes only into the caller's buffer.
 *
 *-------------------------------------------------------------------------
 */
#include "normalize.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* stop counting parameter numbers here; keeps the arithmetic in range */
#define ORG_PARAM_CAP		INT64_C(1000000000)

typedef enum OrgTokType
{
	ORG_TOK_END,				/* end of input */
	ORG_TOK_SPACE,				/* whitespace or comment */
	ORG_TOK_LITERAL,			/* any constant, possibly unterminated */
	ORG_TOK_PARAM,				/* $1 */
	ORG_TOK_IDENT,				/* bare identifier or keyword */
	ORG_TOK_QIDENT,				/* "quoted" or U&"quoted" identifier */
	ORG_TOK_CHAR				/* any other single byte */
} OrgTokType;

typedef struct OrgToken
{
	OrgTokType	type;
	int			start;
	int			end;			/* one past the last byte */
} OrgToken;

/* Keyword seen just before an opening bracket that may start a list */
typedef enum OrgListKw
{
	ORG_KW_NONE,
	ORG_KW_IN,
	ORG_KW_ARRAY
} OrgListKw;

typedef struct OrgNorm
{
	const char *src;
	int			srclen;
	char	   *dst;
	int			cap;			/* dstsize - 1: room left for the NUL */
	int			len;
	bool		pending_space;
	bool		truncated;
	int64_t		next_param;
} OrgNorm;

static bool
org_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

static bool
org_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
org_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* as in the server's scanner, high-bit bytes are identifier characters */
static bool
org_is_ident_start(unsigned char c)
{
	return org_is_alpha(c) || c == '_' || c >= 0x80;
}

static bool
org_is_ident_cont(unsigned char c)
{
	return org_is_ident_start(c) || org_is_digit(c) || c == '$';
}

static unsigned char
org_peek(const char *s, int len, int i)
{
	return (i < len) ? (unsigned char) s[i] : '\0';
}

/* End of a '...' literal whose opening quote is at q; len if unterminated */
static int
org_scan_quoted(const char *s, int len, int q, bool backslash_escapes)
{
	int			p = q + 1;

	while (p < len)
	{
		if (backslash_escapes && s[p] == '\\')
			p += 2;
		else if (s[p] == '\'')
		{
			if (org_peek(s, len, p + 1) == '\'')
				p += 2;
			else
				return p + 1;
		}
		else
			p++;
	}
	return len;
}

/* End of a "..." identifier whose opening quote is at q; -1 if unterminated */
static int
org_scan_qident(const char *s, int len, int q)
{
	int			p = q + 1;

	while (p < len)
	{
		if (s[p] == '"')
		{
			if (org_peek(s, len, p + 1) == '"')
				p += 2;
			else
				return p + 1;
		}
		else
			p++;
	}
	return -1;
}

/* Length of a $tag$ / $$ opener at p, or 0 if there is none */
static int
org_dollar_tag_len(const char *s, int len, int p)
{
	int			j = p + 1;

	if (org_peek(s, len, j) == '$')
		return 2;
	if (!org_is_ident_start(org_peek(s, len, j)) || org_peek(s, len, j) == '$')
		return 0;
	j++;
	while (j < len && s[j] != '$' && org_is_ident_cont((unsigned char) s[j]))
		j++;
	if (org_peek(s, len, j) != '$')
		return 0;
	return j - p + 1;
}

/* End of a dollar-quoted literal opened by the tag at p; len if unterminated */
static int
org_scan_dollar(const char *s, int len, int p, int taglen)
{
	int			k = p + taglen;

	while (k + taglen <= len)
	{
		const char *hit = memchr(s + k, '$', (size_t) (len - k));

		if (hit == NULL)
			break;
		k = (int) (hit - s);
		if (k + taglen > len)
			break;
		if (memcmp(s + k, s + p, (size_t) taglen) == 0)
			return k + taglen;
		k++;
	}
	return len;
}

/* End of a numeric literal starting at p (a digit, or '.' then a digit) */
static int
org_scan_number(const char *s, int len, int p)
{
	while (org_is_digit(org_peek(s, len, p)))
		p++;
	/* "1..10" is a range in PL/pgSQL, not "1." followed by ".10" */
	if (org_peek(s, len, p) == '.' && org_peek(s, len, p + 1) != '.')
	{
		p++;
		while (org_is_digit(org_peek(s, len, p)))
			p++;
	}
	if (org_peek(s, len, p) == 'e' || org_peek(s, len, p) == 'E')
	{
		int			k = p + 1;

		if (org_peek(s, len, k) == '+' || org_peek(s, len, k) == '-')
			k++;
		if (org_is_digit(org_peek(s, len, k)))
		{
			p = k;
			while (org_is_digit(org_peek(s, len, p)))
				p++;
		}
	}

	/*
	 * Swallow trailing junk such as the "x1F" of 0x1F or the "_000" of 1_000
	 * into the literal: newer servers read them as part of the number, and
	 * copying them verbatim would leak digits.
	 */
	while (org_is_alpha(org_peek(s, len, p)) || org_is_digit(org_peek(s, len, p)) ||
		   org_peek(s, len, p) == '_')
		p++;
	return p;
}

/* Lex one token starting at p */
static void
org_lex(const char *s, int len, int p, OrgToken *t)
{
	unsigned char c = org_peek(s, len, p);
	unsigned char c1 = org_peek(s, len, p + 1);
	int			q;

	t->start = p;
	if (p >= len)
	{
		t->type = ORG_TOK_END;
		t->end = len;
		return;
	}

	if (org_is_space(c))
	{
		while (p < len && org_is_space((unsigned char) s[p]))
			p++;
		t->type = ORG_TOK_SPACE;
		t->end = p;
		return;
	}
	if (c == '-' && c1 == '-')
	{
		const char *nl = memchr(s + p, '\n', (size_t) (len - p));

		t->type = ORG_TOK_SPACE;
		t->end = nl ? (int) (nl - s) + 1 : len;
		return;
	}
	if (c == '/' && c1 == '*')
	{
		int			depth = 1;

		p += 2;
		while (p < len && depth > 0)
		{
			if (s[p] == '/' && org_peek(s, len, p + 1) == '*')
			{
				depth++;
				p += 2;
			}
			else if (s[p] == '*' && org_peek(s, len, p + 1) == '/')
			{
				depth--;
				p += 2;
			}
			else
				p++;
		}
		t->type = ORG_TOK_SPACE;
		t->end = p;
		return;
	}

	t->type = ORG_TOK_LITERAL;
	if (c == '\'')
	{
		t->end = org_scan_quoted(s, len, p, false);
		return;
	}
	if ((c == 'e' || c == 'E') && c1 == '\'')
	{
		t->end = org_scan_quoted(s, len, p + 1, true);
		return;
	}
	if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') &&
		c1 == '\'')
	{
		t->end = org_scan_quoted(s, len, p + 1, false);
		return;
	}
	if ((c == 'u' || c == 'U') && c1 == '&')
	{
		if (org_peek(s, len, p + 2) == '\'')
		{
			t->end = org_scan_quoted(s, len, p + 2, false);
			return;
		}
		if (org_peek(s, len, p + 2) == '"' &&
			(q = org_scan_qident(s, len, p + 2)) >= 0)
		{
			t->type = ORG_TOK_QIDENT;
			t->end = q;
			return;
		}
	}
	if (c == '"')
	{
		/* lex an unterminated quote as a lone char: later literals still get replaced */
		q = org_scan_qident(s, len, p);
		t->type = (q >= 0) ? ORG_TOK_QIDENT : ORG_TOK_CHAR;
		t->end = (q >= 0) ? q : p + 1;
		return;
	}
	if (c == '$')
	{
		if (org_is_digit(c1))
		{
			p++;
			while (org_is_digit(org_peek(s, len, p)))
				p++;
			t->type = ORG_TOK_PARAM;
			t->end = p;
			return;
		}
		q = org_dollar_tag_len(s, len, p);
		if (q > 0)
		{
			t->end = org_scan_dollar(s, len, p, q);
			return;
		}
		t->type = ORG_TOK_CHAR;
		t->end = p + 1;
		return;
	}
	/* the second '.' of "1..10" is not the start of ".10" */
	if (org_is_digit(c) ||
		(c == '.' && org_is_digit(c1) && !(p > 0 && s[p - 1] == '.')))
	{
		t->end = org_scan_number(s, len, p);
		return;
	}
	if (org_is_ident_start(c))
	{
		p++;
		while (p < len && org_is_ident_cont((unsigned char) s[p]))
			p++;
		t->type = ORG_TOK_IDENT;
		t->end = p;
		return;
	}
	t->type = ORG_TOK_CHAR;
	t->end = p + 1;
}

/* Next token that is not whitespace or a comment */
static void
org_lex_sig(const char *s, int len, int p, OrgToken *t)
{
	for (;;)
	{
		org_lex(s, len, p, t);
		if (t->type != ORG_TOK_SPACE)
			return;
		p = t->end;
	}
}

/* Case-insensitive match of an identifier token against a lower-case word */
static bool
org_tok_is(const char *s, const OrgToken *t, const char *word)
{
	int			n = t->end - t->start;
	int			i;

	if (t->type != ORG_TOK_IDENT || (int) strlen(word) != n)
		return false;
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[t->start + i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char) (c - 'A' + 'a');
		if (c != (unsigned char) word[i])
			return false;
	}
	return true;
}

static bool
org_tok_is_char(const char *s, const OrgToken *t, char ch)
{
	return t->type == ORG_TOK_CHAR && s[t->start] == ch;
}

/*
 * Is there a constant list element at p: [+-] literal, or NULL, TRUE, FALSE,
 * DEFAULT, followed by any "::type" or "::type[]" casts?  Sets its span.
 */
static bool
org_scan_constant(const char *s, int len, int p, int *estart, int *eend)
{
	OrgToken	t;

	org_lex_sig(s, len, p, &t);
	*estart = t.start;
	if (org_tok_is_char(s, &t, '-') || org_tok_is_char(s, &t, '+'))
	{
		org_lex_sig(s, len, t.end, &t);
		if (t.type != ORG_TOK_LITERAL)
			return false;
	}
	else if (t.type == ORG_TOK_IDENT)
	{
		if (!org_tok_is(s, &t, "null") && !org_tok_is(s, &t, "true") &&
			!org_tok_is(s, &t, "false") && !org_tok_is(s, &t, "default"))
			return false;
	}
	else if (t.type != ORG_TOK_LITERAL)
		return false;
	*eend = t.end;

	for (;;)
	{
		OrgToken	c1;
		OrgToken	c2;

		org_lex_sig(s, len, *eend, &c1);
		if (!org_tok_is_char(s, &c1, ':'))
			break;
		org_lex(s, len, c1.end, &c2);
		if (!org_tok_is_char(s, &c2, ':'))
			break;
		org_lex_sig(s, len, c2.end, &c1);
		if (c1.type != ORG_TOK_IDENT && c1.type != ORG_TOK_QIDENT)
			break;
		*eend = c1.end;
		org_lex_sig(s, len, *eend, &c1);
		if (org_tok_is_char(s, &c1, '['))
		{
			org_lex_sig(s, len, c1.end, &c2);
			if (org_tok_is_char(s, &c2, ']'))
				*eend = c2.end;
		}
	}
	return true;
}

/*
 * Is the text after an opening bracket (at p) a list of constants closed by
 * close?  On success sets the element count, the first element's span and
 * the position after the closing bracket.
 */
static bool
org_scan_constant_list(const char *s, int len, int p, char close,
					   int *count, int *first_start, int *first_end,
					   int *close_end)
{
	int			n = 0;
	int			es;
	int			ee;
	OrgToken	t;

	for (;;)
	{
		if (!org_scan_constant(s, len, p, &es, &ee))
			return false;
		if (n == 0)
		{
			*first_start = es;
			*first_end = ee;
		}
		n++;
		org_lex_sig(s, len, ee, &t);
		if (org_tok_is_char(s, &t, close))
		{
			*count = n;
			*close_end = t.end;
			return true;
		}
		if (!org_tok_is_char(s, &t, ','))
			return false;
		p = t.end;
	}
}

/*
 * Are the rows after VALUES (from p) two or more rows of constants only?
 * On success sets the first row's span and the end of the last row.
 */
static bool
org_scan_values_rows(const char *s, int len, int p,
					 int *row1_start, int *row1_end, int *rows_end)
{
	OrgToken	t;
	int			rows = 0;
	int			count;
	int			fs;
	int			fe;
	int			ce;

	org_lex_sig(s, len, p, &t);
	for (;;)
	{
		if (!org_tok_is_char(s, &t, '('))
			return false;
		if (!org_scan_constant_list(s, len, t.end, ')', &count, &fs, &fe, &ce))
			return false;
		if (rows == 0)
		{
			*row1_start = t.start;
			*row1_end = ce;
		}
		rows++;
		*rows_end = ce;
		org_lex_sig(s, len, ce, &t);
		if (!org_tok_is_char(s, &t, ','))
			break;
		org_lex_sig(s, len, t.end, &t);
	}
	return rows >= 2;
}

/*
 * Append len bytes, preceded by the pending space if any.  When the text
 * does not fit, output ends here: atomic text (placeholders) is dropped
 * whole, other text is cut at a UTF-8 character boundary.
 */
static void
org_emit(OrgNorm *n, const char *s, int len, bool atomic)
{
	int			space = (n->pending_space && n->len > 0) ? 1 : 0;
	int			avail;
	int			cut;
	int			back;

	if (n->truncated)
		return;
	avail = n->cap - n->len - space;
	if (len > avail)
	{
		n->truncated = true;
		if (atomic || avail <= 0)
			return;
		/* s[avail] exists because len > avail; never split a character */
		cut = avail;
		for (back = 0; back < 3 && cut > 0 &&
			 ((unsigned char) s[cut] & 0xC0) == 0x80; back++)
			cut--;
		if (cut == 0)
			return;
		len = cut;
	}
	if (space)
		n->dst[n->len++] = ' ';
	memcpy(n->dst + n->len, s, (size_t) len);
	n->len += len;
	n->pending_space = false;
}

static void
org_emit_param(OrgNorm *n)
{
	char		buf[24];
	int			i = (int) sizeof(buf);
	int64_t		v = n->next_param;

	if (n->next_param < ORG_PARAM_CAP)
		n->next_param++;
	do
	{
		buf[--i] = (char) ('0' + (int) (v % 10));
		v /= 10;
	} while (v > 0);
	buf[--i] = '$';
	org_emit(n, buf + i, (int) sizeof(buf) - i, true);
}

/* Normalize src[p..end), which must start and end on token boundaries */
static void
org_normalize_range(OrgNorm *n, int p, int end)
{
	const char *s = n->src;
	int			len = n->srclen;
	OrgListKw	kw = ORG_KW_NONE;
	OrgToken	t;

	while (p < end && !n->truncated)
	{
		org_lex(s, len, p, &t);
		switch (t.type)
		{
			case ORG_TOK_END:
				return;
			case ORG_TOK_SPACE:
				n->pending_space = true;
				p = t.end;
				continue;		/* a comment between IN and ( keeps kw */
			case ORG_TOK_LITERAL:
				org_emit_param(n);
				break;
			case ORG_TOK_CHAR:
				if ((kw == ORG_KW_IN && s[t.start] == '(') ||
					(kw == ORG_KW_ARRAY && s[t.start] == '['))
				{
					char		close = (kw == ORG_KW_IN) ? ')' : ']';
					int			count;
					int			fs;
					int			fe;
					int			ce;

					if (org_scan_constant_list(s, len, t.end, close,
											   &count, &fs, &fe, &ce))
					{
						org_emit(n, s + t.start, 1, true);
						n->pending_space = false;
						org_normalize_range(n, fs, fe);
						n->pending_space = false;
						if (count > 1)
							org_emit(n, ", ...", 5, true);
						org_emit(n, &close, 1, true);
						kw = ORG_KW_NONE;
						p = ce;
						continue;
					}
				}
				org_emit(n, s + t.start, 1, false);
				break;
			case ORG_TOK_IDENT:
				if (org_tok_is(s, &t, "values"))
				{
					int			r1s;
					int			r1e;
					int			re;

					if (org_scan_values_rows(s, len, t.end, &r1s, &r1e, &re))
					{
						org_emit(n, s + t.start, t.end - t.start, false);
						p = t.end;
						/* whitespace between VALUES and the first row */
						if (r1s > p)
							n->pending_space = true;
						org_normalize_range(n, r1s, r1e);
						n->pending_space = false;
						org_emit(n, ", ...", 5, true);
						kw = ORG_KW_NONE;
						p = re;
						continue;
					}
				}
				/* FALLTHROUGH */
			case ORG_TOK_PARAM:
			case ORG_TOK_QIDENT:
				org_emit(n, s + t.start, t.end - t.start, false);
				break;
		}
		kw = org_tok_is(s, &t, "in") ? ORG_KW_IN :
			org_tok_is(s, &t, "array") ? ORG_KW_ARRAY : ORG_KW_NONE;
		p = t.end;
	}
}

/* Highest $k parameter number in the text, capped at ORG_PARAM_CAP */
static int64_t
org_max_param(const char *s, int len)
{
	int64_t		max = 0;
	int			p = 0;
	OrgToken	t;

	for (;;)
	{
		org_lex(s, len, p, &t);
		if (t.type == ORG_TOK_END)
			break;
		if (t.type == ORG_TOK_PARAM)
		{
			int64_t		v = 0;
			int			i;

			for (i = t.start + 1; i < t.end && v < ORG_PARAM_CAP; i++)
				v = v * 10 + (s[i] - '0');
			if (v > ORG_PARAM_CAP)
				v = ORG_PARAM_CAP;
			if (v > max)
				max = v;
		}
		p = t.end;
	}
	return max;
}

int
org_normalize_query(const char *src, int srclen, char *dst, int dstsize)
{
	OrgNorm		n;
	const char *nul;

	if (dst == NULL || dstsize <= 0)
		return 0;
	dst[0] = '\0';
	if (src == NULL)
		return 0;

	if (srclen < 0)
		srclen = (int) strlen(src);
	else if ((nul = memchr(src, '\0', (size_t) srclen)) != NULL)
		srclen = (int) (nul - src);

	n.src = src;
	n.srclen = srclen;
	n.dst = dst;
	n.cap = dstsize - 1;
	n.len = 0;
	n.pending_space = false;
	n.truncated = false;
	n.next_param = org_max_param(src, srclen);
	if (n.next_param < ORG_PARAM_CAP)
		n.next_param++;

	org_normalize_range(&n, 0, srclen);
	dst[n.len] = '\0';
	return n.len;
}
