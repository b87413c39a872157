/*-------------------------------------------------------------------------
 *
 * test_odoo_classify.c
 *	  Unit tests for Odoo worker-class and model attribution.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "odoo_classify.h"

static void
test_worker_class_names(void **state)
{
	OrgWorkerClass c = ORG_WORKER_OTHER;
	int			i;

	(void) state;
	assert_string_equal(org_worker_class_name(ORG_WORKER_OTHER), "other");
	assert_string_equal(org_worker_class_name(ORG_WORKER_HTTP), "http");
	assert_string_equal(org_worker_class_name(ORG_WORKER_CRON), "cron");
	assert_string_equal(org_worker_class_name(ORG_WORKER_QUEUE_JOB), "queue_job");
	assert_string_equal(org_worker_class_name(ORG_WORKER_BUS), "bus");
	assert_string_equal(org_worker_class_name(ORG_WORKER_COUNT), "other");
	assert_string_equal(org_worker_class_name((OrgWorkerClass) -1), "other");

	/* round trip */
	for (i = 0; i < ORG_WORKER_COUNT; i++)
	{
		assert_true(org_worker_class_from_name(org_worker_class_name((OrgWorkerClass) i), &c));
		assert_int_equal(c, i);
	}
	assert_true(org_worker_class_from_name("QUEUE_JOB", &c));
	assert_int_equal(c, ORG_WORKER_QUEUE_JOB);
	assert_true(org_worker_class_from_name("Cron", &c));
	assert_int_equal(c, ORG_WORKER_CRON);

	c = ORG_WORKER_BUS;
	assert_false(org_worker_class_from_name("queue", &c));
	assert_false(org_worker_class_from_name("", &c));
	assert_false(org_worker_class_from_name("httpx", &c));
	assert_false(org_worker_class_from_name(NULL, &c));
	assert_int_equal(c, ORG_WORKER_BUS);	/* untouched on failure */
	assert_true(org_worker_class_from_name("bus", NULL));
}

static void
test_operation_names(void **state)
{
	(void) state;
	assert_string_equal(org_operation_name(ORG_OP_OTHER), "other");
	assert_string_equal(org_operation_name(ORG_OP_SELECT), "select");
	assert_string_equal(org_operation_name(ORG_OP_INSERT), "insert");
	assert_string_equal(org_operation_name(ORG_OP_UPDATE), "update");
	assert_string_equal(org_operation_name(ORG_OP_DELETE), "delete");
	assert_string_equal(org_operation_name(ORG_OP_COUNT), "other");
	assert_string_equal(org_operation_name((OrgOperation) 99), "other");
}

static void
test_appname_is_odoo(void **state)
{
	(void) state;
	assert_true(org_appname_is_odoo("odoo-1234", "odoo"));
	assert_true(org_appname_is_odoo("odoo", "odoo"));
	assert_true(org_appname_is_odoo("odoo-cron-77", "odoo"));
	assert_true(org_appname_is_odoo("shop-odoo-1", "shop-odoo"));
	assert_false(org_appname_is_odoo("psql", "odoo"));
	assert_false(org_appname_is_odoo("odo", "odoo"));
	assert_false(org_appname_is_odoo("Odoo-1", "odoo"));	/* case-sensitive */
	assert_false(org_appname_is_odoo("", "odoo"));
	assert_false(org_appname_is_odoo(NULL, "odoo"));
	/* empty or missing prefix disables matching */
	assert_false(org_appname_is_odoo("odoo-1234", ""));
	assert_false(org_appname_is_odoo("odoo-1234", NULL));
	assert_false(org_appname_is_odoo("", ""));
}

