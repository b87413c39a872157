/*
 * regress/workload/flows.c: the business requests of a retail Odoo 17.0,
 * one function per request, each run inside one transaction by
 * odoo_retrying().  Every statement names the Odoo source it follows.
 */
#include "flows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* odoo/sql_db.py 17.0 Cursor.now(): the transaction's timestamp, fetched once */
static bool
cr_now(odoo_cursor *cur, sbuf *now)
{
	PGresult   *res = cursor_exec(cur, "SELECT (now() AT TIME ZONE 'UTC')");

	if (res == NULL)
		return false;
	sb_reset(now);
	sb_printf(now, "'%s'", PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

/*
 * odoo/modules/registry.py 16.0/17.0 Registry.check_signaling: the first
 * statement of almost every request (this fixture has one cache sequence)
 */
static bool
check_signaling(odoo_cursor *cur)
{
	return cursor_run(cur, "SELECT base_registry_signaling.last_value, base_cache_signaling.last_value FROM base_registry_signaling, base_cache_signaling");
}

static long
first_long(PGresult *res)
{
	long		v = (res && PQntuples(res) > 0) ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;

	PQclear(res);
	return v;
}

/* ---------------------------------------------------------------- POS */

static bool
pos_one_order(odoo_cursor *cur, pos_ctx *c, const char *now)
{
	int			shop = c->store;
	int			session = 290 + shop;	/* today's open session of the shop (demo/schema.sql) */
	int			loc = 7 + shop;	/* SHOPnn/Stock */
	long		partner = rng_between(c->r, 1, 20) == 1 ? rng_between(c->r, 1, 20000) : 7;
	long		p1 = rng_between(c->r, 1, 5000),
				p2 = rng_between(c->r, 1, 5000);
	long		q1 = rng_between(c->r, 1, 3);
	double		price1 = rng_between(c->r, 99, 7999) / 100.0,
				price2 = rng_between(c->r, 99, 7999) / 100.0;
	double		total = q1 * price1 + price2;
	long		seq,
				order_id,
				move_id,
				quant_id;
	char		name[32];

	/*
	 * point_of_sale/models/pos_order.py 17.0 _process_order ->
	 * config.sequence_id._next() -> odoo/addons/base/models/ir_sequence.py
	 * 17.0 _select_nextval: cr.execute("SELECT nextval(%s)", [seq_name])
	 */
	seq = first_long(cursor_exec(cur, "SELECT nextval('ir_sequence_%03d')", shop));
	if (seq < 0)
		return false;
	snprintf(name, sizeof(name), "SHOP%02d/%04ld", shop, seq);

	/*
	 * point_of_sale/models/pos_order.py 17.0 _process_order -> create();
	 * odoo/models.py 17.0 _create: INSERT INTO "t" (columns in name order)
	 * VALUES (...) RETURNING "id"
	 */
	order_id = first_long(cursor_exec(cur,
									  "INSERT INTO \"pos_order\" (\"amount_paid\", \"amount_return\", \"amount_tax\", \"amount_total\", \"company_id\", \"config_id\", \"create_date\", \"create_uid\", \"date_order\", \"name\", \"partner_id\", \"pos_reference\", \"pricelist_id\", \"sequence_number\", \"session_id\", \"state\", \"to_invoice\", \"user_id\", \"write_date\", \"write_uid\") "
									  "VALUES (%.2f, 0.0, %.2f, %.2f, 1, %d, %s, %d, %s, '%s', %ld, 'Order %05d-%03d-%04ld', 1, %ld, %d, 'paid', false, %d, %s, %d) RETURNING \"id\"",
									  total, total - total / 1.21, total, shop, now, 2 + shop, now, name, partner,
									  session, shop, seq % 10000, seq, session, 2 + shop, now, 2 + shop));
	if (order_id < 0)
		return false;
	/* the order lines, one INSERT for the batch (odoo/models.py 17.0 _create) */
	if (!cursor_run(cur,
					"INSERT INTO \"pos_order_line\" (\"company_id\", \"create_date\", \"create_uid\", \"discount\", \"full_product_name\", \"name\", \"order_id\", \"price_subtotal\", \"price_subtotal_incl\", \"price_unit\", \"product_id\", \"qty\", \"write_date\", \"write_uid\") "
					"VALUES (1, %s, %d, 0.0, 'Article %ld', '%s-1', %ld, %.2f, %.2f, %.2f, %ld, %ld.0, %s, %d), "
					"(1, %s, %d, 0.0, 'Article %ld', '%s-2', %ld, %.2f, %.2f, %.2f, %ld, 1.0, %s, %d) RETURNING \"id\"",
					now, 2 + shop, p1, name, order_id, q1 * price1 / 1.21, q1 * price1, price1, p1, q1, now, 2 + shop,
					now, 2 + shop, p2, name, order_id, price2 / 1.21, price2, price2, p2, now, 2 + shop))
		return false;

	/*
	 * real-time stock (point_of_sale/models/pos_order.py 17.0
	 * _create_order_picking -> stock.picking _create_picking_from_pos_order_lines):
	 * the delivery move and its move line
	 */
	move_id = first_long(cursor_exec(cur,
									 "INSERT INTO \"stock_move\" (\"company_id\", \"create_date\", \"create_uid\", \"date\", \"location_dest_id\", \"location_id\", \"name\", \"origin\", \"partner_id\", \"picking_type_id\", \"priority\", \"procure_method\", \"product_id\", \"product_qty\", \"product_uom\", \"product_uom_qty\", \"quantity\", \"reference\", \"sequence\", \"state\", \"write_date\", \"write_uid\") "
									 "VALUES (1, %s, %d, %s, 5, %d, 'Article %ld', '%s', %ld, 5, '0', 'make_to_stock', %ld, %ld.0, 1, %ld.0, %ld.0, 'SHOP/POS/%ld', 10, 'done', %s, %d) RETURNING \"id\"",
									 now, 2 + shop, now, loc, p1, name, partner, p1, q1, q1, q1, order_id, now, 2 + shop));
	if (move_id < 0)
		return false;
	if (!cursor_run(cur,
					"INSERT INTO \"stock_move_line\" (\"company_id\", \"create_date\", \"create_uid\", \"date\", \"location_dest_id\", \"location_id\", \"move_id\", \"product_id\", \"product_uom_id\", \"quantity\", \"reference\", \"state\", \"write_date\", \"write_uid\") "
					"VALUES (1, %s, %d, %s, 5, %d, %ld, %ld, 1, %ld.0, 'SHOP/POS/%ld', 'done', %s, %d) RETURNING \"id\"",
					now, 2 + shop, now, loc, move_id, p1, q1, order_id, now, 2 + shop))
		return false;

	/*
	 * addons/stock/models/stock_quant.py 17.0 _update_available_quantity:
	 * the quant search (stock.quant _gather, ORM search), then
	 * SELECT id FROM stock_quant WHERE id IN %s ORDER BY lot_id LIMIT 1
	 * FOR NO KEY UPDATE SKIP LOCKED, then the ORM write of the quantity
	 */
	quant_id = first_long(cursor_exec(cur,
									  "SELECT \"stock_quant\".\"id\" FROM \"stock_quant\" WHERE ((\"stock_quant\".\"product_id\" = %ld) AND (\"stock_quant\".\"location_id\" IN (%d))) ORDER BY \"stock_quant\".\"in_date\", \"stock_quant\".\"id\"",
									  p1, loc));
	if (quant_id > 0)
	{
		PGresult   *res = cursor_exec(cur, "SELECT id FROM stock_quant WHERE id IN (%ld) ORDER BY lot_id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED", quant_id);

		if (res == NULL)
			return false;
		if (PQntuples(res) == 1 &&
			!cursor_run(cur, "UPDATE \"stock_quant\" SET \"quantity\" = \"quantity\" - %ld, \"write_date\" = %s, \"write_uid\" = %d WHERE id IN (%ld)",
						q1, now, 2 + shop, quant_id))
		{
			PQclear(res);
			return false;
		}
		PQclear(res);
	}
	c->orders++;
	return true;
}

bool
pos_sync_request(odoo_cursor *cur, void *arg)
{
	pos_ctx    *c = arg;
	sbuf		now;
	bool		ok = false;
	int			n = c->batch;

	sb_init(&now);
	c->orders = 0;

	/*
	 * point_of_sale/models/pos_order.py 17.0 create_from_ui(orders, draft):
	 * one request, one transaction, for the whole batch the till sends
	 */
	if (!check_signaling(cur) || !cr_now(cur, &now))
		goto out;
	for (int i = 0; i < n; i++)
		if (!pos_one_order(cur, c, now.data))
			goto out;

	/*
	 * addons/bus/models/bus.py 17.0 _sendmany -> create(): the till's
	 * notification row, inside the business transaction
	 */
	ok = cursor_run(cur,
					"INSERT INTO \"bus_bus\" (\"channel\", \"create_date\", \"create_uid\", \"message\", \"write_date\", \"write_uid\") "
					"VALUES ('[\"%s\",\"pos.config\",%d]', %s, %d, '{\"type\":\"pos.order/sync\",\"payload\":{\"orders\":%d}}', %s, %d) RETURNING \"id\"",
					c->dbname, c->store, now.data, 2 + c->store, n, now.data, 2 + c->store);
out:
	sb_free(&now);
	return ok;
}

/* ---------------------------------------------------------------- sales */

bool
sales_read_request(odoo_cursor *cur, void *arg)
{
	simple_ctx *c = arg;
	long		partner = rng_between(c->r, 1, 20000);
	long		o = rng_between(c->r, 1, 20000);

	if (!check_signaling(cur))
		return false;

	/*
	 * the Sales list view: web/models/models.py 17.0 web_search_read ->
	 * search_fetch (odoo/models.py 17.0): one SELECT of the listed fields,
	 * quoted as odoo/tools/query.py 17.0 renders them, LIMIT 80; then
	 * search_count
	 */
	if (!cursor_run(cur, "SELECT \"sale_order\".\"id\", \"sale_order\".\"name\", \"sale_order\".\"date_order\", \"sale_order\".\"partner_id\", \"sale_order\".\"user_id\", \"sale_order\".\"amount_total\", \"sale_order\".\"state\", \"sale_order\".\"invoice_status\" FROM \"sale_order\" WHERE ((\"sale_order\".\"state\" IN ('sale', 'done')) AND (\"sale_order\".\"company_id\" IN (1))) ORDER BY \"sale_order\".\"date_order\" DESC, \"sale_order\".\"id\" DESC LIMIT 80") ||
		!cursor_run(cur, "SELECT COUNT(*) FROM \"sale_order\" WHERE ((\"sale_order\".\"state\" IN ('sale', 'done')) AND (\"sale_order\".\"company_id\" IN (1)))"))
		return false;
	/* a customer's orders: search with a many2one condition */
	if (!cursor_run(cur, "SELECT \"sale_order\".\"id\" FROM \"sale_order\" WHERE ((\"sale_order\".\"partner_id\" IN (%ld)) AND (\"sale_order\".\"company_id\" IN (1))) ORDER BY \"sale_order\".\"date_order\" DESC, \"sale_order\".\"id\" DESC LIMIT 80", partner))
		return false;

	/* the form view: web_read -> read of the record, its lines (one2many) and partner */
	return cursor_run(cur, "SELECT \"sale_order\".\"id\", \"sale_order\".\"name\", \"sale_order\".\"date_order\", \"sale_order\".\"partner_id\", \"sale_order\".\"user_id\", \"sale_order\".\"team_id\", \"sale_order\".\"company_id\", \"sale_order\".\"amount_untaxed\", \"sale_order\".\"amount_total\", \"sale_order\".\"state\", \"sale_order\".\"invoice_status\" FROM \"sale_order\" WHERE (\"sale_order\".\"id\" IN (%ld))", o) &&
		cursor_run(cur, "SELECT \"sale_order_line\".\"id\" FROM \"sale_order_line\" WHERE (\"sale_order_line\".\"order_id\" IN (%ld)) ORDER BY \"sale_order_line\".\"order_id\", \"sale_order_line\".\"sequence\", \"sale_order_line\".\"id\"", o) &&
		cursor_run(cur, "SELECT \"res_partner\".\"id\", \"res_partner\".\"name\", \"res_partner\".\"complete_name\", \"res_partner\".\"email\", \"res_partner\".\"phone\" FROM \"res_partner\" WHERE (\"res_partner\".\"id\" IN (%ld))", partner);
}

/* ---------------------------------------------------------------- invoicing */

bool
invoice_post_request(odoo_cursor *cur, void *arg)
{
	simple_ctx *c = arg;
	long		partner = rng_between(c->r, 1, 20000);
	double		amount = rng_between(c->r, 1000, 200000) / 100.0;
	long		move_id,
				number;
	sbuf		now;
	bool		ok = false;

	sb_init(&now);
	if (!check_signaling(cur) || !cr_now(cur, &now))
		goto out;
	/* the draft invoice (odoo/models.py 17.0 _create) */
	move_id = first_long(cursor_exec(cur,
									 "INSERT INTO \"account_move\" (\"amount_residual\", \"amount_tax\", \"amount_total\", \"amount_untaxed\", \"company_id\", \"create_date\", \"create_uid\", \"currency_id\", \"date\", \"invoice_date\", \"journal_id\", \"move_type\", \"name\", \"partner_id\", \"payment_state\", \"state\", \"write_date\", \"write_uid\") "
									 "VALUES (%.2f, %.2f, %.2f, %.2f, 1, %s, 2, 1, current_date, current_date, 2, 'out_invoice', '/', %ld, 'not_paid', 'draft', %s, 2) RETURNING \"id\"",
									 amount * 1.21, amount * 0.21, amount * 1.21, amount, now.data, partner, now.data));
	if (move_id < 0)
		goto out;

	/*
	 * the hash-locked journal's no_gap sequence
	 * (account/models/account_journal.py 17.0 secure_sequence_id) ->
	 * odoo/addons/base/models/ir_sequence.py 17.0 _update_nogap:
	 * "SELECT number_next FROM %s WHERE id=%%s FOR UPDATE NOWAIT" then
	 * "UPDATE %s SET number_next=number_next+%%s WHERE id=%%s "
	 */
	number = first_long(cursor_exec(cur, "SELECT number_next FROM ir_sequence WHERE id=12 FOR UPDATE NOWAIT"));
	if (number < 0 || !cursor_run(cur, "UPDATE ir_sequence SET number_next=number_next+1 WHERE id=12 "))
		goto out;
	if (!cursor_run(cur, "UPDATE \"account_move\" SET \"name\" = 'INV/2026/%05ld', \"sequence_number\" = %ld, \"sequence_prefix\" = 'INV/2026/', \"state\" = 'posted', \"write_date\" = %s, \"write_uid\" = 2 WHERE id IN (%ld)",
					number, number, now.data, move_id))
		goto out;

	/*
	 * account/models/partner.py 17.0 _increase_rank: in a savepoint
	 * (odoo/sql_db.py Savepoint: SAVEPOINT "<uuid1>"), one execute of
	 * SELECT ... FOR NO KEY UPDATE NOWAIT; UPDATE ...; 55P03/40001 swallowed
	 */
	{
		char		sp[40];

		snprintf(sp, sizeof(sp), "%08lx-%04lx-11ef-8000-%012lx", (unsigned long) rng_next(c->r) & 0xffffffffUL,
				 (unsigned long) rng_next(c->r) & 0xffffUL, (unsigned long) rng_next(c->r) & 0xffffffffffffUL);
		if (!cursor_run(cur, "SAVEPOINT \"%s\"", sp))
			goto out;
		if (cursor_run(cur, "SELECT \"customer_rank\" FROM res_partner WHERE ID IN (%ld) FOR NO KEY UPDATE NOWAIT; UPDATE res_partner SET \"customer_rank\" = \"customer_rank\" + 1 WHERE id IN (%ld)",
					   partner, partner))
			ok = cursor_run(cur, "RELEASE SAVEPOINT \"%s\"", sp);
		else if (cursor_concurrency_error(cur))
			ok = cursor_run(cur, "ROLLBACK TO SAVEPOINT \"%s\"", sp);
	}
out:
	sb_free(&now);
	return ok;
}

/* ---------------------------------------------------------------- bus */

bool
bus_poll_request(odoo_cursor *cur, void *arg)
{
	bus_ctx    *c = arg;
	PGresult   *res;
	int			shop = (int) rng_between(c->r, 1, c->stores);
	long		partner = rng_between(c->r, 1, 20000);

	/*
	 * addons/bus/models/bus.py 17.0 _poll(channels, last) -> search_read:
	 * domain [('id', '>', last)] (or, on the first poll,
	 * [('create_date', '>', now - TIMEOUT)]) plus ('channel', 'in', channels)
	 */
	if (c->last <= 0)
	{
		sbuf		ago;

		sb_init(&ago);
		sb_printf(&ago, "(now() at time zone 'UTC') - interval '50 seconds'");
		res = cursor_exec(cur, "SELECT \"bus_bus\".\"id\", \"bus_bus\".\"channel\", \"bus_bus\".\"message\" FROM \"bus_bus\" WHERE ((\"bus_bus\".\"create_date\" > %s) AND (\"bus_bus\".\"channel\" IN ('[\"%s\",\"pos.config\",%d]', '[\"%s\",\"res.partner\",%ld]'))) ORDER BY \"bus_bus\".\"id\"",
						  ago.data, c->dbname, shop, c->dbname, partner);
		sb_free(&ago);
	}
	else
		res = cursor_exec(cur, "SELECT \"bus_bus\".\"id\", \"bus_bus\".\"channel\", \"bus_bus\".\"message\" FROM \"bus_bus\" WHERE ((\"bus_bus\".\"id\" > %ld) AND (\"bus_bus\".\"channel\" IN ('[\"%s\",\"pos.config\",%d]', '[\"%s\",\"res.partner\",%ld]'))) ORDER BY \"bus_bus\".\"id\"",
						  c->last, c->dbname, shop, c->dbname, partner);
	if (res == NULL)
		return false;
	for (int i = 0; i < PQntuples(res); i++)
	{
		long		id = strtol(PQgetvalue(res, i, 0), NULL, 10);

		if (id > c->last)
			c->last = id;
	}
	c->delivered += PQntuples(res);
	PQclear(res);
	if (c->last <= 0)
	{
		/* nothing yet for these channels: start from the newest row */
		c->last = first_long(cursor_exec(cur, "SELECT \"bus_bus\".\"id\" FROM \"bus_bus\" ORDER BY \"bus_bus\".\"id\" DESC LIMIT 1"));
		if (c->last < 0)
			c->last = 1;
	}
	return true;
}

/* ---------------------------------------------------------------- reporting */

bool
report_request(odoo_cursor *cur, void *arg)
{
	simple_ctx *c = arg;
	long		days = rng_between(c->r, 2, 6);

	if (!check_signaling(cur))
		return false;

	/*
	 * the Point of Sale analysis: point_of_sale/report/pos_order_report.py
	 * 17.0 (report.pos.order, _auto = False, a view) read through
	 * web_read_group -> odoo/models.py 17.0 _read_group: aggregates named
	 * after their fields, "__count", GROUP BY the groupby fields
	 */
	if (!cursor_run(cur, "SELECT \"report_pos_order\".\"config_id\", \"report_pos_order\".\"product_categ_id\", SUM(\"report_pos_order\".\"price_total\"), SUM(\"report_pos_order\".\"product_qty\"), COUNT(*) FROM \"report_pos_order\" WHERE ((\"report_pos_order\".\"date\" >= ((now() at time zone 'UTC') - interval '%ld days')) AND (\"report_pos_order\".\"company_id\" IN (1))) GROUP BY \"report_pos_order\".\"config_id\", \"report_pos_order\".\"product_categ_id\" ORDER BY \"report_pos_order\".\"config_id\", \"report_pos_order\".\"product_categ_id\"", days))
		return false;
	/* the sessions' POS orders still to post: a search_count on pos.order */
	return cursor_run(cur, "SELECT COUNT(*) FROM \"pos_order\" WHERE ((\"pos_order\".\"state\" = 'paid') AND (\"pos_order\".\"account_move\" IS NULL))");
}
