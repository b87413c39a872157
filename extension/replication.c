/*-------------------------------------------------------------------------
 *
 * replication.c
 *		Replication tracker: node identity, walsenders and slots on a
 *		primary, the WAL receiver and replay on a standby, and a history ring
 *		per standby filled by the sampler.
 *
 * The live accessors copy PostgreSQL's own structs under PostgreSQL's own
 * locks, as pg_stat_replication, pg_stat_wal_receiver and
 * pg_replication_slots do: each WalSnd under its spinlock, WalRcv under its
 * spinlock, the slot array under ReplicationSlotControlLock (shared) plus
 * each slot's spinlock.  The standby's application_name and address come
 * from the walsender's backend status entry.
 *
 * Who sees what: as pg_stat_replication and pg_stat_wal_receiver do, the
 * accessors used by the views and the snapshot show a standby's
 * application_name, address, state, positions and lags, and this
 * standby's primary host, port and slot, only to roles with the privileges
 * of pg_read_all_stats (pg_monitor includes it); others get the walsender's
 * pid alone.  The replication history hides the same.  The sampler reads
 * everything through the internal functions.
 *
 * Locking discipline of our own shared memory: repl_shared->lock (LWLock)
 * protects the history series.  The sampler takes it exclusively once per
 * replication interval to append one sample per standby; readers take it
 * shared to copy.  No user statement takes it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <netdb.h>

#include "access/transam.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "catalog/pg_authid.h"
#include "common/ip.h"
#include "miscadmin.h"
#include "replication/slot.h"
#include "replication/syncrep.h"
#include "replication/walreceiver.h"
#include "replication/walsender_private.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/timestamp.h"

#include "odoo_retail_guard.h"
#include "replication.h"
#include "text_clip.h"

#define REPL_TRANCHE		"odoo_retail_guard_replication"
#define REPL_SHMEM_NAME		"odoo_retail_guard replication"
#define LOCAL_SERIES_NAME	"(this standby)"

typedef struct HistorySeries
{
	bool		in_use;
	char		standby[NAMEDATALEN];
	TimestampTz last_ts;
	uint64		written;
	/* samples_per_series OrgReplicationSample follow */
} HistorySeries;

typedef struct OrgReplicationShared
{
	LWLock	   *lock;
	int			series_capacity;
	int			samples_per_series;
	uint64		series_evictions;
	/* series follow */
} OrgReplicationShared;

static OrgReplicationShared *repl_shared = NULL;

/* a standby's history is keyed by its application_name */
static const char *
series_name(const char *application_name)
{
	return application_name[0] ? application_name : "(unnamed)";
}

static int
series_capacity(void)
{
	/* every walsender may be a standby, plus this node as a standby */
	return max_wal_senders + 1;
}

static Size
series_size(int samples)
{
	return MAXALIGN(sizeof(HistorySeries)) +
		MAXALIGN(mul_size(samples, sizeof(OrgReplicationSample)));
}

static Size
replication_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(OrgReplicationShared)),
					mul_size(series_capacity(),
							 series_size(org_replication_history_size)));
}

static HistorySeries *
series_at(int i)
{
	return (HistorySeries *) ((char *) repl_shared +
							  MAXALIGN(sizeof(OrgReplicationShared)) +
							  i * series_size(repl_shared->samples_per_series));
}

static OrgReplicationSample *
series_samples(HistorySeries *s)
{
	return (OrgReplicationSample *) ((char *) s + MAXALIGN(sizeof(HistorySeries)));
}

void
org_replication_shmem_request(void)
{
	RequestAddinShmemSpace(replication_shmem_size());
	RequestNamedLWLockTranche(REPL_TRANCHE, 1);
}

void
org_replication_shmem_startup(void)
{
	bool		found;
	int			i;

	repl_shared = ShmemInitStruct(REPL_SHMEM_NAME, replication_shmem_size(),
								  &found);
	if (!found)
	{
		repl_shared->lock = &(GetNamedLWLockTranche(REPL_TRANCHE))->lock;
		repl_shared->series_capacity = series_capacity();
		repl_shared->samples_per_series = org_replication_history_size;
		repl_shared->series_evictions = 0;
		for (i = 0; i < repl_shared->series_capacity; i++)
		{
			HistorySeries *s = series_at(i);

			s->in_use = false;
			s->standby[0] = '\0';
			s->last_ts = 0;
			s->written = 0;
		}
	}
}

