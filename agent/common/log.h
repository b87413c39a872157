/*
 * log.h: the agent's log, on stderr, as text or as JSON lines.
 * Never pass a secret to these functions: callers log names, not values.
 *
 * When stderr is systemd's journal stream (JOURNAL_STREAM names stderr's
 * device and inode, as systemd.exec(5) says to check), every line starts
 * with its syslog priority, "<3>" for errors to "<7>" for debug, which
 * journald strips and stores, so `journalctl -p err` finds the errors.
 */
#ifndef ORGUARD_LOG_H
#define ORGUARD_LOG_H

#include "common/util.h"

#include <stdbool.h>

typedef enum log_format
{
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON
} log_format;

typedef enum log_level
{
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR
} log_level;

void		log_configure(log_format format, log_level min_level);

/* syslog priority of a level: 3 (err), 4 (warning), 6 (info), 7 (debug) */
int			log_syslog_priority(log_level level);

/* whether JOURNAL_STREAM's "DEVICE:INODE" names the file dev/ino */
bool		log_journal_stream_matches(const char *journal_stream,
									   unsigned long long dev, unsigned long long ino);

/*
 * One log record as written: "TS LEVEL: MSG\n" or a JSON object line;
 * with journal_prefix every line of it (a message may span lines) starts
 * with "<N>".
 */
void		log_format_record(strbuf *out, log_format format, bool journal_prefix,
							  log_level level, const char *ts, const char *msg);
void		log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
