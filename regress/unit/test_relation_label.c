/*-------------------------------------------------------------------------
 *
 * test_relation_label.c
 *	  Unit tests for the relation naming rule shared by queries, locks,
 *	  destructive events and autovacuum lag.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "relation_label.h"

#define OTHER_NSP 16384

static void
test_public_model_table(void **state)
{
	char		rel[64];
	char		model[64];

	(void) state;
	assert_false(org_relation_label_needs_schema(ORG_PUBLIC_NAMESPACE_OID));
	/* nspname is not read for public: a wrong one must not leak in */
	assert_true(org_relation_label(ORG_PUBLIC_NAMESPACE_OID, "ignored",
								   "sale_order_line", rel, sizeof(rel),
								   model, sizeof(model)));
	assert_string_equal(rel, "sale_order_line");
	assert_string_equal(model, "sale.order.line");
}

static void
test_public_not_a_model(void **state)
{
	char		rel[64];
	char		model[64];

	(void) state;
	strcpy(model, "stale");
	assert_false(org_relation_label(ORG_PUBLIC_NAMESPACE_OID, NULL,
									"product_taxes_rel", rel, sizeof(rel),
									model, sizeof(model)));
	assert_string_equal(rel, "product_taxes_rel");
	assert_string_equal(model, "");
}

static void
test_other_schema(void **state)
{
	char		rel[64];
	char		model[64];

	(void) state;
	assert_true(org_relation_label_needs_schema(OTHER_NSP));
	strcpy(model, "stale");
	/* a model-like name outside public is not a model */
	assert_false(org_relation_label(OTHER_NSP, "archive", "sale_order",
									rel, sizeof(rel), model, sizeof(model)));
	assert_string_equal(rel, "archive.sale_order");
	assert_string_equal(model, "");
	/* a schema named "public" that is not the public schema is qualified */
	assert_false(org_relation_label(OTHER_NSP, "public", "sale_order",
									rel, sizeof(rel), model, sizeof(model)));
	assert_string_equal(rel, "public.sale_order");
	/* schema dropped between the two lookups */
	assert_false(org_relation_label(OTHER_NSP, NULL, "t", rel, sizeof(rel),
									model, sizeof(model)));
	assert_string_equal(rel, "?.t");
}

static void
test_truncation_and_odd_bytes(void **state)
{
	char		rel[8];
	char		model[4];

	(void) state;
	/* a model name that does not fit is no model; the label is cut */
	assert_false(org_relation_label(ORG_PUBLIC_NAMESPACE_OID, NULL,
									"res_partner", rel, sizeof(rel),
									model, sizeof(model)));
	assert_string_equal(rel, "res_par");
	assert_string_equal(model, "");
	assert_false(org_relation_label(OTHER_NSP, "s\xff\"x", "t\nq", rel,
									sizeof(rel), model, sizeof(model)));
	assert_string_equal(rel, "s\xff\"x.t\n");
	assert_false(org_relation_label(OTHER_NSP, "s", "t", rel, 0,
									model, sizeof(model)));
	assert_false(org_relation_label(ORG_PUBLIC_NAMESPACE_OID, NULL,
									"res_partner", rel, sizeof(rel),
									NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_model_table),
		cmocka_unit_test(test_public_not_a_model),
		cmocka_unit_test(test_other_schema),
		cmocka_unit_test(test_truncation_and_odd_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
