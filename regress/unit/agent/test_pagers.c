/*
 * test_pagers.c: payloads for PagerDuty Events v2, Alertmanager v2 and the
 * webhook (with its HMAC), retry classification, rate limiting, backoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert/alert.h"
#include "deliver/pager.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void
make_event(alert_event *ev, alert_status st)
{
	memset(ev, 0, sizeof(*ev));
	ev->status = st;
	ev->dedup_key = xstrdup("eu/store-1/lock_wait/odoo/stock.quant");
	ev->rule = xstrdup("lock_wait");
	ev->cluster = xstrdup("eu");
	ev->node = xstrdup("store-1");
	ev->subject = xstrdup("odoo/stock.quant");
	ev->summary = xstrdup("lock_wait on store-1: lock wait 42.0s on stock.quant (root blocker pid 4242, idle in transaction)");
	ev->sev = SEV_CRITICAL;
	ev->value = 42;
	ev->starts_at_us = (int64_t) 1795435200 * 1000000;
	ev->event_at_us = ev->starts_at_us + 5000000;
	ev->ends_at_us = st == ALERT_RESOLVED ? ev->starts_at_us + 60000000 : 0;
	labels_set(&ev->labels, "alertname", "lock_wait");
	labels_set(&ev->labels, "severity", "critical");
	labels_set(&ev->labels, "model", "stock.quant");
	/* values are annotations: the label set stays the alert's identity */
	labels_set(&ev->annotations, "root_pid", "4242");
	labels_set(&ev->annotations, "duration_seconds", "42");
	labels_set(&ev->annotations, "description", "root_pid: 4242\nduration_seconds: 42");
	labels_set(&ev->annotations, "runbook_url", "https://wiki.example/rules#lock_wait");
}

static json_t *
parse(const char *s)
{
	json_error_t err;
	json_t	   *j = json_loads(s, 0, &err);

	assert_non_null(j);
	return j;
}

static const char *
str_at(json_t *o, const char *path1, const char *path2)
{
	json_t	   *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void
test_pagerduty_trigger(void **state)
{
	pager_cfg	p = {0};
	alert_event ev;
	char	   *body;
	json_t	   *j;

	(void) state;
	p.secret = "R0UTINGKEY0123456789abcdef012345";
	make_event(&ev, ALERT_FIRING);
	body = pagerduty_payload(&p, &ev);
	j = parse(body);
	assert_string_equal(str_at(j, "routing_key", NULL), "R0UTINGKEY0123456789abcdef012345");
	assert_string_equal(str_at(j, "event_action", NULL), "trigger");
	assert_string_equal(str_at(j, "dedup_key", NULL), ev.dedup_key);
	assert_string_equal(str_at(j, "payload", "summary"), ev.summary);
	assert_string_equal(str_at(j, "payload", "source"), "store-1");
	assert_string_equal(str_at(j, "payload", "severity"), "critical");
	assert_string_equal(str_at(j, "payload", "timestamp"), "2026-11-23T12:00:05.000Z");
	assert_string_equal(str_at(j, "payload", "group"), "eu");
	assert_string_equal(str_at(j, "payload", "class"), "lock_wait");
	/* custom_details: the labels, and the annotations */
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "payload"),
																		  "custom_details"), "model")), "stock.quant");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(json_object_get(j, "payload"),
																						  "custom_details"), "annotations"),
														  "root_pid")), "4242");
	json_decref(j);
	free(body);
	alert_free(&ev);
}

static void
test_pagerduty_resolve_and_limits(void **state)
{
	pager_cfg	p = {0};
	alert_event ev;
	char	   *body;
	json_t	   *j;
	char		longsum[3000];

	(void) state;
	p.secret = "k";
	make_event(&ev, ALERT_RESOLVED);
	body = pagerduty_payload(&p, &ev);
	j = parse(body);
	assert_string_equal(str_at(j, "event_action", NULL), "resolve");
	assert_string_equal(str_at(j, "dedup_key", NULL), ev.dedup_key);
	assert_null(json_object_get(j, "payload"));
	json_decref(j);
	free(body);
	/* summary capped at 1024 bytes, on a UTF-8 boundary */
	ev.status = ALERT_FIRING;
	memset(longsum, 'a', sizeof(longsum) - 1);
	longsum[sizeof(longsum) - 1] = '\0';
	memcpy(longsum + 1023, "\xc3\xa9", 2);	/* é straddling the limit */
	free(ev.summary);
	ev.summary = xstrdup(longsum);
	body = pagerduty_payload(&p, &ev);
	j = parse(body);
	assert_int_equal(strlen(str_at(j, "payload", "summary")), 1023);
	json_decref(j);
	free(body);
	assert_string_equal(pagerduty_severity(SEV_INFO), "info");
	assert_string_equal(pagerduty_severity(SEV_WARNING), "warning");
	assert_string_equal(pagerduty_severity(SEV_ERROR), "error");
	alert_free(&ev);
}

