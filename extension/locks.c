/*-------------------------------------------------------------------------
 *
 * locks.c
 *		Lock contention tracker: blocking chains, accumulated contention per
 *		relation, a ring of finished long waits and lock conflict errors per
 *		database.
 *
 * The sampler calls org_locks_sample() on its lock interval.  A tick first
 * reads every PGPROC's wait_event_info without any lock (a 4-byte word
 * written with one store, as pg_wait_sampling reads it) and stops there
 * when nobody waits on a heavyweight lock.  Only for waiters does it ask
 * the lock manager, through GetBlockerStatusData(), the function behind
 * pg_blocking_pids(), and apply the same hard/soft blocker rules.
 *
 * Hooks installed: emit_log_hook (chained), to count 55P03 / 40001 / 40P01
 * errors per database.  It does no allocation and takes no lock except a
 * spinlock the first time a database raises such an error.
 *
 * Locking discipline:
 *	- locks_shared->lock (LWLock) protects the chain slots and the contention
 *	  table.  Only the sampler takes it exclusively, once per tick and only
 *	  when there is something to write; readers take it shared to copy.  No
 *	  user statement ever takes it.
 *	- Finished waits go to a ring (ring.c): spinlock held to copy one slot.
 *	- Conflict counters are atomics; conflict_mutex (spinlock) serializes
 *	  adding a database to the conflict table.
 *	- Lock-manager partition locks are taken shared, by GetBlockerStatusData
 *	  and, one partition at a time, to find the tuple lock a transactionid
 *	  waiter holds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "port/pg_bitutils.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/backend_status.h"
#include "utils/elog.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "lockcheck.h"
#include "generation.h"
#include "locks.h"
#include "normalize.h"
#include "odoo_classify.h"
#include "odoo_cron.h"
#include "odoo_retail_guard.h"
#include "relation_label.h"
#include "ring.h"

#define LOCKS_TRANCHE		"odoo_retail_guard_locks"
#define LOCKS_SHMEM_NAME	"odoo_retail_guard locks"
#define LOCK_EVENTS_NAME	"odoo_retail_guard lock wait events"

/* one unlocked read of a word another process writes with one store */
#define UINT32_ACCESS_ONCE(var)	((uint32) (*((volatile uint32 *) &(var))))

/* databases whose conflict errors are counted */
#define CONFLICT_DBS		256

/* linear counting bitmap for distinct waiters */
#define DISTINCT_BITS		1024
#define DISTINCT_WORDS		(DISTINCT_BITS / 64)

typedef struct ContentionEntry
{
	Oid			dbid;
	Oid			relid;
	uint8		locktag_type;
	uint8		lockmethod;
	uint16		mode;
	uint64		waits;
	double		total_ms;
	double		max_ms;
	TimestampTz first_seen;
	TimestampTz last_seen;
	uint64		generation;		/* when it last changed (generation.h) */
	uint64		distinct[DISTINCT_WORDS];
} ContentionEntry;

typedef struct ConflictEntry
{
	pg_atomic_uint32 dbid;		/* 0: free */
	pg_atomic_uint64 deadlocks;
	pg_atomic_uint64 lock_not_available;
	pg_atomic_uint64 serialization_failures;
} ConflictEntry;

typedef struct OrgLocksShared
{
	LWLock	   *lock;
	int			chain_capacity;
	int			contention_capacity;
	int			text_length;
	int			n_chains;
	int			contention_used;
	uint64		contention_evictions;
	uint64		reset_generation;
	TimestampTz stats_reset;
	slock_t		conflict_mutex;
	ConflictEntry conflicts[CONFLICT_DBS];
	/* chain slots, then the contention table, follow */
} OrgLocksShared;

/* a finished wait as stored in the ring (names resolved by the reader) */
typedef struct LockEventPayload
{
	TimestampTz ts;
	TimestampTz wait_start;
	int32		waiter_pid;
	int32		root_pid;
	Oid			dbid;
	Oid			relid;
	uint8		locktag_type;
	uint8		lockmethod;
	uint16		mode;
	double		wait_ms;
	int16		waiter_worker_class;
	int16		root_worker_class;
	char		waiter_appname[NAMEDATALEN];
	char		root_appname[NAMEDATALEN];
} LockEventPayload;

/* what the sampler learnt about one waiter in this tick */
typedef struct Waiter
{
	int			pid;
	int			procno;
	LOCKTAG		locktag;
	LOCKMODE	mode;
	TimestampTz wait_start;
	Oid			dbid;
	Oid			relid;
	int			n_hard;
	int32		hard[ORG_LOCK_MAX_BLOCKERS];
	int			n_soft;
	int32		soft[ORG_LOCK_MAX_BLOCKERS];
	int			chain_len;
	int32		chain[ORG_LOCK_MAX_CHAIN];
	bool		chain_cut;
	int32		root_pid;
} Waiter;

/* a wait the sampler is following across ticks (sampler-local) */
typedef struct TrackedWait
{
	bool		in_use;
	bool		seen;
	int			pid;
	LOCKTAG		locktag;
	LOCKMODE	mode;
	TimestampTz wait_start;
	bool		start_known;	/* wait_start read from the PGPROC */
	TimestampTz last_seen;
	double		wait_ms;
	double		accounted_ms;	/* already added to the contention total */
	uint64		generation;		/* reset generation it was counted in */
	Oid			dbid;
	Oid			relid;
	int32		root_pid;
	int16		waiter_class;
	int16		root_class;
	char		waiter_appname[NAMEDATALEN];
	char		root_appname[NAMEDATALEN];
} TrackedWait;

