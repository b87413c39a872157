/*-------------------------------------------------------------------------
 *
 * throttle.c
 *		Connection throttle enforced inside the server: rules set by
 *		odoo_retail_guard.throttle() and lifted by release() or their expiry,
 *		checked when a client authenticates, with an optional drain of the
 *		throttled class's sessions that sit idle in transaction.
 *
 * Hook installed: ClientAuthentication_hook (chained).
 *
 * The hook runs before the new backend is visible in pg_stat_activity and
 * before MyDatabaseId is set, so counting existing backends there cannot be
 * correct under a connection storm.  Each rule therefore keeps its own count
 * of the connections admitted under it, and every admitted backend records,
 * in a per-backend slot of shared memory, what it connected as and which
 * rules it holds a place in; a before_shmem_exit callback gives the places
 * back.
 *
 * Locking discipline:
 *	- throttle_lock (LWLock) in shared mode: admitting a connection, a
 *	  backend giving its places back at exit, readers and the drain.  Rule
 *	  definitions do not change while it is held shared, so they are read
 *	  without a spinlock.  A backend writes only its own slot then.
 *	- throttle_lock exclusively: setting, changing and releasing rules.  A
 *	  new rule counts the sessions already open that match it (no admission
 *	  or exit runs meanwhile) and enters itself into their slots.
 *	- Each rule's spinlock protects its counters (current, refused, drained).
 *	  Admission checks the limit and takes the place in one critical section,
 *	  so concurrent connections can never overshoot the limit.
 *	- Every rule carries an id that changes when its slot is reused; a
 *	  backend gives its place back only to the rule id it was admitted under.
 *
 * A connection is counted as admitted: later changes of its
 * application_name do not move it between rules.
 *
 * Who can never be locked out: superusers, replication connections, members
 * of odoo_retail_guard_admin (so whoever may set or lift a rule can always
 * connect to do it, the agent included) and the roles in
 * odoo_retail_guard.exempt_roles are never refused, drained or counted; a
 * rule also never refuses or counts the role that set it.  A rule that would
 * match every role must name a database or a worker class: an
 * application_name pattern alone does not narrow it, since every client
 * picks its own application_name.
 *
 * drain() terminates sessions with pg_terminate_backend(), so it is bound by
 * the same permission checks: superusers' sessions only for superusers,
 * other roles' sessions only with their privileges or pg_signal_backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "mb/pg_wchar.h"
#include "port/atomics.h"
#include "miscadmin.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "cron_jobs.h"
#include "odoo_classify.h"
#include "odoo_retail_guard.h"
#include "sql_values.h"
#include "ring.h"
#include "text_clip.h"
#include "throttle.h"
#include "throttle_match.h"

#define ADMIN_ROLE_NAME			"odoo_retail_guard_admin"

#define THROTTLE_TRANCHE		"odoo_retail_guard_throttle"
#define THROTTLE_SHMEM_NAME		"odoo_retail_guard throttle"
#define THROTTLE_RING_NAME		"odoo_retail_guard throttle events"

typedef struct RuleDef
{
	char		name[NAMEDATALEN];
	char		appname_pattern[NAMEDATALEN];
	char		role[NAMEDATALEN];
	char		database[NAMEDATALEN];
	int32		worker_class;
	int32		max_connections;
	int32		drain_idle_s;
	TimestampTz created;
	TimestampTz expires;
	char		reason[ORG_THROTTLE_REASON_LEN];
	char		set_by[NAMEDATALEN];	/* current role of the caller */
	char		set_by_session[NAMEDATALEN];	/* its login role */
} RuleDef;

typedef struct RuleSlot
{
	uint32		id;				/* 0: free; changes under the exclusive lock */
	RuleDef		def;			/* changes under the exclusive lock */
	slock_t		mutex;			/* protects the counters below */
	int32		current;
	uint64		refused;
	uint64		drained;
} RuleSlot;

typedef struct HeldPlace
{
	int16		slot;
	uint32		id;
} HeldPlace;

