/*
 * util.c: checked allocation, string buffers, label lists and clocks.
 * Allocation failure ends the process: the agent cannot do anything useful
 * without memory, and the spool keeps every event that was not yet sent.
 */
#include "common/util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
oom(void)
{
	fputs("orguard-agent: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	   *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void	   *q = realloc(p, n ? n : 1);

	if (!q)
		oom();
	return q;
}

char *
xstrdup(const char *s)
{
	char	   *p = strdup(s ? s : "");

	if (!p)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	strbuf		sb;
	va_list		ap;

	sb_init(&sb);
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	return sb_steal(&sb);
}

void
sb_init(strbuf *sb)
{
	sb->cap = 64;
	sb->len = 0;
	sb->data = xmalloc(sb->cap);
	sb->data[0] = '\0';
}

void
sb_free(strbuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

void
sb_reset(strbuf *sb)
{
	sb->len = 0;
	sb->data[0] = '\0';
}

void
sb_reserve(strbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->cap)
		return;
	while (sb->len + extra + 1 > sb->cap)
		sb->cap *= 2;
	sb->data = xrealloc(sb->data, sb->cap);
}

void
sb_append_len(strbuf *sb, const char *s, size_t n)
{
	sb_reserve(sb, n);
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
sb_append(strbuf *sb, const char *s)
{
	sb_append_len(sb, s, strlen(s));
}

void
sb_appendc(strbuf *sb, char c)
{
	sb_append_len(sb, &c, 1);
}

void
sb_vprintf(strbuf *sb, const char *fmt, va_list ap)
{
	va_list		ap2;
	int			n;

	va_copy(ap2, ap);
	n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t) n >= sb->cap - sb->len)
	{
		sb_reserve(sb, (size_t) n);
		vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
	}
	sb->len += (size_t) n;
}

void
sb_printf(strbuf *sb, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

char *
sb_steal(strbuf *sb)
{
	char	   *p = sb->data;

	sb->data = NULL;
	sb->len = sb->cap = 0;
	return p;
}

void
labels_set(labelset *ls, const char *name, const char *value)
{
	for (int i = 0; i < ls->n; i++)
		if (strcmp(ls->v[i].name, name) == 0)
		{
			free(ls->v[i].value);
			ls->v[i].value = xstrdup(value);
			return;
		}
	ls->v = xrealloc(ls->v, sizeof(label) * (size_t) (ls->n + 1));
	ls->v[ls->n].name = xstrdup(name);
	ls->v[ls->n].value = xstrdup(value);
	ls->n++;
}

const char *
labels_get(const labelset *ls, const char *name)
{
	for (int i = 0; i < ls->n; i++)
		if (strcmp(ls->v[i].name, name) == 0)
			return ls->v[i].value;
	return NULL;
}

void
labels_copy(labelset *dst, const labelset *src)
{
	for (int i = 0; i < src->n; i++)
		labels_set(dst, src->v[i].name, src->v[i].value);
}

void
labels_merge(labelset *dst, const labelset *src)
{
	for (int i = 0; i < src->n; i++)
		if (!labels_get(dst, src->v[i].name))
			labels_set(dst, src->v[i].name, src->v[i].value);
}

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(((const label *) a)->name, ((const label *) b)->name);
}

void
labels_sort(labelset *ls)
{
	if (ls->n > 1)
		qsort(ls->v, (size_t) ls->n, sizeof(label), label_cmp);
}

void
labels_free(labelset *ls)
{
	for (int i = 0; i < ls->n; i++)
	{
		free(ls->v[i].name);
		free(ls->v[i].value);
	}
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}

void
labelrefs_set(labelrefs *r, const char *name, const char *value)
{
	if (!value)
		value = "";				/* as labels_set */
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0)
		{
			r->v[i].value = value;
			return;
		}
	if (r->n == r->cap)
	{
		r->cap = r->cap ? r->cap * 2 : 8;
		r->v = xrealloc(r->v, sizeof(labelref) * (size_t) r->cap);
	}
	r->v[r->n].name = name;
	r->v[r->n].value = value;
	r->n++;
}

void
labelrefs_set_all(labelrefs *r, const labelset *ls)
{
	for (int i = 0; i < ls->n; i++)
		labelrefs_set(r, ls->v[i].name, ls->v[i].value);
}

void
labelrefs_assign(labelrefs *dst, const labelrefs *src)
{
	if (dst->cap < src->n)
	{
		dst->cap = src->n;
		dst->v = xrealloc(dst->v, sizeof(labelref) * (size_t) dst->cap);
	}
	if (src->n)
		memcpy(dst->v, src->v, sizeof(labelref) * (size_t) src->n);
	dst->n = src->n;
}

void
labelrefs_free(labelrefs *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

void
labels_pack(labelset *dst, const labelrefs *src)
{
	size_t		size = sizeof(label) * (size_t) src->n;
	char	   *text;

	for (int i = 0; i < src->n; i++)
		size += strlen(src->v[i].name) + strlen(src->v[i].value) + 2;
	dst->v = xmalloc(size);
	dst->n = src->n;
	text = (char *) (dst->v + src->n);
	for (int i = 0; i < src->n; i++)
	{
		size_t		nl = strlen(src->v[i].name) + 1;
		size_t		vl = strlen(src->v[i].value) + 1;

		dst->v[i].name = memcpy(text, src->v[i].name, nl);
		text += nl;
		dst->v[i].value = memcpy(text, src->v[i].value, vl);
		text += vl;
	}
}

void
labels_free_packed(labelset *ls)
{
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}

uint64_t
str_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
format_iso8601(int64_t us, char *buf, size_t len)
{
	time_t		t = (time_t) (us / 1000000);
	struct tm	tm;
	char		base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int) ((us % 1000000) / 1000));
}

bool
valid_metric_name(const char *s)
{
	if (!s || !*s || !(isalpha((unsigned char) *s) || *s == '_' || *s == ':'))
		return false;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char) *s) || *s == '_' || *s == ':'))
			return false;
	return true;
}

/*
 * [a-zA-Z_][a-zA-Z0-9_]*, looked up in a table rather than through the
 * locale's classification: every label of every sample is checked when
 * /metrics is written, and names are ASCII by definition.  1: may start a
 * name, 2: may follow.
 */
static unsigned char label_bytes[256];

static void
label_bytes_init(void)
{
	for (int c = 0; c < 256; c++)
		label_bytes[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ? 3
			: c >= '0' && c <= '9' ? 2 : 0;
}

bool
valid_label_name(const char *s)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const unsigned char *p = (const unsigned char *) s;

	pthread_once(&once, label_bytes_init);
	if (!p || !(label_bytes[*p] & 1))
		return false;
	for (p++; *p; p++)
		if (!(label_bytes[*p] & 2))
			return false;
	return true;
}
