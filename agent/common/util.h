/*
 * util.h: small helpers shared by every part of the agent: checked
 * allocation, a growable string buffer, clocks and label lists.
 */
#ifndef ORGUARD_UTIL_H
#define ORGUARD_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ORGUARD_VERSION "1.0.0"

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* growable NUL-terminated buffer */
typedef struct strbuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} strbuf;

void		sb_init(strbuf *sb);
void		sb_free(strbuf *sb);
void		sb_reset(strbuf *sb);
void		sb_append(strbuf *sb, const char *s);
void		sb_append_len(strbuf *sb, const char *s, size_t n);
/* room for extra more bytes and a NUL (writers that append many pieces check once) */
void		sb_reserve(strbuf *sb, size_t extra);
void		sb_appendc(strbuf *sb, char c);
void		sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void		sb_vprintf(strbuf *sb, const char *fmt, va_list ap);
/* hands the buffer to the caller and leaves sb empty */
char	   *sb_steal(strbuf *sb);

/* name=value pairs, kept in insertion order */
typedef struct label
{
	char	   *name;
	char	   *value;
} label;

typedef struct labelset
{
	label	   *v;
	int			n;
} labelset;

/* sets or replaces name */
void		labels_set(labelset *ls, const char *name, const char *value);
const char *labels_get(const labelset *ls, const char *name);
void		labels_copy(labelset *dst, const labelset *src);
/* copies the pairs of src whose names dst lacks */
void		labels_merge(labelset *dst, const labelset *src);
void		labels_sort(labelset *ls);
void		labels_free(labelset *ls);

/*
 * Label sets composed without an allocation per label: a labelrefs list
 * borrows its strings (the caller keeps them alive while it is used) and
 * labels_pack copies it into a labelset held in one allocation, freed with
 * labels_free_packed (never labels_free).  The metric families build one
 * such set per series on every poll.
 */
typedef struct labelref
{
	const char *name;
	const char *value;
} labelref;

typedef struct labelrefs
{
	labelref   *v;
	int			n;
	int			cap;
} labelrefs;

/* sets or replaces name, in place as labels_set does (NULL value: "") */
void		labelrefs_set(labelrefs *r, const char *name, const char *value);
/* labelrefs_set of every pair of ls, in its order (labels_copy) */
void		labelrefs_set_all(labelrefs *r, const labelset *ls);
/* makes dst hold the pairs of src (keeps dst's room) */
void		labelrefs_assign(labelrefs *dst, const labelrefs *src);
void		labelrefs_free(labelrefs *r);
/* dst (empty) gets a copy of src's pairs in one allocation */
void		labels_pack(labelset *dst, const labelrefs *src);
void		labels_free_packed(labelset *ls);

/* FNV-1a of a string, for hash tables keyed by a name */
uint64_t	str_hash(const char *s);

/* wall clock in microseconds since the epoch; monotonic clock in ms */
int64_t		now_us(void);
int64_t		mono_ms(void);
/* ISO 8601 UTC with milliseconds: 2026-01-02T03:04:05.678Z */
void		format_iso8601(int64_t us, char *buf, size_t len);

bool		valid_metric_name(const char *s);
bool		valid_label_name(const char *s);

#endif
