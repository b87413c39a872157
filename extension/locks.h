/*-------------------------------------------------------------------------
 *
 * locks.h
 *		Lock contention tracker: who waits on whom right now (blocking
 *		chains), what has been waited on since the last reset (contention
 *		per relation, lock type and mode), finished long waits (a ring) and
 *		lock conflict errors per database.
 *
 * The sampler (sampler.c) fills the tracker; the structs below are what the
 * read accessors hand out (palloc'd copies).  Each maps onto one message of
 * proto/odoo_retail_guard.proto: OrgBlockingChain -> BlockingChain,
 * OrgLockContention -> LockContention, OrgLockWaitEvent -> LockWaitEvent,
 * OrgLockConflicts -> DatabaseConflicts.
 *
 * Relations are stored as (database oid, relation oid).  The accessors fill
 * relation and model names when the relation belongs to the database the
 * reader is connected to (catalogs are per database); otherwise the names
 * are empty and relid tells which relation it is.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_LOCKS_H
#define ORG_LOCKS_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* pids kept per chain and per blocker list; longer ones are cut */
#define ORG_LOCK_MAX_CHAIN		16
#define ORG_LOCK_MAX_BLOCKERS	16

#define ORG_LOCK_TYPE_LEN		24
#define ORG_LOCK_MODE_LEN		32
#define ORG_STATE_LEN			32

/* one backend waiting on a heavyweight lock, as of the last sample */
typedef struct OrgBlockingChain
{
	int32		waiter_pid;
	Oid			dbid;
	char		waiter_appname[NAMEDATALEN];
	int16		waiter_worker_class;	/* OrgWorkerClass */
	char		lock_type[ORG_LOCK_TYPE_LEN];	/* relation, tuple, transactionid, ... */
	char		mode[ORG_LOCK_MODE_LEN];	/* e.g. ShareLock */
	Oid			relid;			/* InvalidOid when it cannot be known */
	char		relation[NAMEDATALEN * 2];	/* filled by the accessor */
	char		model[NAMEDATALEN];
	TimestampTz wait_start;
	double		wait_ms;		/* at sampled_at */
	int			chain_len;		/* blockers from the direct one to the root */
	int32		chain[ORG_LOCK_MAX_CHAIN];
	bool		chain_cut;		/* the chain was longer, or cycles (deadlock) */
	int			n_hard;
	int32		hard_blockers[ORG_LOCK_MAX_BLOCKERS];
	int			n_soft;
	int32		soft_blockers[ORG_LOCK_MAX_BLOCKERS];
	int32		root_pid;
	char		root_appname[NAMEDATALEN];
	int16		root_worker_class;
	char		root_state[ORG_STATE_LEN];	/* e.g. idle in transaction */
	TimestampTz root_xact_start;	/* 0 when not in a transaction */
	double		root_xact_age_ms;	/* -1 when not in a transaction */
	TimestampTz sampled_at;
	char	   *waiter_query;	/* normalized; NULL unless asked for */
	char	   *root_query;		/* normalized, current or last statement */
} OrgBlockingChain;

/* accumulated waits per (database, relation, lock type, mode) */
typedef struct OrgLockContention
{
	Oid			dbid;
	Oid			relid;
	char		relation[NAMEDATALEN * 2];
	char		model[NAMEDATALEN];
	char		lock_type[ORG_LOCK_TYPE_LEN];
	char		mode[ORG_LOCK_MODE_LEN];
	uint64		waits;
	double		total_wait_ms;
	double		max_wait_ms;
	uint64		distinct_waiters;	/* estimate (linear counting over pids) */
	TimestampTz first_seen;
	TimestampTz last_seen;
} OrgLockContention;

/* a finished wait that lasted at least lock_wait_event_threshold */
typedef struct OrgLockWaitEvent
{
	uint64		id;				/* from the node's event sequence (ring.h) */
	TimestampTz ts;				/* when the wait was last seen */
	TimestampTz wait_start;
	int32		waiter_pid;
	int32		root_pid;
	Oid			dbid;
	Oid			relid;
	char		relation[NAMEDATALEN * 2];
	char		model[NAMEDATALEN];
	char		lock_type[ORG_LOCK_TYPE_LEN];
	char		mode[ORG_LOCK_MODE_LEN];
	double		wait_ms;
	int16		waiter_worker_class;
	int16		root_worker_class;
	char		waiter_appname[NAMEDATALEN];
	char		root_appname[NAMEDATALEN];
} OrgLockWaitEvent;

/* lock conflict errors raised per database since start (or reset) */
typedef struct OrgLockConflicts
{
	Oid			dbid;
	uint64		deadlocks;		/* 40P01, from PostgreSQL's statistics */
	uint64		deadlocks_logged;	/* 40P01 seen in the error stream */
	uint64		lock_not_available; /* 55P03: lock_timeout and NOWAIT */
	uint64		serialization_failures; /* 40001 */
} OrgLockConflicts;

typedef struct OrgLocksInfo
{
	int64		contention_entries;
	int64		contention_capacity;
	uint64		contention_evictions;
	int64		chains;
	int64		chains_capacity;
	int64		events_capacity;
	uint64		events_written;
	int64		conflict_databases;
	int64		conflict_capacity;
	TimestampTz stats_reset;
} OrgLocksInfo;

/* shared memory (odoo_retail_guard.c) */
extern void org_locks_shmem_request(void);
extern void org_locks_shmem_startup(void);
extern void org_locks_install_hooks(void);

/* sampler side (sampler.c) */
extern void org_locks_sample(void);
extern void org_locks_sampler_reset_local(void);

/* read accessors: palloc'd copies, shared by the views and the snapshot */
extern OrgBlockingChain *org_blocking_chains_collect(int *count, bool with_text);
extern OrgLockContention *org_lock_contention_collect(int *count);
extern OrgLockWaitEvent *org_lock_wait_events_since(uint64 cursor,
													uint64 horizon,
													int *count, bool *gap);
extern OrgLockConflicts *org_lock_conflicts_collect(int *count);
extern void org_locks_info(OrgLocksInfo *info);
extern void org_locks_reset(void);

/*
 * Relation and model names for (dbid, relid) when the relation belongs to
 * the current database and a transaction is open; empty strings otherwise.
 */
extern void org_resolve_relation(Oid dbid, Oid relid,
								 char *relation, size_t relation_len,
								 char *model, size_t model_len);

/* "active", "idle in transaction", ... for a BackendState */
extern const char *org_backend_state_name(int state);

#endif							/* ORG_LOCKS_H */
