/*
 * node.h: the agent's view of each PostgreSQL node and the collector that
 * polls them all from one thread with libpq's non-blocking API.
 *
 * Every node has at most one query in flight and a hard client-side
 * deadline per poll; on overrun the query is cancelled, the connection
 * dropped and re-opened later with exponential backoff, so one slow or
 * dead node never delays the others.  The session sets statement_timeout,
 * lock_timeout and idle_in_transaction_session_timeout for itself.
 *
 * A poll runs: connection figures (always), ir_model and ir_cron (once per
 * connection, Odoo databases only; ir_cron again, at most every few
 * minutes, while a running job is missing from what was read), then
 * odoo_retail_guard.snapshot(cursor) when the function exists.  A node
 * without the function still yields its connection facts and a clear
 * per-node error.
 */
#ifndef ORGUARD_NODE_H
#define ORGUARD_NODE_H

#include "common/config.h"
#include "collect/cron_jobs.h"
#include "collect/model_map.h"
#include "collect/observation.h"
#include "odoo_retail_guard.pb-c.h"

#include <libpq-fe.h>
#include <stdint.h>

typedef enum node_state
{
	NODE_DISCONNECTED,
	NODE_CONNECTING,
	NODE_SETUP,
	NODE_IDLE,
	NODE_STATS,
	NODE_MODELS,
	NODE_CRONS,
	NODE_SNAPSHOT,
	NODE_CANCELLED				/* a query past the deadline was cancelled; its answer is read before the next */
} node_state;

typedef struct cancel_req cancel_req;

typedef struct node
{
	node_cfg	cfg;			/* own copy */
	PGconn	   *conn;
	cancel_req *cancel;			/* NODE_CANCELLED: the cancel request of its query */
	node_state	state;
	short		connect_events;	/* what PQconnectPoll waits for */
	bool		busy;			/* a poll is under way */
	bool		waiting;		/* busy, and its poll starts at start_ms (see collector_start_poll) */
	uint64_t	cycle;			/* the poll cycle its current or last poll belongs to */
	char		session_set[160];	/* the SET commands its session ran (collector's, when it ran them) */
	int64_t		start_ms;
	bool		done;			/* a poll finished and awaits its reader */
	int64_t		poll_start_ms;
	int64_t		deadline_ms;
	int64_t		next_connect_ms;
	int			backoff;
	uint64_t	cursor;
	uint64_t	system_id;		/* whose event rings the cursor belongs to */
	int64_t		start_us;		/* postmaster start of that system; 0 unknown */
	uint64_t	incarnation;	/* its shared-memory incarnation; 0 unknown */
	/* the four above before the finished poll moved them (see node_keep_cursor) */
	bool		cursor_moved;
	uint64_t	prev_cursor;
	uint64_t	prev_system_id;
	int64_t		prev_start_us;
	uint64_t	prev_incarnation;
	bool		has_snapshot_fn;
	bool		has_delta_fn;	/* snapshot(bigint, bigint) is the extension's too */
	bool		has_lean_fn;	/* and snapshot(bigint, bigint, boolean): statements left out */
	struct snapshot_merge *merge;	/* kept sets for delta snapshots; NULL: full every poll */
	bool		foreign_snapshot_fn;	/* a snapshot() that is not the extension's: never called */
	char	   *shared_standby_name;	/* an application_name standbys share, warned about once */
	bool		has_ir_model;
	bool		has_ir_cron;
	bool		models_loaded;
	char	   *dbname;
	model_map	models;
	cron_catalog crons;			/* ir_cron of dbname: job names, housekeeping */
	bool		crons_loaded;	/* read (or refused) on this connection */
	bool		crons_stale;	/* a running job is missing from it */
	int64_t		crons_read_ms;
	uint64_t	destructive_events[ORIGIN_COUNT];	/* read so far, by origin */
	/* the query in flight: its results so far (they may span several reads) */
	PGresult   *partial;
	char	   *partial_err;

	/* the finished poll */
	node_observation obs;
	char		error[512];
	char		snapshot_error[512];
	OdooRetailGuard__Snapshot *snap;
	double		poll_seconds;

	uint64_t	polls;
	uint64_t	failures;
	uint64_t	overruns;
	uint64_t	snapshot_bytes;
	uint64_t	snapshots;		/* snapshots decoded: full and delta */
	uint64_t	ring_gaps;		/* snapshots that said entries were overwritten unread */
	uint64_t	shmem_restarts;	/* shared memory re-initialized under the same postmaster */
	/*
	 * this node object's identity: a reload that keeps the node keeps it, a
	 * new node (or new target) gets a new one; what the agent keeps per node
	 * (node_memory.h) follows it
	 */
	uint64_t	serial;
} node;

typedef struct collector
{
	node	  **v;
	int			n;
	double		timeout_s;
	double		statement_timeout_s;
	double		lock_timeout_s;
	double		reconnect_max_s;
	double		spread_s;		/* poll starts spread over half of interval less deadline */
	bool		deltas;			/* ask for delta snapshots */
	double		full_every_s;	/* and a full one at least this often */
	char		session_set[160];	/* the SET commands every session runs, from the configuration */
	uint64_t	cycle;			/* poll cycles started */
} collector;

collector  *collector_new(const agent_cfg *cfg);
/* applies a new configuration, keeping connections, cursors and memory of unchanged nodes */
void		collector_reload(collector *c, const agent_cfg *cfg);
void		collector_free(collector *c);

/*
 * starts a poll on every idle node, node i of n POLL_START_GAP_MS after the
 * one before it, or closer when that would not fit in spread_s (half
 * of the interval less the node deadline: every poll ends before the next
 * interval); a node still busy from the previous cycle is skipped;
 * returns how many were
 */
int			collector_start_poll(collector *c, int64_t now_ms);
#define POLL_START_GAP_MS 10
/* when the poll of node i of n starts, in ms after the interval's tick */
int64_t		poll_start_offset_ms(int i, int n, double spread_s);

/*
 * The next cycle's start after a reload changed the interval: the new
 * interval counted from the last cycle's start (next_tick_ms less the old
 * interval).  A start already past means at once.
 */
int64_t		poll_next_tick_after_reload(int64_t next_tick_ms, double old_interval_s,
										double new_interval_s);
/* waits up to timeout_ms for sockets and advances every node */
void		collector_step(collector *c, int timeout_ms);
bool		collector_busy(const collector *c);

/*
 * Whether a poll of the cycle last started is still under way.  A node
 * still busy from an earlier cycle is skipped by the new one and does not
 * hold it back: on an overloaded agent some node is busy at every moment,
 * and a cycle that waited for all of them idle would never be published,
 * save its cursors or feed the systemd watchdog.  Every poll ends by its
 * deadline, so each cycle ends.
 */
bool		collector_cycle_busy(const collector *c);
/*
 * With snapshot deltas, a finished poll's models, locks and tables are the
 * merged ones only between these two: its readers look at one node at a
 * time (the read-back sets take about four times the room of the records).
 */
void		node_lend_sets(node *n);
void		node_return_sets(node *n);
/* releases a finished poll's snapshot */
void		node_consume(node *n);
/*
 * the finished poll's events could not be spooled: its cursor goes back,
 * so that the next poll reads the same ring entries again
 */
void		node_keep_cursor(node *n);

#endif