static void
test_worker_class_from_appname(void **state)
{
	(void) state;
	/* not Odoo */
	assert_int_equal(org_worker_class_from_appname("psql", "odoo"), ORG_WORKER_OTHER);
	assert_int_equal(org_worker_class_from_appname("cron-odoo", "odoo"), ORG_WORKER_OTHER);
	assert_int_equal(org_worker_class_from_appname(NULL, "odoo"), ORG_WORKER_OTHER);
	assert_int_equal(org_worker_class_from_appname("odoo-cron-1", ""), ORG_WORKER_OTHER);
	assert_int_equal(org_worker_class_from_appname("odoo-cron-1", NULL), ORG_WORKER_OTHER);

	/* default Odoo 16+ name and no role word */
	assert_int_equal(org_worker_class_from_appname("odoo-1234", "odoo"), ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_from_appname("odoo", "odoo"), ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_from_appname("odoo-shop-eu-1", "odoo"), ORG_WORKER_HTTP);

	/* role words as separate tokens */
	assert_int_equal(org_worker_class_from_appname("odoo-cron-4242", "odoo"), ORG_WORKER_CRON);
	assert_int_equal(org_worker_class_from_appname("odoo_CRON_1", "odoo"), ORG_WORKER_CRON);
	assert_int_equal(org_worker_class_from_appname("odoo:cron", "odoo"), ORG_WORKER_CRON);
	assert_int_equal(org_worker_class_from_appname("odoo12cron34", "odoo"), ORG_WORKER_CRON);
	assert_int_equal(org_worker_class_from_appname("odoo-queue_job-9", "odoo"), ORG_WORKER_QUEUE_JOB);
	assert_int_equal(org_worker_class_from_appname("odoo-queue-9", "odoo"), ORG_WORKER_QUEUE_JOB);
	assert_int_equal(org_worker_class_from_appname("odoo.job.9", "odoo"), ORG_WORKER_QUEUE_JOB);
	assert_int_equal(org_worker_class_from_appname("odoo-jobrunner", "odoo"), ORG_WORKER_QUEUE_JOB);
	assert_int_equal(org_worker_class_from_appname("odoo-bus-1", "odoo"), ORG_WORKER_BUS);
	assert_int_equal(org_worker_class_from_appname("odoo-gevent-1", "odoo"), ORG_WORKER_BUS);
	assert_int_equal(org_worker_class_from_appname("odoo-websocket", "odoo"), ORG_WORKER_BUS);
	assert_int_equal(org_worker_class_from_appname("odoo-longpolling", "odoo"), ORG_WORKER_BUS);
	assert_int_equal(org_worker_class_from_appname("odoo ws 3", "odoo"), ORG_WORKER_BUS);
	assert_int_equal(org_worker_class_from_appname("odoo-http-1", "odoo"), ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_from_appname("odoo-web", "odoo"), ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_from_appname("odoo-wsgi", "odoo"), ORG_WORKER_HTTP);

	/* role words must be whole tokens */
	assert_int_equal(org_worker_class_from_appname("odoo-crontab-1", "odoo"), ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_from_appname("odoo-business", "odoo"), ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_from_appname("odoo-jobs", "odoo"), ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_from_appname("odoo-wss", "odoo"), ORG_WORKER_HTTP);

	/* only the text after the prefix is inspected */
	assert_int_equal(org_worker_class_from_appname("cron-odoo-1", "cron-odoo"), ORG_WORKER_HTTP);

	/* first role word wins */
	assert_int_equal(org_worker_class_from_appname("odoo-cron-http", "odoo"), ORG_WORKER_CRON);
	assert_int_equal(org_worker_class_from_appname("odoo-http-cron", "odoo"), ORG_WORKER_HTTP);
}