/* what one admitted backend connected as, and where it holds a place */
typedef struct AdmittedBackend
{
	int32		pid;			/* 0: slot unused */
	int32		worker_class;
	char		role[NAMEDATALEN];
	char		database[NAMEDATALEN];
	char		appname[NAMEDATALEN];
	int			nheld;
	HeldPlace	held[ORG_THROTTLE_MAX_RULES];
} AdmittedBackend;

typedef struct ThrottleShared
{
	LWLock	   *lock;
	uint32		last_rule_id;	/* under the exclusive lock */
	int			nbackends;
	RuleSlot	rules[ORG_THROTTLE_MAX_RULES];
	AdmittedBackend backends[FLEXIBLE_ARRAY_MEMBER];
} ThrottleShared;

/* a throttle event as stored in the ring */
/* a throttle event as stored in the ring: the reader's struct, id unused */
typedef OrgThrottleEvent ThrottlePayload;

static ThrottleShared *tshared = NULL;
static OrgRing *event_ring = NULL;
static AdmittedBackend *my_backend = NULL;

static ClientAuthentication_hook_type prev_ClientAuthentication = NULL;

PG_FUNCTION_INFO_V1(org_throttle);
PG_FUNCTION_INFO_V1(org_release);
PG_FUNCTION_INFO_V1(org_drain);
PG_FUNCTION_INFO_V1(org_throttle_rules);
PG_FUNCTION_INFO_V1(org_throttle_events);

static Size
throttle_shmem_size(void)
{
	return add_size(offsetof(ThrottleShared, backends),
					mul_size(MaxBackends, sizeof(AdmittedBackend)));
}

void
org_throttle_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(throttle_shmem_size()));
	RequestAddinShmemSpace(org_ring_shmem_size(org_throttle_events_size,
											   sizeof(ThrottlePayload)));
	RequestNamedLWLockTranche(THROTTLE_TRANCHE, 1);
}

void
org_throttle_shmem_startup(void)
{
	bool		found;
	int			i;

	tshared = ShmemInitStruct(THROTTLE_SHMEM_NAME, throttle_shmem_size(), &found);
	if (!found)
	{
		tshared->lock = &(GetNamedLWLockTranche(THROTTLE_TRANCHE))->lock;
		tshared->last_rule_id = 0;
		tshared->nbackends = MaxBackends;
		for (i = 0; i < ORG_THROTTLE_MAX_RULES; i++)
		{
			memset(&tshared->rules[i], 0, sizeof(RuleSlot));
			SpinLockInit(&tshared->rules[i].mutex);
		}
		memset(tshared->backends, 0, sizeof(AdmittedBackend) * MaxBackends);
	}

	event_ring = ShmemInitStruct(THROTTLE_RING_NAME,
								 org_ring_shmem_size(org_throttle_events_size,
													 sizeof(ThrottlePayload)),
								 &found);
	if (!found)
		org_ring_init(event_ring, org_throttle_events_size, sizeof(ThrottlePayload));
}

static bool
rule_active(const RuleSlot *r, TimestampTz now)
{
	return r->id != 0 && r->def.expires > now;
}

static void
rule_match(const RuleDef *d, OrgThrottleMatch *m)
{
	m->appname_pattern = d->appname_pattern;
	m->role = d->role;
	m->database = d->database;
	m->worker_class = d->worker_class;
}

/* a rule never refuses or counts the role that set it */
static bool
rule_matches_backend(const RuleDef *d, const AdmittedBackend *b)
{
	OrgThrottleMatch m;

	if (strcmp(b->role, d->set_by) == 0 ||
		strcmp(b->role, d->set_by_session) == 0)
		return false;
	rule_match(d, &m);
	return org_throttle_matches(&m, b->appname, b->role, b->database,
								b->worker_class);
}

