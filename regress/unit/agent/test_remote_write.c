/*
 * test_remote_write.c: remote write 1.0 encoding: a snappy block (not the
 * framed format) holding a WriteRequest whose series carry __name__, sorted
 * labels, external labels and one sample each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "export/remote_write.h"
#include "remote_write.pb-c.h"

#include <snappy-c.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void
test_encode(void **state)
{
	metric_set	ms = {0};
	metric_family *f;
	labelset	ext = {0};
	size_t		len,
				series,
				raw_len;
	uint8_t    *body;
	char	   *raw;
	Prometheus__WriteRequest *req;

	(void) state;
	f = mset_family(&ms, "orguard_node_up", "x", METRIC_GAUGE);
	mset_add(f, 1, "node", "store-1", "cluster", "eu", NULL);
	mset_add(f, 0, "node", "store-2", "cluster", "eu", "empty", "", NULL);
	f = mset_family(&ms, "orguard_polls_total", "x", METRIC_COUNTER);
	mset_add(f, 42, NULL);
	f = mset_family(&ms, "bad-name", "x", METRIC_GAUGE);
	mset_add(f, 1, NULL);
	labels_set(&ext, "region", "eu-west");
	labels_set(&ext, "cluster", "external-loses");
	body = remote_write_encode(&ms, &ext, 1795435200000LL, NULL, &len, &series);
	assert_int_equal(series, 3);
	assert_true(len > 0);
	/* a snappy block, not the framed format */
	assert_true(len < 10 || memcmp(body, "\xff\x06\x00\x00sNaPpY", 10) != 0);
	assert_int_equal(snappy_uncompressed_length((const char *) body, len, &raw_len), SNAPPY_OK);
	raw = malloc(raw_len);
	assert_int_equal(snappy_uncompress((const char *) body, len, raw, &raw_len), SNAPPY_OK);
	req = prometheus__write_request__unpack(NULL, raw_len, (const uint8_t *) raw);
	assert_non_null(req);
	assert_int_equal(req->n_timeseries, 3);
	for (size_t i = 0; i < req->n_timeseries; i++)
	{
		Prometheus__TimeSeries *ts = req->timeseries[i];

		for (size_t l = 1; l < ts->n_labels; l++)
			assert_true(strcmp(ts->labels[l - 1]->name, ts->labels[l]->name) < 0);
		for (size_t l = 0; l < ts->n_labels; l++)
			assert_true(*ts->labels[l]->value);	/* no empty values */
		assert_int_equal(ts->n_samples, 1);
		assert_true(ts->samples[0]->timestamp == 1795435200000LL);
	}
	{
		Prometheus__TimeSeries *ts = req->timeseries[0];

		assert_int_equal(ts->n_labels, 4);
		assert_string_equal(ts->labels[0]->name, "__name__");
		assert_string_equal(ts->labels[0]->value, "orguard_node_up");
		assert_string_equal(ts->labels[1]->name, "cluster");
		assert_string_equal(ts->labels[1]->value, "eu");	/* the series' own label wins */
		assert_string_equal(ts->labels[2]->name, "node");
		assert_string_equal(ts->labels[3]->name, "region");
		assert_true(ts->samples[0]->value == 1);
	}
	assert_string_equal(req->timeseries[2]->labels[0]->value, "orguard_polls_total");
	assert_true(req->timeseries[2]->samples[0]->value == 42);
	prometheus__write_request__free_unpacked(req, NULL);
	free(raw);
	free(body);
	labels_free(&ext);
	mset_free(&ms);
}

/* a label value with invalid UTF-8 (a LATIN1 database name) is cleaned, not sent as is */
static void
test_invalid_utf8_label(void **state)
{
	metric_set	ms = {0};
	metric_family *f;
	size_t		len,
				series,
				raw_len;
	uint8_t    *body;
	char	   *raw;
	Prometheus__WriteRequest *req;
	Prometheus__TimeSeries *ts;

	(void) state;
	f = mset_family(&ms, "orguard_node_up", "x", METRIC_GAUGE);
	mset_add(f, 1, "database", "caf\xe9", NULL);
	body = remote_write_encode(&ms, NULL, 1, NULL, &len, &series);
	assert_int_equal(series, 1);
	assert_int_equal(snappy_uncompressed_length((const char *) body, len, &raw_len), SNAPPY_OK);
	raw = malloc(raw_len);
	assert_int_equal(snappy_uncompress((const char *) body, len, raw, &raw_len), SNAPPY_OK);
	req = prometheus__write_request__unpack(NULL, raw_len, (const uint8_t *) raw);
	assert_non_null(req);
	ts = req->timeseries[0];
	assert_string_equal(ts->labels[1]->name, "database");
	assert_string_equal(ts->labels[1]->value, "caf\xef\xbf\xbd");
	prometheus__write_request__free_unpacked(req, NULL);
	free(raw);
	free(body);
	mset_free(&ms);
}

