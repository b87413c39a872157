/*-------------------------------------------------------------------------
 *
 * sampler.c
 *		The sampler: a background worker registered in _PG_init that fills
 *		the lock tracker (locks.c) and the replication tracker
 *		(replication.c) on their own intervals.
 *
 * It starts once the node is consistent, so it also runs on hot standbys,
 * and connects to no database: everything it reads (PGPROCs, the lock
 * manager, backend status, walsenders, the WAL receiver, replication slots)
 * lives in shared memory, and pg_database is a shared catalog.  Relation
 * names of lock waits are resolved by the readers; per-table vacuum figures
 * come from short-lived workers the sampler starts, one database at a time
 * (see vacuum.c).
 *
 * A failing sample is logged and skipped; LWLocks are released and the
 * tick's memory is dropped.  After too many failures in a row the worker
 * exits with status 1 and the postmaster starts it again after
 * SAMPLER_RESTART_S seconds, as it does when the worker is terminated.
 *
 * Locking discipline: the status struct is protected by its spinlock; the
 * trackers document their own locks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "locks.h"
#include "odoo_retail_guard.h"
#include "replication.h"
#include "sampler.h"
#include "vacuum.h"

#define SAMPLER_SHMEM_NAME	"odoo_retail_guard sampler"
#define SAMPLER_RESTART_S	1
#define MAX_ERRORS_IN_A_ROW 20

/*
 * During a lock storm every waiter costs a look at the lock manager.  The
 * lock interval then stretches so that lock sampling stays near 2% of one
 * core (interval >= 50 x the last sample's duration), up to 5 s.
 */
#define LOCK_COST_FACTOR	50
#define LOCK_INTERVAL_MAX_MS 5000

typedef struct SamplerShared
{
	slock_t		mutex;
	OrgSamplerStatus status;
} SamplerShared;

static SamplerShared *sampler_shared = NULL;
static MemoryContext tick_cxt = NULL;
static int	errors_in_a_row = 0;

void
org_sampler_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(SamplerShared)));
}

void
org_sampler_shmem_startup(void)
{
	bool		found;

	sampler_shared = ShmemInitStruct(SAMPLER_SHMEM_NAME, sizeof(SamplerShared),
									 &found);
	if (!found)
	{
		SpinLockInit(&sampler_shared->mutex);
		memset(&sampler_shared->status, 0, sizeof(OrgSamplerStatus));
	}
}