static void
push_event(OrgThrottleEventKind kind, const RuleSlot *r, uint32 rule_id,
		   const AdmittedBackend *b)
{
	ThrottlePayload p;

	memset(&p, 0, sizeof(p));
	p.ts = GetCurrentTimestamp();
	p.kind = kind;
	p.worker_class = b->worker_class;
	p.rule_id = rule_id;
	p.pid = b->pid;
	strlcpy(p.rule_name, r->def.name, sizeof(p.rule_name));
	memcpy(p.role, b->role, sizeof(p.role));
	memcpy(p.database, b->database, sizeof(p.database));
	memcpy(p.appname, b->appname, sizeof(p.appname));
	org_ring_push(event_ring, &p);
}

/* give back every place a backend holds; caller holds the lock */
static void
release_places(AdmittedBackend *b)
{
	int			i;

	for (i = 0; i < b->nheld; i++)
	{
		RuleSlot   *r = &tshared->rules[b->held[i].slot];

		SpinLockAcquire(&r->mutex);
		/* the id is stable while the lock is held in any mode */
		if (r->id == b->held[i].id && r->current > 0)
			r->current--;
		SpinLockRelease(&r->mutex);
	}
	b->nheld = 0;
}

/* record a place, replacing one a former rule in the same slot left behind */
static void
add_place(AdmittedBackend *b, int slot, uint32 id)
{
	int			i;

	for (i = 0; i < b->nheld; i++)
	{
		if (b->held[i].slot == slot)
		{
			b->held[i].id = id;
			return;
		}
	}
	b->held[b->nheld].slot = slot;
	b->held[b->nheld].id = id;
	/* the drain reads other backends' slots under the shared lock */
	pg_write_barrier();
	b->nheld++;
}

static void
throttle_backend_exit(int code, Datum arg)
{
	if (tshared == NULL || my_backend == NULL || my_backend->pid != MyProcPid)
		return;
	LWLockAcquire(tshared->lock, LW_SHARED);
	release_places(my_backend);
	my_backend->pid = 0;
	LWLockRelease(tshared->lock);
	my_backend = NULL;
}

/* catalog lookups: called before any lock of ours is taken */
static bool
is_exempt(const char *user_name)
{
	Oid			roleid;
	Oid			adminid;

	if (am_walsender)
		return true;
	roleid = get_role_oid(user_name, true);
	if (!OidIsValid(roleid) || superuser_arg(roleid))
		return true;
	adminid = get_role_oid(ADMIN_ROLE_NAME, true);
	if (OidIsValid(adminid) && is_member_of_role(roleid, adminid))
		return true;
	return org_name_in_list(org_throttle_exempt_roles, user_name);
}

static char *
format_time(TimestampTz ts)
{
	return pstrdup(timestamptz_to_str(ts));
}

static void
refuse(const RuleDef *def, int32 limit)
{
	ereport(FATAL,
			(errcode(ERRCODE_TOO_MANY_CONNECTIONS),
			 errmsg("connection refused by throttle rule \"%s\": %s",
					def->name, def->reason),
			 errdetail("The rule admits %d concurrent connection(s) matching it; it was set by %s and expires at %s.",
					   limit, def->set_by, format_time(def->expires)),
			 errhint("Retry later; an administrator can lift the rule with SELECT odoo_retail_guard.release('%s').",
					 def->name)));
}

