/*
 * fanout.h: alert events handed to the pagers that want them, through
 * their spools.  One batch goes to several spools (several files), so the
 * batch and its pagers are written first as the spool's fan-out intent
 * (spool.h): a crash half-way through sends the whole batch again at the
 * next start, and receivers deduplicate.  Events that cannot be spooled
 * (disk full) go back to the rule engine, which produces them again.
 */
#ifndef ORGUARD_FANOUT_H
#define ORGUARD_FANOUT_H

#include "alert/alert.h"
#include "common/config.h"
#include "deliver/pager.h"
#include "alert/rules.h"

typedef struct fanout
{
	const agent_cfg *cfg;		/* the rules' pager lists and spool_dir */
	pager	  **pagers;
	int			n_pagers;
	rule_engine *re;			/* takes back what could not be spooled */
} fanout;

/* pagers of an event: the rule's list (default all), above their min_severity */
bool		fanout_wants(const fanout *f, int p, const alert_event *ev);

/*
 * Spools events for their pagers.  Returns false when one could not be
 * written (disk full): that one and every later one of the batch are then
 * not sent, and events of the rule engine (from_rules) are handed back to
 * it so that the next poll produces them again; nothing is lost.
 */
bool		fanout_route(const fanout *f, event_list *events, bool from_rules);

/*
 * A crash during a fan-out: spools its events again for all their pagers.
 * Returns false when one could not be spooled (it went back to the rule
 * engine); the intent is cleared either way.
 */
bool		fanout_recover(const fanout *f);

/*
 * Posts every firing alert again to each Alertmanager whose turn came
 * (reposted_ms per pager, now_ms on the monotonic clock); returns how many
 * posts could not be spooled (they are posted again next time).
 */
int			fanout_repost_to_alertmanagers(const fanout *f, int64_t *reposted_ms, int64_t now_ms);

#endif