/* ---------------------------------------------------------------------
 * Live state
 * ---------------------------------------------------------------------
 */

static int64
lsn_diff(XLogRecPtr a, XLogRecPtr b)
{
	if (XLogRecPtrIsInvalid(a) || XLogRecPtrIsInvalid(b))
		return -1;
	return (int64) a - (int64) b;
}

static double
lag_ms(TimeOffset lag)
{
	return lag < 0 ? -1 : lag / 1000.0;
}

static const char *
walsnd_state_name(WalSndState state)
{
	switch (state)
	{
		case WALSNDSTATE_STARTUP:
			return "startup";
		case WALSNDSTATE_BACKUP:
			return "backup";
		case WALSNDSTATE_CATCHUP:
			return "catchup";
		case WALSNDSTATE_STREAMING:
			return "streaming";
		case WALSNDSTATE_STOPPING:
			return "stopping";
	}
	return "unknown";
}

static const char *
walrcv_state_name(WalRcvState state)
{
	switch (state)
	{
		case WALRCV_STOPPED:
			return "stopped";
		case WALRCV_STARTING:
			return "starting";
		case WALRCV_STREAMING:
			return "streaming";
		case WALRCV_WAITING:
			return "waiting";
		case WALRCV_RESTARTING:
			return "restarting";
		case WALRCV_STOPPING:
			return "stopping";
	}
	return "unknown";
}

void
org_node_status(OrgNodeStatus *status)
{
	TimeLineID	tli = 0;

	memset(status, 0, sizeof(OrgNodeStatus));
	status->system_identifier = GetSystemIdentifier();
	status->in_recovery = RecoveryInProgress();
	status->server_version_num = PG_VERSION_NUM;
	status->now = GetCurrentTimestamp();
	status->postmaster_start = PgStartTime;
	if (status->in_recovery)
	{
		status->replay_lsn = GetXLogReplayRecPtr(&tli);
		status->current_lsn = status->replay_lsn;
		status->flush_lsn = GetWalRcvFlushRecPtr(NULL, NULL);
		status->timeline = tli;
	}
	else
	{
		status->current_lsn = GetXLogInsertRecPtr();
		status->flush_lsn = GetFlushRecPtr(&tli);
		status->replay_lsn = InvalidXLogRecPtr;
		status->timeline = tli;
	}
}