static void
org_ClientAuthentication(Port *port, int status)
{
	AdmittedBackend *b;
	TimestampTz now;
	RuleDef		refused_def;
	uint32		refused_id = 0;
	int32		refused_limit = 0;
	int			i;

	if (prev_ClientAuthentication)
		prev_ClientAuthentication(port, status);

	if (status != STATUS_OK || tshared == NULL || port->user_name == NULL)
		return;
	if (MyBackendId <= 0 || MyBackendId > tshared->nbackends)
		return;
	if (is_exempt(port->user_name))
		return;

	/* registered before the first place is taken, so none can leak */
	before_shmem_exit(throttle_backend_exit, (Datum) 0);

	b = &tshared->backends[MyBackendId - 1];
	now = GetCurrentTimestamp();

	LWLockAcquire(tshared->lock, LW_SHARED);
	b->nheld = 0;
	b->worker_class = org_worker_class_from_appname(port->application_name
													? port->application_name : "",
													org_odoo_appname_prefix);
	/*
	 * The role exists (is_exempt looked it up) and PostgreSQL truncated both
	 * names to NAMEDATALEN - 1 bytes, so they fit whole; the database
	 * encoding is not known yet, hence no re-encoding check on them.
	 * application_name arrives cleaned to ASCII.
	 */
	strlcpy(b->role, port->user_name, sizeof(b->role));
	strlcpy(b->database, port->database_name ? port->database_name : "",
			sizeof(b->database));
	org_text_clip(b->appname, port->application_name, sizeof(b->appname));
	pg_write_barrier();
	b->pid = MyProcPid;
	my_backend = b;

	for (i = 0; i < ORG_THROTTLE_MAX_RULES; i++)
	{
		RuleSlot   *r = &tshared->rules[i];
		bool		admitted;

		if (!rule_active(r, now) || !rule_matches_backend(&r->def, b))
			continue;

		/* check and take the place in one critical section */
		SpinLockAcquire(&r->mutex);
		admitted = (r->current < r->def.max_connections);
		if (admitted)
			r->current++;
		else
			r->refused++;
		SpinLockRelease(&r->mutex);

		if (!admitted)
		{
			refused_def = r->def;
			refused_id = r->id;
			refused_limit = r->def.max_connections;
			push_event(ORG_THROTTLE_REFUSED, r, r->id, b);
			break;
		}
		add_place(b, i, r->id);
	}

	if (refused_id != 0)
	{
		release_places(b);
		b->pid = 0;
		my_backend = NULL;
	}
	LWLockRelease(tshared->lock);

	if (refused_id != 0)
		refuse(&refused_def, refused_limit);
}

void
org_throttle_install_hooks(void)
{
	prev_ClientAuthentication = ClientAuthentication_hook;
	ClientAuthentication_hook = org_ClientAuthentication;
}

/* ---- control: throttle(), release(), drain() ---- */

static int64
interval_usecs(Interval *iv)
{
	return iv->time + (int64) iv->day * USECS_PER_DAY +
		(int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;
}

static void
copy_arg(char *dst, const char *src, const char *what)
{
	if (strlen(src) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("%s must be shorter than %d bytes", what, NAMEDATALEN)));
	strlcpy(dst, src, NAMEDATALEN);
}

static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* names and reasons end up in refused clients' FATAL messages and logs */
static void
refuse_control_chars(const char *s, const char *what)
{
	if (org_has_control_chars(s))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not contain control characters", what),
				 errhint("Refused clients see the rule's name and reason in their error message; use printable text.")));
}

/* free rules past their expiry; caller holds the lock exclusively */
static void
free_expired(TimestampTz now)
{
	int			i;

	for (i = 0; i < ORG_THROTTLE_MAX_RULES; i++)
	{
		RuleSlot   *r = &tshared->rules[i];

		if (r->id != 0 && r->def.expires <= now)
			r->id = 0;
	}
}

static bool
same_match(const RuleDef *a, const RuleDef *b)
{
	return strcmp(a->appname_pattern, b->appname_pattern) == 0 &&
		strcmp(a->role, b->role) == 0 &&
		strcmp(a->database, b->database) == 0 &&
		a->worker_class == b->worker_class;
}

static int	drain_sessions(void);

/*
 * throttle(name, max_connections, ttl, reason, application_name, role,
 *			database, worker_class, drain_idle_in_transaction) returns the
 * rule's id.  A rule of the same name is replaced; when its match is
 * unchanged it keeps its id and its count of open connections.
 */
