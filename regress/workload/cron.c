/*
 * regress/workload/cron.c: Odoo 17.0's cron protocol with its two
 * connections (odoo/addons/base/models/ir_cron.py 17.0 _process_jobs,
 * _acquire_one_job, _process_job, _callback; odoo/service/server.py 17.0
 * cron_thread), and the work of the jobs the fixture schedules: the stock
 * scheduler's batches and the nightly ir.autovacuum housekeeping.
 *
 * cron_cr opens a REPEATABLE READ transaction, acquires the job's ir_cron
 * row FOR NO KEY UPDATE SKIP LOCKED and stays idle in transaction while
 * job_cr, a second connection of the same process (same application_name
 * odoo-<pid>), does the job's work and commits per batch.  cron_cr then
 * reschedules the job and commits.
 */
#include "cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

bool
cron_worker_open(cron_worker *w, const workload_opts *o, rng *r)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
	w->r = r;
	w->hour_seconds = 3600;
	if (!cursor_open(&w->listen_cr, o->conninfo, "postgres", "cron listener") ||
		!cursor_open(&w->cron_cr, o->conninfo, NULL, "cron_cr") ||
		!cursor_open(&w->job_cr, o->conninfo, NULL, "job_cr"))
		return false;

	/*
	 * odoo/service/server.py 17.0 ThreadedServer.cron_thread /
	 * WorkerCron: a cursor on db_connect('postgres'), "LISTEN cron_trigger",
	 * commit, then the connection waits for notifications
	 */
	return cursor_begin(&w->listen_cr) &&
		cursor_run(&w->listen_cr, "SELECT pg_is_in_recovery()") &&
		cursor_run(&w->listen_cr, "LISTEN cron_trigger") &&
		cursor_commit(&w->listen_cr);
}

void
cron_worker_close(cron_worker *w)
{
	cursor_close(&w->job_cr);
	cursor_close(&w->cron_cr);
	cursor_close(&w->listen_cr);
}

