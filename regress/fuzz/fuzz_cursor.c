/*
 * fuzz_cursor.c: spool_dir/cursors, each node's ring cursor.  A parsed
 * store, formatted again, parses to the same entries.
 */
#include "fuzz.h"
#include "collect/cursor.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	cursor_store cs = {0};

	if (cursor_parse(text, &cs))
	{
		char	   *again = cursor_format(&cs);
		cursor_store cs2 = {0};

		FUZZ_ASSERT(cursor_parse(again, &cs2));
		FUZZ_ASSERT(cs2.n == cs.n);
		for (int i = 0; i < cs.n; i++)
		{
			const cursor_entry *e = cursor_get(&cs2, cs.v[i].node);

			FUZZ_ASSERT(e && e->cursor == cursor_get(&cs, cs.v[i].node)->cursor);
		}
		cursor_store_free(&cs2);
		free(again);
	}
	cursor_store_free(&cs);
	free(text);
	return 0;
}
