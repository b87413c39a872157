/*-------------------------------------------------------------------------
 *
 * cron_jobs.c
 *		Odoo scheduled jobs running now: the odoo_jobs view, the snapshot's
 *		cron_jobs, whether a backend is the cron cursor of a running job
 *		(the throttle's drain spares it) and the origin of a destructive
 *		statement.
 *
 * Everything is read live from the backend status entries, the same copy
 * pg_stat_activity shows (one per transaction, see backend_status.c), and
 * matched by the pure recogniser in odoo_cron.c.  Nothing is kept in shared
 * memory and no hook is installed.  Whether the cron cursor holds the
 * vacuum horizon and who waits on the job come from the vacuum and lock
 * trackers' read accessors.
 *
 * Odoo runs every process's connections under one application_name
 * (odoo-<pid>).  In prefork mode (--workers N) a cron worker is its own
 * process, so its connections are exactly the job's.  In threaded mode
 * (--workers 0) every thread of the server shares the name: any other
 * connection of that server counts as a job connection.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "cron_jobs.h"
#include "locks.h"
#include "normalize.h"
#include "odoo_classify.h"
#include "odoo_retail_guard.h"
#include "sql_values.h"
#include "vacuum.h"

PG_FUNCTION_INFO_V1(org_odoo_jobs);

/* the client backends of this transaction's status copy, and their jobs */
typedef struct BackendSet
{
	int			n;
	OrgCronBackend *be;
	LocalPgBackendStatus **local;
	int			nmatch;
	OrgCronJobMatch *match;
} BackendSet;

static OrgCronBackendState
cron_state(BackendState s)
{
	switch (s)
	{
		case STATE_RUNNING:
		case STATE_FASTPATH:
			return ORG_CRON_BE_ACTIVE;
		case STATE_IDLE:
			return ORG_CRON_BE_IDLE;
		case STATE_IDLEINTRANSACTION:
			return ORG_CRON_BE_IDLE_IN_XACT;
		case STATE_IDLEINTRANSACTION_ABORTED:
			return ORG_CRON_BE_IDLE_IN_XACT_ABORTED;
		default:
			return ORG_CRON_BE_OTHER;
	}
}

static void
load_backend_set(BackendSet *set)
{
	int			nbe = pgstat_fetch_stat_numbackends();
	int			i;

	set->n = 0;
	set->be = palloc(sizeof(OrgCronBackend) * Max(nbe, 1));
	set->local = palloc(sizeof(LocalPgBackendStatus *) * Max(nbe, 1));
	for (i = 1; i <= nbe; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *st;
		OrgCronBackend *b;

		if (local == NULL)
			continue;
		st = &local->backendStatus;
		if (st->st_backendType != B_BACKEND || st->st_procpid <= 0)
			continue;
		b = &set->be[set->n];
		set->local[set->n] = local;
		set->n++;
		b->pid = st->st_procpid;
		b->dbid = st->st_databaseid;
		b->appname = st->st_appname;
		b->state = cron_state(st->st_state);
		b->stmt = org_cron_classify_statement(st->st_activity_raw, &b->stmt_job_id);
	}
	set->match = palloc(sizeof(OrgCronJobMatch) * Max(set->n, 1));
	set->nmatch = org_cron_match_jobs(set->be, set->n, set->match, set->n);
}

static void
free_backend_set(BackendSet *set)
{
	pfree(set->be);
	pfree(set->local);
	pfree(set->match);
}

/* the older of a backend's xid and xmin; Invalid when it holds neither */
static TransactionId
backend_horizon(LocalPgBackendStatus *local)
{
	TransactionId xid = local->backend_xid;
	TransactionId xmin = local->backend_xmin;

	if (!TransactionIdIsNormal(xid))
		return xmin;
	if (!TransactionIdIsNormal(xmin) || TransactionIdPrecedes(xid, xmin))
		return xid;
	return xmin;
}