long
cron_find(cron_worker *w, const char *name)
{
	PGresult   *res;
	char	   *lit = PQescapeLiteral(w->job_cr.conn, name, strlen(name));
	long		id = -1;

	if (lit == NULL)
		return -1;
	/* the tool's own lookup, not an Odoo statement */
	res = cursor_exec(&w->job_cr, "SELECT id FROM ir_cron WHERE cron_name->>'en_US' = %s ORDER BY id LIMIT 1", lit);
	PQfreemem(lit);
	if (res && PQntuples(res) == 1)
		id = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

bool
cron_trigger(cron_worker *w, long cron_id)
{
	odoo_cursor *cr = &w->job_cr;

	/*
	 * odoo/addons/base/models/ir_cron.py 17.0 _trigger_list:
	 * self.env['ir.cron.trigger'].sudo().create([...]) (odoo/models.py 17.0
	 * _create), then the postcommit _notifydb
	 */
	if (!cursor_begin(cr) ||
		!cursor_run(cr, "INSERT INTO \"ir_cron_trigger\" (\"call_at\", \"create_date\", \"create_uid\", \"cron_id\", \"write_date\", \"write_uid\") VALUES ((now() at time zone 'UTC'), (now() at time zone 'UTC'), 1, %ld, (now() at time zone 'UTC'), 1) RETURNING \"id\"", cron_id) ||
		!cursor_commit(cr))
	{
		fprintf(stderr, "orguard-workload: cron trigger: %s\n", cr->error);
		cursor_rollback(cr);
		return false;
	}
	if (w->ntriggered < (int) (sizeof(w->triggered) / sizeof(w->triggered[0])))
		w->triggered[w->ntriggered++] = cron_id;
	/* ir_cron.py 17.0 _notifydb: SELECT "pg_notify"('cron_trigger', dbname) on "postgres" */
	return notify_postgres(w->o->conninfo, "cron_trigger", w->o->dbname);
}

/* ---------------------------------------------------------------- job work */

/*
 * addons/stock/models/stock_rule.py 17.0 ProcurementGroup.run_scheduler ->
 * _run_scheduler_tasks(use_new_cursor=True): the confirmed moves, then
 * _action_assign per chunk and self._cr.commit() after each chunk.  One
 * chunk here: a shop's moves and the reservation of ten of its quants
 * (addons/stock/models/stock_quant.py 17.0 _update_reserved_quantity).
 */
static bool
stock_scheduler_batch(cron_worker *w)
{
	odoo_cursor *cr = &w->job_cr;
	int			loc = 7 + (int) rng_between(w->r, 1, 10);
	long		p = rng_between(w->r, 1, 4990);

	if (!cursor_begin(cr) ||
		!cursor_run(cr, "SELECT \"stock_move\".\"id\" FROM \"stock_move\" WHERE ((\"stock_move\".\"state\" IN ('confirmed', 'partially_available')) AND (\"stock_move\".\"location_id\" IN (%d))) ORDER BY \"stock_move\".\"priority\" DESC, \"stock_move\".\"date\", \"stock_move\".\"id\"", loc))
		goto fail;
	for (long q = p; q < p + 10; q++)
	{
		PGresult   *res = cursor_exec(cr, "SELECT \"stock_quant\".\"id\" FROM \"stock_quant\" WHERE ((\"stock_quant\".\"product_id\" = %ld) AND (\"stock_quant\".\"location_id\" IN (%d))) ORDER BY \"stock_quant\".\"in_date\", \"stock_quant\".\"id\"", q, loc);
		long		quant;

		if (res == NULL)
			goto fail;
		quant = PQntuples(res) > 0 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;
		PQclear(res);
		if (quant < 0)
			continue;
		res = cursor_exec(cr, "SELECT id FROM stock_quant WHERE id IN (%ld) ORDER BY lot_id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED", quant);
		if (res == NULL)
			goto fail;
		if (PQntuples(res) == 1 &&
			!cursor_run(cr, "UPDATE \"stock_quant\" SET \"reserved_quantity\" = 0.0, \"write_date\" = (now() at time zone 'UTC'), \"write_uid\" = 1 WHERE id IN (%ld)", quant))
		{
			PQclear(res);
			goto fail;
		}
		PQclear(res);
	}
	if (!cursor_commit(cr))
		goto fail;
	w->batches++;
	return true;
fail:
	cursor_rollback(cr);
	/* a concurrency error fails this chunk only, as _callback logs and goes on */
	return cursor_concurrency_error(cr);
}

static void
utc_literal(sbuf *sb, long seconds_ago)
{
	time_t		t = time(NULL) - seconds_ago;
	struct tm	tm;
	char		buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "'%Y-%m-%d %H:%M:%S'", &tm);
	sb_printf(sb, "%s", buf);
}

/* unlink ids of model in job_cr's transaction, then commit */
static bool
unlink_and_commit(cron_worker *w, const char *model, idlist *ids)
{
	odoo_model m;
	char		err[128];
	long		rows;

	if (!odoo_model_lookup(model, &m, err, sizeof(err)))
		return false;
	rows = orm_unlink(&w->job_cr, &m, ids);
	if (rows < 0 || !cursor_commit(&w->job_cr))
		return false;
	w->rows_deleted += rows;
	w->batches++;
	return true;
}

/*
 * odoo/addons/base/models/ir_autovacuum.py 17.0 _run_vacuum_cleaner: every
 * @api.autovacuum method of every model, self.env.cr.commit() after each.
 */