static void
backend_identity(int pid, char *appname, char *addr, int32 *port)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			i;

	appname[0] = '\0';
	addr[0] = '\0';
	*port = -1;
	for (i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *l = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;

		if (l == NULL || l->backendStatus.st_procpid != pid)
			continue;
		be = &l->backendStatus;
		if (be->st_appname)
			org_text_clip(appname, be->st_appname, NAMEDATALEN);
		if (be->st_clientaddr.addr.ss_family == AF_UNIX)
			strlcpy(addr, "local", ORG_ADDR_LEN);
		else if (be->st_clientaddr.salen > 0)
		{
			char		host[NI_MAXHOST];
			char		serv[NI_MAXSERV];

			if (pg_getnameinfo_all(&be->st_clientaddr.addr, be->st_clientaddr.salen,
								   host, sizeof(host), serv, sizeof(serv),
								   NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			{
				strlcpy(addr, host, ORG_ADDR_LEN);
				*port = (int32) strtol(serv, NULL, 10);
			}
		}
		break;
	}
}

/*
 * now - first sample of the standby's series whose current_lsn is past
 * replay_lsn; caller holds repl_shared->lock.  Samples are in LSN order.
 */
static double
replay_age_ms(const char *standby, XLogRecPtr replay_lsn, XLogRecPtr current,
			  TimestampTz now)
{
	int			i;

	if (XLogRecPtrIsInvalid(replay_lsn))
		return -1;
	if (replay_lsn >= current)
		return 0;
	for (i = 0; i < repl_shared->series_capacity; i++)
	{
		HistorySeries *s = series_at(i);
		uint64		first;
		uint64		pos;

		if (!s->in_use || strcmp(s->standby, standby) != 0)
			continue;
		first = s->written > (uint64) repl_shared->samples_per_series ?
			s->written - repl_shared->samples_per_series : 0;
		for (pos = first; pos < s->written; pos++)
		{
			OrgReplicationSample *x =
				&series_samples(s)[pos % repl_shared->samples_per_series];

			if (x->current_lsn > replay_lsn)
				return Max(0, (now - x->ts) / 1000.0);
		}
		/* WAL newer than every sample: younger than one interval */
		return 0;
	}
	return -1;
}

/* pg_stat_replication's rule: details only for pg_read_all_stats */
static bool
may_see_replication_details(void)
{
	return has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

static OrgReplicationStandby *
standbys_collect(int *count)
{
	OrgReplicationStandby *out;
	SyncRepStandbyData *sync = NULL;
	int			nsync = 0;
	XLogRecPtr	current;
	int			n = 0;
	int			i;

	out = palloc0(sizeof(OrgReplicationStandby) * Max(max_wal_senders, 1));
	*count = 0;
	if (WalSndCtl == NULL || max_wal_senders == 0)
		return out;

	current = RecoveryInProgress() ? GetXLogReplayRecPtr(NULL) : GetFlushRecPtr(NULL);
	nsync = SyncRepGetCandidateStandbys(&sync);

	for (i = 0; i < max_wal_senders; i++)
	{
		WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
		OrgReplicationStandby *r = &out[n];
		WalSndState state;
		int			priority;
		bool		is_sync = false;
		int			j;

		SpinLockAcquire(&walsnd->mutex);
		if (walsnd->pid == 0)
		{
			SpinLockRelease(&walsnd->mutex);
			continue;
		}
		r->pid = walsnd->pid;
		state = walsnd->state;
		r->sent_lsn = walsnd->sentPtr;
		r->write_lsn = walsnd->write;
		r->flush_lsn = walsnd->flush;
		r->replay_lsn = walsnd->apply;
		r->write_lag_ms = lag_ms(walsnd->writeLag);
		r->flush_lag_ms = lag_ms(walsnd->flushLag);
		r->replay_lag_ms = lag_ms(walsnd->applyLag);
		priority = walsnd->sync_standby_priority;
		r->reply_time = walsnd->replyTime;
		SpinLockRelease(&walsnd->mutex);

		strlcpy(r->state, walsnd_state_name(state), ORG_REPL_STATE_LEN);
		r->sync_priority = priority;
		for (j = 0; j < nsync; j++)
		{
			if (sync[j].walsnd_index == i && sync[j].pid == r->pid)
				is_sync = true;
		}
		if (priority == 0)
			strlcpy(r->sync_state, "async", ORG_REPL_STATE_LEN);
		else if (is_sync)
			strlcpy(r->sync_state,
					SyncRepConfig && SyncRepConfig->syncrep_method == SYNC_REP_PRIORITY ?
					"sync" : "quorum", ORG_REPL_STATE_LEN);
		else
			strlcpy(r->sync_state, "potential", ORG_REPL_STATE_LEN);

		r->current_lsn = current;
		r->sent_lag_bytes = lsn_diff(current, r->sent_lsn);
		r->write_lag_bytes = lsn_diff(current, r->write_lsn);
		r->flush_lag_bytes = lsn_diff(current, r->flush_lsn);
		r->replay_lag_bytes = lsn_diff(current, r->replay_lsn);
		n++;
	}
	if (sync)
		pfree(sync);

	for (i = 0; i < n; i++)
		backend_identity(out[i].pid, out[i].application_name, out[i].client_addr,
						 &out[i].client_port);

	LWLockAcquire(repl_shared->lock, LW_SHARED);
	for (i = 0; i < n; i++)
		out[i].replay_age_ms = replay_age_ms(series_name(out[i].application_name),
											 out[i].replay_lsn, current,
											 GetCurrentTimestamp());
	LWLockRelease(repl_shared->lock);

	*count = n;
	return out;
}

OrgReplicationSlot *
org_replication_slots_collect(int *count)
{
	OrgReplicationSlot *out;
	XLogRecPtr	current;
	int			n = 0;
	int			i;

	out = palloc0(sizeof(OrgReplicationSlot) * Max(max_replication_slots, 1));
	*count = 0;
	if (ReplicationSlotCtl == NULL || max_replication_slots == 0)
		return out;

	current = RecoveryInProgress() ? GetXLogReplayRecPtr(NULL) : GetXLogInsertRecPtr();

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (i = 0; i < max_replication_slots; i++)
	{
		ReplicationSlot *slot = &ReplicationSlotCtl->replication_slots[i];
		OrgReplicationSlot *r = &out[n];
		XLogRecPtr	invalidated_at;

		if (!slot->in_use)
			continue;
		SpinLockAcquire(&slot->mutex);
		strlcpy(r->slot_name, NameStr(slot->data.name), NAMEDATALEN);
		r->dbid = slot->data.database;
		r->active_pid = slot->active_pid;
		r->restart_lsn = slot->data.restart_lsn;
		r->xmin = slot->data.xmin;
		r->catalog_xmin = slot->data.catalog_xmin;
		invalidated_at = slot->data.invalidated_at;
		SpinLockRelease(&slot->mutex);

		r->active = (r->active_pid != 0);
		strlcpy(r->slot_type, OidIsValid(r->dbid) ? "logical" : "physical",
				ORG_REPL_STATE_LEN);
		/* wal_status as pg_replication_slots computes it */
		r->wal_status[0] = '\0';
		if (XLogRecPtrIsInvalid(r->restart_lsn))
		{
			if (!XLogRecPtrIsInvalid(invalidated_at))
				strlcpy(r->wal_status, "lost", ORG_REPL_STATE_LEN);
		}
		r->retained_bytes = XLogRecPtrIsInvalid(r->restart_lsn) ? -1 :
			lsn_diff(current, r->restart_lsn);
		n++;
	}
	LWLockRelease(ReplicationSlotControlLock);

	/* GetWALAvailability takes its own locks: call it after ours */
	for (i = 0; i < n; i++)
	{
		if (XLogRecPtrIsInvalid(out[i].restart_lsn))
			continue;
		switch (GetWALAvailability(out[i].restart_lsn))
		{
			case WALAVAIL_RESERVED:
				strlcpy(out[i].wal_status, "reserved", ORG_REPL_STATE_LEN);
				break;
			case WALAVAIL_EXTENDED:
				strlcpy(out[i].wal_status, "extended", ORG_REPL_STATE_LEN);
				break;
			case WALAVAIL_UNRESERVED:
				strlcpy(out[i].wal_status, "unreserved", ORG_REPL_STATE_LEN);
				break;
			case WALAVAIL_REMOVED:
				strlcpy(out[i].wal_status, "lost", ORG_REPL_STATE_LEN);
				break;
			case WALAVAIL_INVALID_LSN:
				break;
		}
	}
	*count = n;
	return out;
}

OrgReplicationStandby *
org_replication_standbys_collect(int *count)
{
	OrgReplicationStandby *out = standbys_collect(count);
	int			i;

	if (*count == 0 || may_see_replication_details())
		return out;
	for (i = 0; i < *count; i++)
	{
		OrgReplicationStandby *r = &out[i];
		int32		pid = r->pid;

		memset(r, 0, sizeof(OrgReplicationStandby));
		r->pid = pid;
		r->details_hidden = true;
		r->sent_lag_bytes = r->write_lag_bytes = -1;
		r->flush_lag_bytes = r->replay_lag_bytes = -1;
		r->write_lag_ms = r->flush_lag_ms = r->replay_lag_ms = -1;
		r->replay_age_ms = -1;
	}
	return out;
}

static bool
standby_status_read(OrgStandbyStatus *status)
{
	char		sender_host[sizeof(WalRcv->sender_host)];
	char		slot_name[sizeof(WalRcv->slotname)];
	WalRcvState state;
	TimestampTz now = GetCurrentTimestamp();

	memset(status, 0, sizeof(OrgStandbyStatus));
	if (!RecoveryInProgress())
		return false;

	status->replay_lsn = GetXLogReplayRecPtr(NULL);
	status->receive_lsn = GetWalRcvFlushRecPtr(NULL, NULL);
	status->replay_lag_bytes = lsn_diff(status->receive_lsn, status->replay_lsn);
	status->last_replay_commit = GetLatestXTime();
	status->replay_delay_ms = status->last_replay_commit != 0 ?
		Max(0, (now - status->last_replay_commit) / 1000.0) : -1;

	switch (GetRecoveryPauseState())
	{
		case RECOVERY_NOT_PAUSED:
			strlcpy(status->replay_pause, "not paused", ORG_REPL_STATE_LEN);
			break;
		case RECOVERY_PAUSE_REQUESTED:
			strlcpy(status->replay_pause, "pause requested", ORG_REPL_STATE_LEN);
			status->replay_paused = true;
			break;
		case RECOVERY_PAUSED:
			strlcpy(status->replay_pause, "paused", ORG_REPL_STATE_LEN);
			status->replay_paused = true;
			break;
	}

	strlcpy(status->receiver_state, "none", ORG_REPL_STATE_LEN);
	if (WalRcv != NULL)
	{
		SpinLockAcquire(&WalRcv->mutex);
		status->receiver_pid = WalRcv->pid;
		state = WalRcv->walRcvState;
		status->last_msg_send = WalRcv->lastMsgSendTime;
		status->last_msg_receipt = WalRcv->lastMsgReceiptTime;
		status->latest_end_lsn = WalRcv->latestWalEnd;
		status->latest_end_time = WalRcv->latestWalEndTime;
		memcpy(sender_host, WalRcv->sender_host, sizeof(sender_host));
		status->sender_port = WalRcv->sender_port;
		memcpy(slot_name, WalRcv->slotname, sizeof(slot_name));
		SpinLockRelease(&WalRcv->mutex);
		/* cut at a character boundary outside the spinlock */
		sender_host[sizeof(sender_host) - 1] = '\0';
		slot_name[sizeof(slot_name) - 1] = '\0';
		org_text_clip(status->sender_host, sender_host, NAMEDATALEN);
		org_text_clip(status->slot_name, slot_name, NAMEDATALEN);
		if (status->receiver_pid != 0)
			strlcpy(status->receiver_state, walrcv_state_name(state),
					ORG_REPL_STATE_LEN);
	}
	return true;
}

bool
org_standby_status(OrgStandbyStatus *status)
{
	if (!standby_status_read(status))
		return false;
	if (!may_see_replication_details())
	{
		/* where this standby streams from, as pg_stat_wal_receiver hides it */
		status->sender_host[0] = '\0';
		status->sender_port = 0;
		status->slot_name[0] = '\0';
	}
	return true;
}

/* ---------------------------------------------------------------------
 * History (sampler side)
 * ---------------------------------------------------------------------
 */

/* the series of a standby; caller holds the lock exclusively */
static HistorySeries *
series_for(const char *standby)
{
	HistorySeries *victim = NULL;
	HistorySeries *s;
	int			i;

	for (i = 0; i < repl_shared->series_capacity; i++)
	{
		s = series_at(i);
		if (s->in_use && strcmp(s->standby, standby) == 0)
			return s;
	}
	for (i = 0; i < repl_shared->series_capacity; i++)
	{
		s = series_at(i);
		if (!s->in_use)
		{
			victim = s;
			break;
		}
		if (victim == NULL || s->last_ts < victim->last_ts)
			victim = s;
	}
	if (victim->in_use)
		repl_shared->series_evictions++;
	victim->in_use = true;
	strlcpy(victim->standby, standby, NAMEDATALEN);
	victim->written = 0;
	victim->last_ts = 0;
	return victim;
}

static void
series_append(const OrgReplicationSample *sample)
{
	HistorySeries *s = series_for(sample->standby);

	series_samples(s)[s->written % repl_shared->samples_per_series] = *sample;
	s->written++;
	s->last_ts = sample->ts;
}

void
org_replication_sample(void)
{
	OrgReplicationSample *samples;
	TimestampTz now = GetCurrentTimestamp();
	int			n = 0;
	int			i;

	samples = palloc0(sizeof(OrgReplicationSample) * (max_wal_senders + 1));

	if (RecoveryInProgress())
	{
		OrgStandbyStatus st;

		if (standby_status_read(&st))
		{
			OrgReplicationSample *x = &samples[n++];

			x->ts = now;
			strlcpy(x->standby, LOCAL_SERIES_NAME, NAMEDATALEN);
			x->local = true;
			x->pid = st.receiver_pid;
			x->current_lsn = st.latest_end_lsn;
			x->sent_lsn = st.receive_lsn;
			x->flush_lsn = st.receive_lsn;
			x->replay_lsn = st.replay_lsn;
			x->sent_lag_bytes = lsn_diff(st.latest_end_lsn, st.receive_lsn);
			x->flush_lag_bytes = x->sent_lag_bytes;
			x->replay_lag_bytes = st.replay_lag_bytes;
			x->write_lag_ms = -1;
			x->flush_lag_ms = -1;
			x->replay_lag_ms = st.replay_delay_ms;
			LWLockAcquire(repl_shared->lock, LW_SHARED);
			x->replay_age_ms = replay_age_ms(LOCAL_SERIES_NAME, st.replay_lsn,
											 st.latest_end_lsn, now);
			LWLockRelease(repl_shared->lock);
		}
	}

	{
		OrgReplicationStandby *r;
		int			nr;

		pgstat_clear_backend_activity_snapshot();
		r = standbys_collect(&nr);
		pgstat_clear_backend_activity_snapshot();
		for (i = 0; i < nr && n <= max_wal_senders; i++)
		{
			OrgReplicationSample *x = &samples[n++];

			x->ts = now;
			strlcpy(x->standby, series_name(r[i].application_name), NAMEDATALEN);
			x->pid = r[i].pid;
			x->current_lsn = r[i].current_lsn;
			x->sent_lsn = r[i].sent_lsn;
			x->flush_lsn = r[i].flush_lsn;
			x->replay_lsn = r[i].replay_lsn;
			x->sent_lag_bytes = r[i].sent_lag_bytes;
			x->flush_lag_bytes = r[i].flush_lag_bytes;
			x->replay_lag_bytes = r[i].replay_lag_bytes;
			x->write_lag_ms = r[i].write_lag_ms;
			x->flush_lag_ms = r[i].flush_lag_ms;
			x->replay_lag_ms = r[i].replay_lag_ms;
			x->replay_age_ms = r[i].replay_age_ms;
		}
	}

	if (n == 0)
		return;
	LWLockAcquire(repl_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < n; i++)
		series_append(&samples[i]);
	LWLockRelease(repl_shared->lock);
}

OrgReplicationSample *
org_replication_history_collect(int *count)
{
	OrgReplicationSample *out;
	bool		details = may_see_replication_details();
	int			n = 0;
	int			cap = 0;
	int			i;

	/* sized under the lock, allocated outside it: it may exceed 1 GB */
	LWLockAcquire(repl_shared->lock, LW_SHARED);
	for (i = 0; i < repl_shared->series_capacity; i++)
	{
		HistorySeries *s = series_at(i);

		if (s->in_use)
			cap += (int) Min(s->written, (uint64) repl_shared->samples_per_series);
	}
	LWLockRelease(repl_shared->lock);
	/* a series may have filled up in between: room for it */
	cap += (int) Min((int64) repl_shared->samples_per_series * repl_shared->series_capacity - cap,
					 (int64) repl_shared->samples_per_series);
	out = MemoryContextAllocHuge(CurrentMemoryContext,
								 sizeof(OrgReplicationSample) * Max(cap, 1));

	LWLockAcquire(repl_shared->lock, LW_SHARED);
	for (i = 0; i < repl_shared->series_capacity && n < cap; i++)
	{
		HistorySeries *s = series_at(i);
		uint64		first;
		uint64		pos;

		if (!s->in_use)
			continue;
		first = s->written > (uint64) repl_shared->samples_per_series ?
			s->written - repl_shared->samples_per_series : 0;
		for (pos = first; pos < s->written && n < cap; pos++)
			out[n++] = series_samples(s)[pos % repl_shared->samples_per_series];
	}
	LWLockRelease(repl_shared->lock);

	for (i = 0; !details && i < n; i++)
	{
		OrgReplicationSample *x = &out[i];

		x->standby[0] = '\0';
		x->current_lsn = x->sent_lsn = InvalidXLogRecPtr;
		x->flush_lsn = x->replay_lsn = InvalidXLogRecPtr;
		x->sent_lag_bytes = x->flush_lag_bytes = x->replay_lag_bytes = -1;
		x->write_lag_ms = x->flush_lag_ms = x->replay_lag_ms = -1;
		x->replay_age_ms = -1;
	}
	*count = n;
	return out;
}

void
org_replication_info(OrgReplicationInfo *info)
{
	int			i;

	memset(info, 0, sizeof(OrgReplicationInfo));
	LWLockAcquire(repl_shared->lock, LW_SHARED);
	info->series_capacity = repl_shared->series_capacity;
	info->samples_per_series = repl_shared->samples_per_series;
	info->series_evictions = repl_shared->series_evictions;
	for (i = 0; i < repl_shared->series_capacity; i++)
	{
		HistorySeries *s = series_at(i);

		if (!s->in_use)
			continue;
		info->series_used++;
		info->samples_used += (int64) Min(s->written,
										  (uint64) repl_shared->samples_per_series);
	}
	LWLockRelease(repl_shared->lock);
}
