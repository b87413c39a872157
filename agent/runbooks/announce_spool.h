/*
 * announce_spool.h: delivery of runbook announcements from the CLI, and
 * the daemon's pick-up of what a CLI process left undelivered.
 *
 * A runbook may run while a pager is down, and a failover must never wait
 * for one; nor may two processes write one spool directory.  So every
 * announcing CLI process spools into a directory of its own,
 * SPOOL_DIR/runbooks/CLUSTER/ID (ID: UTC time to the microsecond and pid),
 * held with flock() on its "owner.lock" for the life of the process; it
 * enqueues (an fsynced file per pager, never a wait) and its pager threads
 * deliver in the background.  At exit it waits at most announce_timeout
 * for its spools to drain, then removes the directory if empty, or leaves
 * it.
 *
 * A directory whose lock is free is an orphan.  The next CLI process that
 * announces on the same cluster adopts it by taking its lock and moves its
 * entries into its own spools ahead of its own (so a resumed run's pages
 * stay in order); the daemon (rb_orphans_poll, every tick) adopts the
 * orphans no CLI took and delivers them with the same pagers.  Either
 * removes the directory once empty.  The lock guarantees one writer and
 * one reader per directory; an event is deleted only after its receiver
 * accepted it, so nothing is lost, and a duplicate is harmless (receivers
 * deduplicate on the run's key).
 */
#ifndef ORGUARD_RB_ANNOUNCE_SPOOL_H
#define ORGUARD_RB_ANNOUNCE_SPOOL_H

#include "alert/alert.h"
#include "common/config.h"
#include "runbooks/announce.h"
#include "runbooks/run.h"

#include <stdbool.h>

/* CLI side: one announcer per process (the pagers of cfg, kept by pointer) */
void		rb_announcer_init(const agent_cfg *cfg);
/* enqueues the announcement for every pager that accepts its severity */
void		rb_announcer_send(const rb_announcement *a, double announce_timeout_s);
/* rb_run_observe's observer: announces one journaled line of a run */
void		rb_announcer_run_line(const rb_run_line *l);
/*
 * Waits until everything spooled by this process (and the orphans it
 * adopted) is delivered, or the longest announce_timeout passed; stops the
 * pagers.  Returns the count still spooled (sent later).
 */
int			rb_announcer_finish(void);

/* daemon side: adopts and drains orphaned runbook spools */
typedef struct rb_orphans rb_orphans;

rb_orphans *rb_orphans_new(void);
/* adopts free directories with pending entries, releases drained ones */
void		rb_orphans_poll(rb_orphans *o, const agent_cfg *cfg);
/* stops the pagers; whatever is unsent stays spooled */
void		rb_orphans_free(rb_orphans *o);

#endif
