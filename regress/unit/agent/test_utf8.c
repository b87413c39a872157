/*
 * test_utf8.c: every text the agent puts into JSON is valid UTF-8, cut at
 * a character boundary; deduplication keys of long non-ASCII names stay
 * deliverable; the spool and the payloads keep every field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert/alert.h"
#include "deliver/pager.h"
#include "common/utf8.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define ZHE "\xD0\x96"			/* Ж, 2 bytes */
#define EURO "\xE2\x82\xAC"		/* €, 3 bytes */
#define CLEF "\xF0\x9D\x84\x9E"	/* 𝄞, 4 bytes */
#define FFFD UTF8_REPLACEMENT

/* n copies of a 2-byte Cyrillic letter, after an optional ASCII prefix */
static char *
cyrillic(const char *prefix, int n)
{
	strbuf		sb;

	sb_init(&sb);
	sb_append(&sb, prefix);
	for (int i = 0; i < n; i++)
		sb_append(&sb, ZHE);
	return sb_steal(&sb);
}

static void
test_valid(void **state)
{
	(void) state;
	assert_true(utf8_valid(""));
	assert_true(utf8_valid("plain ascii"));
	assert_true(utf8_valid(ZHE EURO CLEF));
	assert_false(utf8_valid("\xFF"));
	assert_false(utf8_valid("a\xD0"));	/* truncated sequence */
	assert_false(utf8_valid("\xC0\xAF"));	/* overlong '/' */
	assert_false(utf8_valid("\xE0\x80\xAF"));	/* overlong, 3 bytes */
	assert_false(utf8_valid("\xED\xA0\x80"));	/* surrogate U+D800 */
	assert_false(utf8_valid("\xF4\x90\x80\x80"));	/* above U+10FFFF */
	assert_false(utf8_valid("\x80"));	/* lone continuation */
}

static void
test_replace(void **state)
{
	char	   *s;

	(void) state;
	s = utf8_clean("ok " ZHE EURO CLEF, 0);
	assert_string_equal(s, "ok " ZHE EURO CLEF);
	free(s);
	s = utf8_clean("a\xFF" "b\xD0", 0);
	assert_string_equal(s, "a" FFFD "b" FFFD);
	free(s);
	/* one replacement per bad byte, the good character after it kept */
	s = utf8_clean("\xE2\x82" ZHE "\xC0\xAF", 0);
	assert_string_equal(s, FFFD FFFD ZHE FFFD FFFD);
	assert_true(utf8_valid(s));
	free(s);
	s = utf8_clean(NULL, 0);
	assert_string_equal(s, "");
	free(s);
}

static void
test_cut(void **state)
{
	char	   *s;

	(void) state;
	/* a cut inside a character drops the whole character */
	s = utf8_clean("a" ZHE, 2);
	assert_string_equal(s, "a");
	free(s);
	s = utf8_clean("a" EURO, 3);
	assert_string_equal(s, "a");
	free(s);
	s = utf8_clean("a" CLEF, 4);
	assert_string_equal(s, "a");
	free(s);
	s = utf8_clean("a" CLEF, 5);
	assert_string_equal(s, "a" CLEF);
	free(s);
	/* a replacement (3 bytes) that does not fit is not written in half */
	s = utf8_clean("ab\xFF", 4);
	assert_string_equal(s, "ab");
	free(s);
	assert_int_equal(utf8_prefix_len("a" ZHE ZHE, 4), 3);
	assert_int_equal(utf8_prefix_len("a" ZHE ZHE, 5), 5);
	assert_int_equal(utf8_prefix_len("abc", 0), 0);
}

static void
test_json_text(void **state)
{
	json_t	   *o = json_object();
	char	   *dump;

	(void) state;
	json_set_text(o, "k\xFF", "v\xD0");
	json_object_set_new(o, "n", json_text(NULL));
	dump = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(dump, "{\"k" FFFD "\":\"v" FFFD "\",\"n\":\"\"}");
	free(dump);
	json_decref(o);
}

