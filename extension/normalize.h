/*-------------------------------------------------------------------------
 *
 * normalize.h
 *	  Strip customer data out of SQL text before it is stored or shipped.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_NORMALIZE_H
#define ORG_NORMALIZE_H

/*
 * Normalize the first srclen bytes of src (srclen < 0: up to the NUL; an
 * embedded NUL always ends the input) into dst[dstsize].
 *
 * - Every literal constant becomes $n, numbered from one past the highest
 *	 $k parameter already in the text: '...' (with '' doubling), E'...' (with
 *	 backslash escapes), B'', X'', N'', U&'', $$...$$, $tag$...$tag$ and
 *	 numbers (1, 1.5, .5, 1e10, 1.5E-3).  An unterminated literal at the end
 *	 is replaced as well.  Identifiers (also "quoted"), keywords such as
 *	 TRUE/FALSE/NULL, parameters, operators and casts are kept.
 * - A list of two or more constants in IN (...) or ARRAY[...] becomes its
 *	 first element followed by ", ...", e.g. IN ($1, ...); multi-row VALUES
 *	 whose rows are all constants keep only the first row, then ", ...".
 *	 Constants here are literals (optionally signed, optionally ::cast) and
 *	 NULL, TRUE, FALSE, DEFAULT.
 * - Comments (-- and nested slash-star) become one space, whitespace runs
 *	 collapse to one space, leading and trailing whitespace is dropped.
 * - If the result does not fit, output stops at a token or UTF-8 character
 *	 boundary; a $n placeholder is never cut, raw literal text never appears.
 *
 * Returns the number of bytes written, excluding the terminating NUL, which
 * is always written when dstsize > 0.  O(srclen), no allocation.
 */
extern int	org_normalize_query(const char *src, int srclen,
								char *dst, int dstsize);

#endif							/* ORG_NORMALIZE_H */
