/*-------------------------------------------------------------------------
 *
 * replication.h
 *		Replication tracker: the node's identity and role, each standby seen
 *		by this primary (walsenders), replication slots, this standby's own
 *		receive/replay state, and a history ring per standby.
 *
 * Live facts are read from PostgreSQL's shared memory when asked (the
 * walsender and WAL receiver structs, the slot array), so a reader never
 * sees anything older than the call.  The sampler adds one history sample
 * per standby every replication_sample_interval.
 *
 * Each accessor struct maps onto one message of
 * proto/odoo_retail_guard.proto: OrgNodeStatus -> NodeIdentity,
 * OrgReplicationStandby -> ReplicationStandby, OrgReplicationSlot ->
 * ReplicationSlot, OrgStandbyStatus -> StandbyStatus.  LSNs are raw 64-bit
 * positions; byte lags are signed (a standby can report a position ahead of
 * what this node has flushed for an instant); time lags are milliseconds,
 * -1 when PostgreSQL does not know them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_REPLICATION_H
#define ORG_REPLICATION_H

#include "postgres.h"

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

#define ORG_REPL_STATE_LEN	16
#define ORG_ADDR_LEN		64

typedef struct OrgNodeStatus
{
	uint64		system_identifier;
	TimeLineID	timeline;
	bool		in_recovery;
	XLogRecPtr	current_lsn;	/* insert LSN on a primary, replay LSN on a standby */
	XLogRecPtr	flush_lsn;		/* flushed (primary) or received (standby) */
	XLogRecPtr	replay_lsn;		/* InvalidXLogRecPtr on a primary */
	int32		server_version_num;
	TimestampTz now;
	TimestampTz postmaster_start;
} OrgNodeStatus;

/* one walsender of this primary */
typedef struct OrgReplicationStandby
{
	int32		pid;
	char		application_name[NAMEDATALEN];
	char		client_addr[ORG_ADDR_LEN];
	int32		client_port;	/* -1 over a Unix socket or when unknown */
	char		state[ORG_REPL_STATE_LEN];	/* startup, catchup, streaming, ... */
	char		sync_state[ORG_REPL_STATE_LEN]; /* async, potential, sync, quorum */
	int32		sync_priority;
	XLogRecPtr	current_lsn;	/* this node's flushed WAL, the lag reference */
	XLogRecPtr	sent_lsn;
	XLogRecPtr	write_lsn;
	XLogRecPtr	flush_lsn;
	XLogRecPtr	replay_lsn;
	int64		sent_lag_bytes;
	int64		write_lag_bytes;
	int64		flush_lag_bytes;
	int64		replay_lag_bytes;
	double		write_lag_ms;	/* -1 when unknown */
	double		flush_lag_ms;
	double		replay_lag_ms;
	TimestampTz reply_time;		/* last message from the standby; 0 never */

	/*
	 * Age of the oldest WAL this node had that the standby has not replayed:
	 * now minus the first history sample whose current_lsn passed the
	 * standby's replay LSN.  0 when caught up; -1 without history.  Unlike
	 * replay_lag_ms it keeps growing while replay is stuck or paused.
	 */
	double		replay_age_ms;

	/*
	 * The caller lacks pg_read_all_stats: everything but pid is blanked
	 * (LSNs invalid, lags -1), as pg_stat_replication shows it.
	 */
	bool		details_hidden;
} OrgReplicationStandby;

typedef struct OrgReplicationSlot
{
	char		slot_name[NAMEDATALEN];
	char		slot_type[ORG_REPL_STATE_LEN];	/* physical, logical */
	Oid			dbid;			/* logical slots only */
	bool		active;
	int32		active_pid;
	XLogRecPtr	restart_lsn;
	int64		retained_bytes; /* current LSN - restart_lsn; -1 unknown */
	char		wal_status[ORG_REPL_STATE_LEN]; /* reserved, extended, unreserved, lost */
	TransactionId xmin;
	TransactionId catalog_xmin;
} OrgReplicationSlot;

/* this node while in recovery */
typedef struct OrgStandbyStatus
{
	XLogRecPtr	receive_lsn;	/* flushed by the WAL receiver */
	XLogRecPtr	replay_lsn;
	int64		replay_lag_bytes;	/* receive - replay */
	TimestampTz last_replay_commit; /* 0 when nothing replayed yet */
	double		replay_delay_ms;	/* now - last replayed commit; -1 unknown */
	char		receiver_state[ORG_REPL_STATE_LEN];	/* "none" without receiver */
	int32		receiver_pid;
	TimestampTz last_msg_send;
	TimestampTz last_msg_receipt;
	XLogRecPtr	latest_end_lsn; /* last WAL position the primary reported */
	TimestampTz latest_end_time;
	char		replay_pause[ORG_REPL_STATE_LEN]; /* not paused, pause requested, paused */
	bool		replay_paused;	/* pause requested or in effect */
	char		sender_host[NAMEDATALEN];
	int32		sender_port;
	char		slot_name[NAMEDATALEN];
} OrgStandbyStatus;

/* one history sample of one standby (or of this standby itself) */
typedef struct OrgReplicationSample
{
	TimestampTz ts;
	char		standby[NAMEDATALEN];	/* application_name; "(this standby)" on a standby */
	bool		local;			/* sampled on the standby itself */
	int32		pid;
	XLogRecPtr	current_lsn;
	XLogRecPtr	sent_lsn;		/* receive LSN for local samples */
	XLogRecPtr	flush_lsn;
	XLogRecPtr	replay_lsn;
	int64		sent_lag_bytes;
	int64		flush_lag_bytes;
	int64		replay_lag_bytes;
	double		write_lag_ms;
	double		flush_lag_ms;
	double		replay_lag_ms;	/* replay delay for local samples */
	double		replay_age_ms;	/* see OrgReplicationStandby */
} OrgReplicationSample;

typedef struct OrgReplicationInfo
{
	int64		series_capacity;	/* standbys with a history */
	int64		series_used;
	int64		samples_per_series;
	int64		samples_used;
	uint64		series_evictions;
} OrgReplicationInfo;

extern void org_replication_shmem_request(void);
extern void org_replication_shmem_startup(void);

/* sampler side */
extern void org_replication_sample(void);

/*
 * read accessors: palloc'd copies, shared by the views and the snapshot;
 * details hidden from roles without pg_read_all_stats (replication.c)
 */
extern void org_node_status(OrgNodeStatus *status);
extern OrgReplicationStandby *org_replication_standbys_collect(int *count);
extern OrgReplicationSlot *org_replication_slots_collect(int *count);
extern bool org_standby_status(OrgStandbyStatus *status);	/* false on a primary */
extern OrgReplicationSample *org_replication_history_collect(int *count);
extern void org_replication_info(OrgReplicationInfo *info);

#endif							/* ORG_REPLICATION_H */
