/*
 * status_json.h: the data behind the status page and /api/v1/status.
 * After each poll the main loop hands a node's observation and snapshot to
 * the board, which keeps what the page shows (a JSON object per node, lag
 * history per standby, model time per poll over a window); the document is
 * built from the board plus the alerts firing now.  Pure: no I/O, time is
 * an argument.  Texts come from the snapshot already normalized.
 */
#ifndef ORGUARD_STATUS_JSON_H
#define ORGUARD_STATUS_JSON_H

#include "alert/alert.h"
#include "alert/facts.h"
#include "odoo_retail_guard.pb-c.h"

#include <jansson.h>
#include <stdint.h>

/* points of lag history kept per standby, and the window of top models */
#define STATUS_LAG_POINTS 120
/* a standby's lag chart stays this long after its last point (a standby gone, renamed) */
#define STATUS_LAG_KEEP_S 3600
#define STATUS_MODEL_WINDOW_S 300
/* a model's growth is kept per bucket of this many seconds: the window's edge moves by buckets */
#define STATUS_MODEL_BUCKET_S 30
#define STATUS_TOP_MODELS 10
#define STATUS_DESTRUCTIVE_KEPT 20

typedef struct status_board status_board;

status_board *status_board_new(void);
void		status_board_free(status_board *b);
/* model growth points kept (bounded by models x buckets per window) */
int			status_board_model_points(const status_board *b);

/*
 * Records one finished poll of a node.  snap may be NULL (no extension or
 * the snapshot failed); error is "" when the poll went well.
 */
void		status_board_node(status_board *b, const char *name, const char *cluster,
							  const node_observation *obs, const char *error,
							  const OdooRetailGuard__Snapshot *snap, int64_t now_us);

/* forgets nodes no longer configured (names: the configured ones) */
void		status_board_retain(status_board *b, const char *const *names, int n);

/*
 * The runbook journals as journal_view_json() gives them; the board takes
 * the reference.
 */
void		status_board_runbooks(status_board *b, json_t *journals);

/*
 * The whole status document (malloc'd JSON text, '/' escaped so it can sit
 * inside a <script> element); firing may be NULL.
 */
char	   *status_board_json(const status_board *b, const event_list *firing, int64_t now_us);

#endif
