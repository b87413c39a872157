/*
 * fuzz.h: what every libFuzzer harness here shares.  Each harness feeds
 * its input, as text or bytes, to the agent's own parsers, linked from
 * agent/ unchanged; a crash, a sanitizer report, a leak or a failed
 * FUZZ_ASSERT is a finding.
 */
#ifndef ORGUARD_FUZZ_H
#define ORGUARD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the input as a NUL-terminated string (bytes after an inner NUL are cut) */
static inline char *
fuzz_text(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* an invariant of the parser under test */
#define FUZZ_ASSERT(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

#endif
