/*
 * test_msg_compact.c: a decoded message copied into one block packs to the
 * same bytes as the original, is released by one free() (valgrind counts
 * every block), keeps default strings as protobuf-c left them, and shares
 * equal repeated arrays (a model's histogram bounds) through the pool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collect/msg_compact.h"
#include "odoo_retail_guard.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double le_ms[] = {1, 5, 10, 50, 100, 500, 1000, 5000, 10000, 30000, 60000, 300000, 1e300};

/* a ModelStat as the agent decodes it: packed, then unpacked by protobuf-c */
static OdooRetailGuard__ModelStat *
decoded_model(const char *model, uint64_t first_count)
{
	OdooRetailGuard__ModelStat m = ODOO_RETAIL_GUARD__MODEL_STAT__INIT;
	uint64_t	counts[13];
	uint8_t		buf[1024];
	size_t		len;

	for (int i = 0; i < 13; i++)
		counts[i] = first_count + (uint64_t) i;
	m.database = "retail";
	m.model = (char *) model;
	m.operation = "select";
	m.calls = 1234;
	m.p95_ms = 12.5;
	m.slow_calls = 3;
	m.n_duration_le_ms = 13;
	m.duration_le_ms = (double *) le_ms;
	m.n_duration_le_count = 13;
	m.duration_le_count = counts;
	len = odoo_retail_guard__model_stat__pack(&m, buf);
	assert_true(len < sizeof(buf));
	return odoo_retail_guard__model_stat__unpack(NULL, len, buf);
}

/* packs both and compares the bytes */
static void
assert_same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t		la = protobuf_c_message_get_packed_size(a);
	size_t		lb = protobuf_c_message_get_packed_size(b);
	uint8_t    *pa = malloc(la + 1);
	uint8_t    *pb = malloc(lb + 1);

	assert_int_equal(la, lb);
	protobuf_c_message_pack(a, pa);
	protobuf_c_message_pack(b, pb);
	assert_memory_equal(pa, pb, la);
	free(pa);
	free(pb);
}

static void
test_compactable_types(void **state)
{
	(void) state;
	assert_true(msg_compactable(&odoo_retail_guard__model_stat__descriptor));
	assert_true(msg_compactable(&odoo_retail_guard__autovacuum_lag__descriptor));
	assert_true(msg_compactable(&odoo_retail_guard__lock_contention__descriptor));
	assert_true(msg_compactable(&odoo_retail_guard__query_stat__descriptor));
	/* nested messages and repeated messages are not copied */
	assert_false(msg_compactable(&odoo_retail_guard__snapshot__descriptor));
}

static void
test_model_copy_packs_the_same(void **state)
{
	OdooRetailGuard__ModelStat *orig = decoded_model("stock.quant", 100);
	OdooRetailGuard__ModelStat *copy;

	(void) state;
	copy = (OdooRetailGuard__ModelStat *) msg_compact(&orig->base, NULL);
	assert_non_null(copy);
	assert_same_message(&orig->base, &copy->base);
	/* the strings and arrays live in the copy's block, not the original's */
	assert_ptr_not_equal(copy->model, orig->model);
	assert_string_equal(copy->model, "stock.quant");
	assert_ptr_not_equal(copy->duration_le_count, orig->duration_le_count);
	assert_true((char *) copy->model > (char *) copy &&
				(char *) copy->model < (char *) copy + 1024);
	odoo_retail_guard__model_stat__free_unpacked(orig, NULL);
	/* the copy stands alone: read after the original is gone */
	assert_int_equal(copy->duration_le_count[12], 112);
	assert_true(copy->duration_le_ms[3] == 50);
	free(copy);
}

/* room before the message, in the same block: the caller's, written without touching the copy */
static void
test_copy_after_a_prefix(void **state)
{
	OdooRetailGuard__ModelStat *orig = decoded_model("pos.order", 7);
	char	   *block;
	OdooRetailGuard__ModelStat *copy;

	(void) state;
	block = msg_compact_after(&orig->base, NULL, 32);
	assert_non_null(block);
	copy = (OdooRetailGuard__ModelStat *) (block + 32);
	memset(block, 0xab, 32);
	assert_same_message(&orig->base, &copy->base);
	odoo_retail_guard__model_stat__free_unpacked(orig, NULL);
	assert_string_equal(copy->model, "pos.order");
	assert_int_equal(copy->duration_le_count[12], 19);
	free(block);
}

