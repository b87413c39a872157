/*-------------------------------------------------------------------------
 *
 * text_clip.h
 *		Copy server text into a fixed-size buffer of shared memory or of an
 *		accessor struct without cutting a character in two.
 *
 * Everything the trackers store may end up in the snapshot and from there
 * in JSON (pages, webhooks), where a byte sequence cut mid-character makes
 * the whole field invalid.  The copy stops at the last whole character
 * that fits, and any byte that is not valid in the database encoding (or,
 * under SQL_ASCII, not valid UTF-8) becomes '?'.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_TEXT_CLIP_H
#define ORG_TEXT_CLIP_H

#include "postgres.h"

/* copy src (NULL: empty) into dst of dstsize bytes, NUL-terminated */
extern void org_text_clip(char *dst, const char *src, Size dstsize);

#endif							/* ORG_TEXT_CLIP_H */
