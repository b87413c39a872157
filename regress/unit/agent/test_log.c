/*
 * test_log.c: log records as written, with and without journald priority
 * prefixes, and the JOURNAL_STREAM check that decides between them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

static const char *TS = "2026-12-07T01:02:03.456Z";

static char *
record(log_format fmt, bool journal, log_level level, const char *msg)
{
	strbuf		sb;

	sb_init(&sb);
	log_format_record(&sb, fmt, journal, level, TS, msg);
	return sb_steal(&sb);
}

static void
test_priorities(void **state)
{
	(void) state;
	/* syslog(3): LOG_ERR 3, LOG_WARNING 4, LOG_INFO 6, LOG_DEBUG 7 */
	assert_int_equal(log_syslog_priority(LOG_ERROR), 3);
	assert_int_equal(log_syslog_priority(LOG_WARN), 4);
	assert_int_equal(log_syslog_priority(LOG_INFO), 6);
	assert_int_equal(log_syslog_priority(LOG_DEBUG), 7);
}

static void
test_text_records(void **state)
{
	char	   *s;

	(void) state;
	s = record(LOG_FORMAT_TEXT, false, LOG_ERROR, "node a: down");
	assert_string_equal(s, "2026-12-07T01:02:03.456Z error: node a: down\n");
	free(s);
	s = record(LOG_FORMAT_TEXT, true, LOG_ERROR, "node a: down");
	assert_string_equal(s, "<3>2026-12-07T01:02:03.456Z error: node a: down\n");
	free(s);
	s = record(LOG_FORMAT_TEXT, true, LOG_WARN, "w");
	assert_string_equal(s, "<4>2026-12-07T01:02:03.456Z warning: w\n");
	free(s);
	s = record(LOG_FORMAT_TEXT, true, LOG_INFO, "i");
	assert_string_equal(s, "<6>2026-12-07T01:02:03.456Z info: i\n");
	free(s);
	s = record(LOG_FORMAT_TEXT, true, LOG_DEBUG, "d");
	assert_string_equal(s, "<7>2026-12-07T01:02:03.456Z debug: d\n");
	free(s);
}

/* journald reads line by line: a second line without a prefix would be info */
static void
test_multiline(void **state)
{
	char	   *s;

	(void) state;
	s = record(LOG_FORMAT_TEXT, true, LOG_ERROR, "query failed\nDETAIL: x\n");
	assert_string_equal(s, "<3>2026-12-07T01:02:03.456Z error: query failed\n<3>DETAIL: x\n\n");
	free(s);
	s = record(LOG_FORMAT_TEXT, false, LOG_ERROR, "a\nb");
	assert_string_equal(s, "2026-12-07T01:02:03.456Z error: a\nb\n");
	free(s);
}

static void
test_json_records(void **state)
{
	char	   *s;

	(void) state;
	s = record(LOG_FORMAT_JSON, true, LOG_WARN, "say \"hi\"\nnow");
	assert_string_equal(s, "<4>{\"ts\":\"2026-12-07T01:02:03.456Z\",\"level\":\"warning\","
						"\"msg\":\"say \\\"hi\\\"\\nnow\"}\n");
	free(s);
	s = record(LOG_FORMAT_JSON, false, LOG_INFO, "x");
	assert_string_equal(s, "{\"ts\":\"2026-12-07T01:02:03.456Z\",\"level\":\"info\",\"msg\":\"x\"}\n");
	free(s);
}

static void
test_journal_stream(void **state)
{
	(void) state;
	assert_true(log_journal_stream_matches("64769:123456", 64769, 123456));
	/* another file (stderr redirected by a parent): no prefixes */
	assert_false(log_journal_stream_matches("64769:123456", 64769, 123457));
	assert_false(log_journal_stream_matches("64768:123456", 64769, 123456));
	assert_false(log_journal_stream_matches(NULL, 1, 2));
	assert_false(log_journal_stream_matches("", 1, 2));
	assert_false(log_journal_stream_matches("1:2x", 1, 2));
	assert_false(log_journal_stream_matches("1:2:3", 1, 2));
	assert_false(log_journal_stream_matches(" 1:2", 1, 2));
	assert_false(log_journal_stream_matches("1", 1, 2));
	assert_false(log_journal_stream_matches("-1:2", 1, 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priorities),
		cmocka_unit_test(test_text_records),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_json_records),
		cmocka_unit_test(test_journal_stream),
	};

	return cmocka_run_group_tests_name("agent log", tests, NULL, NULL);
}
