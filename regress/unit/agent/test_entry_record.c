/*
 * test_entry_record.c: a kept entry read back from its record is the entry
 * it was made from, field for field (compared as protobuf's own encoding),
 * for every type the merge keeps and for values at every edge: zero,
 * negative, the largest, -0.0 and NaN, empty and odd-byte names, histogram
 * arrays shared or not; names are held once and freed with the last record
 * that refers to them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collect/entry_record.h"
#include "odoo_retail_guard.pb-c.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ProtobufCMessageDescriptor *const kept_types[] = {
	&odoo_retail_guard__query_stat__descriptor,
	&odoo_retail_guard__model_stat__descriptor,
	&odoo_retail_guard__lock_contention__descriptor,
	&odoo_retail_guard__autovacuum_lag__descriptor,
};

/* protobuf's own encoding of msg: equal encodings, equal fields */
static uint8_t *
packed(const ProtobufCMessage *msg, size_t *len)
{
	uint8_t    *buf;

	*len = protobuf_c_message_get_packed_size(msg);
	buf = malloc(*len ? *len : 1);
	protobuf_c_message_pack(msg, buf);
	return buf;
}

/* reads r back into fresh memory and checks that it packs as msg does */
static void
assert_reads_back(const entry_record *r, const ProtobufCMessage *msg, const name_pool *names,
				  const entry_arrays *arrays)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	size_t		extra = entry_record_extra(r);
	uint8_t    *block = malloc(d->sizeof_message + extra + 1);
	uint8_t    *at = block + d->sizeof_message;
	size_t		la,
				lb;
	uint8_t    *a,
			   *b;

	entry_record_read(r, d, names, arrays, (ProtobufCMessage *) block, &at);
	assert_true(at == block + d->sizeof_message + extra);	/* the room it said, no more */
	a = packed(msg, &la);
	b = packed((const ProtobufCMessage *) block, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
	free(block);
}

static void
test_kept_types_encodable(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(kept_types) / sizeof(kept_types[0]); i++)
		assert_true(entry_record_encodable(kept_types[i]));
	/* a nested message cannot be held: the snapshot itself */
	assert_false(entry_record_encodable(&odoo_retail_guard__snapshot__descriptor));
}

static entry_key
key_of(const char *a, const char *b, const char *c)
{
	entry_key	k = {.name = {a, b, c, NULL},.n = 3};

	return k;
}

/* every field of the model aggregate, at its edges */
static void
test_model_round_trip(void **state)
{
	name_pool  *names = name_pool_new();
	entry_arrays *arrays = entry_arrays_new();
	double		le[13] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
	uint64_t	counts[13] = {0, 3, 3, 700, 70000, UINT64_MAX - 5, UINT64_MAX, 0, 1, 2, 3, 4, 5};
	OdooRetailGuard__ModelStat m;
	entry_record *r1,
			   *r2;
	entry_key	k = key_of("shop/eu", "sale.order", "select");

	(void) state;
	odoo_retail_guard__model_stat__init(&m);
	m.database = "shop/eu";
	m.model = "sale.order";
	m.operation = "select";
	m.statements = 1;
	m.calls = UINT64_MAX;
	m.total_ms = 1234.5678;
	m.mean_ms = -0.0;
	m.p50_ms = NAN;
	m.p95_ms = INFINITY;
	m.p99_ms = 1e-300;
	m.max_ms = 0;
	m.slow_calls = 0;
	m.rows = 1ULL << 63;
	m.generation = 987654321;
	m.n_duration_le_ms = 13;
	m.duration_le_ms = le;
	m.n_duration_le_count = 13;
	m.duration_le_count = counts;
	r1 = entry_record_new(&m.base, &k, names, arrays);
	assert_reads_back(r1, &m.base, names, arrays);
	/* the bounds are shared: the second record does not carry them, the first does not either */
	assert_int_equal(entry_record_extra(r1), 13 * 8);	/* only the counts are read back into room */
	m.calls = 3;
	r2 = entry_record_new(&m.base, &k, names, arrays);
	assert_reads_back(r2, &m.base, names, arrays);
	assert_int_equal(name_pool_count(names), 3);
	entry_record_free(r1, m.base.descriptor, names);
	assert_int_equal(name_pool_count(names), 3);	/* r2 still refers to them */
	{
		/* copied by its size to an odd address, it reads back there and takes its names along */
		uint8_t    *block = malloc(entry_record_size(r2) + 1);
		uint8_t    *copy = block + 1;

		memcpy(copy, r2, entry_record_size(r2));
		free(r2);
		assert_reads_back((entry_record *) copy, &m.base, names, arrays);
		assert_int_equal(name_pool_count(names), 3);
		entry_record_drop_names((entry_record *) copy, m.base.descriptor, names);
		free(block);
	}
	assert_int_equal(name_pool_count(names), 0);
	entry_arrays_free(arrays);
	name_pool_free(names);
}

