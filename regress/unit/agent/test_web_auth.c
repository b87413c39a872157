/*
 * test_web_auth.c: basic auth for the listener (users file parsing, bcrypt
 * and SHA-256 crypt checks through the real crypt(3)) and the rule that a
 * listener off loopback needs TLS and users unless insecure_listen is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/config.h"
#include "common/web_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

/* crypt(3) of "s3cret": bcrypt cost 4 (quick to test) and SHA-256 crypt */
#define BCRYPT_S3CRET "$2b$04$ca40AM0MdFqfQr3xUpIXkORRvSpzs6KxSJp36slAbc.YaciQpvIgu"
#define SHA256_S3CRET "$5$C5ISMtqViZmj8uNH$pLFJMg3PY9H0HH8euddaoxTU5FIhIGfCa6dS29vXELA"

#define NODE "[node n1]\nconninfo = host=/tmp dbname=odoo\n"

static void
test_users_file_as_prometheus_writes_it(void **state)
{
	web_users	u;
	char	   *err = NULL;

	(void) state;
	assert_true(web_users_parse("# Prometheus web.config.file\n"
								"tls_server_config:\n"
								"  cert_file: a.crt\n"
								"basic_auth_users:\n"
								"  oncall: " BCRYPT_S3CRET "\n"
								"  \"script\": '" SHA256_S3CRET "'\n", &u, &err));
	assert_null(err);
	assert_int_equal(u.n, 2);
	assert_string_equal(u.name[0], "oncall");
	assert_string_equal(u.name[1], "script");
	assert_true(web_auth_check(&u, "oncall", "s3cret"));
	assert_true(web_auth_check(&u, "script", "s3cret"));
	assert_false(web_auth_check(&u, "oncall", "s3cret "));
	assert_false(web_auth_check(&u, "oncall", "S3cret"));
	assert_false(web_auth_check(&u, "oncall", ""));
	assert_false(web_auth_check(&u, "nobody", "s3cret"));
	assert_false(web_auth_check(&u, "Oncall", "s3cret"));
	assert_false(web_auth_check(&u, NULL, NULL));
	web_users_free(&u);
}

static void
expect_bad(const char *text, const char *needle)
{
	web_users	u;
	char	   *err = NULL;

	assert_false(web_users_parse(text, &u, &err));
	assert_non_null(err);
	if (!strstr(err, needle))
		fail_msg("got \"%s\", wanted \"%s\"", err, needle);
	assert_int_equal(u.n, 0);
	free(err);
}

static void
test_users_file_errors(void **state)
{
	(void) state;
	expect_bad("basic_auth_users:\n  oncall: s3cret\n", "line 2: user \"oncall\": expected a bcrypt");
	expect_bad("basic_auth_users:\n  oncall " BCRYPT_S3CRET "\n", "line 2: expected \"user: hash\"");
	expect_bad("basic_auth_users:\n  a: " BCRYPT_S3CRET "\n  a: " SHA256_S3CRET "\n", "line 3: user \"a\" given twice");
	expect_bad("basic_auth_users:\n  : " BCRYPT_S3CRET "\n", "empty user name");
	expect_bad("tls_server_config:\n  cert_file: x\n", "no users");
	expect_bad("", "no users");
	/* an MD5 crypt or a truncated hash is not accepted, and never matches */
	expect_bad("basic_auth_users:\n  a: $1$abc$def\n", "expected a bcrypt");
}

static void
test_truncated_hash_never_matches(void **state)
{
	web_users	u;
	char	   *err = NULL;

	(void) state;
	assert_true(web_users_parse("basic_auth_users:\n  a: $2b$04$short\n", &u, &err));
	assert_false(web_auth_check(&u, "a", "s3cret"));
	assert_false(web_auth_check(&u, "a", ""));
	web_users_free(&u);
}

static int
load(const char *text, agent_cfg *cfg, config_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
	return config_parse("/etc/orguard/agent.conf", text, cfg, errs);
}

static void
expect_listen(const char *agent_section, bool ok, const char *needle)
{
	agent_cfg	cfg;
	config_errors errs;
	char	   *text = xasprintf("[agent]\n%s" NODE, agent_section);
	bool		got = load(text, &cfg, &errs);

	if (got != ok || (needle && (errs.n != 1 || !strstr(errs.msg[0], needle))))
	{
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "error: %s\n", errs.msg[i]);
		fail_msg("\"%s\": wanted %s%s", agent_section, ok ? "ok" : "an error with ", needle ? needle : "");
	}
	config_errors_free(&errs);
	config_free(&cfg);
	free(text);
}

static void
test_listener_off_loopback_needs_tls_and_users(void **state)
{
	char		users[] = "/tmp/orguard-users-XXXXXX";
	int			fd = mkstemp(users);
	char	   *with_all;
	char	   *without_users;
	char	   *bad_users;
	const char *bad = "basic_auth_users:\n  oncall: plain\n";
	const char *good = "basic_auth_users:\n  oncall: " BCRYPT_S3CRET "\n";

	(void) state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, good, strlen(good)), (ssize_t) strlen(good));
	close(fd);
	with_all = xasprintf("listen = 0.0.0.0:9188\nlisten_tls_cert_file = /etc/orguard/a.crt\n"
						 "listen_tls_key_file = /etc/orguard/a.key\nlisten_users_file = %s\n", users);
	without_users = xstrdup("listen = 0.0.0.0:9188\nlisten_tls_cert_file = /etc/orguard/a.crt\n"
							"listen_tls_key_file = /etc/orguard/a.key\n");
	/* loopback: both off by default */
	expect_listen("listen = 127.0.0.1:9188\n", true, NULL);
	expect_listen("listen = [::1]:9188\n", true, NULL);
	expect_listen("listen = localhost:9188\n", true, NULL);
	expect_listen("", true, NULL);
	/* anything else: refused without TLS and users */
	expect_listen("listen = 0.0.0.0:9188\n", false, "0.0.0.0:9188 is not a loopback address");
	expect_listen("listen = 192.0.2.10:9188\n", false, "is not a loopback address");
	expect_listen("listen = [::]:9188\n", false, "is not a loopback address");
	expect_listen(without_users, false, "listen_users_file");
	expect_listen(with_all, true, NULL);
	expect_listen("listen = 0.0.0.0:9188\ninsecure_listen = true\n", true, NULL);
	expect_listen("insecure_listen = maybe\n", false, "insecure_listen: expected true or false");
	expect_listen("listen_tls_cert_file = /etc/orguard/a.crt\n", false, "go together");
	expect_listen("listen_users_file = /nonexistent/users.yml\n", false, "cannot read it");
	fd = open(users, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t) strlen(bad));
	close(fd);
	bad_users = xasprintf("listen_users_file = %s\n", users);
	expect_listen(bad_users, false, "not a plain password");
	unlink(users);
	free(with_all);
	free(without_users);
	free(bad_users);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users_file_as_prometheus_writes_it),
		cmocka_unit_test(test_users_file_errors),
		cmocka_unit_test(test_truncated_hash_never_matches),
		cmocka_unit_test(test_listener_off_loopback_needs_tls_and_users),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