static bool
autovacuum_job(cron_worker *w)
{
	odoo_cursor *cr = &w->job_cr;
	odoo_model	bus,
				transient;
	char		err[128];
	idlist		ids = {0};
	sbuf		cutoff;
	PGresult   *res;
	bool		ok = false;

	sb_init(&cutoff);
	odoo_model_lookup("bus.bus", &bus, err, sizeof(err));
	odoo_model_lookup("pos.make.payment", &transient, err, sizeof(err));

	/*
	 * addons/bus/models/bus.py 17.0 _gc_messages: timeout_ago =
	 * fields.Datetime.now() - timedelta(seconds=TIMEOUT*2) (TIMEOUT = 50);
	 * self.sudo().search([('create_date', '<', timeout_ago)]).unlink()
	 */
	utc_literal(&cutoff, 100);
	if (!cursor_begin(cr))
		goto out;
	{
		sbuf		where;

		sb_init(&where);
		sb_printf(&where, "(\"bus_bus\".\"create_date\" < %s)", cutoff.data);
		if (orm_search_ids(cr, &bus, where.data, 0, &ids) < 0)
		{
			sb_free(&where);
			goto out;
		}
		sb_free(&where);
	}
	if (!unlink_and_commit(w, "bus.bus", &ids))
		goto out;
	ids_free(&ids);

	/*
	 * odoo/models.py 17.0 TransientModel _transient_vacuum ->
	 * _transient_clean_rows_older_than(_transient_max_hours * 3600)
	 * (transient_age_limit 1.0): the ids by raw SQL, then an ORM unlink
	 * (point_of_sale/wizard/pos_payment.py 17.0: pos.make.payment)
	 */
	if (!cursor_begin(cr))
		goto out;
	res = cursor_exec(cr, "SELECT id FROM \"pos_make_payment\" WHERE COALESCE(write_date, create_date, (now() AT TIME ZONE 'UTC'))::timestamp < (now() AT TIME ZONE 'UTC') - interval '3600.0 seconds'");
	if (res == NULL)
		goto out;
	for (int i = 0; i < PQntuples(res); i++)
		ids_push(&ids, strtoll(PQgetvalue(res, i, 0), NULL, 10));
	PQclear(res);
	if (!unlink_and_commit(w, "pos.make.payment", &ids))
		goto out;
	ok = true;
out:
	if (!ok)
	{
		fprintf(stderr, "orguard-workload: autovacuum: %s\n", cr->error);
		cursor_rollback(cr);
	}
	ids_free(&ids);
	sb_free(&cutoff);
	return ok;
}

/* ir_cron.py 17.0 _callback: check_signaling, then the server action */
static bool
run_job_work(cron_worker *w, const char *name)
{
	odoo_cursor *cr = &w->job_cr;
	double		end = now_mono() + w->job_seconds;

	if (!cursor_begin(cr) ||
		!cursor_run(cr, "SELECT base_registry_signaling.last_value, base_cache_signaling.last_value FROM base_registry_signaling, base_cache_signaling") ||
		!cursor_commit(cr))
	{
		cursor_rollback(cr);
		return false;
	}
	if (strcmp(name, "Base: Auto-vacuum internal data") == 0)
		return autovacuum_job(w);
	if (strcmp(name, "Procurement: run scheduler") == 0 ||
		strcmp(name, "Stock: update replenishment") == 0 ||
		strcmp(name, "Inventory: merge quants") == 0 ||
		w->job_seconds > 0)
	{
		/* chunks until the job's work is done (a few), or for job_seconds */
		int			chunks = 0;

		do
		{
			if (!stock_scheduler_batch(w))
				return false;
			chunks++;
			if (w->job_seconds > 0)
				sleep_s(0.2 + rng_between(w->r, 0, 300) / 1000.0);
		} while (w->job_seconds > 0 ? now_mono() < end : chunks < 3);
	}
	return true;
}

static bool
was_triggered(const cron_worker *w, long id)
{
	for (int i = 0; i < w->ntriggered; i++)
		if (w->triggered[i] == id)
			return true;
	return false;
}

