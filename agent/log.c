/*
 * log.c: one line per message on stderr, text or JSON (one object a line,
 * for journald/Loki style collectors).  Thread-safe: pager threads log too.
 */
#include "log.h"
#include "utf8.h"
#include "util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* read by pager threads while a reload may change them */
static _Atomic int cur_format = LOG_FORMAT_TEXT;
static _Atomic int cur_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void
log_configure(log_format format, log_level min_level)
{
	cur_format = format;
	cur_level = min_level;
}

static void
json_escape(strbuf *sb, const char *text)
{
	/* a JSON line must be UTF-8 even when the message quotes odd bytes */
	char	   *clean = utf8_clean(text, 0);

	for (const char *s = clean; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
		{
			sb_appendc(sb, '\\');
			sb_appendc(sb, (char) c);
		}
		else if (c == '\n')
			sb_append(sb, "\\n");
		else if (c == '\t')
			sb_append(sb, "\\t");
		else if (c < 0x20)
			sb_printf(sb, "\\u%04x", c);
		else
			sb_appendc(sb, (char) c);
	}
	free(clean);
}

void
log_msg(log_level level, const char *fmt, ...)
{
	strbuf		msg,
				line;
	char		ts[40];
	va_list		ap;

	if ((int) level < atomic_load(&cur_level))
		return;
	sb_init(&msg);
	va_start(ap, fmt);
	sb_vprintf(&msg, fmt, ap);
	va_end(ap);
	format_iso8601(now_us(), ts, sizeof(ts));
	sb_init(&line);
	if (atomic_load(&cur_format) == LOG_FORMAT_JSON)
	{
		sb_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level_names[level]);
		json_escape(&line, msg.data);
		sb_append(&line, "\"}\n");
	}
	else
		sb_printf(&line, "%s %s: %s\n", ts, level_names[level], msg.data);
	pthread_mutex_lock(&log_lock);
	fputs(line.data, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	sb_free(&msg);
	sb_free(&line);
}
