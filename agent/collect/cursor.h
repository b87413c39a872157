/*
 * cursor.h: the per-node ring cursors, kept on disk next to the spool so
 * that a restarted agent neither repeats nor skips slow samples, lock wait
 * and destructive events.  A cursor belongs to one life of the extension's
 * shared memory on one system: system identifier, postmaster start time and
 * shared-memory incarnation (which also changes when PostgreSQL
 * crash-restarts without a new postmaster).  When any of them changes, the
 * node's rings started over and the cursor goes back to zero.
 *
 * File format, one node per line:  NAME SYSTEM_ID START_US CURSOR [INCARNATION]
 * (no INCARNATION, or 0: unknown, as from an extension that does not report it)
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
	uint64_t	incarnation;	/* shared-memory incarnation; 0 unknown */
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
void		cursor_set_incarnation(cursor_store *cs, const char *node, uint64_t incarnation);
void		cursor_store_free(cursor_store *cs);

typedef enum cursor_life
{
	CURSOR_SAME_LIFE,			/* the cursor still applies */
	CURSOR_NODE_RESTARTED,		/* another system or a new postmaster */
	CURSOR_SHMEM_RESTARTED		/* same postmaster, shared memory re-initialized (crash-restart) */
} cursor_life;

/*
 * Whether a cursor read under (had_*) still applies to a node that now
 * reports (sys, start_us, incarnation).  Nothing known yet (had_start_us and
 * had_incarnation 0) is the same life; an incarnation of 0 on either side
 * is unknown and never counts as a change.  Pure.
 */
cursor_life cursor_life_check(uint64_t had_sys, int64_t had_start_us, uint64_t had_incarnation,
							  uint64_t sys, int64_t start_us, uint64_t incarnation);

/* a missing file is an empty store */
bool		cursor_load(const char *path, cursor_store *cs, char **err);
/* writes (tmp, fsync, rename) when dirty */
bool		cursor_save(const char *path, cursor_store *cs, char **err);

#endif
