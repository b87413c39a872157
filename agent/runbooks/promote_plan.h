/*
 * promote_plan.h: the decisions of the promotion runbook, without I/O.
 *
 * The executor probes and samples; these functions decide: is the primary
 * dead (enough consecutive failed probes over enough time), which standby
 * to promote (most WAL received, then most replayed, then name), and
 * whether every guard holds (fencing configured, no other node already a
 * primary, system identifier, the candidate's WAL receiver lost its
 * upstream, data-loss bound).
 */
#ifndef ORGUARD_RB_PROMOTE_PLAN_H
#define ORGUARD_RB_PROMOTE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct probe_sample
{
	int64_t		at_ms;			/* monotonic */
	bool		ok;
} probe_sample;

typedef struct dead_rule
{
	int			probes;			/* consecutive failures needed */
	int64_t		min_span_ms;	/* from the first to the last of them */
} dead_rule;

/*
 * True when the newest samples are at least rule->probes consecutive
 * failures spanning at least rule->min_span_ms.  *failures receives the
 * length of the failing tail.
 */
bool		promote_primary_dead(const probe_sample *h, int n, const dead_rule *rule, int *failures);

/* how the primary's last sample saw a standby (pg_stat_replication.sync_state) */
typedef enum promote_sync
{
	PROMOTE_ASYNC,				/* async, potential, or not connected */
	PROMOTE_SYNC,				/* sync: every commit waited for it (FIRST n) */
	PROMOTE_QUORUM				/* quorum (ANY n): some commits waited for others */
} promote_sync;

typedef struct promote_candidate
{
	const char *name;
	bool		reachable;
	bool		in_recovery;
	uint64_t	sysid;
	uint64_t	receive_lsn;	/* pg_last_wal_receive_lsn() */
	uint64_t	replay_lsn;		/* pg_last_wal_replay_lsn() */
	bool		streaming;		/* its WAL receiver still streams from the primary */
	promote_sync sync;			/* at the primary's last sample */
} promote_candidate;

typedef struct promote_guards
{
	bool		fence_configured;	/* a fence command, or an explicit none */
	uint64_t	cluster_sysid;	/* 0: take it from the candidates (all must agree) */
	bool		primary_lsn_known;
	uint64_t	last_primary_lsn;	/* the primary's flush LSN at its last sample */
	int64_t		max_lag_bytes;	/* < 0: unbounded */
	bool		require_sync;	/* only a standby that was synchronous may win */
	/*
	 * A resumed run that already chose this standby (journal): it may be out
	 * of recovery by now, promoted by the interrupted run.  NULL otherwise.
	 */
	const char *chosen_before;
	/*
	 * Another run's claim on the cluster (promote_lease.h): it chose this
	 * standby, so no other may be chosen.  NULL when none.
	 */
	const char *claimed;
} promote_guards;

typedef struct promote_decision
{
	int			candidate;		/* index, -1 when refused */
	const char *guard;			/* the unmet guard when refused */
	uint64_t	lag_bytes;		/* of the candidate (lower bound) */
	char		reason[512];
} promote_decision;

/*
 * Fills d; returns true when the candidate may be promoted.  Refuses
 * (other_primary) when any reachable standby other than g->chosen_before
 * answers as a primary: promoting next to it would make two.  With
 * require_sync a `sync` standby qualifies as it is; a `quorum` one only once
 * it has received up to the primary's last sampled flush position (quorum
 * membership says some standby had each commit, not which one).
 */
bool		promote_decide(const promote_candidate *c, int n, const promote_guards *g, promote_decision *d);

/*
 * The last look before pg_promote(): NULL when no standby but cand answers
 * as a primary, else the first one that does.
 */
const char *promote_other_primary(const promote_candidate *c, int n, const char *cand);

/* "sync", "quorum" or "async" */
const char *promote_sync_name(promote_sync s);

/* what pg_controldata says about an old primary's data directory */
typedef struct controldata
{
	uint64_t	sysid;
	bool		wal_log_hints;
	int			checksum_version;
	uint32_t	timeline;		/* of the latest checkpoint */
	char		state[64];		/* "shut down", "in production", ... */
} controldata;

bool		controldata_parse(const char *text, controldata *cd);

/*
 * Can pg_rewind turn the old primary into a standby of the new one?  NULL
 * when it can; otherwise the unmet guard, with reason saying why and that
 * a re-clone is needed.
 */
const char *rejoin_guard(const controldata *cd, bool running, uint64_t primary_sysid,
						 char *reason, size_t len);

#endif