static void
test_worker_class_refine(void **state)
{
	(void) state;
	/* non-Odoo backends stay OTHER whatever they touch */
	assert_int_equal(org_worker_class_refine(ORG_WORKER_OTHER, false, "queue_job", ORG_OP_UPDATE, false),
					 ORG_WORKER_OTHER);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, false, "ir_cron", ORG_OP_SELECT, true),
					 ORG_WORKER_OTHER);

	/* ir_cron only with a row lock */
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "ir_cron", ORG_OP_SELECT, true),
					 ORG_WORKER_CRON);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "ir_cron", ORG_OP_SELECT, false),
					 ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "ir_cron", ORG_OP_UPDATE, false),
					 ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "ir_cron_trigger", ORG_OP_DELETE, false),
					 ORG_WORKER_CRON);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "ir_cron_progress", ORG_OP_UPDATE, false),
					 ORG_WORKER_CRON);

	/* queue_job, any operation */
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "queue_job", ORG_OP_SELECT, false),
					 ORG_WORKER_QUEUE_JOB);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_CRON, true, "queue_job", ORG_OP_DELETE, false),
					 ORG_WORKER_QUEUE_JOB);

	/* inserts come from the worker creating the work, not consuming it */
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "bus_bus", ORG_OP_INSERT, false),
					 ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "queue_job", ORG_OP_INSERT, false),
					 ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "ir_cron_trigger", ORG_OP_INSERT, false),
					 ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "queue_job", ORG_OP_OTHER, true),
					 ORG_WORKER_QUEUE_JOB);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "queue_job_channel", ORG_OP_SELECT, false),
					 ORG_WORKER_HTTP);

	/* bus */
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "bus_bus", ORG_OP_SELECT, false),
					 ORG_WORKER_BUS);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "bus_presence", ORG_OP_UPDATE, false),
					 ORG_WORKER_BUS);

	/* anything else, or no table, keeps the application_name class */
	assert_int_equal(org_worker_class_refine(ORG_WORKER_CRON, true, "sale_order", ORG_OP_UPDATE, true),
					 ORG_WORKER_CRON);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_BUS, true, "ir_attachment", ORG_OP_SELECT, false),
					 ORG_WORKER_BUS);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, NULL, ORG_OP_SELECT, false),
					 ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_QUEUE_JOB, true, "", ORG_OP_SELECT, false),
					 ORG_WORKER_QUEUE_JOB);
	/* exact names only */
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "ir_cron_x", ORG_OP_SELECT, true),
					 ORG_WORKER_HTTP);
	assert_int_equal(org_worker_class_refine(ORG_WORKER_HTTP, true, "bus_bus2", ORG_OP_SELECT, false),
					 ORG_WORKER_HTTP);
}

static void
check_model(const char *table, const char *model)
{
	char		buf[64];

	memset(buf, 'Z', sizeof(buf));
	if (!org_model_from_table(table, buf, sizeof(buf)))
		fail_msg("no model for table \"%s\"", table);
	assert_string_equal(buf, model);
}

static void
check_not_model(const char *table)
{
	char		buf[64];

	memset(buf, 'Z', sizeof(buf));
	if (org_model_from_table(table, buf, sizeof(buf)))
		fail_msg("table \"%s\" gave model \"%s\"", table, buf);
	assert_string_equal(buf, "");
}

static void
test_model_from_table_overrides(void **state)
{
	(void) state;
	check_model("ir_act_window", "ir.actions.act_window");
	check_model("ir_act_window_view", "ir.actions.act_window.view");
	check_model("ir_act_server", "ir.actions.server");
	check_model("ir_act_url", "ir.actions.act_url");
	check_model("ir_act_client", "ir.actions.client");
	check_model("ir_act_report_xml", "ir.actions.report");
	check_model("ir_actions", "ir.actions.actions");
	check_model("ir_sequence_date_range", "ir.sequence.date_range");
	check_model("ir_config_parameter", "ir.config_parameter");
	check_model("ir_model_fields", "ir.model.fields");
	check_model("ir_cron_trigger", "ir.cron.trigger");
	check_model("queue_job", "queue.job");
	check_model("queue_job_channel", "queue.job.channel");
	check_model("bus_bus", "bus.bus");
	check_model("bus_presence", "bus.presence");
	check_model("res_partner", "res.partner");
	check_model("account_bank_statement_line", "account.bank.statement.line");
	check_model("website_visitor", "website.visitor");
	check_model("stock_warehouse_orderpoint", "stock.warehouse.orderpoint");
	check_model("account_move_line", "account.move.line");
	check_model("ir_model_data", "ir.model.data");
	check_model("product_template", "product.template");
	check_model("stock_quant_package", "stock.quant.package");
	check_model("mail_notification", "mail.notification");
	check_model("res_users", "res.users");
	check_model("pos_order_line", "pos.order.line");
	check_model("pos_payment_method", "pos.payment.method");
	check_model("product_product", "product.product");
	check_model("ir_attachment", "ir.attachment");
	check_model("ir_ui_view", "ir.ui.view");
	check_model("res_company", "res.company");
	check_model("res_currency", "res.currency");
	check_model("mail_message", "mail.message");
	check_model("mail_followers", "mail.followers");
	check_model("stock_picking", "stock.picking");
	check_model("stock_location", "stock.location");
	check_model("sale_order_line", "sale.order.line");
	check_model("account_payment", "account.payment");
	check_model("account_journal", "account.journal");
}

