/*
 * regress/workload/schema.c: the "schema minimal" fixture (a tiny database
 * with Odoo's table and column names, created in well under a second, for
 * integration tests that need one Odoo flow, not a shop) and the one-shot
 * flow "cron-unlink".
 */
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The tables and columns the one-shot modes touch, as demo/schema.sql
 * defines them (Odoo 16/17 types: UTC "timestamp without time zone",
 * jsonb cron names, integer many2one columns), without the foreign keys
 * to tables it leaves out.  A few rows each: ten quants at SHOP01/Stock
 * (location 8), 50 sales orders, the cron jobs the modes run.
 */
static const char minimal_schema[] =
	"CREATE SEQUENCE base_registry_signaling;"
	"CREATE SEQUENCE base_cache_signaling;"
	"SELECT nextval('base_registry_signaling'), nextval('base_cache_signaling');"
	"CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE, state varchar,"
	" latest_version varchar, create_date timestamp, write_date timestamp);"
	"INSERT INTO ir_module_module (name, state, latest_version) VALUES ('base', 'installed', '17.0.1.3'),"
	" ('stock', 'installed', '17.0.1.1'), ('sale', 'installed', '17.0.1.2');"
	"CREATE TABLE ir_cron (id serial PRIMARY KEY, ir_actions_server_id integer NOT NULL, cron_name jsonb,"
	" user_id integer NOT NULL, active boolean DEFAULT true, interval_number integer, interval_type varchar,"
	" numbercall integer, doall boolean, nextcall timestamp NOT NULL, lastcall timestamp, priority integer,"
	" create_date timestamp, write_date timestamp);"
	"INSERT INTO ir_cron (ir_actions_server_id, cron_name, user_id, interval_number, interval_type, numbercall,"
	" doall, nextcall, priority, create_date, write_date)"
	" SELECT 100 + c, jsonb_build_object('en_US', n), 1, 1, t, -1, false,"
	" date_trunc('day', now() at time zone 'UTC') + interval '1 day 2 hours', p,"
	" now() at time zone 'UTC', now() at time zone 'UTC'"
	" FROM (VALUES (1, 'Procurement: run scheduler', 'days', 5), (2, 'Base: Auto-vacuum internal data', 'days', 3),"
	" (5, 'Inventory: merge quants', 'hours', 5)) AS v(c, n, t, p);"
	/* ir.cron _inherits ir.actions.server: each job's name, model and code */
	"CREATE TABLE ir_act_server (id serial PRIMARY KEY, name jsonb NOT NULL, type varchar NOT NULL DEFAULT 'ir.actions.server',"
	" usage varchar, state varchar NOT NULL DEFAULT 'code', model_id integer, model_name varchar, code text,"
	" create_date timestamp, write_date timestamp);"
	"INSERT INTO ir_act_server (id, name, usage, model_name, code, create_date, write_date)"
	" SELECT c.ir_actions_server_id, c.cron_name, 'ir_cron', v.m, v.code, c.create_date, c.write_date FROM ir_cron c"
	" JOIN (VALUES ('Procurement: run scheduler', 'procurement.group', 'model.run_scheduler(True)'),"
	" ('Base: Auto-vacuum internal data', 'ir.autovacuum', 'model._run_vacuum_cleaner()'),"
	" ('Inventory: merge quants', 'stock.quant', 'model._quant_tasks()')) AS v(n, m, code) ON v.n = c.cron_name->>'en_US';"
	"CREATE TABLE ir_cron_trigger (id serial PRIMARY KEY, cron_id integer REFERENCES ir_cron ON DELETE CASCADE,"
	" call_at timestamp, create_uid integer, create_date timestamp, write_uid integer, write_date timestamp);"
	"CREATE TABLE ir_model_data (id serial PRIMARY KEY, name varchar NOT NULL, module varchar NOT NULL,"
	" model varchar NOT NULL, res_id integer, noupdate boolean DEFAULT false, create_date timestamp, write_date timestamp);"
	"CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar NOT NULL, res_model varchar, res_id integer,"
	" store_fname varchar, create_date timestamp, write_date timestamp);"
	"CREATE TABLE stock_quant (id serial PRIMARY KEY, product_id integer NOT NULL, company_id integer,"
	" location_id integer NOT NULL, lot_id integer, package_id integer, owner_id integer,"
	" quantity double precision NOT NULL DEFAULT 0, reserved_quantity double precision NOT NULL DEFAULT 0,"
	" in_date timestamp NOT NULL, create_uid integer, create_date timestamp, write_uid integer, write_date timestamp);"
	"INSERT INTO stock_quant (product_id, company_id, location_id, quantity, in_date, create_uid, create_date, write_uid, write_date)"
	" SELECT p, 1, 8, 100, now() at time zone 'UTC', 2, now() at time zone 'UTC', 2, now() at time zone 'UTC'"
	" FROM generate_series(1, 10) p;"
	"CREATE TABLE stock_move (id serial PRIMARY KEY, name varchar NOT NULL, sequence integer, priority varchar,"
	" date timestamp NOT NULL, company_id integer NOT NULL, product_id integer NOT NULL, product_uom_qty numeric NOT NULL,"
	" location_id integer NOT NULL, location_dest_id integer NOT NULL, state varchar, procure_method varchar NOT NULL,"
	" create_uid integer, create_date timestamp, write_uid integer, write_date timestamp);"
	"CREATE TABLE sale_order (id serial PRIMARY KEY, name varchar NOT NULL, state varchar, date_order timestamp NOT NULL,"
	" user_id integer, partner_id integer NOT NULL, company_id integer NOT NULL, amount_total numeric,"
	" create_uid integer, create_date timestamp, write_uid integer, write_date timestamp);"
	"INSERT INTO sale_order (name, state, date_order, user_id, partner_id, company_id, amount_total,"
	" create_uid, create_date, write_uid, write_date)"
	" SELECT 'S' || lpad(g::text, 5, '0'), 'sale', now() at time zone 'UTC' - g * interval '1 hour', 2, 7, 1, 100 + g,"
	" 2, now() at time zone 'UTC', 2, now() at time zone 'UTC' FROM generate_series(1, 50) g;"
	"CREATE TABLE bus_bus (id serial PRIMARY KEY, channel varchar, message varchar, create_uid integer,"
	" create_date timestamp, write_uid integer, write_date timestamp);"
	"CREATE TABLE pos_make_payment (id serial PRIMARY KEY, config_id integer, amount numeric, payment_method_id integer,"
	" payment_name varchar, payment_date timestamp, create_uid integer, create_date timestamp, write_uid integer,"
	" write_date timestamp);";