static bool
pid_in(int32 pid, const int32 *pids, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (pids[i] == pid)
			return true;
	}
	return false;
}

/* waiters whose chain of blockers passes through the job's backends */
static uint32
count_blocked(const OrgCronJob *job, const OrgBlockingChain *chains, int nchains)
{
	uint32		n = 0;
	int			i;
	int			k;

	for (i = 0; i < nchains; i++)
	{
		for (k = 0; k < chains[i].chain_len; k++)
		{
			int32		p = chains[i].chain[k];

			if (p == job->cron_pid || pid_in(p, job->job_pids, job->n_job_pids))
			{
				n++;
				break;
			}
		}
	}
	return n;
}

static void
fill_job_connection(OrgCronJob *job, LocalPgBackendStatus *local, bool with_text)
{
	PgBackendStatus *st = &local->backendStatus;
	const char *raw = st->st_activity_raw;
	char		table[NAMEDATALEN];

	strlcpy(job->job_state, org_backend_state_name(st->st_state),
			sizeof(job->job_state));
	if (raw == NULL || raw[0] == '\0')
		return;
	if (org_sql_main_table(raw, table, sizeof(table)))
		org_model_from_table(table, job->job_model, sizeof(job->job_model));
	if (with_text)
	{
		char	   *clipped = pgstat_clip_activity(raw);

		job->job_query = palloc(org_query_text_length + 1);
		org_normalize_query(clipped, -1, job->job_query, org_query_text_length + 1);
		pfree(clipped);
	}
}

OrgCronJob *
org_cron_jobs_collect(int *count, bool with_text)
{
	BackendSet	set;
	OrgCronJob *out;
	OrgBlockingChain *chains = NULL;
	int			nchains = 0;
	int32		horizon_pid = 0;
	TransactionId next_xid;
	TimestampTz now = GetCurrentTimestamp();
	int			i;
	int			k;

	load_backend_set(&set);
	out = palloc0(sizeof(OrgCronJob) * Max(set.nmatch, 1));
	*count = set.nmatch;
	if (set.nmatch == 0)
	{
		free_backend_set(&set);
		return out;
	}

	/* the trackers' own readers: no lock of ours is held here */
	{
		OrgVacuumHorizon *hz;
		int			nh;

		hz = org_vacuum_horizon_collect(&nh, false);
		if (nh > 0 && strcmp(hz[0].holder_kind, "backend") == 0)
			horizon_pid = hz[0].pid;
	}
	if (org_shmem_ready())
		chains = org_blocking_chains_collect(&nchains, false);
	next_xid = XidFromFullTransactionId(ReadNextFullTransactionId());

	for (i = 0; i < set.nmatch; i++)
	{
		OrgCronJobMatch *m = &set.match[i];
		LocalPgBackendStatus *cl = set.local[m->cron];
		PgBackendStatus *cst = &cl->backendStatus;
		OrgCronJob *job = &out[i];
		TransactionId hold = backend_horizon(cl);

		job->cron_pid = cst->st_procpid;
		job->dbid = cst->st_databaseid;
		strlcpy(job->appname, cst->st_appname, NAMEDATALEN);
		job->job_id = m->job_id;
		job->started = cst->st_xact_start_timestamp;
		job->running_s = job->started != 0 ?
			Max(0, (now - job->started) / 1000000.0) : 0;
		job->n_job_pids = m->n_jobs;
		job->n_job_connections = m->n_jobs_total;
		for (k = 0; k < m->n_jobs; k++)
			job->job_pids[k] = set.be[m->jobs[k]].pid;
		if (m->n_jobs > 0)
			fill_job_connection(job, set.local[m->jobs[0]], with_text);
		job->holds_horizon = (horizon_pid != 0 && horizon_pid == job->cron_pid);
		job->xmin_age = TransactionIdIsNormal(hold) ?
			(int64) (int32) (next_xid - hold) : 0;
		job->blocked_sessions = count_blocked(job, chains, nchains);
	}
	free_backend_set(&set);
	return out;
}

