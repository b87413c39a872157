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

static metric_sample *
new_sample(metric_family *f, double value)
{
	metric_sample *s;

	f->s = xrealloc(f->s, sizeof(metric_sample) * (size_t) (f->n + 1));
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
		labels_free(&f->s[i].labels);
	f->n = n;
}

void
metric_format_value(double v, char *buf, size_t len)
{
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

static void
escape(strbuf *sb, const char *text, bool quotes)
{
	/* the exposition format is UTF-8: a stray byte would fail the whole scrape */
	char	   *clean = utf8_clean(text, 0);

	for (const char *s = clean; *s; s++)
	{
		if (*s == '\\')
			sb_append(sb, "\\\\");
		else if (*s == '\n')
			sb_append(sb, "\\n");
		else if (quotes && *s == '"')
			sb_append(sb, "\\\"");
		else
			sb_appendc(sb, *s);
	}
	free(clean);
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

		if (!valid_metric_name(f->name))
			continue;
		sb_printf(&sb, "# HELP %s ", f->name);
		escape(&sb, f->help, false);
		sb_printf(&sb, "\n# TYPE %s %s\n", f->name, type_name(f->type));
		for (int j = 0; j < f->n; j++)
		{
			const metric_sample *s = &f->s[j];
			int			written = 0;

			sb_append(&sb, f->name);
			if (s->suffix)
				sb_append(&sb, s->suffix);
			for (int k = 0; k < s->labels.n; k++)
			{
				if (!valid_label_name(s->labels.v[k].name) || !strncmp(s->labels.v[k].name, "__", 2))
					continue;
				sb_append(&sb, written++ ? "," : "{");
				sb_printf(&sb, "%s=\"", s->labels.v[k].name);
				escape(&sb, s->labels.v[k].value, true);
				sb_appendc(&sb, '"');
			}
			if (written)
				sb_appendc(&sb, '}');
			metric_format_value(s->value, val, sizeof(val));
			sb_printf(&sb, " %s\n", val);
		}
	}
	return sb_steal(&sb);
}

void
mset_free(metric_set *ms)
{
	for (int i = 0; i < ms->n; i++)
	{
		metric_family *f = &ms->f[i];

		for (int j = 0; j < f->n; j++)
			labels_free(&f->s[j].labels);
		free(f->s);
		free(f->name);
		free(f->help);
	}
	free(ms->f);
	ms->f = NULL;
	ms->n = 0;
}