static OrgLocksShared *locks_shared = NULL;
static OrgRing *lock_events = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

/* sampler-local */
static TrackedWait *tracked = NULL;
static int	tracked_capacity = 0;

static Size
chain_slot_size(int text_length)
{
	return MAXALIGN(sizeof(OrgBlockingChain) + 2 * (Size) (text_length + 1));
}

static OrgBlockingChain *
chain_slot(int i)
{
	char	   *base = (char *) locks_shared + MAXALIGN(sizeof(OrgLocksShared));

	return (OrgBlockingChain *) (base + i * chain_slot_size(locks_shared->text_length));
}

static char *
chain_waiter_text(OrgBlockingChain *slot)
{
	return (char *) slot + sizeof(OrgBlockingChain);
}

static char *
chain_root_text(OrgBlockingChain *slot)
{
	return chain_waiter_text(slot) + locks_shared->text_length + 1;
}

static ContentionEntry *
contention_table(void)
{
	return (ContentionEntry *) ((char *) locks_shared +
								MAXALIGN(sizeof(OrgLocksShared)) +
								locks_shared->chain_capacity *
								chain_slot_size(locks_shared->text_length));
}

static int
chain_capacity(void)
{
	/* one slot per backend that can wait: MaxBackends is set by now */
	return Max(MaxBackends, 1);
}

static Size
locks_shmem_size(void)
{
	Size		size;

	size = MAXALIGN(sizeof(OrgLocksShared));
	size = add_size(size, mul_size(chain_capacity(),
								   chain_slot_size(org_query_text_length)));
	size = add_size(size, mul_size(org_max_lock_contention,
								   sizeof(ContentionEntry)));
	return size;
}

void
org_locks_shmem_request(void)
{
	RequestAddinShmemSpace(locks_shmem_size());
	RequestAddinShmemSpace(org_ring_shmem_size(org_lock_wait_events,
											   sizeof(LockEventPayload)));
	RequestNamedLWLockTranche(LOCKS_TRANCHE, 1);
}

void
org_locks_shmem_startup(void)
{
	bool		found;
	int			i;

	locks_shared = ShmemInitStruct(LOCKS_SHMEM_NAME, locks_shmem_size(), &found);
	if (!found)
	{
		locks_shared->lock = &(GetNamedLWLockTranche(LOCKS_TRANCHE))->lock;
		locks_shared->chain_capacity = chain_capacity();
		locks_shared->contention_capacity = org_max_lock_contention;
		locks_shared->text_length = org_query_text_length;
		locks_shared->n_chains = 0;
		locks_shared->contention_used = 0;
		locks_shared->contention_evictions = 0;
		locks_shared->reset_generation = 1;
		locks_shared->stats_reset = GetCurrentTimestamp();
		SpinLockInit(&locks_shared->conflict_mutex);
		for (i = 0; i < CONFLICT_DBS; i++)
		{
			pg_atomic_init_u32(&locks_shared->conflicts[i].dbid, 0);
			pg_atomic_init_u64(&locks_shared->conflicts[i].deadlocks, 0);
			pg_atomic_init_u64(&locks_shared->conflicts[i].lock_not_available, 0);
			pg_atomic_init_u64(&locks_shared->conflicts[i].serialization_failures, 0);
		}
	}

	lock_events = ShmemInitStruct(LOCK_EVENTS_NAME,
								  org_ring_shmem_size(org_lock_wait_events,
													  sizeof(LockEventPayload)),
								  &found);
	if (!found)
		org_ring_init(lock_events, org_lock_wait_events, sizeof(LockEventPayload));
}

/* ---------------------------------------------------------------------
 * Conflict errors per database (emit_log_hook)
 * ---------------------------------------------------------------------
 */

static ConflictEntry *
conflict_entry(Oid dbid, bool create)
{
	int			start = dbid % CONFLICT_DBS;
	int			i;
	ConflictEntry *result = NULL;

	for (i = 0; i < CONFLICT_DBS; i++)
	{
		ConflictEntry *e = &locks_shared->conflicts[(start + i) % CONFLICT_DBS];
		uint32		id = pg_atomic_read_u32(&e->dbid);

		if (id == dbid)
			return e;
		if (id == 0)
			break;
	}
	if (!create)
		return NULL;

	/* insert under the spinlock; another backend may have won the race */
	SpinLockAcquire(&locks_shared->conflict_mutex);
	for (i = 0; i < CONFLICT_DBS; i++)
	{
		ConflictEntry *e = &locks_shared->conflicts[(start + i) % CONFLICT_DBS];
		uint32		id = pg_atomic_read_u32(&e->dbid);

		if (id == dbid)
		{
			result = e;
			break;
		}
		if (id == 0)
		{
			pg_atomic_write_u32(&e->dbid, dbid);
			result = e;
			break;
		}
	}
	SpinLockRelease(&locks_shared->conflict_mutex);
	return result;
}

