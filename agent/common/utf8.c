/*
 * utf8.c: validation, replacement and character-boundary cuts of UTF-8
 * (RFC 3629: at most 4 bytes, up to U+10FFFF, no surrogates or overlong
 * forms).  Every string the agent puts into JSON goes through here.
 */
#include "common/utf8.h"
#include "common/util.h"

#include <string.h>

/* length of the valid sequence at s (1-4), or 0 when s[0] does not start one */
static size_t
seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c >= 0x01 && c <= 0x7F)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF)
	{
		unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;	/* no overlong forms */
		unsigned char hi = c == 0xED ? 0x9F : 0xBF;	/* no surrogates */

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80 ? 4 : 0;
	}
	return 0;
}

bool
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p)
	{
		size_t		n;

		/* most text is ASCII: skip it without decoding */
		if (*p < 0x80)
		{
			p++;
			continue;
		}
		n = seq_len(p);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

size_t
utf8_prefix_len(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		at = 0;

	while (p[at])
	{
		size_t		n = seq_len(p + at);

		if (!n)
			n = 1;				/* an invalid byte stands alone */
		if (at + n > max)
			break;
		at += n;
	}
	return at;
}

char *
utf8_clean(const char *s, size_t max_bytes)
{
	const unsigned char *p = (const unsigned char *) (s ? s : "");
	strbuf		sb;

	sb_init(&sb);
	while (*p)
	{
		size_t		n = seq_len(p);
		const char *piece = n ? (const char *) p : UTF8_REPLACEMENT;
		size_t		len = n ? n : strlen(UTF8_REPLACEMENT);

		if (max_bytes && sb.len + len > max_bytes)
			break;
		sb_append_len(&sb, piece, len);
		p += n ? n : 1;
	}
	return sb_steal(&sb);
}

json_t *
json_text(const char *s)
{
	char	   *clean = utf8_clean(s, 0);
	json_t	   *j = json_string(clean);

	free(clean);
	return j;
}

void
json_set_text(json_t *o, const char *key, const char *value)
{
	char	   *k = utf8_clean(key, 0);

	json_object_set_new(o, k, json_text(value));
	free(k);
}
