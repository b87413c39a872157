/*
 * test_snapshot.c
 *	  The snapshot schema through protobuf-c: a round trip with a counting
 *	  allocator, tolerance of fields a newer extension adds, and (when
 *	  ORG_SNAPSHOT_FILE names one) a snapshot produced by a real server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "odoo_retail_guard.pb-c.h"

static int	live_allocations = 0;

static void *
counting_alloc(void *data, size_t size)
{
	(void) data;
	live_allocations++;
	return malloc(size);
}

static void
counting_free(void *data, void *ptr)
{
	(void) data;
	if (ptr != NULL)
		live_allocations--;
	free(ptr);
}

static ProtobufCAllocator counting = {counting_alloc, counting_free, NULL};

static uint8_t *
pack_sample(size_t *len)
{
	OdooRetailGuard__Snapshot snap = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	OdooRetailGuard__NodeIdentity node = ODOO_RETAIL_GUARD__NODE_IDENTITY__INIT;
	OdooRetailGuard__QueryStat q = ODOO_RETAIL_GUARD__QUERY_STAT__INIT;
	OdooRetailGuard__QueryStat *qs[1] = {&q};
	OdooRetailGuard__SlowSample s1 = ODOO_RETAIL_GUARD__SLOW_SAMPLE__INIT;
	OdooRetailGuard__SlowSample s2 = ODOO_RETAIL_GUARD__SLOW_SAMPLE__INIT;
	OdooRetailGuard__SlowSample *ss[2] = {&s1, &s2};
	uint8_t    *buf;

	snap.schema_version = 1;
	node.system_identifier = UINT64_C(7311111111111111111);
	node.timeline = 3;
	node.current_lsn = UINT64_C(0x1000000028);
	snap.node = &node;
	snap.since_cursor = 10;
	snap.next_cursor = 12;
	q.database = "retail";
	q.worker_class = "http";
	q.model = "stock.quant";
	q.calls = 42;
	q.query = "SELECT id FROM stock_quant WHERE product_id = $1";
	snap.queries = qs;
	snap.n_queries = 1;
	s1.id = 11;
	s2.id = 12;
	s1.query = s2.query = "";
	snap.slow_samples = ss;
	snap.n_slow_samples = 2;

	*len = odoo_retail_guard__snapshot__get_packed_size(&snap);
	buf = malloc(*len + 8);
	assert_int_equal(odoo_retail_guard__snapshot__pack(&snap, buf), *len);
	return buf;
}

static void
test_round_trip(void **state)
{
	size_t		len;
	uint8_t    *buf = pack_sample(&len);
	OdooRetailGuard__Snapshot *got;

	(void) state;
	got = odoo_retail_guard__snapshot__unpack(&counting, len, buf);
	assert_non_null(got);
	assert_int_equal(got->schema_version, 1);
	assert_non_null(got->node);
	assert_true(got->node->system_identifier == UINT64_C(7311111111111111111));
	assert_int_equal(got->node->timeline, 3);
	assert_int_equal(got->n_queries, 1);
	assert_string_equal(got->queries[0]->model, "stock.quant");
	assert_int_equal(got->queries[0]->calls, 42);
	assert_int_equal(got->n_slow_samples, 2);
	assert_int_equal(got->slow_samples[1]->id, 12);
	assert_true(live_allocations > 0);
	odoo_retail_guard__snapshot__free_unpacked(got, &counting);
	assert_int_equal(live_allocations, 0);
	free(buf);
}

/* a field number this schema does not know (a newer extension) is skipped */
static void
test_unknown_field_ignored(void **state)
{
	size_t		len;
	uint8_t    *buf = pack_sample(&len);
	OdooRetailGuard__Snapshot *got;

	(void) state;
	/* field 900, varint: key = 900 << 3 = 7200 = 0xa0 0x38; value 5 */
	buf[len++] = 0xa0;
	buf[len++] = 0x38;
	buf[len++] = 0x05;
	got = odoo_retail_guard__snapshot__unpack(&counting, len, buf);
	assert_non_null(got);
	assert_int_equal(got->next_cursor, 12);
	odoo_retail_guard__snapshot__free_unpacked(got, &counting);
	assert_int_equal(live_allocations, 0);
	free(buf);
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		size;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	buf = malloc(size > 0 ? size : 1);
	assert_int_equal(fread(buf, 1, size, f), (size_t) size);
	fclose(f);
	*len = (size_t) size;
	return buf;
}

/* a snapshot from a real server: identity set, ring ids in (since, next] */
static void
test_server_snapshot(void **state)
{
	const char *path = getenv("ORG_SNAPSHOT_FILE");
	size_t		len;
	size_t		i;
	uint8_t    *buf;
	OdooRetailGuard__Snapshot *got;
	uint64_t	prev;

	(void) state;
	if (path == NULL || path[0] == '\0')
		skip();
	buf = read_file(path, &len);
	got = odoo_retail_guard__snapshot__unpack(&counting, len, buf);
	assert_non_null(got);
	assert_int_equal(got->schema_version, 1);
	assert_non_null(got->node);
	assert_true(got->node->system_identifier != 0);
	assert_true(got->node->timeline >= 1);
	assert_true(got->node->time_us > 0);
	assert_non_null(got->connections);
	assert_true(got->connections->total >= 1);
	assert_true(got->n_queries > 0);
	for (i = 0; i < got->n_queries; i++)
		assert_true(got->queries[i]->worker_class[0] != '\0');
	assert_true(got->n_memory >= 2);
	prev = got->since_cursor;
	for (i = 0; i < got->n_slow_samples; i++)
	{
		assert_true(got->slow_samples[i]->id > prev);
		assert_true(got->slow_samples[i]->id <= got->next_cursor);
		prev = got->slow_samples[i]->id;
	}
	odoo_retail_guard__snapshot__free_unpacked(got, &counting);
	assert_int_equal(live_allocations, 0);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_unknown_field_ignored),
		cmocka_unit_test(test_server_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