static void
test_alertmanager(void **state)
{
	pager_cfg	p = {0};
	alert_event ev;
	char	   *body,
			   *url;
	json_t	   *j,
			   *a;
	int64_t		now = (int64_t) 1795435260 * 1000000;

	(void) state;
	p.alert_ttl_s = 3600;
	make_event(&ev, ALERT_FIRING);
	labels_set(&ev.labels, "bad-name", "dropped");
	labels_set(&ev.labels, "empty", "");
	body = alertmanager_payload(&p, &ev, now);
	j = parse(body);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 1);
	a = json_array_get(j, 0);
	assert_string_equal(str_at(a, "labels", "alertname"), "lock_wait");
	assert_string_equal(str_at(a, "labels", "model"), "stock.quant");
	assert_null(json_object_get(json_object_get(a, "labels"), "root_pid"));
	assert_string_equal(str_at(a, "annotations", "root_pid"), "4242");
	assert_string_equal(str_at(a, "annotations", "description"), "root_pid: 4242\nduration_seconds: 42");
	assert_string_equal(str_at(a, "annotations", "runbook_url"), "https://wiki.example/rules#lock_wait");
	assert_null(json_object_get(json_object_get(a, "labels"), "bad-name"));
	assert_null(json_object_get(json_object_get(a, "labels"), "empty"));
	assert_string_equal(str_at(a, "annotations", "summary"), ev.summary);
	assert_string_equal(str_at(a, "startsAt", NULL), "2026-11-23T12:00:00.000Z");
	assert_string_equal(str_at(a, "endsAt", NULL), "2026-11-23T13:01:00.000Z");
	json_decref(j);
	free(body);
	alert_free(&ev);
	make_event(&ev, ALERT_RESOLVED);
	body = alertmanager_payload(&p, &ev, now);
	j = parse(body);
	assert_string_equal(str_at(json_array_get(j, 0), "endsAt", NULL), "2026-11-23T12:01:00.000Z");
	json_decref(j);
	free(body);
	alert_free(&ev);
	url = alertmanager_url("http://127.0.0.1:9093/");
	assert_string_equal(url, "http://127.0.0.1:9093/api/v2/alerts");
	free(url);
	url = alertmanager_url("http://am/api/v2/alerts");
	assert_string_equal(url, "http://am/api/v2/alerts");
	free(url);
}

static void
test_webhook_and_signature(void **state)
{
	alert_event ev;
	char	   *body,
			   *sig,
			   *ts;
	json_t	   *j;

	(void) state;
	make_event(&ev, ALERT_RESOLVED);
	body = webhook_payload(&ev);
	j = parse(body);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_string_equal(str_at(j, "status", NULL), "resolved");
	assert_string_equal(str_at(j, "ends_at", NULL), "2026-11-23T12:01:00.000Z");
	assert_string_equal(str_at(j, "labels", "model"), "stock.quant");
	assert_string_equal(str_at(j, "annotations", "root_pid"), "4242");
	assert_string_equal(str_at(j, "annotations", "runbook_url"), "https://wiki.example/rules#lock_wait");
	json_decref(j);
	free(body);
	/* the spool's form keeps the annotations */
	{
		char	   *spooled = alert_to_json(&ev);
		alert_event back;

		assert_true(alert_from_json(spooled, &back));
		assert_string_equal(labels_get(&back.annotations, "root_pid"), "4242");
		assert_int_equal(back.annotations.n, ev.annotations.n);
		alert_free(&back);
		free(spooled);
	}
	alert_free(&ev);
	/* RFC 4231 test case 2's key and data, signed with a timestamp
	 * (expected: printf '1700000000.what do ya want for nothing?' | openssl dgst -sha256 -hmac Jefe) */
	assert_true(webhook_sign("Jefe", "what do ya want for nothing?", 1700000000, &ts, &sig));
	assert_string_equal(ts, "X-Orguard-Timestamp: 1700000000");
	assert_string_equal(sig, "X-Orguard-Signature: sha256="
						"1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e");
	free(ts);
	free(sig);
	/* another second, another signature: an old one does not fit a new timestamp */
	assert_true(webhook_sign("Jefe", "what do ya want for nothing?", 1700000001, &ts, &sig));
	assert_string_not_equal(sig, "X-Orguard-Signature: sha256="
							"1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e");
	free(ts);
	free(sig);
	assert_false(webhook_sign(NULL, "x", 1, &ts, &sig));
	assert_null(ts);
	assert_null(sig);
	assert_false(webhook_sign("", "x", 1, &ts, &sig));
}

