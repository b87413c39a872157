/*-------------------------------------------------------------------------
 *
 * odoo_classify.c
 *	  Attribute database activity to Odoo worker classes and models.
 *
 * Pure C (libc only, no allocation): worker classes come from
 * application_name plus a cheap look at the statement's main table, model
 * names from table names.
 *
 *-------------------------------------------------------------------------
 */
#include "odoo_classify.h"

#include <stdlib.h>				/* bsearch only */
#include <string.h>

static const char *const org_worker_class_names[ORG_WORKER_COUNT] = {
	"other",
	"http",
	"cron",
	"queue_job",
	"bus"
};

static const char *const org_operation_names[ORG_OP_COUNT] = {
	"other",
	"select",
	"insert",
	"update",
	"delete"
};

/* Role words found in application_name after the Odoo prefix */
typedef struct OrgRoleWord
{
	const char *word;
	OrgWorkerClass wclass;
} OrgRoleWord;

static const OrgRoleWord org_role_words[] = {
	{"cron", ORG_WORKER_CRON},
	{"queue", ORG_WORKER_QUEUE_JOB},
	{"job", ORG_WORKER_QUEUE_JOB},	/* with "queue", covers "queue_job" */
	{"jobrunner", ORG_WORKER_QUEUE_JOB},
	{"bus", ORG_WORKER_BUS},
	{"gevent", ORG_WORKER_BUS},
	{"websocket", ORG_WORKER_BUS},
	{"longpolling", ORG_WORKER_BUS},
	{"ws", ORG_WORKER_BUS},
	{"http", ORG_WORKER_HTTP},
	{"web", ORG_WORKER_HTTP},
	{"wsgi", ORG_WORKER_HTTP}
};

/*
 * Tables whose model name is not the plain '_' -> '.' inverse, or common
 * models listed so the mapping is pinned.  Must stay sorted by table name
 * (strcmp order) for bsearch.
 */
typedef struct OrgTableModel
{
	const char *table;
	const char *model;
} OrgTableModel;

static const OrgTableModel org_table_models[] = {
	{"account_bank_statement_line", "account.bank.statement.line"},
	{"account_journal", "account.journal"},
	{"account_move_line", "account.move.line"},
	{"account_payment", "account.payment"},
	{"bus_bus", "bus.bus"},
	{"bus_presence", "bus.presence"},
	{"ir_act_client", "ir.actions.client"},
	{"ir_act_report_xml", "ir.actions.report"},
	{"ir_act_server", "ir.actions.server"},
	{"ir_act_url", "ir.actions.act_url"},
	{"ir_act_window", "ir.actions.act_window"},
	{"ir_act_window_view", "ir.actions.act_window.view"},
	{"ir_actions", "ir.actions.actions"},
	{"ir_attachment", "ir.attachment"},
	{"ir_config_parameter", "ir.config_parameter"},
	{"ir_cron_trigger", "ir.cron.trigger"},
	{"ir_model_data", "ir.model.data"},
	{"ir_model_fields", "ir.model.fields"},
	{"ir_sequence_date_range", "ir.sequence.date_range"},
	{"ir_ui_view", "ir.ui.view"},
	{"mail_followers", "mail.followers"},
	{"mail_message", "mail.message"},
	{"mail_notification", "mail.notification"},
	{"pos_order_line", "pos.order.line"},
	{"pos_payment_method", "pos.payment.method"},
	{"product_product", "product.product"},
	{"product_template", "product.template"},
	{"queue_job", "queue.job"},
	{"queue_job_channel", "queue.job.channel"},
	{"res_company", "res.company"},
	{"res_currency", "res.currency"},
	{"res_partner", "res.partner"},
	{"res_users", "res.users"},
	{"sale_order_line", "sale.order.line"},
	{"stock_location", "stock.location"},
	{"stock_picking", "stock.picking"},
	{"stock_quant_package", "stock.quant.package"},
	{"stock_warehouse_orderpoint", "stock.warehouse.orderpoint"},
	{"website_visitor", "website.visitor"}
};

#define ORG_LENGTHOF(a) (sizeof(a) / sizeof((a)[0]))

/* ASCII-only, locale independent */
static int
org_ascii_lower(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A' + 'a';
	return ch;
}

/* Case-insensitive compare of s[0..len) with the NUL-terminated word */
static bool
org_token_equals(const char *s, size_t len, const char *word)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		if (word[i] == '\0' ||
			org_ascii_lower((unsigned char) s[i]) != (unsigned char) word[i])
			return false;
	}
	return word[len] == '\0';
}

const char *
org_worker_class_name(OrgWorkerClass c)
{
	if ((int) c < 0 || c >= ORG_WORKER_COUNT)
		return org_worker_class_names[ORG_WORKER_OTHER];
	return org_worker_class_names[c];
}

bool
org_worker_class_from_name(const char *name, OrgWorkerClass *out)
{
	int			i;

	if (name == NULL)
		return false;
	for (i = 0; i < ORG_WORKER_COUNT; i++)
	{
		if (org_token_equals(name, strlen(name), org_worker_class_names[i]))
		{
			if (out != NULL)
				*out = (OrgWorkerClass) i;
			return true;
		}
	}
	return false;
}