void
org_sampler_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = SAMPLER_RESTART_S;
	strlcpy(worker.bgw_library_name, ORG_NAME, BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "org_sampler_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "odoo_retail_guard sampler", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "odoo_retail_guard sampler", BGW_MAXLEN);
	worker.bgw_main_arg = (Datum) 0;
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

void
org_sampler_status(OrgSamplerStatus *status)
{
	SpinLockAcquire(&sampler_shared->mutex);
	*status = sampler_shared->status;
	SpinLockRelease(&sampler_shared->mutex);
}

static void
sampler_exit(int code, Datum arg)
{
	SpinLockAcquire(&sampler_shared->mutex);
	sampler_shared->status.pid = 0;
	SpinLockRelease(&sampler_shared->mutex);
}

typedef enum SampleKind
{
	SAMPLE_LOCKS,
	SAMPLE_REPLICATION,
	SAMPLE_VACUUM
} SampleKind;

/*
 * Run one tracker's sample.  An error is logged and the sample skipped;
 * whatever the tracker held is released here.
 */
static double
run_sample(SampleKind kind)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(tick_cxt);
	instr_time	start;
	instr_time	duration;
	TimestampTz now;
	volatile bool ok = true;

	INSTR_TIME_SET_CURRENT(start);
	PG_TRY();
	{
		if (kind == SAMPLE_LOCKS)
			org_locks_sample();
		else if (kind == SAMPLE_REPLICATION)
			org_replication_sample();
		else
			org_vacuum_sample();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(tick_cxt);
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		LWLockReleaseAll();
		pgstat_clear_backend_activity_snapshot();
		ok = false;
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(tick_cxt);

	/* the spinlock only guards the copy: read the clock before */
	now = GetCurrentTimestamp();
	SpinLockAcquire(&sampler_shared->mutex);
	if (kind == SAMPLE_LOCKS)
	{
		sampler_shared->status.lock_samples++;
		sampler_shared->status.last_lock_sample = now;
		sampler_shared->status.lock_sample_us_total += INSTR_TIME_GET_MICROSEC(duration);
	}
	else if (kind == SAMPLE_REPLICATION)
	{
		sampler_shared->status.replication_samples++;
		sampler_shared->status.last_replication_sample = now;
		sampler_shared->status.replication_sample_us_total += INSTR_TIME_GET_MICROSEC(duration);
	}
	else
	{
		sampler_shared->status.vacuum_samples++;
		sampler_shared->status.last_vacuum_sample = now;
		sampler_shared->status.vacuum_sample_us_total += INSTR_TIME_GET_MICROSEC(duration);
	}
	if (!ok)
		sampler_shared->status.errors++;
	SpinLockRelease(&sampler_shared->mutex);

	if (ok)
		errors_in_a_row = 0;
	else if (++errors_in_a_row >= MAX_ERRORS_IN_A_ROW)
	{
		ereport(LOG,
				(errmsg("odoo_retail_guard sampler exits after %d failed samples in a row",
						errors_in_a_row),
				 errhint("The postmaster starts it again in %d s.", SAMPLER_RESTART_S)));
		proc_exit(1);
	}
	return INSTR_TIME_GET_MILLISEC(duration);
}

/* the lock interval, stretched when the last sample was expensive */
static int
lock_interval(double last_ms)
{
	double		ms = last_ms * LOCK_COST_FACTOR;

	if (ms <= org_lock_sample_interval)
		return org_lock_sample_interval;
	return (int) Min(ms, Max(LOCK_INTERVAL_MAX_MS, org_lock_sample_interval));
}

/* next due time: one interval later, skipping ticks that are overdue */
static TimestampTz
next_due(TimestampTz due, TimestampTz now, int interval_ms)
{
	due = TimestampTzPlusMilliseconds(due, interval_ms);
	if (due <= now)
		due = TimestampTzPlusMilliseconds(now, interval_ms);
	return due;
}

void
org_sampler_main(Datum main_arg)
{
	TimestampTz next_lock;
	TimestampTz next_repl;
	TimestampTz next_vacuum;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no database: just enough to appear in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	tick_cxt = AllocSetContextCreate(TopMemoryContext,
									 "odoo_retail_guard sampler tick",
									 ALLOCSET_DEFAULT_SIZES);

	next_lock = GetCurrentTimestamp();
	SpinLockAcquire(&sampler_shared->mutex);
	sampler_shared->status.pid = MyProcPid;
	sampler_shared->status.started_at = next_lock;
	sampler_shared->status.starts++;
	SpinLockRelease(&sampler_shared->mutex);
	before_shmem_exit(sampler_exit, (Datum) 0);

	next_lock = next_repl = next_vacuum = GetCurrentTimestamp();
	for (;;)
	{
		TimestampTz now;
		TimestampTz wake;
		long		sleep_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		SpinLockAcquire(&sampler_shared->mutex);
		sampler_shared->status.enabled = org_sampler_enabled;
		SpinLockRelease(&sampler_shared->mutex);

		now = GetCurrentTimestamp();
		if (!org_sampler_enabled)
		{
			next_lock = next_repl = next_vacuum = now;
			wake = TimestampTzPlusMilliseconds(now, 1000);
		}
		else
		{
			if (now >= next_lock)
			{
				double		ms = run_sample(SAMPLE_LOCKS);

				next_lock = next_due(next_lock, now, lock_interval(ms));
			}
			if (now >= next_repl)
			{
				(void) run_sample(SAMPLE_REPLICATION);
				next_repl = next_due(next_repl, now, org_replication_sample_interval);
			}
			if (now >= next_vacuum)
			{
				(void) run_sample(SAMPLE_VACUUM);
				next_vacuum = next_due(next_vacuum, now, org_vacuum_sample_interval);
			}
			wake = Min(Min(next_lock, next_repl), next_vacuum);
		}

		now = GetCurrentTimestamp();
		sleep_ms = (wake > now) ? (long) ((wake - now + 999) / 1000) : 0;
		if (sleep_ms > 0)
		{
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 sleep_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
}
