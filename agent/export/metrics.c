/*
 * metrics.c: metric families and the Prometheus text exposition format
 * 0.0.4 (HELP and TYPE once per family, label values escaped, samples of a
 * family together).  Pure: metrics_server.c serves the text.
 */
#include "export/metrics.h"
#include "common/utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

metric_family *
mset_family(metric_set *ms, const char *name, const char *help, metric_type type)
{
	metric_family *f;

	for (int i = 0; i < ms->n; i++)
		if (!strcmp(ms->f[i].name, name))
			return &ms->f[i];
	ms->f = xrealloc(ms->f, sizeof(metric_family) * (size_t) (ms->n + 1));
	f = &ms->f[ms->n++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->type = type;
	return f;
}

static void
reserve_samples(metric_family *f, int more)
{
	if (f->n + more <= f->cap)
		return;
	/* doubling: a merged family grows by whole node sets, once per cycle */
	while (f->n + more > f->cap)
		f->cap = f->cap ? f->cap * 2 : 4;
	f->s = xrealloc(f->s, sizeof(metric_sample) * (size_t) f->cap);
}

void
mset_shrink(metric_set *ms)
{
	for (int i = 0; i < ms->n; i++)
	{
		metric_family *f = &ms->f[i];

		if (f->cap > f->n && f->n > 0)
		{
			f->s = xrealloc(f->s, sizeof(metric_sample) * (size_t) f->n);
			f->cap = f->n;
		}
	}
}

static metric_sample *
new_sample(metric_family *f, double value)
{
	metric_sample *s;

	reserve_samples(f, 1);
	s = &f->s[f->n++];
	memset(s, 0, sizeof(*s));
	s->value = value;
	return s;
}

void
mset_add(metric_family *f, double value, ...)
{
	metric_sample *s = new_sample(f, value);
	va_list		ap;
	const char *n;

	va_start(ap, value);
	while ((n = va_arg(ap, const char *)) != NULL)
	{
		const char *v = va_arg(ap, const char *);

		labels_set(&s->labels, n, v ? v : "");
	}
	va_end(ap);
}

void
mset_add_labels(metric_family *f, const labelset *labels, double value)
{
	metric_sample *s = new_sample(f, value);

	labels_copy(&s->labels, labels);
}

void
mset_add_suffixed(metric_family *f, const char *suffix, const labelset *labels, double value)
{
	metric_sample *s = new_sample(f, value);

	labels_copy(&s->labels, labels);
	s->suffix = suffix;
}

void
mset_add_refs(metric_family *f, const char *suffix, const labelrefs *labels, double value)
{
	metric_sample *s = new_sample(f, value);

	labels_pack(&s->labels, labels);
	s->held = SAMPLE_LABELS_PACKED;
	s->suffix = suffix;
}

void
mset_add_histogram_refs(metric_family *f, const labelrefs *series, size_t nb,
						const char *const *les, const double *counts, double count, double sum)
{
	size_t		n = (size_t) series->n;
	size_t		size = sizeof(label) * (nb + 1) * (n + 1) + sizeof("le") + sizeof("+Inf");
	label	   *block;
	char	   *text;
	char	   *le_name;

	for (size_t i = 0; i < n; i++)
	{
		if (!strcmp(series->v[i].name, "le"))
		{
			/* le among the series' own labels is replaced in place: one by one */
			labelrefs	b = {0};

			for (size_t k = 0; k <= nb; k++)
			{
				labelrefs_assign(&b, series);
				labelrefs_set(&b, "le", k < nb ? les[k] : "+Inf");
				mset_add_refs(f, "_bucket", &b, k < nb ? counts[k] : count);
			}
			labelrefs_free(&b);
			mset_add_refs(f, "_sum", series, sum);
			mset_add_refs(f, "_count", series, count);
			return;
		}
		size += strlen(series->v[i].name) + strlen(series->v[i].value) + 2;
	}
	for (size_t k = 0; k < nb; k++)
		size += strlen(les[k]) + 1;
	block = xmalloc(size);
	text = (char *) (block + (nb + 1) * (n + 1));
	/* bucket 0's labels: the series' then le; the others point at the same strings */
	for (size_t i = 0; i < n; i++)
	{
		size_t		nl = strlen(series->v[i].name) + 1;
		size_t		vl = strlen(series->v[i].value) + 1;

		block[i].name = memcpy(text, series->v[i].name, nl);
		text += nl;
		block[i].value = memcpy(text, series->v[i].value, vl);
		text += vl;
	}
	le_name = memcpy(text, "le", sizeof("le"));
	text += sizeof("le");
	for (size_t k = 0; k <= nb; k++)
	{
		label	   *v = block + k * (n + 1);
		const char *le = k < nb ? les[k] : "+Inf";
		size_t		ll = strlen(le) + 1;
		metric_sample *s;

		if (k > 0)
			memcpy(v, block, sizeof(label) * n);
		v[n].name = le_name;
		v[n].value = memcpy(text, le, ll);
		text += ll;
		s = new_sample(f, k < nb ? counts[k] : count);
		s->labels.v = v;
		s->labels.n = (int) n + 1;
		s->held = k == 0 ? SAMPLE_LABELS_PACKED : SAMPLE_LABELS_BORROWED;
		s->suffix = "_bucket";
	}
	/* _sum and _count: the series' labels alone, bucket 0's first n */
	for (int k = 0; k < 2; k++)
	{
		metric_sample *s = new_sample(f, k == 0 ? sum : count);

		s->labels.v = block;
		s->labels.n = (int) n;
		s->held = SAMPLE_LABELS_BORROWED;
		s->suffix = k == 0 ? "_sum" : "_count";
	}
}

void
mset_merge_borrowed(metric_set *out, const metric_set *src)
{
	for (int i = 0; i < src->n; i++)
	{
		const metric_family *from = &src->f[i];
		metric_family *f = mset_family(out, from->name, from->help, from->type);

		reserve_samples(f, from->n);
		for (int j = 0; j < from->n; j++)
		{
			metric_sample *s = &f->s[f->n++];

			*s = from->s[j];
			s->held = SAMPLE_LABELS_BORROWED;
		}
	}
}

static void
sample_free_labels(metric_sample *s)
{
	switch (s->held)
	{
		case SAMPLE_LABELS_OWNED:
			labels_free(&s->labels);
			break;
		case SAMPLE_LABELS_PACKED:
			labels_free_packed(&s->labels);
			break;
		case SAMPLE_LABELS_BORROWED:
			break;
	}
}

static const char *
type_name(metric_type t)
{
	return t == METRIC_COUNTER ? "counter" : t == METRIC_HISTOGRAM ? "histogram" : "gauge";
}

static int
by_value_desc(const void *a, const void *b)
{
	double		x = ((const metric_sample *) a)->value;
	double		y = ((const metric_sample *) b)->value;

	return x < y ? 1 : x > y ? -1 : 0;
}

void
mset_top_n(metric_family *f, int n)
{
	/* a histogram's samples belong together: callers bound it by series */
	if (n < 0 || f->n <= n || f->type == METRIC_HISTOGRAM)
		return;
	qsort(f->s, (size_t) f->n, sizeof(metric_sample), by_value_desc);
	for (int i = n; i < f->n; i++)
		sample_free_labels(&f->s[i]);
	f->n = n;
}

/*
 * Most values are counts: an integer under 10^15 prints as its digits under
 * %.15g and reads back exactly, so it skips snprintf and strtod (the
 * cycle's text holds hundreds of thousands of values at 500 nodes).
 */
static bool
format_small_integer(double v, char *buf, size_t len)
{
	char		digits[24];
	int			n = 0;
	uint64_t	u;
	bool		neg = v < 0;

	if (!(v > -1e15 && v < 1e15) || v != (double) (int64_t) v || (v == 0 && signbit(v)))
		return false;
	u = (uint64_t) (neg ? -(int64_t) v : (int64_t) v);
	do
		digits[n++] = (char) ('0' + u % 10);
	while ((u /= 10) > 0);
	if ((size_t) n + (neg ? 1 : 0) + 1 > len)
		return false;
	if (neg)
		*buf++ = '-';
	while (n > 0)
		*buf++ = digits[--n];
	*buf = '\0';
	return true;
}

void
metric_format_value(double v, char *buf, size_t len)
{
	if (format_small_integer(v, buf, len))
		return;
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	else
	{
		snprintf(buf, len, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.17g", v);
	}
}

/* appends n bytes; the NUL is written once, at the end of the text */
static inline void
put(strbuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > sb->cap)
		sb_reserve(sb, n);
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
}

static inline void
putc_(strbuf *sb, char c)
{
	if (sb->len + 2 > sb->cap)
		sb_reserve(sb, 1);
	sb->data[sb->len++] = c;
}

/* a byte that escape() copies as it is: ASCII, not NUL, backslash, newline or (in quotes) '"' */
static inline bool
plain_byte(unsigned char c, bool quotes)
{
	return c && c < 0x80 && c != '\\' && c != '\n' && !(quotes && c == '"');
}

/* text that is not plain ASCII, or holds something to escape */
static void
escape_slow(strbuf *sb, const char *text, bool quotes)
{
	/* the exposition format is UTF-8: a stray byte would fail the whole scrape */
	char	   *clean = utf8_valid(text) ? NULL : utf8_clean(text, 0);
	const char *run = clean ? clean : text;

	/* plain stretches go in whole: label values rarely hold anything to escape */
	for (const char *s = run;; s++)
	{
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (quotes && *s == '"')
			esc = "\\\"";
		else if (*s)
			continue;
		put(sb, run, (size_t) (s - run));
		if (!esc)
			break;
		put(sb, esc, strlen(esc));
		run = s + 1;
	}
	free(clean);
}

/*
 * Label values and help texts as the format wants them.  Nearly all are
 * plain ASCII with nothing to escape: one pass finds that and copies them
 * whole; the rest take the careful path (UTF-8 checked, escapes).
 */
static void
escape(strbuf *sb, const char *text, bool quotes)
{
	const unsigned char *s = (const unsigned char *) text;

	while (plain_byte(*s, quotes))
		s++;
	if (*s)
		escape_slow(sb, text, quotes);
	else
		put(sb, text, (size_t) (s - (const unsigned char *) text));
}

char *
mset_format(const metric_set *ms)
{
	strbuf		sb;
	char		val[64];

	sb_init(&sb);
	for (int i = 0; i < ms->n; i++)
	{
		const metric_family *f = &ms->f[i];
		size_t		name_len;
		const char *type;

		if (!valid_metric_name(f->name))
			continue;
		name_len = strlen(f->name);
		type = type_name(f->type);
		put(&sb, "# HELP ", 7);
		put(&sb, f->name, name_len);
		putc_(&sb, ' ');
		escape(&sb, f->help, false);
		put(&sb, "\n# TYPE ", 8);
		put(&sb, f->name, name_len);
		putc_(&sb, ' ');
		put(&sb, type, strlen(type));
		putc_(&sb, '\n');
		for (int j = 0; j < f->n; j++)
		{
			const metric_sample *s = &f->s[j];
			int			written = 0;

			put(&sb, f->name, name_len);
			if (s->suffix)
				put(&sb, s->suffix, strlen(s->suffix));
			for (int k = 0; k < s->labels.n; k++)
			{
				const char *ln = s->labels.v[k].name;

				if (!valid_label_name(ln) || (ln[0] == '_' && ln[1] == '_'))
					continue;
				putc_(&sb, written++ ? ',' : '{');
				put(&sb, ln, strlen(ln));
				put(&sb, "=\"", 2);
				escape(&sb, s->labels.v[k].value, true);
				putc_(&sb, '"');
			}
			if (written)
				putc_(&sb, '}');
			metric_format_value(s->value, val, sizeof(val));
			putc_(&sb, ' ');
			put(&sb, val, strlen(val));
			putc_(&sb, '\n');
		}
	}
	sb.data[sb.len] = '\0';
	return sb_steal(&sb);
}

void
mset_free(metric_set *ms)
{
	for (int i = 0; i < ms->n; i++)
	{
		metric_family *f = &ms->f[i];

		for (int j = 0; j < f->n; j++)
			sample_free_labels(&f->s[j]);
		free(f->s);
		free(f->name);
		free(f->help);
	}
	free(ms->f);
	ms->f = NULL;
	ms->n = 0;
}