bool
cron_process_jobs(cron_worker *w)
{
	odoo_cursor *cr = &w->cron_cr;
	PGresult   *ready;
	bool		ok = false;

	/*
	 * ir_cron.py 17.0 _process_jobs: with db.cursor() as cron_cr:
	 * _check_version, _get_all_ready_jobs, _check_modules_state
	 */
	if (!cursor_begin(cr) ||
		!cursor_run(cr, "SELECT latest_version FROM ir_module_module WHERE name='base'"))
		goto fail;
	ready = cursor_exec(cr, "SELECT * FROM ir_cron WHERE active = true AND numbercall != 0 AND (nextcall <= (now() at time zone 'UTC') OR id in (SELECT cron_id FROM ir_cron_trigger WHERE call_at <= (now() at time zone 'UTC'))) ORDER BY priority");
	if (ready == NULL)
		goto fail;
	if (PQntuples(ready) > 0 &&
		!cursor_run(cr, "SELECT COUNT(*) FROM ir_module_module WHERE state LIKE 'to %%'"))
	{
		PQclear(ready);
		goto fail;
	}
	for (int i = 0; i < PQntuples(ready); i++)
	{
		long		id = strtol(PQgetvalue(ready, i, PQfnumber(ready, "id")), NULL, 10);
		long		interval = strtol(PQgetvalue(ready, i, PQfnumber(ready, "interval_number")), NULL, 10);
		const char *unit = PQgetvalue(ready, i, PQfnumber(ready, "interval_type"));
		char		name[128];
		PGresult   *job;
		double		hours,
					next_s;

		if (w->only_triggered && !was_triggered(w, id))
			continue;

		/*
		 * ir_cron.py 17.0 _acquire_one_job: the job's row FOR NO KEY UPDATE
		 * SKIP LOCKED; cron_cr then stays idle in transaction for the job
		 */
		job = cursor_exec(cr, "SELECT * FROM ir_cron WHERE active = true AND numbercall != 0 AND (nextcall <= (now() at time zone 'UTC') OR EXISTS (SELECT cron_id FROM ir_cron_trigger WHERE call_at <= (now() at time zone 'UTC') AND cron_id = ir_cron.id)) AND id in (%ld) ORDER BY priority LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED", id);
		if (job == NULL)
		{
			PQclear(ready);
			if (cursor_concurrency_error(cr))
			{
				/* processed by another worker: roll back, skip (ir_cron.py) */
				cursor_rollback(cr);
				return true;
			}
			goto fail;
		}
		if (PQntuples(job) == 0)
		{
			PQclear(job);
			continue;
		}
		snprintf(name, sizeof(name), "%s", PQgetvalue(ready, i, PQfnumber(ready, "cron_name")));
		PQclear(job);
		/* cron_name is jsonb, {"en_US": "..."}: keep the English name */
		{
			char	   *start = strstr(name, "\"en_US\": \"");

			if (start)
			{
				char	   *e;

				memmove(name, start + 10, strlen(start + 10) + 1);
				e = strchr(name, '"');
				if (e)
					*e = '\0';
			}
		}
		if (!run_job_work(w, name))
		{
			PQclear(ready);
			goto fail;
		}
		w->jobs_run++;

		/*
		 * ir_cron.py 17.0 _process_job: reschedule on cron_cr (nextcall by
		 * the job's interval, compressed to the day's store hours), drop
		 * the fired triggers, commit
		 */
		hours = strcmp(unit, "days") == 0 ? 24.0 * interval : strcmp(unit, "hours") == 0 ? interval : interval / 60.0;
		next_s = hours * w->hour_seconds;
		if (!cursor_run(cr, "UPDATE ir_cron SET nextcall=(now() at time zone 'UTC') + interval '%.0f seconds', numbercall=-1, lastcall=(now() at time zone 'UTC'), active=true WHERE id=%ld", next_s < 1 ? 1 : next_s, id) ||
			!cursor_run(cr, "DELETE FROM ir_cron_trigger WHERE cron_id = %ld AND call_at < (now() at time zone 'UTC')", id) ||
			!cursor_commit(cr) || !cursor_begin(cr))
		{
			PQclear(ready);
			goto fail;
		}
	}
	PQclear(ready);
	ok = cursor_commit(cr);
	w->ntriggered = 0;
	return ok;
fail:
	fprintf(stderr, "orguard-workload: cron: %s\n", cr->error[0] ? cr->error : w->job_cr.error);
	cursor_rollback(cr);
	return false;
}
