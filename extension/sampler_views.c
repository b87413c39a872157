/*-------------------------------------------------------------------------
 *
 * sampler_views.c
 *		Set-returning functions behind the lock and replication views, the
 *		sampler's status and the lock statistics reset.
 *
 * Each function reads the trackers through their accessors (locks.h,
 * replication.h, sampler.h), the same ones the agent snapshot uses, and
 * only turns the copies into tuples here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "locks.h"
#include "odoo_classify.h"
#include "odoo_retail_guard.h"
#include "sql_values.h"
#include "replication.h"
#include "ring.h"
#include "sampler.h"
#include "vacuum.h"

PG_FUNCTION_INFO_V1(org_blocking_chains);
PG_FUNCTION_INFO_V1(org_lock_contention);
PG_FUNCTION_INFO_V1(org_lock_wait_events_fn);
PG_FUNCTION_INFO_V1(org_lock_conflicts);
PG_FUNCTION_INFO_V1(org_reset_lock_stats);
PG_FUNCTION_INFO_V1(org_node_status_fn);
PG_FUNCTION_INFO_V1(org_replication_standbys);
PG_FUNCTION_INFO_V1(org_replication_slots);
PG_FUNCTION_INFO_V1(org_standby_status_fn);
PG_FUNCTION_INFO_V1(org_replication_history);
PG_FUNCTION_INFO_V1(org_sampler_status_fn);
PG_FUNCTION_INFO_V1(org_autovacuum_lag);
PG_FUNCTION_INFO_V1(org_vacuum_horizon);

static Datum
int4_array(const int32 *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Int32GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, INT4OID, sizeof(int32), true,
										   TYPALIGN_INT));
}

static Datum
ts_or_null(TimestampTz ts, bool *isnull)
{
	*isnull = (ts == 0);
	return TimestampTzGetDatum(ts);
}

static Datum
lsn_or_null(XLogRecPtr lsn, bool *isnull)
{
	*isnull = XLogRecPtrIsInvalid(lsn);
	return LSNGetDatum(lsn);
}

static Datum
ms_or_null(double ms, bool *isnull)
{
	*isnull = (ms < 0);
	return Float8GetDatum(ms);
}

static Datum
bytes_or_null(int64 bytes, bool *isnull, bool valid)
{
	*isnull = !valid;
	return Int64GetDatum(bytes);
}

static Datum
oid_or_null(Oid oid, bool *isnull)
{
	*isnull = !OidIsValid(oid);
	return ObjectIdGetDatum(oid);
}

/* ---------------------------------------------------------------------
 * Locks
 * ---------------------------------------------------------------------
 */