const char *
org_operation_name(OrgOperation op)
{
	if ((int) op < 0 || op >= ORG_OP_COUNT)
		return org_operation_names[ORG_OP_OTHER];
	return org_operation_names[op];
}

bool
org_appname_is_odoo(const char *appname, const char *prefix)
{
	size_t		plen;

	if (appname == NULL || prefix == NULL || prefix[0] == '\0')
		return false;
	plen = strlen(prefix);
	return strncmp(appname, prefix, plen) == 0;
}

static bool
org_is_appname_separator(unsigned char ch)
{
	return ch == '-' || ch == '_' || ch == '.' || ch == ':' || ch == ' ' ||
		(ch >= '0' && ch <= '9');
}

OrgWorkerClass
org_worker_class_from_appname(const char *appname, const char *prefix)
{
	const char *p;

	if (!org_appname_is_odoo(appname, prefix))
		return ORG_WORKER_OTHER;

	p = appname + strlen(prefix);
	while (*p != '\0')
	{
		const char *start;
		size_t		len;
		size_t		i;

		while (*p != '\0' && org_is_appname_separator((unsigned char) *p))
			p++;
		start = p;
		while (*p != '\0' && !org_is_appname_separator((unsigned char) *p))
			p++;
		len = (size_t) (p - start);
		if (len == 0)
			continue;
		for (i = 0; i < ORG_LENGTHOF(org_role_words); i++)
		{
			if (org_token_equals(start, len, org_role_words[i].word))
				return org_role_words[i].wclass;
		}
	}
	/* plain "odoo-<pid>" is most often an HTTP worker */
	return ORG_WORKER_HTTP;
}

OrgWorkerClass
org_worker_class_refine(OrgWorkerClass from_appname, bool is_odoo,
						const char *main_table, OrgOperation op,
						bool has_row_lock)
{
	if (!is_odoo)
		return ORG_WORKER_OTHER;
	if (main_table == NULL || main_table[0] == '\0')
		return from_appname;

	/*
	 * Inserts into these tables come from the worker that creates the work
	 * (an HTTP request posting a bus message, triggering a cron, enqueuing
	 * a job), not from the worker that consumes it.
	 */
	if (op == ORG_OP_INSERT)
		return from_appname;

	switch (main_table[0])
	{
		case 'i':
			/* the cron scheduler locks its ir_cron row to acquire a job */
			if (has_row_lock && strcmp(main_table, "ir_cron") == 0)
				return ORG_WORKER_CRON;
			if (strcmp(main_table, "ir_cron_trigger") == 0 ||
				strcmp(main_table, "ir_cron_progress") == 0)
				return ORG_WORKER_CRON;
			break;
		case 'q':
			if (strcmp(main_table, "queue_job") == 0)
				return ORG_WORKER_QUEUE_JOB;
			break;
		case 'b':
			if (strcmp(main_table, "bus_bus") == 0 ||
				strcmp(main_table, "bus_presence") == 0)
				return ORG_WORKER_BUS;
			break;
		default:
			break;
	}
	return from_appname;
}

static int
org_table_model_cmp(const void *key, const void *elem)
{
	return strcmp((const char *) key, ((const OrgTableModel *) elem)->table);
}

/* Copy src into out when it fits; otherwise write "" and fail */
static bool
org_copy_fits(const char *src, size_t len, char *out, size_t outlen)
{
	if (len >= outlen)
	{
		out[0] = '\0';
		return false;
	}
	memcpy(out, src, len);
	out[len] = '\0';
	return true;
}

bool
org_model_from_table(const char *table, char *out, size_t outlen)
{
	size_t		len;
	size_t		i;
	const OrgTableModel *hit;

	if (out == NULL || outlen == 0)
		return false;
	out[0] = '\0';
	if (table == NULL || table[0] == '\0')
		return false;

	len = strlen(table);
	for (i = 0; i < len; i++)
	{
		unsigned char ch = (unsigned char) table[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
		/* "a__b" or "_a" would make an empty model segment */
		if (ch == '_' && (i == 0 || i == len - 1 || table[i - 1] == '_'))
			return false;
	}
	if (strncmp(table, "pg_", 3) == 0 || strncmp(table, "sql_", 4) == 0)
		return false;
	/* many2many relation tables are not models */
	if (len >= 4 && strcmp(table + len - 4, "_rel") == 0)
		return false;

	hit = bsearch(table, org_table_models, ORG_LENGTHOF(org_table_models),
				  sizeof(OrgTableModel), org_table_model_cmp);
	if (hit != NULL)
		return org_copy_fits(hit->model, strlen(hit->model), out, outlen);

	/* Studio models are named "x_..." and their table is the same name */
	if (table[0] == 'x' && table[1] == '_')
		return org_copy_fits(table, len, out, outlen);

	if (len >= outlen)
		return false;
	for (i = 0; i < len; i++)
		out[i] = (table[i] == '_') ? '.' : table[i];
	out[len] = '\0';
	return true;
}

bool
org_table_is_odoo_candidate(const char *schema)
{
	return schema != NULL && strcmp(schema, "public") == 0;
}
