/*-------------------------------------------------------------------------
 *
 * text_clip.c
 *		Character-boundary copies of server text (text_clip.h).
 *
 * Memory only: no allocation, no catalog access, so it may run under our
 * locks and in the ClientAuthentication hook.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "text_clip.h"

void
org_text_clip(char *dst, const char *src, Size dstsize)
{
	int			encoding = GetDatabaseEncoding();
	int			len;
	int			pos;

	if (dstsize == 0)
		return;
	if (src == NULL)
	{
		dst[0] = '\0';
		return;
	}
	len = (int) strnlen(src, dstsize - 1 + MAX_MULTIBYTE_CHAR_LEN);
	/* SQL_ASCII stores bytes as given; the snapshot's readers expect UTF-8 */
	if (encoding == PG_SQL_ASCII)
		encoding = PG_UTF8;
	/* a lead byte announcing more bytes than are left must not read past */
	len = Min(len, pg_encoding_mbcliplen(encoding, src, len, (int) dstsize - 1));
	memcpy(dst, src, len);
	dst[len] = '\0';

	for (pos = 0; pos < len;)
	{
		pos += pg_encoding_verifymbstr(encoding, dst + pos, len - pos);
		if (pos < len)
			dst[pos++] = '?';
	}
}