static void
test_encode_empty(void **state)
{
	metric_set	ms = {0};
	size_t		len,
				series;
	uint8_t    *body;

	(void) state;
	body = remote_write_encode(&ms, NULL, 1, NULL, &len, &series);
	assert_int_equal(series, 0);
	free(body);
}

static Prometheus__WriteRequest *
decode(uint8_t *body, size_t len)
{
	size_t		raw_len;
	char	   *raw;
	Prometheus__WriteRequest *req;

	assert_int_equal(snappy_uncompressed_length((const char *) body, len, &raw_len), SNAPPY_OK);
	raw = malloc(raw_len ? raw_len : 1);
	assert_int_equal(snappy_uncompress((const char *) body, len, raw, &raw_len), SNAPPY_OK);
	req = prometheus__write_request__unpack(NULL, raw_len, (const uint8_t *) raw);
	free(raw);
	free(body);
	assert_non_null(req);
	return req;
}

static void
test_stale_markers(void **state)
{
	metric_set	ms = {0};
	metric_family *f;
	rw_state	st = {0};
	size_t		len,
				series;
	uint8_t    *body;
	Prometheus__WriteRequest *req;
	uint64_t	bits;

	(void) state;
	f = mset_family(&ms, "orguard_node_up", "x", METRIC_GAUGE);
	mset_add(f, 1, "node", "a", NULL);
	mset_add(f, 1, "node", "b", NULL);
	body = remote_write_encode(&ms, NULL, 1000, &st, &len, &series);
	req = decode(body, len);
	assert_int_equal(req->n_timeseries, 2);
	assert_int_equal(st.n, 2);
	prometheus__write_request__free_unpacked(req, NULL);
	mset_free(&ms);

	/* node b is gone: it gets the stale NaN, a stays */
	f = mset_family(&ms, "orguard_node_up", "x", METRIC_GAUGE);
	mset_add(f, 1, "node", "a", NULL);
	body = remote_write_encode(&ms, NULL, 2000, &st, &len, &series);
	req = decode(body, len);
	assert_int_equal(series, 2);
	assert_int_equal(req->n_timeseries, 2);
	assert_string_equal(req->timeseries[1]->labels[1]->value, "b");
	memcpy(&bits, &req->timeseries[1]->samples[0]->value, sizeof(bits));
	assert_true(bits == REMOTE_WRITE_STALE_NAN);
	assert_true(req->timeseries[1]->samples[0]->timestamp == 2000);
	assert_true(req->timeseries[0]->samples[0]->value == 1);
	assert_int_equal(st.n, 1);
	prometheus__write_request__free_unpacked(req, NULL);

	/* marked once only */
	body = remote_write_encode(&ms, NULL, 3000, &st, &len, &series);
	req = decode(body, len);
	assert_int_equal(req->n_timeseries, 1);
	prometheus__write_request__free_unpacked(req, NULL);
	mset_free(&ms);
	rw_state_free(&st);
}

/* a histogram sample's series is named with its suffix */
static void
test_histogram_names(void **state)
{
	metric_set	ms = {0};
	metric_family *f;
	labelset	ls = {0};
	size_t		len,
				series;
	uint8_t    *body;
	Prometheus__WriteRequest *req;

	(void) state;
	f = mset_family(&ms, "orguard_model_duration_seconds", "x", METRIC_HISTOGRAM);
	labels_set(&ls, "model", "pos.order");
	mset_add_suffixed(f, "_sum", &ls, 1.5);
	mset_add_suffixed(f, "_count", &ls, 3);
	body = remote_write_encode(&ms, NULL, 1000, NULL, &len, &series);
	req = decode(body, len);
	assert_int_equal(req->n_timeseries, 2);
	assert_string_equal(req->timeseries[0]->labels[0]->value, "orguard_model_duration_seconds_sum");
	assert_string_equal(req->timeseries[1]->labels[0]->value, "orguard_model_duration_seconds_count");
	prometheus__write_request__free_unpacked(req, NULL);
	labels_free(&ls);
	mset_free(&ms);
}