int
run_schema(const workload_opts *o, const char *which)
{
	odoo_cursor cur;
	bool		ok;

	if (strcmp(which, "minimal") != 0)
	{
		fprintf(stderr, "orguard-workload: unknown schema \"%s\" (only \"minimal\"; the shop is demo/schema.sql)\n", which);
		return 2;
	}
	/* the fixture's own DDL, not an Odoo statement: one transaction, all or nothing */
	ok = cursor_open(&cur, o->conninfo, NULL, "schema") &&
		cursor_begin(&cur) &&
		cursor_run(&cur, "%s", minimal_schema) &&
		cursor_commit(&cur);
	if (!ok)
	{
		fprintf(stderr, "orguard-workload: schema minimal: %s (SQLSTATE %s); nothing was created\n",
				cur.error, cur.sqlstate);
		cursor_rollback(&cur);
	}
	else
		printf("schema minimal created\n");
	fflush(stdout);
	cursor_close(&cur);
	return ok ? 0 : 1;
}

typedef struct cron_unlink_ctx
{
	long		id;
	long		rows;
} cron_unlink_ctx;

static bool
cron_unlink_request(odoo_cursor *cur, void *arg)
{
	cron_unlink_ctx *c = arg;
	odoo_model	m;
	char		err[128];
	idlist		ids = {0};

	/* odoo/modules/registry.py 17.0 check_signaling */
	if (!cursor_run(cur, "SELECT base_registry_signaling.last_value, base_cache_signaling.last_value FROM base_registry_signaling, base_cache_signaling"))
		return false;

	/*
	 * odoo/addons/base/models/ir_cron.py 17.0 unlink -> _try_lock(lockfk=True):
	 * the f-string with {"" if lockfk else "NOWAIT"} empty, so no NOWAIT:
	 * it waits for the cron cursor of a running job, which holds the row
	 * FOR NO KEY UPDATE (_acquire_one_job)
	 */
	if (!cursor_run(cur, "\n                SELECT id\n                FROM \"ir_cron\"\n                WHERE id IN (%ld)\n                FOR NO KEY UPDATE \n            ", c->id))
		return false;
	/* then super().unlink(): odoo/models.py 17.0 BaseModel.unlink (orm.c) */
	odoo_model_lookup("ir.cron", &m, err, sizeof(err));
	ids_push(&ids, c->id);
	c->rows = orm_unlink(cur, &m, &ids);
	ids_free(&ids);
	return c->rows >= 0;
}

/*
 * Deleting a scheduled action (Settings > Scheduled Actions > Delete, or a
 * module uninstall) while its job runs: the request waits on the job's
 * cron cursor until the job ends.
 */
int
run_cron_unlink(const workload_opts *o, const char *name)
{
	odoo_cursor cur;
	cron_unlink_ctx c = {.id = -1};
	rng			r;
	PGresult   *res;
	char	   *lit;
	bool		ok;

	rng_seed(&r, o->seed, 11);
	if (!cursor_open(&cur, o->conninfo, NULL, "cron unlink"))
	{
		cursor_close(&cur);
		return 1;
	}
	/* the tool's own lookup, not an Odoo statement */
	lit = PQescapeLiteral(cur.conn, name, strlen(name));
	res = lit ? cursor_exec(&cur, "SELECT id FROM ir_cron WHERE cron_name->>'en_US' = %s ORDER BY id LIMIT 1", lit) : NULL;
	PQfreemem(lit);
	if (res && PQntuples(res) == 1)
		c.id = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (c.id < 0)
	{
		fprintf(stderr, "orguard-workload: no ir_cron job is named \"%s\"\n", name);
		cursor_close(&cur);
		return 2;
	}
	ok = odoo_retrying(&cur, &r, 0.1, cron_unlink_request, &c, NULL);
	if (!ok)
		fprintf(stderr, "orguard-workload: cron-unlink \"%s\": %s (SQLSTATE %s); nothing was changed\n",
				name, cur.error, cur.sqlstate);
	else
		printf("cron-unlink name=\"%s\" id=%ld rows=%ld application_name=odoo-%d committed_at=%.3f\n",
			   name, c.id, c.rows, (int) getpid(), now_epoch());
	fflush(stdout);
	cursor_close(&cur);
	return ok ? 0 : 1;
}