static void
org_emit_log(ErrorData *edata)
{
	if (locks_shared != NULL && edata->elevel >= ERROR &&
		OidIsValid(MyDatabaseId) &&
		(edata->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
		 edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		 edata->sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE))
	{
		ConflictEntry *e = conflict_entry(MyDatabaseId, true);

		if (e != NULL)
		{
			if (edata->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED)
				pg_atomic_fetch_add_u64(&e->deadlocks, 1);
			else if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
				pg_atomic_fetch_add_u64(&e->lock_not_available, 1);
			else
				pg_atomic_fetch_add_u64(&e->serialization_failures, 1);
		}
	}

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
org_locks_install_hooks(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = org_emit_log;
}

/* ---------------------------------------------------------------------
 * Sampling
 * ---------------------------------------------------------------------
 */

static const char *
lock_type_name(uint8 locktag_type)
{
	if (locktag_type <= LOCKTAG_LAST_TYPE)
		return LockTagTypeNames[locktag_type];
	return "unknown";
}

static const char *
lock_mode_name(uint8 lockmethod, LOCKMODE mode)
{
	if (lockmethod != DEFAULT_LOCKMETHOD && lockmethod != USER_LOCKMETHOD)
		return "unknown";
	if (mode <= 0 || mode > MaxLockMode)
		return "unknown";
	return GetLockmodeName(lockmethod, mode);
}

static const char *
backend_state_name(BackendState state)
{
	switch (state)
	{
		case STATE_IDLE:
			return "idle";
		case STATE_RUNNING:
			return "active";
		case STATE_IDLEINTRANSACTION:
			return "idle in transaction";
		case STATE_FASTPATH:
			return "fastpath function call";
		case STATE_IDLEINTRANSACTION_ABORTED:
			return "idle in transaction (aborted)";
		case STATE_DISABLED:
			return "disabled";
		case STATE_UNDEFINED:
			break;
	}
	return "";
}

/*
 * The relation a transactionid waiter is about: heap_lock_tuple and
 * heap_update take the tuple lock before waiting for the holder's xid, so
 * the waiter holds a LOCKTAG_TUPLE on the row's relation.  Walk the
 * waiter's PROCLOCKs one partition at a time, under that partition's lock
 * in shared mode.
 */
static bool
held_tuple_lock_relation(PGPROC *proc, Oid *dbid, Oid *relid)
{
	int			i;
	bool		found = false;

	for (i = 0; i < NUM_LOCK_PARTITIONS && !found; i++)
	{
		LWLock	   *partitionLock = LockHashPartitionLockByIndex(i);
		SHM_QUEUE  *procLocks = &(proc->myProcLocks[i]);
		PROCLOCK   *proclock;

		LWLockAcquire(partitionLock, LW_SHARED);
		proclock = (PROCLOCK *) SHMQueueNext(procLocks, procLocks,
											 offsetof(PROCLOCK, procLink));
		while (proclock)
		{
			LOCK	   *lock = proclock->tag.myLock;

			if (lock->tag.locktag_type == LOCKTAG_TUPLE &&
				proclock->holdMask != 0)
			{
				*dbid = lock->tag.locktag_field1;
				*relid = lock->tag.locktag_field2;
				found = true;
				break;
			}
			proclock = (PROCLOCK *) SHMQueueNext(procLocks, &proclock->procLink,
												 offsetof(PROCLOCK, procLink));
		}
		LWLockRelease(partitionLock);
	}
	return found;
}

static void
attribute_relation(Waiter *w, PGPROC *proc)
{
	w->dbid = proc->databaseId;
	w->relid = InvalidOid;

	switch ((LockTagType) w->locktag.locktag_type)
	{
		case LOCKTAG_RELATION:
		case LOCKTAG_RELATION_EXTEND:
		case LOCKTAG_PAGE:
		case LOCKTAG_TUPLE:
			w->dbid = w->locktag.locktag_field1;
			w->relid = w->locktag.locktag_field2;
			break;
		case LOCKTAG_TRANSACTION:
			{
				Oid			dbid;
				Oid			relid;

				if (held_tuple_lock_relation(proc, &dbid, &relid))
				{
					w->dbid = dbid;
					w->relid = relid;
				}
			}
			break;
		default:
			break;
	}
}

/*
 * Ask the lock manager about one waiter and classify its blockers exactly
 * as pg_blocking_pids() does.  Returns false when it no longer waits.
 */
static bool
examine_waiter(Waiter *w)
{
	BlockedProcsData *data = GetBlockerStatusData(w->pid);
	int			i;
	bool		found = false;

	w->n_hard = 0;
	w->n_soft = 0;
	for (i = 0; i < data->nprocs && !found; i++)
	{
		BlockedProcData *bproc = &data->procs[i];
		LockInstanceData *instances = &data->locks[bproc->first_lock];
		int		   *preceding = &data->waiter_pids[bproc->first_waiter];
		LockInstanceData *blocked = NULL;
		LockMethod	method;
		int			conflictMask;
		int			j;

		if (bproc->pid != w->pid)
			continue;
		for (j = 0; j < bproc->num_locks; j++)
		{
			if (instances[j].pid == bproc->pid)
				blocked = &instances[j];
		}
		if (blocked == NULL || blocked->waitLockMode == NoLock)
			continue;
		found = true;

		w->locktag = blocked->locktag;
		w->mode = blocked->waitLockMode;

		/*
		 * GetBlockerStatusData() leaves waitStart unset; the PGPROC has it
		 * (an atomic that may briefly read 0 after the wait began).
		 */
		w->wait_start = (TimestampTz)
			pg_atomic_read_u64(&ProcGlobal->allProcs[w->procno].waitStart);

		method = GetLockTagsMethodTable(&blocked->locktag);
		conflictMask = method->conflictTab[blocked->waitLockMode];

		for (j = 0; j < bproc->num_locks; j++)
		{
			LockInstanceData *inst = &instances[j];

			if (inst == blocked || inst->leaderPid == blocked->leaderPid)
				continue;
			if (conflictMask & inst->holdMask)
			{
				if (w->n_hard < ORG_LOCK_MAX_BLOCKERS)
					w->hard[w->n_hard++] = inst->leaderPid;
			}
			else if (inst->waitLockMode != NoLock &&
					 (conflictMask & LOCKBIT_ON(inst->waitLockMode)))
			{
				int			k;

				for (k = 0; k < bproc->num_waiters; k++)
				{
					if (preceding[k] == inst->pid)
					{
						if (w->n_soft < ORG_LOCK_MAX_BLOCKERS)
							w->soft[w->n_soft++] = inst->leaderPid;
						break;
					}
				}
			}
		}
	}
	return found;
}

static Waiter *
find_waiter(Waiter *waiters, int n, int pid)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (waiters[i].pid == pid)
			return &waiters[i];
	}
	return NULL;
}

