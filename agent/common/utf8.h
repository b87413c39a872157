/*
 * utf8.h: text made safe for JSON and Prometheus.  Names, queries and
 * labels come from databases and configuration files and may hold invalid
 * UTF-8 (a byte-wise cut, a LATIN1 database); JSON must not.  Pure: no I/O.
 */
#ifndef ORGUARD_UTF8_H
#define ORGUARD_UTF8_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* the replacement for every byte that does not start a valid sequence */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* true when s is valid UTF-8 (no overlong forms, surrogates or NUL inside) */
bool		utf8_valid(const char *s);

/*
 * A malloc'd copy of s with every invalid byte replaced by U+FFFD, cut at a
 * character boundary so that it holds at most max_bytes bytes (0: no limit).
 * NULL gives "".
 */
char	   *utf8_clean(const char *s, size_t max_bytes);

/* the length of the longest prefix of s of at most max bytes that ends on a character boundary */
size_t		utf8_prefix_len(const char *s, size_t max);

/* json_string() of utf8_clean(s, 0): never NULL, so no field goes missing */
json_t	   *json_text(const char *s);
/* json_object_set_new() with the key cleaned too */
void		json_set_text(json_t *o, const char *key, const char *value);

#endif
