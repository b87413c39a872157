/*
 * cursor.h: the per-node ring cursors, kept on disk next to the spool so
 * that a restarted agent neither repeats nor skips slow samples, lock wait
 * and destructive events.  A cursor belongs to one postmaster lifetime of
 * one system (system identifier and start time): when either changes, the
 * node's rings started over and the cursor goes back to zero.
 *
 * File format, one node per line:  NAME SYSTEM_ID START_US CURSOR
 */
#ifndef ORGUARD_CURSOR_H
#define ORGUARD_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

typedef struct cursor_entry
{
	char	   *node;
	uint64_t	system_id;
	int64_t		start_us;
	uint64_t	cursor;
} cursor_entry;

typedef struct cursor_store
{
	cursor_entry *v;
	int			n;
	bool		dirty;
} cursor_store;

/* parses the file's text; returns false on a malformed line (store then partial) */
bool		cursor_parse(const char *text, cursor_store *cs);
char	   *cursor_format(const cursor_store *cs);
const cursor_entry *cursor_get(const cursor_store *cs, const char *node);
void		cursor_set(cursor_store *cs, const char *node, uint64_t system_id, int64_t start_us,
					   uint64_t cursor);
void		cursor_store_free(cursor_store *cs);

/* a missing file is an empty store */
bool		cursor_load(const char *path, cursor_store *cs, char **err);
/* writes (tmp, fsync, rename) when dirty */
bool		cursor_save(const char *path, cursor_store *cs, char **err);

#endif