Datum
org_throttle(PG_FUNCTION_ARGS)
{
	RuleDef		def;
	OrgThrottleMatch m;
	TimestampTz now = GetCurrentTimestamp();
	int64		ttl_us;
	char	   *s;
	int			slot = -1;
	int			i;
	uint32		id;
	bool		reseed;

	org_require_shmem();
	memset(&def, 0, sizeof(def));

	if (PG_ARGISNULL(0) || (s = text_arg(fcinfo, 0))[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a throttle rule needs a name")));
	refuse_control_chars(s, "rule name");
	copy_arg(def.name, s, "rule name");

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_connections must be zero or positive"),
				 errhint("0 refuses every new matching connection.")));
	def.max_connections = PG_GETARG_INT32(1);

	ttl_us = PG_ARGISNULL(2) ? 0 : interval_usecs(PG_GETARG_INTERVAL_P(2));
	if (ttl_us <= 0 || ttl_us > (int64) org_throttle_max_ttl_s * USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl must be positive and at most odoo_retail_guard.throttle_max_ttl (%d s)",
						org_throttle_max_ttl_s),
				 errhint("A rule always expires, so a stopped agent cannot leave the database throttled.")));
	def.created = now;
	def.expires = now + ttl_us;

	s = text_arg(fcinfo, 3);
	if (s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a throttle rule needs a reason"),
				 errhint("Refused clients see the reason in the error message.")));
	refuse_control_chars(s, "reason");
	strlcpy(def.reason, s, pg_mbcliplen(s, strlen(s), ORG_THROTTLE_REASON_LEN - 1) + 1);

	s = text_arg(fcinfo, 4);
	refuse_control_chars(s, "application_name pattern");
	if (!org_glob_valid(s))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("application_name pattern \"%s\" ends with a lone backslash", s)));
	copy_arg(def.appname_pattern, s, "application_name pattern");
	copy_arg(def.role, text_arg(fcinfo, 5), "role");
	copy_arg(def.database, text_arg(fcinfo, 6), "database");

	def.worker_class = ORG_THROTTLE_ANY_CLASS;
	s = text_arg(fcinfo, 7);
	if (s[0] != '\0')
	{
		OrgWorkerClass wc;

		if (!org_worker_class_from_name(s, &wc))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown Odoo worker class \"%s\"", s),
					 errhint("Use http, cron, queue_job, bus or other.")));
		def.worker_class = wc;
	}

	rule_match(&def, &m);
	if (org_throttle_match_too_broad(&m))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a throttle rule must name a role, a database or a worker_class"),
				 errhint("A rule on application_name alone matches every role, since every client picks its own application_name.")));

	if (!PG_ARGISNULL(8))
	{
		int64		drain_us = interval_usecs(PG_GETARG_INTERVAL_P(8));

		if (drain_us < USECS_PER_SEC || drain_us > (int64) INT_MAX * USECS_PER_SEC)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("drain_idle_in_transaction must be at least one second")));
		def.drain_idle_s = (int32) (drain_us / USECS_PER_SEC);
	}

	strlcpy(def.set_by, GetUserNameFromId(GetUserId(), false), sizeof(def.set_by));
	strlcpy(def.set_by_session, GetUserNameFromId(GetSessionUserId(), false),
			sizeof(def.set_by_session));

	LWLockAcquire(tshared->lock, LW_EXCLUSIVE);
	free_expired(now);
	for (i = 0; i < ORG_THROTTLE_MAX_RULES; i++)
	{
		if (tshared->rules[i].id != 0 &&
			strcmp(tshared->rules[i].def.name, def.name) == 0)
		{
			slot = i;
			break;
		}
	}
	reseed = true;
	if (slot >= 0 && same_match(&tshared->rules[slot].def, &def))
	{
		/* same sessions matched: keep the id and the count */
		def.created = tshared->rules[slot].def.created;
		reseed = false;
	}
	else if (slot < 0)
	{
		for (i = 0; i < ORG_THROTTLE_MAX_RULES; i++)
		{
			if (tshared->rules[i].id == 0)
			{
				slot = i;
				break;
			}
		}
	}
	if (slot < 0)
	{
		LWLockRelease(tshared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many throttle rules (at most %d)", ORG_THROTTLE_MAX_RULES),
				 errhint("Release a rule with odoo_retail_guard.release(name).")));
	}

	{
		RuleSlot   *r = &tshared->rules[slot];

		r->def = def;
		if (reseed)
		{
			int32		current = 0;

			/* never 0, never an id a backend may still hold */
			id = ++tshared->last_rule_id;
			if (id == 0)
				id = ++tshared->last_rule_id;
			r->id = id;
			/* count the sessions already open that match the new rule */
			for (i = 0; i < tshared->nbackends; i++)
			{
				AdmittedBackend *b = &tshared->backends[i];

				if (b->pid != 0 && rule_matches_backend(&def, b))
				{
					add_place(b, slot, id);
					current++;
				}
			}
			SpinLockAcquire(&r->mutex);
			r->current = current;
			r->refused = 0;
			r->drained = 0;
			SpinLockRelease(&r->mutex);
		}
		else
			id = r->id;
	}
	LWLockRelease(tshared->lock);

	if (def.drain_idle_s > 0)
		drain_sessions();

	PG_RETURN_INT32((int32) id);
}

