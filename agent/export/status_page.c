/*
 * status_page.c: the status page.  The HTML lives in status_page.html and
 * is turned into a C string at build time (status_page.html.h), so the
 * binary carries the whole page and serves nothing from elsewhere.
 */
#include "export/status_page.h"
#include "common/util.h"

#include <string.h>

static const char page[] =
#include "status_page.html.h"
;

#define PLACEHOLDER "@STATUS_JSON@"

char *
status_page_render(const char *json)
{
	const char *at = strstr(page, PLACEHOLDER);
	strbuf		sb;

	sb_init(&sb);
	sb_append_len(&sb, page, (size_t) (at - page));
	/* the JSON has '/' escaped, so "</script>" cannot occur in it */
	sb_append(&sb, json);
	sb_append(&sb, at + strlen(PLACEHOLDER));
	return sb_steal(&sb);
}
