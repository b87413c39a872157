/*
 * log.c: one line per message on stderr, text or JSON (one object a line,
 * for journald/Loki style collectors), with journald priority prefixes
 * when stderr is the journal (log.h).  Thread-safe: pager threads log too.
 */
#include "common/log.h"
#include "common/utf8.h"
#include "common/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* read by pager threads while a reload may change them */
static _Atomic int cur_format = LOG_FORMAT_TEXT;
static _Atomic int cur_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
/* stderr is the journal: decided once, at the first message */
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static bool to_journal;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void
log_configure(log_format format, log_level min_level)
{
	cur_format = format;
	cur_level = min_level;
}

int
log_syslog_priority(log_level level)
{
	switch (level)
	{
		case LOG_DEBUG:
			return 7;
		case LOG_INFO:
			return 6;
		case LOG_WARN:
			return 4;
		case LOG_ERROR:
			return 3;
	}
	return 3;
}

bool
log_journal_stream_matches(const char *journal_stream, unsigned long long dev,
						   unsigned long long ino)
{
	unsigned long long sdev,
				sino;
	int			used = 0;

	if (!journal_stream || !*journal_stream)
		return false;
	/* exactly "DEVICE:INODE" in decimal */
	if (strspn(journal_stream, "0123456789:") != strlen(journal_stream) ||
		sscanf(journal_stream, "%llu:%llu%n", &sdev, &sino, &used) != 2 ||
		journal_stream[used] != '\0')
		return false;
	return sdev == dev && sino == ino;
}

/*
 * A child that inherited JOURNAL_STREAM but whose stderr now goes to a
 * file or a terminal must not prefix: hence the device and inode check.
 */
static void
detect_journal(void)
{
	struct stat st;
	const char *js = getenv("JOURNAL_STREAM");

	to_journal = js && fstat(STDERR_FILENO, &st) == 0 &&
		log_journal_stream_matches(js, (unsigned long long) st.st_dev,
								   (unsigned long long) st.st_ino);
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
log_format_record(strbuf *out, log_format format, bool journal_prefix, log_level level,
				  const char *ts, const char *msg)
{
	char		prefix[8] = "";

	if (journal_prefix)
		snprintf(prefix, sizeof(prefix), "<%d>", log_syslog_priority(level));
	if (format == LOG_FORMAT_JSON)
	{
		sb_printf(out, "%s{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", prefix, ts,
				  level_names[level]);
		json_escape(out, msg);
		sb_append(out, "\"}\n");
		return;
	}
	sb_printf(out, "%s%s %s: ", prefix, ts, level_names[level]);
	/* journald reads each line on its own: continuation lines keep the priority */
	for (const char *p = msg; *p; p++)
	{
		sb_appendc(out, *p);
		if (*p == '\n' && journal_prefix && p[1])
			sb_append(out, prefix);
	}
	sb_appendc(out, '\n');
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
	pthread_once(&journal_once, detect_journal);
	sb_init(&line);
	log_format_record(&line, (log_format) atomic_load(&cur_format), to_journal, level, ts, msg.data);
	pthread_mutex_lock(&log_lock);
	fputs(line.data, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	sb_free(&msg);
	sb_free(&line);
}