/* release(name): true when a rule of that name was active */
Datum
org_release(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz now = GetCurrentTimestamp();
	bool		found = false;
	int			i;

	org_require_shmem();
	LWLockAcquire(tshared->lock, LW_EXCLUSIVE);
	for (i = 0; i < ORG_THROTTLE_MAX_RULES; i++)
	{
		RuleSlot   *r = &tshared->rules[i];

		if (r->id != 0 && strcmp(r->def.name, name) == 0)
		{
			found = rule_active(r, now);
			r->id = 0;
		}
	}
	free_expired(now);
	LWLockRelease(tshared->lock);
	PG_RETURN_BOOL(found);
}

typedef struct DrainCandidate
{
	int32		pid;
	int			slot;
	uint32		rule_id;
	int32		idle_s;
	AdmittedBackend who;
} DrainCandidate;

/*
 * pg_signal_backend()'s checks (signalfuncs.c, static there): only
 * superusers may signal superusers' backends; others need the privileges of
 * the backend's role or of pg_signal_backend.
 */
static bool
may_terminate(int pid)
{
	PGPROC	   *proc = BackendPidGetProc(pid);
	Oid			roleid;

	if (proc == NULL)
		return false;
	roleid = proc->roleId;
	if (!OidIsValid(roleid))
		return superuser();
	if (superuser_arg(roleid) && !superuser())
		return false;
	return has_privs_of_role(GetUserId(), roleid) ||
		has_privs_of_role(GetUserId(), ROLE_PG_SIGNAL_BACKEND);
}

/*
 * Terminate sessions admitted under a rule with a drain that sit idle in
 * transaction longer than the rule allows (a cancel does nothing to an idle
 * session), through pg_terminate_backend() so that its permission checks
 * apply.  Sessions the caller may not terminate are skipped with a warning,
 * and so is the cron cursor of a running Odoo job (cron_jobs.h): ending it
 * frees the job's ir_cron row while the job goes on.  Returns how many were
 * signalled.
 */
