/*
 * ini.h: a small INI reader that reports the line of every entry, so that
 * check-config can point at file:line for each error (Debian's libinih
 * hands the line only to a compile-time variant of its callback).
 */
#ifndef ORGUARD_INI_H
#define ORGUARD_INI_H

#include <stdbool.h>

/*
 * Called once per "[section]" header (key and value NULL) and once per
 * "key = value" line.  section is the header text with surrounding blanks
 * removed, e.g. "node store-042".  Return 0 to go on, non-zero to stop.
 * syntax errors are reported through the same callback with key NULL and
 * value holding the message (section then is "!").
 */
typedef int (*ini_handler) (void *ctx, int line, const char *section,
							const char *key, const char *value);

/* parses text (NUL-terminated); returns the callback's stop value or 0 */
int			ini_parse_string(const char *text, ini_handler handler, void *ctx);

/* a key ending in "_command": its value goes to the shell exactly as written */
bool		ini_is_command_key(const char *key);
/* why a shell command's quotes do not balance, or NULL when they do */
const char *ini_shell_quote_problem(const char *command);

#endif