static void
test_classify(void **state)
{
	http_response r = {0};

	(void) state;
	r.status = 0;
	assert_int_equal(http_classify(&r), SEND_RETRY);
	r.status = 200;
	assert_int_equal(http_classify(&r), SEND_OK);
	r.status = 202;
	assert_int_equal(http_classify(&r), SEND_OK);
	r.status = 204;
	assert_int_equal(http_classify(&r), SEND_OK);
	r.status = 429;
	assert_int_equal(http_classify(&r), SEND_RETRY);
	r.status = 500;
	assert_int_equal(http_classify(&r), SEND_RETRY);
	r.status = 503;
	assert_int_equal(http_classify(&r), SEND_RETRY);
	r.status = 400;
	assert_int_equal(http_classify(&r), SEND_PERMANENT);
	r.status = 403;
	assert_int_equal(http_classify(&r), SEND_PERMANENT);
	r.status = 404;
	assert_int_equal(http_classify(&r), SEND_PERMANENT);
}

static void
test_rate_limit(void **state)
{
	rate_limiter rl;
	int			granted = 0;
	int64_t		t = 1000;

	(void) state;
	/* PagerDuty: 120/min, burst 30 */
	ratelimit_init(&rl, 120, t);
	while (ratelimit_take(&rl, t) == 0)
		granted++;
	assert_int_equal(granted, 30);
	/* one token every 500ms */
	assert_true(ratelimit_take(&rl, t) <= 500 && ratelimit_take(&rl, t) > 0);
	assert_int_equal(ratelimit_take(&rl, t + 500), 0);
	assert_true(ratelimit_take(&rl, t + 500) > 0);
	/* a minute at the limit grants 120 more, never more */
	granted = 0;
	for (int64_t ms = 0; ms <= 60000; ms += 50)
		while (ratelimit_take(&rl, t + 500 + ms) == 0)
			granted++;
	assert_true(granted >= 119 && granted <= 121);
	/* unlimited */
	ratelimit_init(&rl, 0, t);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ratelimit_take(&rl, t), 0);
}

static void
test_backoff(void **state)
{
	(void) state;
	assert_int_equal(backoff_ms(1, 300, 0, 0.999999), 999);
	assert_int_equal(backoff_ms(1, 300, 0, 0), 500);
	assert_int_equal(backoff_ms(1, 300, 3, 0), 4000);
	assert_int_equal(backoff_ms(1, 300, 20, 0), 150000);
	assert_true(backoff_ms(1, 300, 100, 0.999999) <= 300000);
	for (int a = 0; a < 12; a++)
		assert_true(backoff_ms(0.5, 60, a, 0.3) <= backoff_ms(0.5, 60, a + 1, 0.3));
}

static void
test_retry_after(void **state)
{
	(void) state;
	/* no Retry-After: the backoff */
	assert_int_equal(retry_delay_ms(750, 0, 300), 750);
	/* a receiver asking for longer than the backoff gets it */
	assert_int_equal(retry_delay_ms(750, 30, 300), 30000);
	/* never shorter than the backoff */
	assert_int_equal(retry_delay_ms(4000, 1, 300), 4000);
	/* capped at backoff_max */
	assert_int_equal(retry_delay_ms(750, 86400, 300), 300000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pagerduty_trigger),
		cmocka_unit_test(test_pagerduty_resolve_and_limits),
		cmocka_unit_test(test_alertmanager),
		cmocka_unit_test(test_webhook_and_signature),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_retry_after),
	};

	return cmocka_run_group_tests_name("agent pagers", tests, NULL, NULL);
}