static int
drain_sessions(void)
{
	DrainCandidate *cand;
	int			ncand = 0;
	int			drained = 0;
	int			skipped = 0;
	int			cron_skipped = 0;
	TimestampTz now = GetCurrentTimestamp();
	int			nbe;
	int			i;
	int			j;

	cand = palloc(sizeof(DrainCandidate) * tshared->nbackends);

	LWLockAcquire(tshared->lock, LW_SHARED);
	for (i = 0; i < tshared->nbackends; i++)
	{
		AdmittedBackend *b = &tshared->backends[i];

		if (b->pid == 0)
			continue;
		for (j = 0; j < b->nheld; j++)
		{
			RuleSlot   *r = &tshared->rules[b->held[j].slot];

			if (r->id == b->held[j].id && rule_active(r, now) &&
				r->def.drain_idle_s > 0)
			{
				cand[ncand].pid = b->pid;
				cand[ncand].slot = b->held[j].slot;
				cand[ncand].rule_id = r->id;
				cand[ncand].idle_s = r->def.drain_idle_s;
				cand[ncand].who = *b;
				ncand++;
				break;
			}
		}
	}
	LWLockRelease(tshared->lock);

	if (ncand == 0)
		return 0;

	/* fresh states, not this transaction's cached view */
	pgstat_clear_backend_activity_snapshot();
	nbe = pgstat_fetch_stat_numbackends();
	for (i = 1; i <= nbe; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (be->st_state != STATE_IDLEINTRANSACTION &&
			be->st_state != STATE_IDLEINTRANSACTION_ABORTED)
			continue;
		for (j = 0; j < ncand; j++)
		{
			if (cand[j].pid != be->st_procpid)
				continue;
			if (now - be->st_state_start_timestamp <
				(int64) cand[j].idle_s * USECS_PER_SEC)
				break;
			/* its job goes on: terminating it would free the job's lock */
			if (org_cron_cursor_of_running_job(cand[j].pid))
			{
				cron_skipped++;
				break;
			}
			if (!may_terminate(cand[j].pid))
			{
				skipped++;
				break;
			}
			if (DatumGetBool(DirectFunctionCall2(pg_terminate_backend,
												 Int32GetDatum(cand[j].pid),
												 Int64GetDatum(0))))
			{
				RuleSlot   *r = &tshared->rules[cand[j].slot];

				LWLockAcquire(tshared->lock, LW_SHARED);
				if (r->id == cand[j].rule_id)
				{
					SpinLockAcquire(&r->mutex);
					r->drained++;
					SpinLockRelease(&r->mutex);
					push_event(ORG_THROTTLE_DRAINED, r, cand[j].rule_id, &cand[j].who);
				}
				LWLockRelease(tshared->lock);
				drained++;
			}
			break;
		}
	}
	pgstat_clear_backend_activity_snapshot();
	pfree(cand);
	if (skipped > 0)
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("drain skipped %d session(s) the current role may not terminate", skipped),
				 errdetail("Only superusers may terminate superusers' sessions; other roles' sessions need the privileges of that role or of pg_signal_backend."),
				 errhint("GRANT pg_signal_backend to the role that calls throttle() and drain().")));
	if (cron_skipped > 0)
		ereport(WARNING,
				(errmsg("drain skipped %d cron cursor(s) of running Odoo jobs", cron_skipped),
				 errdetail("Terminating a cron cursor releases its job's ir_cron row lock while the job goes on, so another worker may start the same job."),
				 errhint("To stop a job, terminate its job connection (job_pids in odoo_retail_guard.odoo_jobs); Odoo then ends the cron cursor itself.")));
	return drained;
}

Datum
org_drain(PG_FUNCTION_ARGS)
{
	org_require_shmem();
	PG_RETURN_INT32(drain_sessions());
}

/* ---- readers: shared by the SQL views and the snapshot ---- */

OrgThrottleRule *
org_throttle_rules_collect(int *count)
{
	OrgThrottleRule *out;
	TimestampTz now = GetCurrentTimestamp();
	int			n = 0;
	int			i;

	org_require_shmem();
	out = palloc0(sizeof(OrgThrottleRule) * ORG_THROTTLE_MAX_RULES);

	LWLockAcquire(tshared->lock, LW_SHARED);
	for (i = 0; i < ORG_THROTTLE_MAX_RULES; i++)
	{
		RuleSlot   *r = &tshared->rules[i];
		OrgThrottleRule *o;

		if (!rule_active(r, now))
			continue;
		o = &out[n++];
		o->id = r->id;
		memcpy(o->name, r->def.name, sizeof(o->name));
		memcpy(o->appname_pattern, r->def.appname_pattern, sizeof(o->appname_pattern));
		memcpy(o->role, r->def.role, sizeof(o->role));
		memcpy(o->database, r->def.database, sizeof(o->database));
		o->worker_class = r->def.worker_class;
		o->max_connections = r->def.max_connections;
		o->drain_idle_s = r->def.drain_idle_s;
		o->created = r->def.created;
		o->expires = r->def.expires;
		memcpy(o->reason, r->def.reason, sizeof(o->reason));
		memcpy(o->set_by, r->def.set_by, sizeof(o->set_by));
		SpinLockAcquire(&r->mutex);
		o->current = r->current;
		o->refused = r->refused;
		o->drained = r->drained;
		SpinLockRelease(&r->mutex);
	}
	LWLockRelease(tshared->lock);

	*count = n;
	return out;
}

