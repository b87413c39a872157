/*
 * cron_jobs.c: the ir_cron catalog and the running jobs of a snapshot (see
 * cron_jobs.h).  Pure: no I/O.
 */
#include "collect/cron_jobs.h"
#include "common/utf8.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
cron_catalog_free(cron_catalog *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	free(c->database);
	memset(c, 0, sizeof(*c));
}

void
cron_catalog_reset(cron_catalog *c, const char *database)
{
	cron_catalog_free(c);
	c->database = xstrdup(database ? database : "");
}

bool
cron_catalog_add(cron_catalog *c, int64_t id, const char *name, bool housekeeping)
{
	cron_job_info *j;

	if (!c->database || c->n >= CRON_CATALOG_MAX_JOBS || (c->n > 0 && id <= c->v[c->n - 1].id))
		return false;
	c->v = xrealloc(c->v, sizeof(cron_job_info) * (size_t) (c->n + 1));
	j = &c->v[c->n++];
	j->id = id;
	/* the database owner writes these names: any bytes, any length */
	j->name = utf8_clean(name, CRON_NAME_MAX_BYTES);
	j->housekeeping = housekeeping;
	return true;
}

const cron_job_info *
cron_catalog_find(const cron_catalog *c, const char *database, int64_t id)
{
	int			lo = 0,
				hi;

	if (!c || !c->database || id <= 0 || !database || strcmp(c->database, database))
		return NULL;
	hi = c->n - 1;
	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (c->v[mid].id == id)
			return &c->v[mid];
		if (c->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

bool
cron_catalog_misses(const cron_catalog *c, const OdooRetailGuard__Snapshot *s)
{
	for (size_t i = 0; c && s && i < s->n_cron_jobs; i++)
	{
		const OdooRetailGuard__CronJob *j = s->cron_jobs[i];

		if (j->job_id > 0 && c->database && !strcmp(c->database, j->database ? j->database : "") &&
			!cron_catalog_find(c, j->database, j->job_id))
			return true;
	}
	return false;
}

const OdooRetailGuard__CronJob *
cron_job_by_pid(const OdooRetailGuard__Snapshot *s, int32_t pid, bool *cron_cursor)
{
	*cron_cursor = false;
	if (!s || pid <= 0)
		return NULL;
	/* pids are unique in the cluster at one moment, whatever the database */
	for (size_t i = 0; i < s->n_cron_jobs; i++)
	{
		const OdooRetailGuard__CronJob *j = s->cron_jobs[i];

		if (j->cron_pid == pid)
		{
			*cron_cursor = true;
			return j;
		}
		for (size_t k = 0; k < j->n_job_pids; k++)
			if (j->job_pids[k] == pid)
				return j;
	}
	return NULL;
}

bool
cron_running_job_session(const OdooRetailGuard__Snapshot *s, int32_t pid)
{
	bool		cursor;
	const OdooRetailGuard__CronJob *j = cron_job_by_pid(s, pid, &cursor);

	/* a job connection is listed only while its cron cursor holds the job */
	return j && (!cursor || j->n_job_pids > 0);
}

char *
cron_job_describe(const cron_catalog *c, const OdooRetailGuard__CronJob *j)
{
	const cron_job_info *info = cron_catalog_find(c, j->database, j->job_id);
	strbuf		sb;

	sb_init(&sb);
	sb_printf(&sb, "Odoo job");
	if (j->job_id > 0)
		sb_printf(&sb, " %lld", (long long) j->job_id);
	if (info && *info->name)
		sb_printf(&sb, " \"%s\"", info->name);
	sb_printf(&sb, " (cron cursor pid %d", j->cron_pid);
	if (j->n_job_pids == 0)
		sb_printf(&sb, ", no job connection");
	for (size_t k = 0; k < j->n_job_pids; k++)
		sb_printf(&sb, k == 0 ? ", job pid %d" : ", %d", j->job_pids[k]);
	sb_printf(&sb, ")");
	return sb_steal(&sb);
}

char *
cron_job_subject(const OdooRetailGuard__CronJob *j)
{
	const char *db = j->database && *j->database ? j->database : "unknown";

	if (j->job_id > 0)
		return xasprintf("%s/job:%lld", db, (long long) j->job_id);
	return xasprintf("%s/pid:%d", db, j->cron_pid);
}

static const char *const origin_names[ORIGIN_COUNT] = {"adhoc", "cron", "housekeeping"};

const char *
destructive_origin_name(destructive_origin o)
{
	return origin_names[o];
}

destructive_origin
cron_event_origin(const cron_catalog *c, const OdooRetailGuard__DestructiveEvent *d)
{
	const char *o = d->origin ? d->origin : "";
	const cron_job_info *job;

	if (!strcmp(o, "housekeeping"))
		return ORIGIN_HOUSEKEEPING;
	if (strcmp(o, "cron"))
		return ORIGIN_ADHOC;
	job = cron_catalog_find(c, d->database, d->cron_job_id);
	return job && job->housekeeping ? ORIGIN_HOUSEKEEPING : ORIGIN_CRON;
}