static void
test_model_from_table_default(void **state)
{
	(void) state;
	check_model("sale_order", "sale.order");
	check_model("stock_move_line", "stock.move.line");
	check_model("pos_session", "pos.session");
	check_model("ir_cron", "ir.cron");
	check_model("l10n_ch_qr", "l10n.ch.qr");
	check_model("ir_sequence", "ir.sequence");
	check_model("a", "a");
	/* Studio models keep their name */
	check_model("x_loyalty_card", "x_loyalty_card");
}

static void
test_model_from_table_rejects(void **state)
{
	char		buf[8];

	(void) state;
	check_not_model("");
	check_not_model("product_taxes_rel");
	check_not_model("account_move_line_account_tax_rel");
	check_not_model("pg_class");
	check_not_model("pg_stat_statements");
	check_not_model("sql_features");
	check_not_model("Sale_Order");
	check_not_model("sale-order");
	check_not_model("sale order");
	check_not_model("caf\xc3\xa9");
	check_not_model("_sale");
	check_not_model("sale_");
	check_not_model("sale__order");

	/* NULL table or output buffer */
	memset(buf, 'Z', sizeof(buf));
	assert_false(org_model_from_table(NULL, buf, sizeof(buf)));
	assert_string_equal(buf, "");
	assert_false(org_model_from_table("sale_order", NULL, 10));

	/* "_rel" alone is not a suffix of a longer name; "rel" is fine */
	check_model("rel", "rel");
	check_model("res_relation", "res.relation");
}

static void
test_model_from_table_bounds(void **state)
{
	char		buf[16];

	(void) state;
	/* outlen 0 must not touch the buffer */
	buf[0] = 'Z';
	assert_false(org_model_from_table("sale_order", buf, 0));
	assert_int_equal(buf[0], 'Z');

	/* exact fit: "sale.order" is 10 bytes + NUL */
	memset(buf, 'Z', sizeof(buf));
	assert_true(org_model_from_table("sale_order", buf, 11));
	assert_string_equal(buf, "sale.order");
	assert_int_equal(buf[11], 'Z');

	memset(buf, 'Z', sizeof(buf));
	assert_false(org_model_from_table("sale_order", buf, 10));
	assert_string_equal(buf, "");
	assert_int_equal(buf[1], 'Z');

	/* overrides are longer than their table names */
	memset(buf, 'Z', sizeof(buf));
	assert_false(org_model_from_table("ir_act_window", buf, 14));
	assert_string_equal(buf, "");
	memset(buf, 'Z', sizeof(buf));
	assert_false(org_model_from_table("x_abc", buf, 5));
	assert_string_equal(buf, "");
	assert_true(org_model_from_table("x_abc", buf, 6));
	assert_string_equal(buf, "x_abc");

	memset(buf, 'Z', sizeof(buf));
	assert_true(org_model_from_table("a", buf, 2));
	assert_string_equal(buf, "a");
	assert_false(org_model_from_table("a", buf, 1));
	assert_string_equal(buf, "");
}

static void
test_table_is_odoo_candidate(void **state)
{
	(void) state;
	assert_true(org_table_is_odoo_candidate("public"));
	assert_false(org_table_is_odoo_candidate("Public"));
	assert_false(org_table_is_odoo_candidate("pg_catalog"));
	assert_false(org_table_is_odoo_candidate("publicx"));
	assert_false(org_table_is_odoo_candidate(""));
	assert_false(org_table_is_odoo_candidate(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_class_names),
		cmocka_unit_test(test_operation_names),
		cmocka_unit_test(test_appname_is_odoo),
		cmocka_unit_test(test_worker_class_from_appname),
		cmocka_unit_test(test_worker_class_refine),
		cmocka_unit_test(test_model_from_table_overrides),
		cmocka_unit_test(test_model_from_table_default),
		cmocka_unit_test(test_model_from_table_rejects),
		cmocka_unit_test(test_model_from_table_bounds),
		cmocka_unit_test(test_table_is_odoo_candidate),
	};

	return cmocka_run_group_tests_name("odoo_classify", tests, NULL, NULL);
}