OrgThrottleEvent *
org_throttle_events_since(uint64 cursor, uint64 horizon, int *count, bool *gap)
{
	OrgThrottleEvent *out;
	char	   *payloads;
	uint64	   *ids;
	int			n;
	int			i;

	org_require_shmem();
	payloads = org_ring_read(event_ring, cursor, horizon, &ids, &n, gap);
	out = palloc0(sizeof(OrgThrottleEvent) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		out[i] = *(ThrottlePayload *) (payloads + i * event_ring->payload_size);
		out[i].id = ids[i];
	}
	pfree(payloads);
	pfree(ids);
	*count = n;
	return out;
}

void
org_throttle_info(OrgThrottleInfo *info)
{
	int			n;

	pfree(org_throttle_rules_collect(&n));
	info->rule_capacity = ORG_THROTTLE_MAX_RULES;
	info->rules_active = n;
	info->event_capacity = event_ring->capacity;
	info->events_written = org_ring_writes(event_ring);
}

const char *
org_throttle_event_kind_name(int kind)
{
	return kind == ORG_THROTTLE_DRAINED ? "drained" : "refused";
}

/* ---- set-returning functions behind the views ---- */

Datum
org_throttle_rules(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgThrottleRule *r;
	int			n;
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	r = org_throttle_rules_collect(&n);
	for (i = 0; i < n; i++)
	{
		Datum		values[15];
		bool		nulls[15];
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		values[c++] = Int32GetDatum((int32) r[i].id);
		values[c++] = CStringGetTextDatum(r[i].name);
		values[c] = org_text_or_null(r[i].appname_pattern, &nulls[c]);
		c++;
		values[c] = org_text_or_null(r[i].role, &nulls[c]);
		c++;
		values[c] = org_text_or_null(r[i].database, &nulls[c]);
		c++;
		values[c] = org_text_or_null(r[i].worker_class == ORG_THROTTLE_ANY_CLASS ? NULL
								 : org_worker_class_name(r[i].worker_class), &nulls[c]);
		c++;
		values[c++] = Int32GetDatum(r[i].max_connections);
		values[c++] = Int32GetDatum(r[i].current);
		values[c++] = Int64GetDatum((int64) r[i].refused);
		values[c++] = Int32GetDatum(r[i].drain_idle_s);
		values[c++] = Int64GetDatum((int64) r[i].drained);
		values[c++] = CStringGetTextDatum(r[i].reason);
		values[c++] = CStringGetTextDatum(r[i].set_by);
		values[c++] = TimestampTzGetDatum(r[i].created);
		values[c++] = TimestampTzGetDatum(r[i].expires);
		Assert(c == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_throttle_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		cursor = PG_GETARG_INT64(0);
	OrgThrottleEvent *e;
	bool		gap;
	int			n;
	int			i;

	(void) org_cursor_arg(cursor);

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	e = org_throttle_events_since((uint64) cursor, org_ring_horizon(), &n, &gap);
	for (i = 0; i < n; i++)
	{
		Datum		values[11];
		bool		nulls[11];
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		values[c++] = Int64GetDatum((int64) e[i].id);
		values[c++] = TimestampTzGetDatum(e[i].ts);
		values[c++] = CStringGetTextDatum(org_throttle_event_kind_name(e[i].kind));
		values[c++] = Int32GetDatum((int32) e[i].rule_id);
		values[c++] = CStringGetTextDatum(e[i].rule_name);
		values[c++] = Int32GetDatum(e[i].pid);
		values[c] = org_text_or_null(e[i].database, &nulls[c]);
		c++;
		values[c] = org_text_or_null(e[i].role, &nulls[c]);
		c++;
		values[c] = org_text_or_null(e[i].appname, &nulls[c]);
		c++;
		values[c++] = CStringGetTextDatum(org_worker_class_name(e[i].worker_class));
		values[c++] = BoolGetDatum(gap);
		Assert(c == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
