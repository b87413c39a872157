/*-------------------------------------------------------------------------
 *
 * test_normalize.c
 *	  Unit tests for the query text normalizer.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "normalize.h"

#define BIG 8192

/* Normalize with a roomy buffer and compare */
static void
check_norm(const char *src, const char *want)
{
	char		buf[BIG];
	int			n;

	memset(buf, 'Z', sizeof(buf));
	n = org_normalize_query(src, -1, buf, (int) sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("input:  [%s]\ngot:    [%s]\nwanted: [%s]", src, buf, want);
	assert_int_equal(n, (int) strlen(want));
}

static void
test_string_literals(void **state)
{
	(void) state;
	check_norm("SELECT * FROM t WHERE a = 'x'", "SELECT * FROM t WHERE a = $1");
	check_norm("SELECT 'it''s', '', ''''", "SELECT $1, $2, $3");
	/* backslash is an ordinary char in standard strings */
	check_norm("SELECT 'a\\', 'b'", "SELECT $1, $2");
	check_norm("SELECT E'it\\'s', e'\\\\', E'a''b', E'\\n' || 'x'",
			   "SELECT $1, $2, $3, $4 || $5");
	check_norm("SELECT B'0101', b'1', X'FF', x'0a', N'nat', n'x'",
			   "SELECT $1, $2, $3, $4, $5, $6");
	check_norm("SELECT U&'d\\0061t', u&'x' UESCAPE '!'",
			   "SELECT $1, $2 UESCAPE $3");
	/* prefixes only count at the start of a token */
	check_norm("SELECT name'x' FROM be'y'", "SELECT name$1 FROM be$2");
	check_norm("SELECT E 'x'", "SELECT E $1");
	/* typed literals and casts keep the type */
	check_norm("SELECT '2024-01-01'::date, DATE '2024-01-01', CAST('5' AS int), "
			   "INTERVAL '1 day'",
			   "SELECT $1::date, DATE $2, CAST($3 AS int), INTERVAL $4");
	check_norm("SELECT '{\"en_US\": \"Chair\"}'::jsonb->>'en_US'",
			   "SELECT $1::jsonb->>$2");
}

static void
test_dollar_quotes(void **state)
{
	(void) state;
	check_norm("SELECT $$it's$$", "SELECT $1");
	check_norm("SELECT $$$$, 1", "SELECT $1, $2");
	check_norm("DO $fn$ BEGIN PERFORM $$x$$; PERFORM 'y'; END $fn$",
			   "DO $1");
	check_norm("SELECT $a$ $b$ $a$, $b$x$b$", "SELECT $1, $2");
	check_norm("SELECT $_t1$x$_t1$", "SELECT $1");
	/* '$' inside identifiers is not a quote */
	check_norm("SELECT a$b$, c$ FROM t$1", "SELECT a$b$, c$ FROM t$1");
	/* a lone '$' is an operator char */
	check_norm("SELECT $ + 1", "SELECT $ + $1");
	/* $1 is a parameter, not a tag */
	check_norm("SELECT $1$", "SELECT $1$");
}

static void
test_numbers(void **state)
{
	(void) state;
	check_norm("SELECT 1, 42, 1.5, .5, 2., 1e10, 1.5E-3, 7e+2",
			   "SELECT $1, $2, $3, $4, $5, $6, $7, $8");
	check_norm("SELECT -1, +2, 3-4", "SELECT -$1, +$2, $3-$4");
	check_norm("SELECT t1.col_2, a1b2, x1e10 FROM tab3 AS t1",
			   "SELECT t1.col_2, a1b2, x1e10 FROM tab3 AS t1");
	check_norm("SELECT \"col 1\", \"we\"\"ird 42\", \"T\".\"x\" FROM \"t\"",
			   "SELECT \"col 1\", \"we\"\"ird 42\", \"T\".\"x\" FROM \"t\"");
	check_norm("SELECT U&\"d\\0061t\" FROM t", "SELECT U&\"d\\0061t\" FROM t");
	/* trailing junk stays inside the literal so no digits leak */
	check_norm("SELECT 0x1F, 1_000_000, 0o17, 12abc", "SELECT $1, $2, $3, $4");
	check_norm("FOR i IN 1..10 LOOP", "FOR i IN $1..$2 LOOP");
	check_norm("SELECT a.b FROM t LIMIT 10 OFFSET 20",
			   "SELECT a.b FROM t LIMIT $1 OFFSET $2");
}

static void
test_keywords_params_operators(void **state)
{
	(void) state;
	check_norm("SELECT * FROM t WHERE active = TRUE AND x IS NULL AND y = false",
			   "SELECT * FROM t WHERE active = TRUE AND x IS NULL AND y = false");
	check_norm("SELECT * FROM t WHERE a <> $1 AND b >= $2",
			   "SELECT * FROM t WHERE a <> $1 AND b >= $2");
	/* numbering continues after the highest existing parameter */
	check_norm("SELECT * FROM t WHERE a = $1 AND b = 'x' AND c = $3 AND d = 5",
			   "SELECT * FROM t WHERE a = $1 AND b = $4 AND c = $3 AND d = $5");
	check_norm("SELECT $12, 1", "SELECT $12, $13");
	/* "$9" inside a literal is not a parameter */
	check_norm("SELECT '$9', $2", "SELECT $3, $2");
	check_norm("SELECT $$ $7 $$, 1", "SELECT $1, $2");
	/* absurd parameter numbers are handled without overflow */
	check_norm("SELECT $99999999999999999999999, 1",
			   "SELECT $99999999999999999999999, $1000000000");
	check_norm("SELECT \"naïve\" FROM \"café\" WHERE été = 1",
			   "SELECT \"naïve\" FROM \"café\" WHERE été = $1");
}

static void
test_comments_whitespace(void **state)
{
	(void) state;
	check_norm("SELECT /* a /* nested */ still comment */ 1 -- trailing 'x'\nFROM t",
			   "SELECT $1 FROM t");
	check_norm("SELECT a/*x*/FROM t", "SELECT a FROM t");
	check_norm("SELECT 1 -- no newline", "SELECT $1");
	check_norm("SELECT 1 /* unterminated 'secret'", "SELECT $1");
	check_norm("SELECT 1 /* /* */ still open", "SELECT $1");
	check_norm("  \t\r\n SELECT\t\n a ,\r\n  b  \n", "SELECT a , b");
	check_norm("/* lead */ SELECT 1 /* trail */", "SELECT $1");
	check_norm("SELECT 5--3\n", "SELECT $1");
	check_norm("SELECT a-b, a/b, a*b", "SELECT a-b, a/b, a*b");
	check_norm("", "");
	check_norm("   \n\t ", "");
	check_norm("-- only a comment", "");
}

static void
test_in_lists(void **state)
{
	(void) state;
	check_norm("SELECT * FROM t WHERE id IN (1, 2, 3)",
			   "SELECT * FROM t WHERE id IN ($1, ...)");
	check_norm("SELECT * FROM t WHERE id IN (1,2) AND s IN ('draft','sale') AND x IN (5)",
			   "SELECT * FROM t WHERE id IN ($1, ...) AND s IN ($2, ...) AND x IN ($3)");
	check_norm("SELECT 1 FROM t WHERE a in ( 1 , 2 ) OR b NOT IN (3, 4)",
			   "SELECT $1 FROM t WHERE a in ($2, ...) OR b NOT IN ($3, ...)");
	check_norm("WHERE a IN (-1, +2, NULL) AND b IN ('a'::text, 'b'::text) AND "
			   "c IN ('x'::varchar[], 'y'::varchar[])",
			   "WHERE a IN (-$1, ...) AND b IN ($2::text, ...) AND c IN ($3::varchar[], ...)");
	check_norm("WHERE a IN /* why */ (1, 2)", "WHERE a IN ($1, ...)");
	/* not all constants: no collapse */
	check_norm("WHERE a IN (1, b, 3)", "WHERE a IN ($1, b, $2)");
	check_norm("WHERE a IN ($1, $2, $3)", "WHERE a IN ($1, $2, $3)");
	check_norm("WHERE a IN (SELECT id FROM t WHERE x IN (7, 8))",
			   "WHERE a IN (SELECT id FROM t WHERE x IN ($1, ...))");
	check_norm("WHERE a IN (1, 2", "WHERE a IN ($1, $2");
	check_norm("WHERE a IN ()", "WHERE a IN ()");
	check_norm("WHERE a IN (1, f(2))", "WHERE a IN ($1, f($2))");
	check_norm("WHERE a IN (1 + 2, 3)", "WHERE a IN ($1 + $2, $3)");
	check_norm("SELECT \"in\" (1, 2)", "SELECT \"in\" ($1, $2)");
	check_norm("WHERE a = ANY(ARRAY[1, 2, 3]) AND b = ARRAY['x'] AND c = ARRAY[[1,2]]",
			   "WHERE a = ANY(ARRAY[$1, ...]) AND b = ARRAY[$2] AND c = ARRAY[[$3,$4]]");
}

static void
test_in_list_huge(void **state)
{
	char	   *a = malloc(BIG * 4);
	char	   *b = malloc(BIG * 4);
	char		out1[256];
	char		out2[256];
	int			i;
	size_t		len;

	(void) state;
	assert_non_null(a);
	assert_non_null(b);
	/* 1000 ids and 3 ids give the same shape */
	len = (size_t) sprintf(a, "SELECT id FROM res_partner WHERE id IN (");
	for (i = 1; i <= 1000; i++)
		len += (size_t) sprintf(a + len, "%s%d", i > 1 ? ", " : "", i * 7);
	strcpy(a + len, ") ORDER BY id");
	strcpy(b, "SELECT id FROM res_partner WHERE id IN (1, 2, 3) ORDER BY id");
	org_normalize_query(a, -1, out1, (int) sizeof(out1));
	org_normalize_query(b, -1, out2, (int) sizeof(out2));
	assert_string_equal(out1, "SELECT id FROM res_partner WHERE id IN ($1, ...) ORDER BY id");
	assert_string_equal(out1, out2);
	free(a);
	free(b);
}

static void
test_values_lists(void **state)
{
	(void) state;
	check_norm("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, NULL) RETURNING id",
			   "INSERT INTO t (a, b) VALUES ($1, $2), ... RETURNING id");
	check_norm("INSERT INTO t VALUES(1,'x'),(2,'y')", "INSERT INTO t VALUES($1,$2), ...");
	check_norm("INSERT INTO t VALUES (1, 2)", "INSERT INTO t VALUES ($1, $2)");
	check_norm("INSERT INTO t VALUES (1, DEFAULT, TRUE, -4, '{}'::jsonb), "
			   "(2, DEFAULT, FALSE, 5, '{}'::jsonb)",
			   "INSERT INTO t VALUES ($1, DEFAULT, TRUE, -$2, $3::jsonb), ...");
	/* a row that is not all constants stops the collapse */
	check_norm("INSERT INTO t VALUES (1, now()), (2, now())",
			   "INSERT INTO t VALUES ($1, now()), ($2, now())");
	check_norm("INSERT INTO t VALUES (1, 'a'), (2, $1)",
			   "INSERT INTO t VALUES ($2, $3), ($4, $1)");
	check_norm("INSERT INTO t VALUES (1), (2) ON CONFLICT (a) DO UPDATE SET b = 5",
			   "INSERT INTO t VALUES ($1), ... ON CONFLICT (a) DO UPDATE SET b = $2");
	check_norm("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(n, s)",
			   "SELECT * FROM (VALUES ($1, $2), ...) AS v(n, s)");
	check_norm("INSERT INTO t VALUES (1), (2), 3", "INSERT INTO t VALUES ($1), ($2), $3");
	check_norm("INSERT INTO t VALUES", "INSERT INTO t VALUES");
	/* Odoo style insert keeps nextval and collapses nothing else */
	check_norm("INSERT INTO \"sale_order_line\" (\"id\", \"name\") VALUES "
			   "(nextval('sale_order_line_id_seq'), 'Chair')",
			   "INSERT INTO \"sale_order_line\" (\"id\", \"name\") VALUES "
			   "(nextval($1), $2)");
}

static void
test_unterminated(void **state)
{
	(void) state;
	check_norm("SELECT * FROM t WHERE a = 'abc", "SELECT * FROM t WHERE a = $1");
	check_norm("SELECT 'abc''", "SELECT $1");
	check_norm("SELECT E'abc\\'", "SELECT $1");
	check_norm("SELECT E'abc\\", "SELECT $1");
	check_norm("SELECT $$abc", "SELECT $1");
	check_norm("SELECT $tag$abc $tag", "SELECT $1");
	check_norm("SELECT X'ff", "SELECT $1");
	/* unterminated quoted identifier: later literals are still replaced */
	check_norm("SELECT \"abc FROM t WHERE x = 'secret'",
			   "SELECT \"abc FROM t WHERE x = $1");
	check_norm("SELECT U&\"abc = 'secret'", "SELECT U&\"abc = $1");
	check_norm("'", "$1");
}

static void
test_srclen(void **state)
{
	char		buf[64];
	const char	embedded[] = "SELECT 1\0 'secret'";

	(void) state;
	assert_int_equal(org_normalize_query("SELECT 1; garbage", 8, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "SELECT $1");
	/* cutting inside a literal still hides it */
	assert_int_equal(org_normalize_query("SELECT 'secret'", 10, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "SELECT $1");
	/* an embedded NUL ends the input */
	org_normalize_query(embedded, (int) sizeof(embedded) - 1, buf, sizeof(buf));
	assert_string_equal(buf, "SELECT $1");
	assert_int_equal(org_normalize_query("SELECT 1", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(org_normalize_query(NULL, 5, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void
test_tiny_buffers(void **state)
{
	char		buf[8];

	(void) state;
	/* dstsize 0 writes nothing */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(org_normalize_query("SELECT 1", -1, buf, 0), 0);
	assert_int_equal(buf[0], 'Z');
	assert_int_equal(org_normalize_query("SELECT 1", -1, NULL, 0), 0);
	assert_int_equal(org_normalize_query("SELECT 1", -1, buf, -3), 0);
	assert_int_equal(buf[0], 'Z');

	/* dstsize 1 is just the terminator */
	assert_int_equal(org_normalize_query("SELECT 1", -1, buf, 1), 0);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'Z');

	/* a placeholder is never cut: "SELECT $1" needs 10 bytes */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(org_normalize_query("'x'", -1, buf, 2), 0);
	assert_string_equal(buf, "");
	assert_int_equal(org_normalize_query("'x'", -1, buf, 3), 2);
	assert_string_equal(buf, "$1");
	/* no trailing space when the next token does not fit */
	assert_int_equal(org_normalize_query("ab 'x'", -1, buf, 4), 2);
	assert_string_equal(buf, "ab");
	/* identifiers may be cut */
	assert_int_equal(org_normalize_query("abcdefghij", -1, buf, 5), 4);
	assert_string_equal(buf, "abcd");
}

static void
test_truncate_multibyte(void **state)
{
	/* "SELECT caf" + U+00E9 (2 bytes) */
	const char *q2 = "SELECT caf\xc3\xa9";
	/* U+20AC (3 bytes) and U+1F600 (4 bytes) */
	const char *q3 = "SELECT x\xe2\x82\xac";
	const char *q4 = "SELECT x\xf0\x9f\x98\x80";
	char		buf[32];

	(void) state;
	assert_int_equal(org_normalize_query(q2, -1, buf, 13), 12);
	assert_string_equal(buf, q2);
	/* room for 11 bytes: the 2-byte char would need 12 */
	assert_int_equal(org_normalize_query(q2, -1, buf, 12), 10);
	assert_string_equal(buf, "SELECT caf");
	assert_int_equal(org_normalize_query(q2, -1, buf, 11), 10);
	assert_string_equal(buf, "SELECT caf");

	assert_int_equal(org_normalize_query(q3, -1, buf, 12), 11);
	assert_int_equal(org_normalize_query(q3, -1, buf, 11), 8);
	assert_string_equal(buf, "SELECT x");
	assert_int_equal(org_normalize_query(q3, -1, buf, 10), 8);

	assert_int_equal(org_normalize_query(q4, -1, buf, 13), 12);
	assert_int_equal(org_normalize_query(q4, -1, buf, 12), 8);
	assert_int_equal(org_normalize_query(q4, -1, buf, 11), 8);
	assert_int_equal(org_normalize_query(q4, -1, buf, 10), 8);
	assert_string_equal(buf, "SELECT x");
}

/*
 * For every buffer size, the output must be a prefix of the full output,
 * end on a character and token-safe boundary, and never show literal text.
 */
static void
check_truncation_property(const char *src, const char *secret)
{
	char		full[BIG];
	char		buf[BIG];
	int			fulllen = org_normalize_query(src, -1, full, (int) sizeof(full));
	int			size;

	assert_null(strstr(full, secret));
	for (size = 0; size <= fulllen + 2; size++)
	{
		int			n;

		memset(buf, 'Z', sizeof(buf));
		n = org_normalize_query(src, -1, buf, size);
		if (size == 0)
		{
			assert_int_equal(n, 0);
			assert_int_equal(buf[0], 'Z');
			continue;
		}
		assert_true(n <= size - 1);
		assert_int_equal(buf[n], '\0');
		assert_int_equal(buf[n + 1], 'Z');
		assert_int_equal((int) strlen(buf), n);
		assert_memory_equal(buf, full, (size_t) n);
		assert_null(strstr(buf, secret));
		if (n < fulllen)
		{
			int			i;

			/* not in the middle of a UTF-8 character */
			assert_true(((unsigned char) full[n] & 0xC0) != 0x80);
			/* no trailing space */
			assert_true(n == 0 || buf[n - 1] != ' ');
			/* not in the middle of a $n placeholder */
			for (i = n - 1; i >= 0 && buf[i] >= '0' && buf[i] <= '9'; i--)
				;
			if (i >= 0 && i < n - 1 && buf[i] == '$')
				assert_false(full[n] >= '0' && full[n] <= '9');
		}
		else
			assert_string_equal(buf, full);
	}
}

static void
test_truncation_property(void **state)
{
	(void) state;
	check_truncation_property("SELECT \"prénom\", 'secret' FROM \"clés\" WHERE x IN (1, 2) "
							  "AND y = $$secret$$ /* secret */ AND z = 12345678 -- secret",
							  "secret");
	check_truncation_property("INSERT INTO t VALUES ('secret', 1), ('secret', 2), ('secret', 3)",
							  "secret");
	check_truncation_property("SELECT 'a','b','c','d','e','f','g','h','i','j','k','secret'",
							  "secret");
	check_truncation_property("SELECT \xe2\x82\xac\xe2\x82\xac\xe2\x82\xac, E'secret\\'",
							  "secret");
}

static void
test_long_input_tiny_buffer(void **state)
{
	const int	srclen = 200000;
	char	   *src = malloc((size_t) srclen + 1);
	char		buf[16];
	int			n;
	int			i;

	(void) state;
	assert_non_null(src);
	/* one huge unterminated literal */
	memcpy(src, "SELECT '", 8);
	memset(src + 8, 's', (size_t) (srclen - 8));
	src[srclen] = '\0';
	n = org_normalize_query(src, srclen, buf, (int) sizeof(buf));
	assert_string_equal(buf, "SELECT $1");
	assert_int_equal(n, 9);

	/* a huge identifier is cut to fit */
	memset(src, 'a', (size_t) srclen);
	n = org_normalize_query(src, srclen, buf, (int) sizeof(buf));
	assert_int_equal(n, 15);
	assert_string_equal(buf, "aaaaaaaaaaaaaaa");

	/* lots of literals, tokens and comments */
	for (i = 0; i + 16 <= srclen; i += 16)
		memcpy(src + i, "'x', 1 /*c*/ ,  ", 16);
	src[i] = '\0';
	n = org_normalize_query(src, -1, buf, (int) sizeof(buf));
	assert_string_equal(buf, "$1, $2 , $3, $4");
	assert_int_equal(n, 15);
	free(src);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_literals),
		cmocka_unit_test(test_dollar_quotes),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_keywords_params_operators),
		cmocka_unit_test(test_comments_whitespace),
		cmocka_unit_test(test_in_lists),
		cmocka_unit_test(test_in_list_huge),
		cmocka_unit_test(test_values_lists),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_srclen),
		cmocka_unit_test(test_tiny_buffers),
		cmocka_unit_test(test_truncate_multibyte),
		cmocka_unit_test(test_truncation_property),
		cmocka_unit_test(test_long_input_tiny_buffer),
	};

	return cmocka_run_group_tests_name("normalize", tests, NULL, NULL);
}
