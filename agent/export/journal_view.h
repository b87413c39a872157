/*
 * journal_view.h: the runbook journals as the status page shows them.
 * Each poll looks at the journals the [runbook ...] sections name; a
 * journal is read again only when its size, mtime or inode changed, and
 * then only its last bytes (JOURNAL_VIEW_BUDGET split over the journals),
 * so a long journal costs the main loop a bounded read.  Never takes a lock
 * (runbooks lock a file of their own, not the journal) and never blocks on
 * a FIFO.
 */
#ifndef ORGUARD_JOURNAL_VIEW_H
#define ORGUARD_JOURNAL_VIEW_H

#include "common/config.h"

#include <jansson.h>

#define JOURNAL_VIEW_BUDGET (256 * 1024)	/* bytes read per poll, at most */
#define JOURNAL_VIEW_RUNS 10	/* runs shown per journal */

typedef struct journal_view journal_view;

journal_view *journal_view_new(void);
void		journal_view_free(journal_view *v);

/*
 * [{"path", "state" ("ok", "missing", "unreadable"), "error", "torn",
 *   "runs": see journal_runs_json()}], one per distinct journal of cfg's
 * runbooks.  A new reference.
 */
json_t	   *journal_view_json(journal_view *v, const agent_cfg *cfg);

#endif
