/*
 * spool.h: the durable outbox of one pager.  Every notification is written
 * and fsynced here before any send, and removed only once the receiver
 * accepted it, so neither an outage nor kill -9 loses an event.  Entries
 * are replayed in the order they were written.
 *
 * Layout: DIR/PAGER/<20-digit sequence>.json, written as .tmp-<seq> and
 * renamed; DIR/dead-letter/PAGER-<seq>.json for events a receiver refused
 * for good, and DIR/dead-letter/PAGER-stray-<time>-<name> for files found
 * in DIR/PAGER that are not entries.  Leftover .tmp files (a crash
 * mid-write) are discarded on open: their event was never acknowledged to
 * anyone, and the rule engine re-notifies what still fires.
 */
#ifndef ORGUARD_SPOOL_H
#define ORGUARD_SPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct spool
{
	char	   *dir;			/* DIR/PAGER */
	char	   *dead_dir;		/* DIR/dead-letter */
	char	   *pager;
	uint64_t	next_seq;
	pthread_mutex_t lock;		/* guards next_seq: writers take sequence numbers */
} spool;

/* returns NULL and sets *err (malloc'd) on failure */
spool	   *spool_open(const char *root, const char *pager, char **err);
void		spool_close(spool *s);

bool		spool_put(spool *s, const char *data, uint64_t *seq, char **err);
/*
 * sequences present, ascending; returns the count, *seqs malloc'd.  Files
 * that are not entries are moved to the dead-letter directory.
 */
int			spool_list(spool *s, uint64_t **seqs);
char	   *spool_read(spool *s, uint64_t seq);
bool		spool_ack(spool *s, uint64_t seq);
bool		spool_dead_letter(spool *s, uint64_t seq);

/*
 * One alert event goes to several pagers, one spool each: the fan-out is
 * not atomic.  Before it starts, the batch of events with their target
 * pagers is written (fsynced) as DIR/fanout.json and removed when every
 * pager's entry is on disk.  An intent found at start-up means a crash in
 * between: its events are spooled again for all their pagers (a duplicate
 * is harmless: receivers deduplicate on the key, and nothing for the same
 * alert can have been queued after it).
 */
bool		spool_intent_write(const char *root, const char *json, char **err);
/* NULL when there is none */
char	   *spool_intent_read(const char *root);
void		spool_intent_clear(const char *root);

/*
 * The rule engine's state (rules.h), DIR/alerts.json, written like the
 * entries (tmp, fsync, rename, fsync of DIR) after every change, read back
 * at start so that a restarted agent continues the same alerts.
 */
#define SPOOL_STATE_FILE "alerts.json"
bool		spool_state_write(const char *root, const char *json, char **err);
/* NULL when there is none */
char	   *spool_state_read(const char *root);

#define SPOOL_SEQ_DIGITS 20

/*
 * parses "<20 digits>.json" (sequence 1 or more); false for anything else,
 * tmp files included
 */
bool		spool_parse_name(const char *name, uint64_t *seq);
/* true while the entry's file is there (readable or not) */
bool		spool_exists(spool *s, uint64_t seq);

#endif