/* the headers of an authenticated push: basic auth encoded, or a bearer token, then extra headers */
static void
test_auth_headers(void **state)
{
	labelset	extra = {0};
	remote_write_opts o = {.url = "https://x/api/v1/write", .username = "alice", .password = "s3cret:pw",
	.headers = &extra};
	char	  **h;

	(void) state;
	labels_set(&extra, "X-Scope-OrgID", "tenant-a");
	h = remote_write_headers(&o);
	assert_string_equal(h[0], "Content-Encoding: snappy");
	assert_string_equal(h[1], "Content-Type: application/x-protobuf");
	assert_string_equal(h[2], "X-Prometheus-Remote-Write-Version: 0.1.0");
	/* base64 of "alice:s3cret:pw" (a colon in the password is fine) */
	assert_string_equal(h[3], "Authorization: Basic YWxpY2U6czNjcmV0OnB3");
	assert_string_equal(h[4], "X-Scope-OrgID: tenant-a");
	assert_null(h[5]);
	remote_write_headers_free(h);

	o.username = NULL;
	o.bearer_token = "tok-123";
	h = remote_write_headers(&o);
	assert_string_equal(h[3], "Authorization: Bearer tok-123");
	remote_write_headers_free(h);

	o.bearer_token = NULL;
	o.headers = NULL;
	h = remote_write_headers(&o);
	assert_null(h[3]);
	remote_write_headers_free(h);
	labels_free(&extra);
}

/*
 * A series sent again keeps its state entry (no new key or label copy per
 * cycle); one that comes back after its stale marker is sent as live again,
 * and equal series sent twice in one batch are one key, never marked stale
 * while either is sent.
 */
static void
test_state_kept_across_batches(void **state)
{
	metric_set	ms = {0};
	metric_family *f;
	rw_state	st = {0};
	size_t		len,
				series;
	uint8_t    *body;
	Prometheus__WriteRequest *req;
	char	   *key_a;

	(void) state;
	f = mset_family(&ms, "orguard_node_up", "x", METRIC_GAUGE);
	mset_add(f, 1, "node", "a", NULL);
	mset_add(f, 1, "node", "a", NULL);
	mset_add(f, 1, "node", "b", NULL);
	free(remote_write_encode(&ms, NULL, 1000, &st, &len, &series));
	assert_int_equal(st.n, 3);
	key_a = st.keys[0];
	free(remote_write_encode(&ms, NULL, 2000, &st, &len, &series));
	assert_int_equal(series, 3);
	assert_ptr_equal(st.keys[0], key_a);
	mset_free(&ms);

	/* one a and no b: b is stale, a is not */
	f = mset_family(&ms, "orguard_node_up", "x", METRIC_GAUGE);
	mset_add(f, 1, "node", "a", NULL);
	body = remote_write_encode(&ms, NULL, 3000, &st, &len, &series);
	req = decode(body, len);
	assert_int_equal(req->n_timeseries, 2);
	assert_string_equal(req->timeseries[1]->labels[1]->value, "b");
	assert_true(isnan(req->timeseries[1]->samples[0]->value));
	prometheus__write_request__free_unpacked(req, NULL);
	mset_free(&ms);

	/* b back: live, and nothing stale */
	f = mset_family(&ms, "orguard_node_up", "x", METRIC_GAUGE);
	mset_add(f, 1, "node", "a", NULL);
	mset_add(f, 5, "node", "b", NULL);
	body = remote_write_encode(&ms, NULL, 4000, &st, &len, &series);
	req = decode(body, len);
	assert_int_equal(req->n_timeseries, 2);
	assert_true(req->timeseries[1]->samples[0]->value == 5);
	prometheus__write_request__free_unpacked(req, NULL);
	mset_free(&ms);
	rw_state_free(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_encode_empty),
		cmocka_unit_test(test_invalid_utf8_label),
		cmocka_unit_test(test_stale_markers),
		cmocka_unit_test(test_histogram_names),
		cmocka_unit_test(test_auth_headers),
		cmocka_unit_test(test_state_kept_across_batches),
	};

	return cmocka_run_group_tests_name("agent remote write", tests, NULL, NULL);
}
