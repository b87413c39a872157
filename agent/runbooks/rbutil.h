/*
 * rbutil.h: small pure helpers shared by the runbooks: WAL positions
 * (LSNs), timestamps with an explicit UTC offset, and quoting for
 * postgresql.conf values and shell words.
 */
#ifndef ORGUARD_RB_UTIL_H
#define ORGUARD_RB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "16/B374D848" as PostgreSQL prints pg_lsn; false when malformed */
bool		rb_lsn_parse(const char *s, uint64_t *out);
/* buf of at least 24 bytes */
void		rb_lsn_format(uint64_t lsn, char *buf, size_t len);

/*
 * "2026-11-23 10:04:05.123456+00", "2026-11-23T10:04:05Z", "... +05:30":
 * microseconds since the epoch.  A zone offset is required: a bare local
 * time means something different to the agent and to the server.
 */
bool		rb_time_parse(const char *s, int64_t *out_us);
/* the same, saying why a value is refused ("is not a date: 2025-02 has no day 29") */
bool		rb_time_parse_why(const char *s, int64_t *out_us, char *why, size_t whylen);
/* "2026-11-23 10:04:05.123456+00" (what recovery_target_time accepts) */
void		rb_time_format(int64_t us, char *buf, size_t len);

/*
 * a postgresql.conf value as PostgreSQL writes one: 'it''s', 'C:\\dir';
 * a newline or carriage return becomes \n or \r (never a raw line break)
 */
char	   *rb_conf_quote(const char *s);
/* a libpq conninfo value: 'it\'s', 'C:\\dir' */
char	   *rb_conninfo_quote(const char *s);
/* an SQL string literal: 'it''s', or E'C:\\dir' when s holds a backslash */
char	   *rb_sql_quote(const char *s);
/* 'it'\''s' for /bin/sh */
char	   *rb_shell_quote(const char *s);

/*
 * the value of the first line "KEY: value" of text (backup_label,
 * pg_controldata output), spaces and tabs after the colon skipped; it runs
 * to the end of that line.  NULL when no line has the key.
 */
const char *rb_line_value(const char *text, const char *key);

#endif
