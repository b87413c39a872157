/*
 * log.h: the agent's log, on stderr, as text or as JSON lines.
 * Never pass a secret to these functions: callers log names, not values.
 */
#ifndef ORGUARD_LOG_H
#define ORGUARD_LOG_H

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
void		log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
