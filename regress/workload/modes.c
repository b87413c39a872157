/*
 * regress/workload/modes.c: the one-shot modes of orguard-workload: a
 * mistaken ORM mass unlink or mass write, one cron job, the nightly
 * housekeeping.
 */
#include "cron.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct mass_ctx
{
	const odoo_model *m;
	long		limit;
	bool		write;
	long		rows;
	long		batches;
	idlist		ids;
} mass_ctx;

/*
 * A server action or shell session that meant a narrow domain and ran
 * env['MODEL'].search([], limit=N).unlink() (or .write({'state':
 * 'cancel'})): one request, one transaction, the ORM's 1000-id batches.
 */
static bool
mass_request(odoo_cursor *cur, void *arg)
{
	mass_ctx   *c = arg;

	c->ids.n = 0;
	/* odoo/modules/registry.py 17.0 check_signaling */
	if (!cursor_run(cur, "SELECT base_registry_signaling.last_value, base_cache_signaling.last_value FROM base_registry_signaling, base_cache_signaling"))
		return false;
	if (orm_search_ids(cur, c->m, NULL, c->limit, &c->ids) < 0)
		return false;
	c->batches = (long) ((c->ids.n + ODOO_IN_MAX - 1) / ODOO_IN_MAX);
	c->rows = c->write ? orm_write_state(cur, c->m, &c->ids, "state", "cancel") : orm_unlink(cur, c->m, &c->ids);
	return c->rows >= 0;
}

static int
run_mass(const workload_opts *o, const char *model, long n, bool write)
{
	odoo_model	m;
	char		err[160];
	odoo_cursor cur;
	mass_ctx	c = {0};
	rng			r;
	double		committed;
	bool		ok;

	if (!odoo_model_lookup(model, &m, err, sizeof(err)))
	{
		fprintf(stderr, "orguard-workload: %s\n", err);
		return 2;
	}
	rng_seed(&r, o->seed, 7);
	if (!cursor_open(&cur, o->conninfo, NULL, "mass"))
	{
		cursor_close(&cur);
		return 1;
	}
	c.m = &m;
	c.limit = n;
	c.write = write;
	ok = odoo_retrying(&cur, &r, 0.1, mass_request, &c, NULL);
	committed = now_epoch();
	if (!ok)
		fprintf(stderr, "orguard-workload: mass-%s %s: %s (SQLSTATE %s); nothing was changed\n",
				write ? "write" : "unlink", model, cur.error, cur.sqlstate);
	else
		printf("mass-%s model=%s table=%s rows=%ld batches=%ld application_name=odoo-%d committed_at=%.3f\n",
			   write ? "write" : "unlink", m.name, m.table, c.rows, c.batches, (int) getpid(), committed);
	fflush(stdout);
	ids_free(&c.ids);
	cursor_close(&cur);
	return ok ? 0 : 1;
}

int
run_mass_unlink(const workload_opts *o, const char *model, long n)
{
	return run_mass(o, model, n, false);
}

int
run_mass_write(const workload_opts *o, const char *model, long n)
{
	return run_mass(o, model, n, true);
}

int
run_cron_job(const workload_opts *o, const char *name, double seconds)
{
	cron_worker w;
	rng			r;
	long		id;
	int			rc = 1;
	double		t0 = now_mono();

	rng_seed(&r, o->seed, 9);
	if (!cron_worker_open(&w, o, &r))
		goto out;
	id = cron_find(&w, name);
	if (id < 0)
	{
		fprintf(stderr, "orguard-workload: no ir_cron job is named \"%s\"\n", name);
		rc = 2;
		goto out;
	}
	w.job_seconds = seconds;
	w.only_triggered = true;
	if (!cron_trigger(&w, id) || !cron_process_jobs(&w))
		goto out;
	if (w.jobs_run == 0)
	{
		fprintf(stderr, "orguard-workload: cron job \"%s\" is being run by another worker\n", name);
		goto out;
	}
	printf("cron-job name=\"%s\" id=%ld batches=%ld rows_deleted=%ld seconds=%.1f application_name=odoo-%d\n",
		   name, id, w.batches, w.rows_deleted, now_mono() - t0, (int) getpid());
	fflush(stdout);
	rc = 0;
out:
	cron_worker_close(&w);
	return rc;
}

int
run_housekeeping(const workload_opts *o)
{
	/* ir.autovacuum's job: odoo/addons/base/data/ir_cron_data.xml 17.0 autovacuum_job */
	return run_cron_job(o, "Base: Auto-vacuum internal data", 0);
}