Datum
org_blocking_chains(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		show_text = org_may_read_text();
	OrgBlockingChain *c;
	int			n;
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	c = org_blocking_chains_collect(&n, show_text);
	for (i = 0; i < n; i++)
	{
		Datum		values[24];
		bool		nulls[24];
		int			k = 0;

		memset(nulls, 0, sizeof(nulls));
		values[k++] = Int32GetDatum(c[i].waiter_pid);
		values[k] = oid_or_null(c[i].dbid, &nulls[k]);
		k++;
		values[k] = org_text_or_null(c[i].waiter_appname, &nulls[k]);
		k++;
		values[k++] = CStringGetTextDatum(org_worker_class_name(c[i].waiter_worker_class));
		values[k++] = CStringGetTextDatum(c[i].lock_type);
		values[k++] = CStringGetTextDatum(c[i].mode);
		values[k] = oid_or_null(c[i].relid, &nulls[k]);
		k++;
		values[k] = org_text_or_null(c[i].relation, &nulls[k]);
		k++;
		values[k] = org_text_or_null(c[i].model, &nulls[k]);
		k++;
		values[k] = ts_or_null(c[i].wait_start, &nulls[k]);
		k++;
		values[k++] = Float8GetDatum(c[i].wait_ms);
		values[k++] = int4_array(c[i].chain, c[i].chain_len);
		values[k++] = BoolGetDatum(c[i].chain_cut);
		values[k++] = int4_array(c[i].hard_blockers, c[i].n_hard);
		values[k++] = int4_array(c[i].soft_blockers, c[i].n_soft);
		values[k] = Int32GetDatum(c[i].root_pid);
		nulls[k] = (c[i].root_pid == 0);
		k++;
		values[k] = org_text_or_null(c[i].root_appname, &nulls[k]);
		k++;
		values[k] = CStringGetTextDatum(org_worker_class_name(c[i].root_worker_class));
		nulls[k] = (c[i].root_pid == 0);
		k++;
		values[k] = org_text_or_null(c[i].root_state, &nulls[k]);
		k++;
		values[k] = ts_or_null(c[i].root_xact_start, &nulls[k]);
		k++;
		values[k] = ms_or_null(c[i].root_xact_age_ms, &nulls[k]);
		k++;
		values[k] = org_text_or_null(c[i].root_query, &nulls[k]);
		k++;
		values[k] = org_text_or_null(c[i].waiter_query, &nulls[k]);
		k++;
		values[k++] = TimestampTzGetDatum(c[i].sampled_at);
		Assert(k == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_lock_contention(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgLockContention *c;
	int			n;
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	c = org_lock_contention_collect(&n);
	for (i = 0; i < n; i++)
	{
		Datum		values[13];
		bool		nulls[13];
		int			k = 0;

		memset(nulls, 0, sizeof(nulls));
		values[k] = oid_or_null(c[i].dbid, &nulls[k]);
		k++;
		values[k] = oid_or_null(c[i].relid, &nulls[k]);
		k++;
		values[k] = org_text_or_null(c[i].relation, &nulls[k]);
		k++;
		values[k] = org_text_or_null(c[i].model, &nulls[k]);
		k++;
		values[k++] = CStringGetTextDatum(c[i].lock_type);
		values[k++] = CStringGetTextDatum(c[i].mode);
		values[k++] = Int64GetDatum((int64) c[i].waits);
		values[k++] = Float8GetDatum(c[i].total_wait_ms);
		values[k++] = Float8GetDatum(c[i].max_wait_ms);
		values[k++] = Float8GetDatum(c[i].waits > 0 ? c[i].total_wait_ms / c[i].waits : 0);
		values[k++] = Int64GetDatum((int64) c[i].distinct_waiters);
		values[k++] = TimestampTzGetDatum(c[i].first_seen);
		values[k++] = TimestampTzGetDatum(c[i].last_seen);
		Assert(k == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_lock_wait_events_fn(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		cursor = PG_GETARG_INT64(0);
	OrgLockWaitEvent *e;
	bool		gap;
	int			n;
	int			i;

	(void) org_cursor_arg(cursor);

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	e = org_lock_wait_events_since((uint64) cursor, org_ring_horizon(), &n, &gap);
	for (i = 0; i < n; i++)
	{
		Datum		values[17];
		bool		nulls[17];
		int			k = 0;

		memset(nulls, 0, sizeof(nulls));
		values[k++] = Int64GetDatum((int64) e[i].id);
		values[k++] = TimestampTzGetDatum(e[i].ts);
		values[k] = ts_or_null(e[i].wait_start, &nulls[k]);
		k++;
		values[k++] = Int32GetDatum(e[i].waiter_pid);
		values[k] = org_text_or_null(e[i].waiter_appname, &nulls[k]);
		k++;
		values[k++] = CStringGetTextDatum(org_worker_class_name(e[i].waiter_worker_class));
		values[k] = Int32GetDatum(e[i].root_pid);
		nulls[k] = (e[i].root_pid == 0);
		k++;
		values[k] = org_text_or_null(e[i].root_appname, &nulls[k]);
		k++;
		values[k] = CStringGetTextDatum(org_worker_class_name(e[i].root_worker_class));
		nulls[k] = (e[i].root_pid == 0);
		k++;
		values[k] = oid_or_null(e[i].dbid, &nulls[k]);
		k++;
		values[k] = oid_or_null(e[i].relid, &nulls[k]);
		k++;
		values[k] = org_text_or_null(e[i].relation, &nulls[k]);
		k++;
		values[k] = org_text_or_null(e[i].model, &nulls[k]);
		k++;
		values[k++] = CStringGetTextDatum(e[i].lock_type);
		values[k++] = CStringGetTextDatum(e[i].mode);
		values[k++] = Float8GetDatum(e[i].wait_ms);
		values[k++] = BoolGetDatum(gap);
		Assert(k == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_lock_conflicts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgLockConflicts *c;
	int			n;
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	c = org_lock_conflicts_collect(&n);
	for (i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5];

		memset(nulls, 0, sizeof(nulls));
		values[0] = ObjectIdGetDatum(c[i].dbid);
		values[1] = Int64GetDatum((int64) c[i].deadlocks);
		values[2] = Int64GetDatum((int64) c[i].deadlocks_logged);
		values[3] = Int64GetDatum((int64) c[i].lock_not_available);
		values[4] = Int64GetDatum((int64) c[i].serialization_failures);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_reset_lock_stats(PG_FUNCTION_ARGS)
{
	org_require_shmem();
	org_locks_reset();
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * Replication
 * ---------------------------------------------------------------------
 */

Datum
org_node_status_fn(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgNodeStatus s;
	Datum		values[10];
	bool		nulls[10];
	char		sysid[32];
	int			k = 0;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);
	org_node_status(&s);

	memset(nulls, 0, sizeof(nulls));
	snprintf(sysid, sizeof(sysid), UINT64_FORMAT, s.system_identifier);
	values[k++] = CStringGetTextDatum(s.in_recovery ? "standby" : "primary");
	values[k++] = BoolGetDatum(s.in_recovery);
	values[k++] = DirectFunctionCall1(numeric_in, CStringGetDatum(sysid));
	values[k++] = Int64GetDatum((int64) s.timeline);
	values[k] = lsn_or_null(s.current_lsn, &nulls[k]);
	k++;
	values[k] = lsn_or_null(s.flush_lsn, &nulls[k]);
	k++;
	values[k] = lsn_or_null(s.replay_lsn, &nulls[k]);
	k++;
	values[k++] = Int32GetDatum(s.server_version_num);
	values[k++] = TimestampTzGetDatum(s.postmaster_start);
	values[k++] = Int64GetDatum((int64) org_shmem_incarnation());
	Assert(k == lengthof(values));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

Datum
org_replication_standbys(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgReplicationStandby *r;
	int			n;
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	r = org_replication_standbys_collect(&n);
	for (i = 0; i < n; i++)
	{
		Datum		values[20];
		bool		nulls[20];
		int			k = 0;

		memset(nulls, 0, sizeof(nulls));
		values[k++] = Int32GetDatum(r[i].pid);
		values[k] = org_text_or_null(r[i].application_name, &nulls[k]);
		k++;
		values[k] = org_text_or_null(r[i].client_addr, &nulls[k]);
		k++;
		values[k] = org_text_or_null(r[i].state, &nulls[k]);
		k++;
		values[k] = org_text_or_null(r[i].sync_state, &nulls[k]);
		k++;
		values[k] = Int32GetDatum(r[i].sync_priority);
		nulls[k] = r[i].details_hidden;
		k++;
		values[k] = lsn_or_null(r[i].current_lsn, &nulls[k]);
		k++;
		values[k] = lsn_or_null(r[i].sent_lsn, &nulls[k]);
		k++;
		values[k] = lsn_or_null(r[i].write_lsn, &nulls[k]);
		k++;
		values[k] = lsn_or_null(r[i].flush_lsn, &nulls[k]);
		k++;
		values[k] = lsn_or_null(r[i].replay_lsn, &nulls[k]);
		k++;
		values[k] = bytes_or_null(r[i].sent_lag_bytes, &nulls[k], !XLogRecPtrIsInvalid(r[i].sent_lsn));
		k++;
		values[k] = bytes_or_null(r[i].write_lag_bytes, &nulls[k], !XLogRecPtrIsInvalid(r[i].write_lsn));
		k++;
		values[k] = bytes_or_null(r[i].flush_lag_bytes, &nulls[k], !XLogRecPtrIsInvalid(r[i].flush_lsn));
		k++;
		values[k] = bytes_or_null(r[i].replay_lag_bytes, &nulls[k], !XLogRecPtrIsInvalid(r[i].replay_lsn));
		k++;
		values[k] = ms_or_null(r[i].write_lag_ms, &nulls[k]);
		k++;
		values[k] = ms_or_null(r[i].flush_lag_ms, &nulls[k]);
		k++;
		values[k] = ms_or_null(r[i].replay_lag_ms, &nulls[k]);
		k++;
		values[k] = ts_or_null(r[i].reply_time, &nulls[k]);
		k++;
		values[k] = ms_or_null(r[i].replay_age_ms, &nulls[k]);
		k++;
		Assert(k == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_replication_slots(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgReplicationSlot *s;
	int			n;
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	s = org_replication_slots_collect(&n);
	for (i = 0; i < n; i++)
	{
		Datum		values[10];
		bool		nulls[10];
		int			k = 0;

		memset(nulls, 0, sizeof(nulls));
		values[k++] = CStringGetTextDatum(s[i].slot_name);
		values[k++] = CStringGetTextDatum(s[i].slot_type);
		values[k] = oid_or_null(s[i].dbid, &nulls[k]);
		k++;
		values[k++] = BoolGetDatum(s[i].active);
		values[k] = Int32GetDatum(s[i].active_pid);
		nulls[k] = (s[i].active_pid == 0);
		k++;
		values[k] = lsn_or_null(s[i].restart_lsn, &nulls[k]);
		k++;
		values[k] = bytes_or_null(s[i].retained_bytes, &nulls[k], s[i].retained_bytes >= 0);
		k++;
		values[k] = org_text_or_null(s[i].wal_status, &nulls[k]);
		k++;
		values[k] = TransactionIdGetDatum(s[i].xmin);
		nulls[k] = !TransactionIdIsValid(s[i].xmin);
		k++;
		values[k] = TransactionIdGetDatum(s[i].catalog_xmin);
		nulls[k] = !TransactionIdIsValid(s[i].catalog_xmin);
		k++;
		Assert(k == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_standby_status_fn(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgStandbyStatus s;
	Datum		values[16];
	bool		nulls[16];
	int			k = 0;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);
	if (!org_standby_status(&s))
		return (Datum) 0;

	memset(nulls, 0, sizeof(nulls));
	values[k] = lsn_or_null(s.receive_lsn, &nulls[k]);
	k++;
	values[k] = lsn_or_null(s.replay_lsn, &nulls[k]);
	k++;
	values[k] = bytes_or_null(s.replay_lag_bytes, &nulls[k],
							  !XLogRecPtrIsInvalid(s.receive_lsn) &&
							  !XLogRecPtrIsInvalid(s.replay_lsn));
	k++;
	values[k] = ts_or_null(s.last_replay_commit, &nulls[k]);
	k++;
	values[k] = ms_or_null(s.replay_delay_ms, &nulls[k]);
	k++;
	values[k++] = BoolGetDatum(s.replay_paused);
	values[k++] = CStringGetTextDatum(s.replay_pause);
	values[k++] = CStringGetTextDatum(s.receiver_state);
	values[k] = Int32GetDatum(s.receiver_pid);
	nulls[k] = (s.receiver_pid == 0);
	k++;
	values[k] = ts_or_null(s.last_msg_send, &nulls[k]);
	k++;
	values[k] = ts_or_null(s.last_msg_receipt, &nulls[k]);
	k++;
	values[k] = lsn_or_null(s.latest_end_lsn, &nulls[k]);
	k++;
	values[k] = ts_or_null(s.latest_end_time, &nulls[k]);
	k++;
	values[k] = org_text_or_null(s.sender_host, &nulls[k]);
	k++;
	values[k] = Int32GetDatum(s.sender_port);
	nulls[k] = (s.sender_port == 0);
	k++;
	values[k] = org_text_or_null(s.slot_name, &nulls[k]);
	k++;
	Assert(k == lengthof(values));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

Datum
org_replication_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgReplicationSample *h;
	int			n;
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	h = org_replication_history_collect(&n);
	for (i = 0; i < n; i++)
	{
		Datum		values[15];
		bool		nulls[15];
		int			k = 0;

		memset(nulls, 0, sizeof(nulls));
		values[k++] = TimestampTzGetDatum(h[i].ts);
		values[k] = org_text_or_null(h[i].standby, &nulls[k]);
		k++;
		values[k++] = BoolGetDatum(h[i].local);
		values[k] = Int32GetDatum(h[i].pid);
		nulls[k] = (h[i].pid == 0);
		k++;
		values[k] = lsn_or_null(h[i].current_lsn, &nulls[k]);
		k++;
		values[k] = lsn_or_null(h[i].sent_lsn, &nulls[k]);
		k++;
		values[k] = lsn_or_null(h[i].flush_lsn, &nulls[k]);
		k++;
		values[k] = lsn_or_null(h[i].replay_lsn, &nulls[k]);
		k++;
		values[k] = bytes_or_null(h[i].sent_lag_bytes, &nulls[k], h[i].sent_lag_bytes != -1);
		k++;
		values[k] = bytes_or_null(h[i].flush_lag_bytes, &nulls[k], h[i].flush_lag_bytes != -1);
		k++;
		values[k] = bytes_or_null(h[i].replay_lag_bytes, &nulls[k], h[i].replay_lag_bytes != -1);
		k++;
		values[k] = ms_or_null(h[i].write_lag_ms, &nulls[k]);
		k++;
		values[k] = ms_or_null(h[i].flush_lag_ms, &nulls[k]);
		k++;
		values[k] = ms_or_null(h[i].replay_lag_ms, &nulls[k]);
		k++;
		values[k] = ms_or_null(h[i].replay_age_ms, &nulls[k]);
		k++;
		Assert(k == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * Sampler
 * ---------------------------------------------------------------------
 */

Datum
org_sampler_status_fn(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgSamplerStatus s;
	OrgVacuumInfo vinfo;
	Datum		values[21];
	bool		nulls[21];
	int			k = 0;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);
	org_sampler_status(&s);
	org_vacuum_info(&vinfo);

	memset(nulls, 0, sizeof(nulls));
	values[k] = Int32GetDatum(s.pid);
	nulls[k] = (s.pid == 0);
	k++;
	values[k++] = BoolGetDatum(s.enabled);
	values[k] = ts_or_null(s.started_at, &nulls[k]);
	k++;
	values[k++] = Int64GetDatum((int64) s.starts);
	values[k++] = Int64GetDatum((int64) s.lock_samples);
	values[k++] = Int64GetDatum((int64) s.replication_samples);
	values[k++] = Int64GetDatum((int64) s.errors);
	values[k] = ts_or_null(s.last_lock_sample, &nulls[k]);
	k++;
	values[k] = ts_or_null(s.last_replication_sample, &nulls[k]);
	k++;
	values[k++] = Float8GetDatum(s.lock_sample_us_total / 1000.0);
	values[k++] = Float8GetDatum(s.replication_sample_us_total / 1000.0);
	values[k++] = Int64GetDatum((int64) s.vacuum_samples);
	values[k] = ts_or_null(s.last_vacuum_sample, &nulls[k]);
	k++;
	values[k++] = Float8GetDatum(s.vacuum_sample_us_total / 1000.0);
	values[k++] = Int64GetDatum((int64) vinfo.scans);
	values[k++] = Float8GetDatum(vinfo.scan_cpu_ms);
	values[k++] = Int64GetDatum((int64) vinfo.skipped_ticks);
	values[k++] = Int64GetDatum((int64) vinfo.scan_starts);
	values[k++] = Int64GetDatum((int64) vinfo.stat_passes);
	values[k++] = Int64GetDatum((int64) vinfo.evicted);
	values[k++] = Int64GetDatum(vinfo.untracked_tables);
	Assert(k == lengthof(values));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * Autovacuum lag and the xmin horizon
 * ---------------------------------------------------------------------
 */

Datum
org_autovacuum_lag(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgAutovacuumLag *l;
	int			n;
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	l = org_autovacuum_lag_collect(&n);
	for (i = 0; i < n; i++)
	{
		Datum		values[24];
		bool		nulls[24];
		int			k = 0;

		memset(nulls, 0, sizeof(nulls));
		values[k++] = ObjectIdGetDatum(l[i].dbid);
		values[k++] = ObjectIdGetDatum(l[i].relid);
		values[k++] = CStringGetTextDatum(l[i].relation);
		values[k] = org_text_or_null(l[i].model, &nulls[k]);
		k++;
		values[k++] = Int64GetDatum(l[i].live_tuples);
		values[k++] = Int64GetDatum(l[i].dead_tuples);
		values[k++] = Float8GetDatum(l[i].reltuples);
		values[k++] = Float8GetDatum(l[i].threshold);
		values[k++] = Float8GetDatum(l[i].dead_over_threshold);
		values[k++] = BoolGetDatum(l[i].over_threshold_since != 0);
		values[k] = ts_or_null(l[i].over_threshold_since, &nulls[k]);
		k++;
		values[k++] = Float8GetDatum(l[i].lag_s);
		values[k++] = BoolGetDatum(l[i].autovacuum_enabled);
		values[k] = ts_or_null(l[i].last_vacuum, &nulls[k]);
		k++;
		values[k] = ts_or_null(l[i].last_autovacuum, &nulls[k]);
		k++;
		values[k] = ts_or_null(l[i].last_analyze, &nulls[k]);
		k++;
		values[k] = ts_or_null(l[i].last_autoanalyze, &nulls[k]);
		k++;
		values[k++] = BoolGetDatum(l[i].vacuum_running);
		values[k] = Int32GetDatum(l[i].vacuum_pid);
		nulls[k] = !l[i].vacuum_running;
		k++;
		values[k] = org_text_or_null(l[i].vacuum_phase, &nulls[k]);
		k++;
		values[k++] = Int64GetDatum(l[i].xid_age);
		values[k++] = Int64GetDatum(l[i].mxid_age);
		values[k++] = Int64GetDatum(l[i].freeze_max_age);
		values[k++] = TimestampTzGetDatum(l[i].scanned_at);
		Assert(k == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_vacuum_horizon(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		show_text = org_may_read_text();
	OrgVacuumHorizon *h;
	int			n;
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	h = org_vacuum_horizon_collect(&n, show_text);
	for (i = 0; i < n; i++)
	{
		Datum		values[13];
		bool		nulls[13];
		int			k = 0;

		memset(nulls, 0, sizeof(nulls));
		values[k++] = CStringGetTextDatum(h[i].holder_kind);
		values[k] = Int32GetDatum(h[i].pid);
		nulls[k] = (h[i].pid == 0);
		k++;
		values[k] = oid_or_null(h[i].dbid, &nulls[k]);
		k++;
		values[k] = org_text_or_null(h[i].application_name, &nulls[k]);
		k++;
		values[k++] = CStringGetTextDatum(org_worker_class_name(h[i].worker_class));
		values[k] = org_text_or_null(h[i].state, &nulls[k]);
		k++;
		values[k] = TransactionIdGetDatum(h[i].xmin);
		nulls[k] = !TransactionIdIsValid(h[i].xmin);
		k++;
		values[k++] = Int64GetDatum(h[i].xmin_age);
		values[k] = ts_or_null(h[i].since, &nulls[k]);
		k++;
		values[k] = ms_or_null(h[i].age_s, &nulls[k]);
		k++;
		values[k] = org_text_or_null(h[i].name, &nulls[k]);
		k++;
		values[k] = org_text_or_null(h[i].query, &nulls[k]);
		k++;
		values[k++] = BoolGetDatum(i == 0);
		Assert(k == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