/*
 * A 150-character Cyrillic store name in the key: the cut used to fall in
 * the middle of a character, and json_string() then refused the whole key.
 */
static void
test_dedup_key_cut_on_boundary(void **state)
{
	char	   *store = cyrillic("x", 150);	/* odd prefix: byte 238 is mid-character */
	char	   *k = alert_dedup_key("eu", "n1", "lock_wait", store);
	char	   *k2 = alert_dedup_key("eu", "n1", "lock_wait", store);
	char	   *other;

	(void) state;
	assert_true(strlen(k) <= DEDUP_KEY_MAX);
	assert_true(utf8_valid(k));
	assert_string_equal(k, k2);
	assert_non_null(strchr(k, '#'));
	/* another long name gets another key */
	store[1] = 'y';
	other = alert_dedup_key("eu", "n1", "lock_wait", store);
	assert_string_not_equal(k, other);
	free(other);
	free(k2);
	free(k);
	free(store);
	/* invalid bytes in a name give a valid key */
	k = alert_dedup_key("eu", "n1", "lock_wait", "db\xFF/model");
	assert_string_equal(k, "eu/n1/lock_wait/db" FFFD "/model");
	free(k);
}

static void
make_event(alert_event *ev, const char *name)
{
	memset(ev, 0, sizeof(*ev));
	ev->status = ALERT_FIRING;
	ev->dedup_key = alert_dedup_key("eu", "n1", "lock_wait", name);
	ev->rule = xstrdup("lock_wait");
	ev->cluster = xstrdup("eu");
	ev->node = xstrdup("n1");
	ev->subject = xstrdup(name);
	ev->summary = xasprintf("wait on %s \xFF", name);
	ev->sev = SEV_CRITICAL;
	ev->value = 42;
	ev->starts_at_us = (int64_t) 1795435200 * 1000000;
	ev->event_at_us = ev->starts_at_us;
	labels_set(&ev->labels, "store", name);
	labels_set(&ev->labels, "root_query", "UPDATE \xD0");
}

static void
assert_field(json_t *o, const char *k)
{
	json_t	   *v = json_object_get(o, k);

	assert_true(json_is_string(v));
	assert_true(utf8_valid(json_string_value(v)));
}

/* every builder keeps every field: dedup key, labels, summary */
static void
test_payloads_keep_fields(void **state)
{
	char	   *store = cyrillic("x", 150);
	char	   *bad = xasprintf("%.*s", 239, store);	/* a byte-wise cut: ends mid-character */
	alert_event ev,
				back;
	pager_cfg	p = {0};
	char	   *body;
	json_t	   *j;

	(void) state;
	make_event(&ev, bad);

	/* the spool form reads back */
	body = alert_to_json(&ev);
	assert_true(alert_from_json(body, &back));
	assert_string_equal(back.dedup_key, ev.dedup_key);
	assert_true(utf8_valid(back.subject));
	alert_free(&back);
	free(body);

	body = webhook_payload(&ev);
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "dedup_key")), ev.dedup_key);
	assert_field(j, "subject");
	assert_field(j, "summary");
	assert_field(json_object_get(j, "labels"), "store");
	assert_field(json_object_get(j, "labels"), "root_query");
	json_decref(j);
	free(body);

	p.secret = "k";
	body = pagerduty_payload(&p, &ev);
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "dedup_key")), ev.dedup_key);
	assert_field(json_object_get(j, "payload"), "summary");
	assert_field(json_object_get(json_object_get(j, "payload"), "custom_details"), "store");
	json_decref(j);
	free(body);

	p.alert_ttl_s = 3600;
	body = alertmanager_payload(&p, &ev, ev.event_at_us);
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	assert_field(json_object_get(json_array_get(j, 0), "labels"), "store");
	assert_field(json_object_get(json_array_get(j, 0), "labels"), "root_query");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(j, 0),
																		  "annotations"), "dedup_key")),
						ev.dedup_key);
	json_decref(j);
	free(body);

	alert_free(&ev);
	free(bad);
	free(store);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_dedup_key_cut_on_boundary),
		cmocka_unit_test(test_payloads_keep_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
