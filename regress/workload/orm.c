/*
 * regress/workload/orm.c: the ORM's statements for search, unlink and
 * write, as Odoo 17.0 renders them (odoo/models.py, odoo/tools/query.py,
 * odoo/sql_db.py).
 */
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* _order of the models the tools name; BaseModel._order is 'id' */
static const struct
{
	const char *model;
	const char *order;
}			known_orders[] = {
	/* addons/sale/models/sale_order.py 17.0: _order = 'date_order desc, id desc' */
	{"sale.order", "\"sale_order\".\"date_order\" DESC, \"sale_order\".\"id\" DESC"},
	/* addons/point_of_sale/models/pos_order.py 17.0: _order = "date_order desc, name desc, id desc" */
	{"pos.order", "\"pos_order\".\"date_order\" DESC, \"pos_order\".\"name\" DESC, \"pos_order\".\"id\" DESC"},
	/* odoo/addons/base/models/res_partner.py 17.0: _order = "complete_name ASC, id DESC" */
	{"res.partner", "\"res_partner\".\"complete_name\", \"res_partner\".\"id\" DESC"},
	/* addons/stock/models/stock_move.py 17.0: _order = 'sequence, id' */
	{"stock.move", "\"stock_move\".\"sequence\", \"stock_move\".\"id\""},
};

bool
odoo_model_lookup(const char *name, odoo_model *m, char *err, size_t errlen)
{
	size_t		len = strlen(name);

	memset(m, 0, sizeof(*m));
	if (len == 0 || len >= sizeof(m->name))
	{
		snprintf(err, errlen, "model name must be 1 to %zu characters", sizeof(m->name) - 1);
		return false;
	}
	for (size_t i = 0; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (c == '.' && i > 0 && i + 1 < len)))
		{
			snprintf(err, errlen, "\"%s\" is not an Odoo model name (lower case letters, digits, '_' and '.', e.g. sale.order)", name);
			return false;
		}
	}
	memcpy(m->name, name, len + 1);
	/* odoo/models.py 17.0 _build_model_attributes: _table = _name.replace('.', '_') */
	for (size_t i = 0; i <= len; i++)
		m->table[i] = name[i] == '.' ? '_' : name[i];
	for (size_t i = 0; i < sizeof(known_orders) / sizeof(known_orders[0]); i++)
		if (strcmp(known_orders[i].model, name) == 0)
			m->order = known_orders[i].order;
	if (m->order == NULL)
	{
		snprintf(m->order_buf, sizeof(m->order_buf), "\"%s\".\"id\"", m->table);
		m->order = m->order_buf;
	}
	return true;
}

long
orm_search_ids(odoo_cursor *cur, const odoo_model *m, const char *where, long limit, idlist *out)
{
	PGresult   *res;
	char		lim[32] = "";

	if (limit > 0)
		snprintf(lim, sizeof(lim), " LIMIT %ld", limit);

	/*
	 * odoo/models.py 17.0 _search -> odoo/tools/query.py 17.0 Query.select:
	 * SELECT "t"."id" FROM "t" [WHERE ...] ORDER BY ... [LIMIT n]
	 */
	res = cursor_exec(cur, "SELECT \"%s\".\"id\" FROM \"%s\"%s%s ORDER BY %s%s",
					  m->table, m->table, where && *where ? " WHERE " : "", where ? where : "", m->order, lim);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		ids_push(out, strtoll(PQgetvalue(res, i, 0), NULL, 10));
	PQclear(res);
	return (long) out->n;
}

long
orm_unlink(odoo_cursor *cur, const odoo_model *m, const idlist *ids)
{
	long		rows = 0;
	sbuf		tuple;

	sb_init(&tuple);

	/*
	 * odoo/models.py 17.0 (and 18.0) BaseModel.unlink: for sub_ids in
	 * cr.split_for_in_conditions(self.ids) (odoo/sql_db.py: IN_MAX = 1000),
	 * all in the request's one transaction.
	 */
	for (size_t from = 0; from < ids->n; from += ODOO_IN_MAX)
	{
		PGresult   *res;

		sb_reset(&tuple);
		sb_tuple(&tuple, ids, from, ODOO_IN_MAX);
		/* unlink: cr.execute(SQL("DELETE FROM %s WHERE id IN %s", SQL.identifier(self._table), sub_ids)) */
		res = cursor_exec(cur, "DELETE FROM \"%s\" WHERE id IN %s", m->table, tuple.data);
		if (res == NULL)
		{
			sb_free(&tuple);
			return -1;
		}
		rows += strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);

		/*
		 * then, per batch: Data.search([('model', '=', self._name),
		 * ('res_id', 'in', sub_ids)]) (ir.model.data, _order = 'module,
		 * model, name'), and the attachments by raw SQL:
		 * cr.execute(SQL("SELECT id FROM ir_attachment WHERE res_model=%s
		 * AND res_id IN %s", self._name, sub_ids))
		 */
		if (!cursor_run(cur, "SELECT \"ir_model_data\".\"id\" FROM \"ir_model_data\" WHERE ((\"ir_model_data\".\"model\" = '%s') AND (\"ir_model_data\".\"res_id\" IN %s)) ORDER BY \"ir_model_data\".\"module\", \"ir_model_data\".\"model\", \"ir_model_data\".\"name\"",
						m->name, tuple.data) ||
			!cursor_run(cur, "SELECT id FROM ir_attachment WHERE res_model='%s' AND res_id IN %s",
						m->name, tuple.data))
		{
			sb_free(&tuple);
			return -1;
		}
	}
	sb_free(&tuple);
	return rows;
}

long
orm_write_state(odoo_cursor *cur, const odoo_model *m, const idlist *ids, const char *column, const char *value)
{
	long		rows = 0;
	sbuf		tuple,
				now;

	sb_init(&tuple);
	sb_init(&now);
	sb_odoo_now(&now);
	for (size_t from = 0; from < ids->n; from += ODOO_IN_MAX)
	{
		PGresult   *res;

		sb_reset(&tuple);
		sb_tuple(&tuple, ids, from, ODOO_IN_MAX);

		/*
		 * odoo/models.py 17.0 BaseModel._write: for sub_ids in
		 * cr.split_for_in_conditions(set(self.ids)): UPDATE "t" SET "col" =
		 * val, "write_date" = ..., "write_uid" = ... WHERE id IN sub_ids
		 * (columns in name order)
		 */
		res = cursor_exec(cur, "UPDATE \"%s\" SET \"%s\" = '%s', \"write_date\" = %s, \"write_uid\" = 2 WHERE id IN %s",
						  m->table, column, value, now.data, tuple.data);
		if (res == NULL)
		{
			rows = -1;
			break;
		}
		rows += strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	sb_free(&tuple);
	sb_free(&now);
	return rows;
}