/* follow the first hard (else soft) blocker up to a backend that runs */
static void
build_chain(Waiter *waiters, int n, Waiter *w)
{
	Waiter	   *cur = w;

	w->chain_len = 0;
	w->chain_cut = false;
	w->root_pid = 0;
	for (;;)
	{
		int32		next;
		int			k;

		if (cur->n_hard > 0)
			next = cur->hard[0];
		else if (cur->n_soft > 0)
			next = cur->soft[0];
		else
			break;

		/* a cycle means a deadlock not yet detected: stop there */
		for (k = 0; k < w->chain_len; k++)
		{
			if (w->chain[k] == next)
			{
				w->chain_cut = true;
				return;
			}
		}
		if (next == w->pid)
		{
			w->chain_cut = true;
			return;
		}
		if (w->chain_len >= ORG_LOCK_MAX_CHAIN)
		{
			w->chain_cut = true;
			return;
		}
		w->chain[w->chain_len++] = next;
		w->root_pid = next;
		cur = find_waiter(waiters, n, next);
		if (cur == NULL)
			break;
	}
}

/* this tick's backend status entries, sorted by pid */
static LocalPgBackendStatus **backends = NULL;
static int	nbackends = 0;

static int
backend_pid_cmp(const void *a, const void *b)
{
	int			x = (*(LocalPgBackendStatus *const *) a)->backendStatus.st_procpid;
	int			y = (*(LocalPgBackendStatus *const *) b)->backendStatus.st_procpid;

	return (x > y) - (x < y);
}

static void
load_backends(void)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			i;

	backends = palloc(sizeof(LocalPgBackendStatus *) * Max(n, 1));
	nbackends = 0;
	for (i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *l = pgstat_fetch_stat_local_beentry(i);

		if (l != NULL)
			backends[nbackends++] = l;
	}
	qsort(backends, nbackends, sizeof(LocalPgBackendStatus *), backend_pid_cmp);
}

