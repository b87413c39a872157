/*
 * regress/workload/sbuf.c: growing strings, id lists, a seeded random
 * generator and clocks for orguard-workload.
 */
#include "workload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *
xrealloc(void *p, size_t size)
{
	void	   *q = realloc(p, size);

	if (q == NULL)
	{
		fprintf(stderr, "orguard-workload: out of memory\n");
		exit(2);
	}
	return q;
}

void
sb_init(sbuf *sb)
{
	sb->cap = 256;
	sb->len = 0;
	sb->data = xrealloc(NULL, sb->cap);
	sb->data[0] = '\0';
}

void
sb_free(sbuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

void
sb_reset(sbuf *sb)
{
	sb->len = 0;
	sb->data[0] = '\0';
}

void
sb_vprintf(sbuf *sb, const char *fmt, va_list ap)
{
	for (;;)
	{
		va_list		aq;
		int			n;

		va_copy(aq, ap);
		n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, aq);
		va_end(aq);
		if (n < 0)
			return;
		if ((size_t) n < sb->cap - sb->len)
		{
			sb->len += (size_t) n;
			return;
		}
		sb->cap = (sb->cap + (size_t) n + 1) * 2;
		sb->data = xrealloc(sb->data, sb->cap);
	}
}

void
sb_printf(sbuf *sb, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

void
ids_push(idlist *l, int64_t id)
{
	if (l->n == l->cap)
	{
		l->cap = l->cap ? l->cap * 2 : 64;
		l->ids = xrealloc(l->ids, l->cap * sizeof(*l->ids));
	}
	l->ids[l->n++] = id;
}

void
ids_free(idlist *l)
{
	free(l->ids);
	l->ids = NULL;
	l->n = l->cap = 0;
}

void
sb_tuple(sbuf *sb, const idlist *l, size_t from, size_t count)
{
	sb_printf(sb, "(");
	for (size_t i = from; i < from + count && i < l->n; i++)
		sb_printf(sb, i == from ? "%lld" : ", %lld", (long long) l->ids[i]);
	sb_printf(sb, ")");
}

void
rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
	/* splitmix64 of seed and stream: distinct, never-zero states */
	uint64_t	z = seed * 0x9E3779B97F4A7C15ULL + stream + 0x632BE59BD9B4E019ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	r->s = z ? z : 1;
}

uint64_t
rng_next(rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

long
rng_between(rng *r, long lo, long hi)
{
	if (hi <= lo)
		return lo;
	return lo + (long) (rng_next(r) % (uint64_t) (hi - lo + 1));
}

double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
now_epoch(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
sleep_s(double seconds)
{
	struct timespec ts;

	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t) seconds;
	ts.tv_nsec = (long) ((seconds - (double) ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
sb_odoo_now(sbuf *sb)
{
	time_t		t = time(NULL);
	struct tm	tm;
	char		buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "'%Y-%m-%d %H:%M:%S'", &tm);
	sb_printf(sb, "%s", buf);
}
