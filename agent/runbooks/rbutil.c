/*
 * rbutil.c: LSN and timestamp parsing and quoting for the runbooks (pure).
 */
#include "runbooks/rbutil.h"
#include "common/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool
rb_lsn_parse(const char *s, uint64_t *out)
{
	unsigned long long hi = 0,
				lo = 0;
	int			nhi = 0,
				nlo = 0;
	const char *p = s;

	if (!s)
		return false;
	while (isxdigit((unsigned char) *p) && nhi < 8)
	{
		hi = hi * 16 + (unsigned long long) (isdigit((unsigned char) *p) ? *p - '0' : (tolower((unsigned char) *p) - 'a' + 10));
		p++;
		nhi++;
	}
	if (nhi == 0 || *p != '/')
		return false;
	p++;
	while (isxdigit((unsigned char) *p) && nlo < 8)
	{
		lo = lo * 16 + (unsigned long long) (isdigit((unsigned char) *p) ? *p - '0' : (tolower((unsigned char) *p) - 'a' + 10));
		p++;
		nlo++;
	}
	if (nlo == 0 || *p != '\0')
		return false;
	*out = ((uint64_t) hi << 32) | (uint64_t) lo;
	return true;
}

void
rb_lsn_format(uint64_t lsn, char *buf, size_t len)
{
	snprintf(buf, len, "%X/%X", (unsigned) (lsn >> 32), (unsigned) (lsn & 0xffffffffu));
}

static bool
take_digits(const char **p, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) (*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* days since 1970-01-01 of a proleptic Gregorian date */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t		era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

#define TIME_FORM "YYYY-MM-DD HH:MM:SS[.ffffff] with a UTC offset (+00, +02:00, Z)"

static bool
time_refused(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool
time_refused(char *why, size_t len, const char *fmt, ...)
{
	va_list		ap;

	if (why && len)
	{
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return false;
}

bool
rb_time_parse_why(const char *s, int64_t *out_us, char *why, size_t whylen)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s;
	int			y,
				mo,
				d,
				h,
				mi,
				sec,
				oh = 0,
				om = 0,
				sign = 1;
	int64_t		frac = 0,
				us;

	if (!s)
		return time_refused(why, whylen, "no time given");
	if (!take_digits(&p, 4, &y) || *p++ != '-' || !take_digits(&p, 2, &mo) || *p++ != '-' ||
		!take_digits(&p, 2, &d))
		return time_refused(why, whylen, "is not " TIME_FORM);
	if (*p != ' ' && *p != 'T')
		return time_refused(why, whylen, "is not " TIME_FORM);
	p++;
	if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &mi) || *p++ != ':' ||
		!take_digits(&p, 2, &sec))
		return time_refused(why, whylen, "is not " TIME_FORM);
	/* never normalized: 2025-02-29 is not March 1, 24:00 not midnight */
	if (mo < 1 || mo > 12)
		return time_refused(why, whylen, "has no month %02d", mo);
	if (d < 1 || d > mdays[mo - 1] ||
		(mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return time_refused(why, whylen, "is not a date: %04d-%02d has no day %02d", y, mo, d);
	if (h > 23 || mi > 59 || sec > 59)
		return time_refused(why, whylen, "is not a time of day: %02d:%02d:%02d (00:00:00 to 23:59:59)",
							h, mi, sec);
	if (*p == '.')
	{
		int			n = 0;

		p++;
		while (isdigit((unsigned char) *p))
		{
			if (n < 6)
				frac = frac * 10 + (*p - '0');
			n++;
			p++;
		}
		if (n == 0)
			return time_refused(why, whylen, "is not " TIME_FORM);
		/* PostgreSQL keeps microseconds: more digits would round differently */
		if (n > 6)
			return time_refused(why, whylen, "has more than 6 digits of fractional seconds");
		for (; n < 6; n++)
			frac *= 10;
	}
	if (*p == ' ')
		p++;
	if (*p == 'Z' && p[1] == '\0')
		p++;
	else if (!strcmp(p, "UTC"))
		p += 3;
	else if (*p == '+' || *p == '-')
	{
		sign = *p == '-' ? -1 : 1;
		p++;
		if (!take_digits(&p, 2, &oh))
			return time_refused(why, whylen, "is not " TIME_FORM);
		if (*p == ':')
			p++;
		if (*p && !take_digits(&p, 2, &om))
			return time_refused(why, whylen, "is not " TIME_FORM);
		if (oh > 15 || om > 59)
			return time_refused(why, whylen, "has no such UTC offset (at most 15:59)");
	}
	else
		return time_refused(why, whylen, "has no UTC offset (+00, +02:00, Z): a local time means "
							"different things to the agent and to the server");
	if (*p != '\0')
		return time_refused(why, whylen, "is not " TIME_FORM);
	us = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
		  sign * (oh * 3600 + om * 60)) * 1000000 + frac;
	/* before 1970 nothing of ours existed, and rb_time_format cannot write it */
	if (us < 0)
		return time_refused(why, whylen, "is before 1970-01-01 00:00:00+00");
	*out_us = us;
	return true;
}

bool
rb_time_parse(const char *s, int64_t *out_us)
{
	return rb_time_parse_why(s, out_us, NULL, 0);
}

void
rb_time_format(int64_t us, char *buf, size_t len)
{
	time_t		t = (time_t) (us / 1000000);
	struct tm	tm;
	char		base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06d+00", base, (int) (us % 1000000));
}

/* s between single quotes, each byte of from[] written as to[] */
static char *
quote_with(const char *s, const char *from, const char *const to[], const char *open)
{
	strbuf		sb;

	sb_init(&sb);
	sb_append(&sb, open);
	for (; *s; s++)
	{
		const char *hit = strchr(from, *s);

		if (hit)
			sb_append(&sb, to[hit - from]);
		else
			sb_appendc(&sb, *s);
	}
	sb_appendc(&sb, '\'');
	return sb_steal(&sb);
}

char *
rb_conf_quote(const char *s)
{
	/* what guc-file.l's DeescapeQuotedString reads back; a raw newline would end the line */
	static const char *const to[] = {"''", "\\\\", "\\n", "\\r"};

	return quote_with(s, "'\\\n\r", to, "'");
}

char *
rb_conninfo_quote(const char *s)
{
	static const char *const to[] = {"\\'", "\\\\"};

	return quote_with(s, "'\\", to, "'");
}

char *
rb_sql_quote(const char *s)
{
	/* E'' reads backslashes the same whatever standard_conforming_strings says */
	static const char *const to[] = {"''", "\\\\"};

	return quote_with(s, "'\\", to, strchr(s, '\\') ? "E'" : "'");
}

char *
rb_shell_quote(const char *s)
{
	static const char *const to[] = {"'\\''"};

	return quote_with(s, "'", to, "'");
}

const char *
rb_line_value(const char *text, const char *key)
{
	const char *p = text;
	size_t		kl = strlen(key);

	while (p && *p)
	{
		if (!strncmp(p, key, kl) && p[kl] == ':')
		{
			p += kl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}