static void
test_default_strings_kept(void **state)
{
	OdooRetailGuard__AutovacuumLag v = ODOO_RETAIL_GUARD__AUTOVACUUM_LAG__INIT;
	OdooRetailGuard__AutovacuumLag *orig;
	OdooRetailGuard__AutovacuumLag *copy;
	uint8_t		buf[512];
	size_t		len;

	(void) state;
	v.database = "retail";
	v.relation = "stock_move";
	/* model left empty: protobuf-c points it at its shared empty string */
	v.dead_tuples = 50000;
	v.xid_age = 123456;
	len = odoo_retail_guard__autovacuum_lag__pack(&v, buf);
	orig = odoo_retail_guard__autovacuum_lag__unpack(NULL, len, buf);
	copy = (OdooRetailGuard__AutovacuumLag *) msg_compact(&orig->base, NULL);
	assert_same_message(&orig->base, &copy->base);
	assert_ptr_equal(copy->model, orig->model);
	assert_string_equal(copy->model, "");
	assert_string_equal(copy->relation, "stock_move");
	assert_int_equal(copy->dead_tuples, 50000);
	odoo_retail_guard__autovacuum_lag__free_unpacked(orig, NULL);
	free(copy);
}

static void
test_pool_shares_equal_arrays(void **state)
{
	msg_array_pool *pool = msg_array_pool_new();
	OdooRetailGuard__ModelStat *a = decoded_model("sale.order", 1);
	OdooRetailGuard__ModelStat *b = decoded_model("stock.move", 500);
	OdooRetailGuard__ModelStat *ca;
	OdooRetailGuard__ModelStat *cb;

	(void) state;
	ca = (OdooRetailGuard__ModelStat *) msg_compact(&a->base, pool);
	cb = (OdooRetailGuard__ModelStat *) msg_compact(&b->base, pool);
	/* the bounds are the same for every model: one array */
	assert_ptr_equal(ca->duration_le_ms, cb->duration_le_ms);
	/* the counts differ: each its own */
	assert_ptr_not_equal(ca->duration_le_count, cb->duration_le_count);
	assert_int_equal(ca->duration_le_count[0], 1);
	assert_int_equal(cb->duration_le_count[0], 500);
	assert_same_message(&a->base, &ca->base);
	assert_same_message(&b->base, &cb->base);
	odoo_retail_guard__model_stat__free_unpacked(a, NULL);
	odoo_retail_guard__model_stat__free_unpacked(b, NULL);
	free(ca);
	free(cb);
	msg_array_pool_free(pool);
}

/* a full pool copies the array into the block instead: still right */
static void
test_full_pool_copies(void **state)
{
	msg_array_pool *pool = msg_array_pool_new();
	OdooRetailGuard__ModelStat *copies[40];

	(void) state;
	for (int i = 0; i < 40; i++)
	{
		OdooRetailGuard__ModelStat *m = decoded_model("pos.order", (uint64_t) i * 1000);

		copies[i] = (OdooRetailGuard__ModelStat *) msg_compact(&m->base, pool);
		assert_same_message(&m->base, &copies[i]->base);
		odoo_retail_guard__model_stat__free_unpacked(m, NULL);
	}
	for (int i = 0; i < 40; i++)
	{
		assert_int_equal(copies[i]->duration_le_count[1], (uint64_t) i * 1000 + 1);
		free(copies[i]);
	}
	msg_array_pool_free(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compactable_types),
		cmocka_unit_test(test_model_copy_packs_the_same),
		cmocka_unit_test(test_default_strings_kept),
		cmocka_unit_test(test_copy_after_a_prefix),
		cmocka_unit_test(test_pool_shares_equal_arrays),
		cmocka_unit_test(test_full_pool_copies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