static LocalPgBackendStatus *
find_backend(int pid)
{
	int			lo = 0;
	int			hi = nbackends - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			p = backends[mid]->backendStatus.st_procpid;

		if (p == pid)
			return backends[mid];
		if (p < pid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static void
copy_normalized_activity(PgBackendStatus *be, char *dst)
{
	char	   *clipped;

	dst[0] = '\0';
	if (be == NULL || be->st_activity_raw == NULL || be->st_activity_raw[0] == '\0')
		return;
	clipped = pgstat_clip_activity(be->st_activity_raw);
	org_normalize_query(clipped, -1, dst, locks_shared->text_length + 1);
	pfree(clipped);
}

static OrgWorkerClass
worker_class_of(const char *appname)
{
	return org_worker_class_from_appname(appname, org_odoo_appname_prefix);
}

static void
fill_chain_slot(OrgBlockingChain *slot, Waiter *w, TimestampTz now)
{
	LocalPgBackendStatus *wl = find_backend(w->pid);
	LocalPgBackendStatus *rl = w->root_pid ? find_backend(w->root_pid) : NULL;
	PgBackendStatus *wb = wl ? &wl->backendStatus : NULL;
	PgBackendStatus *rb = rl ? &rl->backendStatus : NULL;

	memset(slot, 0, sizeof(OrgBlockingChain));
	slot->waiter_pid = w->pid;
	slot->dbid = w->dbid;
	if (wb != NULL && wb->st_appname)
		strlcpy(slot->waiter_appname, wb->st_appname, NAMEDATALEN);
	slot->waiter_worker_class = worker_class_of(slot->waiter_appname);
	strlcpy(slot->lock_type, lock_type_name(w->locktag.locktag_type),
			ORG_LOCK_TYPE_LEN);
	strlcpy(slot->mode, lock_mode_name(w->locktag.locktag_lockmethodid, w->mode),
			ORG_LOCK_MODE_LEN);
	slot->relid = w->relid;
	slot->wait_start = w->wait_start;
	slot->wait_ms = w->wait_start ? Max(0, (now - w->wait_start) / 1000.0) : 0;
	slot->chain_len = w->chain_len;
	memcpy(slot->chain, w->chain, sizeof(int32) * w->chain_len);
	slot->chain_cut = w->chain_cut;
	slot->n_hard = w->n_hard;
	memcpy(slot->hard_blockers, w->hard, sizeof(int32) * w->n_hard);
	slot->n_soft = w->n_soft;
	memcpy(slot->soft_blockers, w->soft, sizeof(int32) * w->n_soft);
	slot->root_pid = w->root_pid;
	slot->root_xact_age_ms = -1;
	if (rb != NULL)
	{
		if (rb->st_appname)
			strlcpy(slot->root_appname, rb->st_appname, NAMEDATALEN);
		strlcpy(slot->root_state, backend_state_name(rb->st_state), ORG_STATE_LEN);
		slot->root_xact_start = rb->st_xact_start_timestamp;
		if (rb->st_xact_start_timestamp != 0)
			slot->root_xact_age_ms =
				Max(0, (now - rb->st_xact_start_timestamp) / 1000.0);
	}
	slot->root_worker_class = worker_class_of(slot->root_appname);

	/*
	 * Odoo names every connection of a process odoo-<pid>: a cron worker's
	 * cron cursor is known by what it does, idle in transaction after
	 * acquiring its ir_cron row (odoo_cron.c), not by its name.
	 */
	if (rb != NULL && rb->st_state == STATE_IDLEINTRANSACTION &&
		slot->root_worker_class != ORG_WORKER_OTHER &&
		rb->st_activity_raw != NULL)
	{
		int64_t		job_id;
		OrgCronStatement stmt = org_cron_classify_statement(rb->st_activity_raw, &job_id);

		if (stmt == ORG_CRON_STMT_ACQUIRE || stmt == ORG_CRON_STMT_CLEAR_TRIGGERS)
			slot->root_worker_class = ORG_WORKER_CRON;
	}
	slot->sampled_at = now;
	copy_normalized_activity(wb, chain_waiter_text(slot));
	copy_normalized_activity(rb, chain_root_text(slot));
}

static void
distinct_add(ContentionEntry *e, int pid)
{
	uint32		h = (uint32) pid * 2654435761u;
	int			bit = (h >> 16) % DISTINCT_BITS;

	e->distinct[bit / 64] |= UINT64CONST(1) << (bit % 64);
}

static uint64
distinct_estimate(const uint64 *words)
{
	int			zeros = 0;
	int			i;

	for (i = 0; i < DISTINCT_WORDS; i++)
		zeros += 64 - pg_popcount64(words[i]);
	if (zeros == DISTINCT_BITS)
		return 0;
	if (zeros == 0)
		zeros = 1;				/* saturated: a lower bound */
	return (uint64) llround(-(double) DISTINCT_BITS *
							log((double) zeros / DISTINCT_BITS));
}

/* find or create a contention entry; caller holds the lock exclusively */
static ContentionEntry *
contention_entry(TrackedWait *t, TimestampTz now)
{
	ContentionEntry *table = contention_table();
	ContentionEntry *e;
	int			i;
	int			victim = -1;

	for (i = 0; i < locks_shared->contention_used; i++)
	{
		e = &table[i];
		if (e->dbid == t->dbid && e->relid == t->relid &&
			e->locktag_type == t->locktag.locktag_type &&
			e->lockmethod == t->locktag.locktag_lockmethodid &&
			e->mode == t->mode)
			return e;
		if (victim < 0 || e->last_seen < table[victim].last_seen)
			victim = i;
	}
	if (locks_shared->contention_used < locks_shared->contention_capacity)
		e = &table[locks_shared->contention_used++];
	else
	{
		OrgRemoval	r;

		/* full: the entry seen least recently makes room */
		e = &table[victim];
		locks_shared->contention_evictions++;
		memset(&r, 0, sizeof(r));
		r.kind = ORG_REMOVED_LOCK_CONTENTION;
		r.dbid = e->dbid;
		r.relid = e->relid;
		strlcpy(r.lock_type, lock_type_name(e->locktag_type), ORG_LOCK_TYPE_LEN);
		strlcpy(r.mode, lock_mode_name(e->lockmethod, e->mode), ORG_LOCK_MODE_LEN);
		org_removal_log(&r);
	}
	memset(e, 0, sizeof(ContentionEntry));
	e->dbid = t->dbid;
	e->relid = t->relid;
	e->locktag_type = t->locktag.locktag_type;
	e->lockmethod = t->locktag.locktag_lockmethodid;
	e->mode = t->mode;
	e->first_seen = now;
	return e;
}

static TrackedWait *
tracked_find(int pid)
{
	int			i;

	for (i = 0; i < tracked_capacity; i++)
	{
		if (tracked[i].in_use && tracked[i].pid == pid)
			return &tracked[i];
	}
	return NULL;
}

static TrackedWait *
tracked_new(void)
{
	int			i;

	for (i = 0; i < tracked_capacity; i++)
	{
		if (!tracked[i].in_use)
			return &tracked[i];
	}
	return NULL;
}

static void
finish_wait(TrackedWait *t)
{
	if (t->wait_ms >= org_lock_wait_event_threshold)
	{
		LockEventPayload ev;

		memset(&ev, 0, sizeof(ev));
		ev.ts = t->last_seen;
		ev.wait_start = t->wait_start;
		ev.waiter_pid = t->pid;
		ev.root_pid = t->root_pid;
		ev.dbid = t->dbid;
		ev.relid = t->relid;
		ev.locktag_type = t->locktag.locktag_type;
		ev.lockmethod = t->locktag.locktag_lockmethodid;
		ev.mode = t->mode;
		ev.wait_ms = t->wait_ms;
		ev.waiter_worker_class = t->waiter_class;
		ev.root_worker_class = t->root_class;
		strlcpy(ev.waiter_appname, t->waiter_appname, NAMEDATALEN);
		strlcpy(ev.root_appname, t->root_appname, NAMEDATALEN);
		org_ring_push(lock_events, &ev);
	}
	t->in_use = false;
}

static bool
same_wait(TrackedWait *t, Waiter *w)
{
	if (memcmp(&t->locktag, &w->locktag, sizeof(LOCKTAG)) != 0 || t->mode != w->mode)
		return false;
	/* the start may read 0 while being written: only differing values count */
	if (t->start_known && w->wait_start != 0 && t->wait_start != w->wait_start)
		return false;
	return true;
}

/*
 * Follow waits across ticks: account their time into the contention
 * table (caller holds the lock exclusively) and remember who blocked them.
 * A wait keeps the relation it was first attributed to, so its time lands
 * in one contention entry.
 */
static void
track_waits(Waiter *waiters, int n, OrgBlockingChain **slots, TimestampTz now)
{
	uint64		generation = locks_shared->reset_generation;
	int			i;

	for (i = 0; i < tracked_capacity; i++)
		tracked[i].seen = false;

	for (i = 0; i < n; i++)
	{
		Waiter	   *w = &waiters[i];
		OrgBlockingChain *slot = slots[i];
		TrackedWait *t = tracked_find(w->pid);
		ContentionEntry *e;
		bool		is_new = false;

		if (t != NULL && !same_wait(t, w))
		{
			finish_wait(t);
			t = NULL;
		}
		if (t == NULL)
		{
			t = tracked_new();
			if (t == NULL)
				continue;
			memset(t, 0, sizeof(TrackedWait));
			t->in_use = true;
			t->pid = w->pid;
			t->locktag = w->locktag;
			t->mode = w->mode;
			t->wait_start = w->wait_start ? w->wait_start : now;
			t->start_known = (w->wait_start != 0);
			t->dbid = w->dbid;
			t->relid = w->relid;
			is_new = true;
		}
		if (!t->start_known && w->wait_start != 0)
		{
			t->wait_start = w->wait_start;
			t->start_known = true;
		}
		t->seen = true;
		t->last_seen = now;
		t->wait_ms = Max(0, (now - t->wait_start) / 1000.0);
		t->root_pid = w->root_pid;
		t->waiter_class = slot->waiter_worker_class;
		t->root_class = slot->root_worker_class;
		strlcpy(t->waiter_appname, slot->waiter_appname, NAMEDATALEN);
		strlcpy(t->root_appname, slot->root_appname, NAMEDATALEN);

		if (t->generation != generation)
		{
			/* first seen, or seen again after a reset: count it afresh */
			is_new = true;
			t->generation = generation;
			t->accounted_ms = 0;
		}
		e = contention_entry(t, now);
		if (is_new)
		{
			e->waits++;
			distinct_add(e, t->pid);
		}
		e->total_ms += t->wait_ms - t->accounted_ms;
		t->accounted_ms = t->wait_ms;
		if (t->wait_ms > e->max_ms)
			e->max_ms = t->wait_ms;
		e->last_seen = now;
		e->generation = org_generation_current();
	}
}

static void
finish_unseen_waits(void)
{
	int			i;

	for (i = 0; i < tracked_capacity; i++)
	{
		if (tracked[i].in_use && !tracked[i].seen)
			finish_wait(&tracked[i]);
	}
}

void
org_locks_sampler_reset_local(void)
{
	if (tracked != NULL)
		memset(tracked, 0, sizeof(TrackedWait) * tracked_capacity);
}

void
org_locks_sample(void)
{
	TimestampTz now;
	Waiter	   *waiters;
	OrgBlockingChain **slots;
	int			nproc = ProcGlobal->allProcCount;
	int			n = 0;
	int			i;
	bool		any_tracked = false;

	if (locks_shared == NULL)
		return;

	if (tracked == NULL)
	{
		tracked_capacity = locks_shared->chain_capacity;
		tracked = MemoryContextAllocZero(TopMemoryContext,
										 sizeof(TrackedWait) * tracked_capacity);
	}

	/* the cheap part: who waits on a heavyweight lock, without any lock */
	waiters = palloc(sizeof(Waiter) * Min(nproc, locks_shared->chain_capacity));
	for (i = 0; i < nproc && n < locks_shared->chain_capacity; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		uint32		wei = UINT32_ACCESS_ONCE(proc->wait_event_info);
		int			pid;

		if ((wei & 0xFF000000) != PG_WAIT_LOCK)
			continue;
		pid = proc->pid;
		if (pid == 0 || pid == MyProcPid)
			continue;
		memset(&waiters[n], 0, sizeof(Waiter));
		waiters[n].pid = pid;
		waiters[n].procno = i;
		n++;
	}

	for (i = 0; i < tracked_capacity; i++)
		any_tracked |= tracked[i].in_use;
	if (n == 0 && !any_tracked && locks_shared->n_chains == 0)
		return;

	/* the lock manager, only for the waiters */
	{
		int			kept = 0;

		for (i = 0; i < n; i++)
		{
			Waiter		w = waiters[i];

			if (!examine_waiter(&w))
				continue;
			attribute_relation(&w, &ProcGlobal->allProcs[w.procno]);
			waiters[kept++] = w;
		}
		n = kept;
	}
	for (i = 0; i < n; i++)
		build_chain(waiters, n, &waiters[i]);

	now = GetCurrentTimestamp();

	/* build the chain rows locally, then copy them in under the lock */
	slots = palloc(sizeof(OrgBlockingChain *) * Max(n, 1));
	if (n > 0)
	{
		pgstat_clear_backend_activity_snapshot();
		load_backends();
		for (i = 0; i < n; i++)
		{
			slots[i] = palloc(chain_slot_size(locks_shared->text_length));
			fill_chain_slot(slots[i], &waiters[i], now);
		}
		pgstat_clear_backend_activity_snapshot();
		backends = NULL;
		nbackends = 0;
	}

	LWLockAcquire(locks_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < n; i++)
		memcpy(chain_slot(i), slots[i], chain_slot_size(locks_shared->text_length));
	locks_shared->n_chains = n;
	track_waits(waiters, n, slots, now);
	LWLockRelease(locks_shared->lock);

	/* ring pushes take only the ring's spinlock */
	finish_unseen_waits();
}

/* ---------------------------------------------------------------------
 * Read accessors
 * ---------------------------------------------------------------------
 */

void
org_resolve_relation(Oid dbid, Oid relid, char *relation, size_t relation_len,
					 char *model, size_t model_len)
{
	char	   *relname;
	Oid			nspid;

	relation[0] = '\0';
	model[0] = '\0';
	if (!OidIsValid(relid) || !IsTransactionState())
		return;
	if (OidIsValid(dbid) && dbid != MyDatabaseId)
		return;
	org_check_no_lock_held("get_rel_name");
	relname = get_rel_name(relid);
	if (relname == NULL)
		return;
	nspid = get_rel_namespace(relid);
	org_relation_label(nspid,
					   org_relation_label_needs_schema(nspid) ?
					   get_namespace_name(nspid) : NULL,
					   relname, relation, relation_len, model, model_len);
}

OrgBlockingChain *
org_blocking_chains_collect(int *count, bool with_text)
{
	OrgBlockingChain *out;
	Size		slot_size = chain_slot_size(locks_shared->text_length);
	char	   *raw = NULL;
	int			cap = 0;
	int			n;
	int			i;

	/*
	 * Copy the slots as they are under the lock; allocate, and copy the
	 * texts, outside it.  A sample may add chains between the count and the
	 * copy: then allocate for the new count and try again.
	 */
	for (;;)
	{
		LWLockAcquire(locks_shared->lock, LW_SHARED);
		n = locks_shared->n_chains;
		if (n <= cap)
		{
			if (n > 0)
				memcpy(raw, chain_slot(0), slot_size * n);
			LWLockRelease(locks_shared->lock);
			break;
		}
		LWLockRelease(locks_shared->lock);
		cap = Min(n + 8, locks_shared->chain_capacity);
		if (raw != NULL)
			pfree(raw);
		raw = palloc(slot_size * cap);
	}

	out = palloc(sizeof(OrgBlockingChain) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		OrgBlockingChain *slot = (OrgBlockingChain *) (raw + slot_size * i);

		memcpy(&out[i], slot, sizeof(OrgBlockingChain));
		out[i].waiter_query = with_text ? pstrdup(chain_waiter_text(slot)) : NULL;
		out[i].root_query = with_text ? pstrdup(chain_root_text(slot)) : NULL;
	}
	if (raw != NULL)
		pfree(raw);

	for (i = 0; i < n; i++)
		org_resolve_relation(out[i].dbid, out[i].relid,
							 out[i].relation, sizeof(out[i].relation),
							 out[i].model, sizeof(out[i].model));
	*count = n;
	return out;
}

OrgLockContention *
org_lock_contention_collect(int *count)
{
	OrgLockContention *out;
	ContentionEntry *table;
	int			n;
	int			cap;
	int			i;

	/* allocate outside the lock, with room for entries a sample adds */
	LWLockAcquire(locks_shared->lock, LW_SHARED);
	cap = locks_shared->contention_used;
	LWLockRelease(locks_shared->lock);
	cap = Min(cap + 64, locks_shared->contention_capacity);
	out = palloc0(sizeof(OrgLockContention) * Max(cap, 1));

	LWLockAcquire(locks_shared->lock, LW_SHARED);
	table = contention_table();
	n = Min(locks_shared->contention_used, cap);
	for (i = 0; i < n; i++)
	{
		ContentionEntry *e = &table[i];

		out[i].dbid = e->dbid;
		out[i].relid = e->relid;
		strlcpy(out[i].lock_type, lock_type_name(e->locktag_type), ORG_LOCK_TYPE_LEN);
		strlcpy(out[i].mode, lock_mode_name(e->lockmethod, e->mode), ORG_LOCK_MODE_LEN);
		out[i].waits = e->waits;
		out[i].total_wait_ms = e->total_ms;
		out[i].max_wait_ms = e->max_ms;
		out[i].distinct_waiters = distinct_estimate(e->distinct);
		out[i].first_seen = e->first_seen;
		out[i].last_seen = e->last_seen;
		out[i].generation = e->generation;
	}
	LWLockRelease(locks_shared->lock);

	for (i = 0; i < n; i++)
		org_resolve_relation(out[i].dbid, out[i].relid,
							 out[i].relation, sizeof(out[i].relation),
							 out[i].model, sizeof(out[i].model));
	*count = n;
	return out;
}

OrgLockWaitEvent *
org_lock_wait_events_since(uint64 cursor, uint64 horizon, int *count, bool *gap)
{
	LockEventPayload *p;
	OrgLockWaitEvent *out;
	uint64	   *ids;
	int			n;
	int			i;

	p = org_ring_read(lock_events, cursor, horizon, &ids, &n, gap);
	out = palloc0(sizeof(OrgLockWaitEvent) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		out[i].id = ids[i];
		out[i].ts = p[i].ts;
		out[i].wait_start = p[i].wait_start;
		out[i].waiter_pid = p[i].waiter_pid;
		out[i].root_pid = p[i].root_pid;
		out[i].dbid = p[i].dbid;
		out[i].relid = p[i].relid;
		strlcpy(out[i].lock_type, lock_type_name(p[i].locktag_type), ORG_LOCK_TYPE_LEN);
		strlcpy(out[i].mode, lock_mode_name(p[i].lockmethod, p[i].mode), ORG_LOCK_MODE_LEN);
		out[i].wait_ms = p[i].wait_ms;
		out[i].waiter_worker_class = p[i].waiter_worker_class;
		out[i].root_worker_class = p[i].root_worker_class;
		strlcpy(out[i].waiter_appname, p[i].waiter_appname, NAMEDATALEN);
		strlcpy(out[i].root_appname, p[i].root_appname, NAMEDATALEN);
		org_resolve_relation(out[i].dbid, out[i].relid,
							 out[i].relation, sizeof(out[i].relation),
							 out[i].model, sizeof(out[i].model));
	}
	pfree(p);
	pfree(ids);
	*count = n;
	return out;
}

OrgLockConflicts *
org_lock_conflicts_collect(int *count)
{
	OrgLockConflicts *out = palloc0(sizeof(OrgLockConflicts) * CONFLICT_DBS);
	int			n = 0;
	int			i;

	for (i = 0; i < CONFLICT_DBS; i++)
	{
		ConflictEntry *e = &locks_shared->conflicts[i];
		Oid			dbid = pg_atomic_read_u32(&e->dbid);
		PgStat_StatDBEntry *dbstat;

		if (!OidIsValid(dbid))
			continue;
		out[n].dbid = dbid;
		out[n].deadlocks_logged = pg_atomic_read_u64(&e->deadlocks);
		out[n].lock_not_available = pg_atomic_read_u64(&e->lock_not_available);
		out[n].serialization_failures = pg_atomic_read_u64(&e->serialization_failures);
		dbstat = pgstat_fetch_stat_dbentry(dbid);
		out[n].deadlocks = dbstat ? dbstat->n_deadlocks : out[n].deadlocks_logged;
		n++;
	}
	*count = n;
	return out;
}

void
org_locks_info(OrgLocksInfo *info)
{
	int			i;

	memset(info, 0, sizeof(OrgLocksInfo));
	LWLockAcquire(locks_shared->lock, LW_SHARED);
	info->contention_entries = locks_shared->contention_used;
	info->contention_capacity = locks_shared->contention_capacity;
	info->contention_evictions = locks_shared->contention_evictions;
	info->chains = locks_shared->n_chains;
	info->chains_capacity = locks_shared->chain_capacity;
	info->stats_reset = locks_shared->stats_reset;
	LWLockRelease(locks_shared->lock);
	info->events_capacity = lock_events->capacity;
	info->events_written = org_ring_writes(lock_events);
	info->conflict_capacity = CONFLICT_DBS;
	for (i = 0; i < CONFLICT_DBS; i++)
	{
		if (pg_atomic_read_u32(&locks_shared->conflicts[i].dbid) != 0)
			info->conflict_databases++;
	}
}

void
org_locks_reset(void)
{
	int			i;

	LWLockAcquire(locks_shared->lock, LW_EXCLUSIVE);
	locks_shared->contention_used = 0;
	locks_shared->contention_evictions = 0;
	/* dropped unlogged: delta readers get a full snapshot */
	org_removals_forget();
	locks_shared->reset_generation++;
	locks_shared->stats_reset = GetCurrentTimestamp();
	LWLockRelease(locks_shared->lock);
	org_ring_clear(lock_events);
	for (i = 0; i < CONFLICT_DBS; i++)
	{
		pg_atomic_write_u64(&locks_shared->conflicts[i].deadlocks, 0);
		pg_atomic_write_u64(&locks_shared->conflicts[i].lock_not_available, 0);
		pg_atomic_write_u64(&locks_shared->conflicts[i].serialization_failures, 0);
	}
}

/* the pg_stat_activity name of a BackendState, for the other trackers */
const char *
org_backend_state_name(int state)
{
	return backend_state_name((BackendState) state);
}