bool
org_cron_cursor_of_running_job(int pid)
{
	BackendSet	set;
	bool		found = false;
	int			i;

	load_backend_set(&set);
	for (i = 0; i < set.nmatch; i++)
	{
		if (set.be[set.match[i].cron].pid == pid && set.match[i].n_jobs_total > 0)
		{
			found = true;
			break;
		}
	}
	free_backend_set(&set);
	return found;
}

OrgEventOrigin
org_cron_event_origin(const char *normalized_text, const char *relation,
					  int64 *job_id, int32 *cron_pid)
{
	bool		housekeeping = org_housekeeping_shape(normalized_text, relation) >= 0;

	*job_id = 0;
	*cron_pid = 0;
	/* a job connection shares its application_name with its cron cursor */
	if (application_name != NULL && application_name[0] != '\0')
	{
		BackendSet	set;
		int			self = -1;
		int			i;

		/* fresh entries: the transaction may have read older ones */
		pgstat_clear_backend_activity_snapshot();
		load_backend_set(&set);
		for (i = 0; i < set.n; i++)
		{
			if (set.be[i].pid == MyProcPid)
			{
				self = i;
				break;
			}
		}
		if (self >= 0)
		{
			int			m = org_cron_job_of(set.be, set.match, set.nmatch, self);

			if (m >= 0)
			{
				*job_id = set.match[m].job_id;
				*cron_pid = set.be[set.match[m].cron].pid;
			}
		}
		free_backend_set(&set);
		pgstat_clear_backend_activity_snapshot();
	}
	if (housekeeping)
		return ORG_ORIGIN_HOUSEKEEPING;
	return *cron_pid != 0 ? ORG_ORIGIN_CRON : ORG_ORIGIN_ADHOC;
}

const char *
org_event_origin_name(int origin)
{
	switch (origin)
	{
		case ORG_ORIGIN_CRON:
			return "cron";
		case ORG_ORIGIN_HOUSEKEEPING:
			return "housekeeping";
		default:
			return "adhoc";
	}
}

/* ---- the view ---- */

static Datum
pid_array_datum(const int32 *pids, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Int32GetDatum(pids[i]);
	return PointerGetDatum(construct_array(d, n, INT4OID, sizeof(int32), true,
										   TYPALIGN_INT));
}

Datum
org_odoo_jobs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgCronJob *jobs;
	int			n;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	jobs = org_cron_jobs_collect(&n, org_may_read_text());
	for (i = 0; i < n; i++)
	{
		OrgCronJob *j = &jobs[i];
		Datum		values[15];
		bool		nulls[15];
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		values[c++] = Int32GetDatum(j->cron_pid);
		values[c++] = pid_array_datum(j->job_pids, j->n_job_pids);
		values[c++] = Int32GetDatum(j->n_job_connections);
		values[c++] = ObjectIdGetDatum(j->dbid);
		values[c] = org_text_or_null(j->appname, &nulls[c]);
		c++;
		values[c] = Int64GetDatum(j->job_id);
		nulls[c] = (j->job_id == 0);
		c++;
		values[c] = TimestampTzGetDatum(j->started);
		nulls[c] = (j->started == 0);
		c++;
		values[c++] = Float8GetDatum(j->running_s);
		values[c] = org_text_or_null(j->job_state, &nulls[c]);
		c++;
		values[c] = org_text_or_null(j->job_query, &nulls[c]);
		c++;
		values[c] = org_text_or_null(j->job_model, &nulls[c]);
		c++;
		values[c++] = BoolGetDatum(j->holds_horizon);
		values[c] = Int64GetDatum(j->xmin_age);
		nulls[c] = (j->xmin_age == 0);
		c++;
		values[c++] = Int64GetDatum((int64) j->blocked_sessions);
		values[c++] = CStringGetTextDatum("ir_cron");
		Assert(c == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