/* the table, the statement and the lock entry: signed values, flags, odd bytes in names */
static void
test_other_types_round_trip(void **state)
{
	name_pool  *names = name_pool_new();
	entry_arrays *arrays = entry_arrays_new();
	OdooRetailGuard__AutovacuumLag v;
	OdooRetailGuard__QueryStat q;
	OdooRetailGuard__LockContention l;
	entry_key	kv = {.name = {"odoo", "res_partner\x1f\xc3\xa9"},.n = 2};
	entry_key	kq = {.name = {"odoo", "odoo", "cron"},.n = 3,.id = UINT64_MAX,.toplevel = true};
	entry_key	kl = {.name = {"odoo", "stock_quant", "tuple", "ShareLock"},.n = 4};
	entry_record *r;

	(void) state;
	odoo_retail_guard__autovacuum_lag__init(&v);
	v.database = "odoo";
	v.relation = "res_partner\x1f\xc3\xa9";
	v.model = "";				/* empty: not kept, read back as protobuf's empty string */
	v.live_tuples = -1;
	v.dead_tuples = INT64_MAX;
	v.threshold = 50.2;
	v.dead_over_threshold = -3.5;
	v.over_threshold_since_us = INT64_MIN;
	v.lag_s = 0.001;
	v.last_autovacuum_us = 1765000000000000;
	v.vacuum_running = true;
	v.vacuum_phase = "scanning heap";
	v.xid_age = 199999999;
	v.freeze_max_age = 200000000;
	v.generation = 1;
	r = entry_record_new(&v.base, &kv, names, arrays);
	assert_reads_back(r, &v.base, names, arrays);
	entry_record_free(r, v.base.descriptor, names);

	odoo_retail_guard__query_stat__init(&q);
	q.database = "odoo";
	q.role = "odoo";
	q.worker_class = "cron";
	q.queryid = UINT64_MAX;
	q.toplevel = true;
	q.row_lock = true;
	q.query = "SELECT \"res_partner\".\"id\" FROM \"res_partner\" WHERE $1";
	q.calls = 5;
	q.stddev_ms = 0.25;
	q.first_seen_us = -7;
	r = entry_record_new(&q.base, &kq, names, arrays);
	assert_reads_back(r, &q.base, names, arrays);
	entry_record_free(r, q.base.descriptor, names);

	odoo_retail_guard__lock_contention__init(&l);
	l.database = "odoo";
	l.relation = "stock_quant";
	l.lock_type = "tuple";
	l.mode = "ShareLock";
	l.waits = 12;
	l.max_wait_ms = 5000.5;
	r = entry_record_new(&l.base, &kl, names, arrays);
	assert_reads_back(r, &l.base, names, arrays);
	entry_record_free(r, l.base.descriptor, names);
	assert_int_equal(name_pool_count(names), 0);
	entry_arrays_free(arrays);
	name_pool_free(names);
}

/* a record is found by its key's bytes; a key with a name the pool never held has none */
static void
test_keys(void **state)
{
	name_pool  *names = name_pool_new();
	entry_arrays *arrays = entry_arrays_new();
	OdooRetailGuard__ModelStat m;
	entry_key	k = key_of("retail", "stock.move", "update");
	entry_key	other = key_of("retail", "stock.move", "select");
	entry_key	split = key_of("retail", "stock", "move.update");
	entry_key	unknown = key_of("retail", "stock.picking", "update");
	uint8_t		key[ENTRY_KEY_MAX];
	uint32_t	hash;
	int			len;
	entry_record *r;

	(void) state;
	odoo_retail_guard__model_stat__init(&m);
	m.database = "retail";
	m.model = "stock.move";
	m.operation = "update";
	r = entry_record_new(&m.base, &k, names, arrays);
	len = entry_key_bytes(names, &k, key, &hash);
	assert_true(len > 0);
	assert_int_equal(hash, entry_record_hash(r));
	assert_true(entry_record_has_key(r, key, (size_t) len));
	/* "select" is not in the pool: no record can have that key */
	assert_int_equal(entry_key_bytes(names, &other, key, &hash), -1);
	assert_int_equal(entry_key_bytes(names, &unknown, key, &hash), -1);
	assert_int_equal(entry_key_bytes(names, &split, key, &hash), -1);
	name_pool_ref(names, "select");
	len = entry_key_bytes(names, &other, key, &hash);
	assert_false(entry_record_has_key(r, key, (size_t) len));
	name_pool_unref(names, name_pool_find(names, "select"));
	entry_record_free(r, m.base.descriptor, names);
	assert_int_equal(name_pool_count(names), 0);
	entry_arrays_free(arrays);
	name_pool_free(names);
}

/* the pool under churn: ids reused, every name found until its last reference goes */
static void
test_name_pool_churn(void **state)
{
	name_pool  *names = name_pool_new();
	uint32_t	ids[2000];
	char		s[32];

	(void) state;
	for (int round = 0; round < 3; round++)
	{
		for (int i = 0; i < 2000; i++)
		{
			snprintf(s, sizeof(s), "table_%d", i);
			ids[i] = name_pool_ref(names, s);
			assert_string_equal(name_pool_str(names, ids[i]), s);
		}
		assert_int_equal(name_pool_count(names), 2000);
		/* every other one goes: the rest are still found */
		for (int i = 0; i < 2000; i += 2)
			name_pool_unref(names, ids[i]);
		for (int i = 0; i < 2000; i++)
		{
			snprintf(s, sizeof(s), "table_%d", i);
			assert_int_equal(name_pool_find(names, s), i % 2 ? ids[i] : 0);
		}
		for (int i = 1; i < 2000; i += 2)
			name_pool_unref(names, ids[i]);
		assert_int_equal(name_pool_count(names), 0);
	}
	assert_int_equal(name_pool_ref(names, ""), 0);
	assert_int_equal(name_pool_ref(names, NULL), 0);
	assert_string_equal(name_pool_str(names, 0), "");
	name_pool_free(names);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_types_encodable),
		cmocka_unit_test(test_model_round_trip),
		cmocka_unit_test(test_other_types_round_trip),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_name_pool_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
