/*
 * test_config.c: agent.conf parsing, defaults, overrides, secrets and every
 * error path, each reported as file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/config.h"
#include "common/conninfo.h"
#include "common/ini.h"
#include "common/listen_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NODE "[node n1]\nconninfo = host=/tmp dbname=odoo\n"

static bool
parse(const char *text, agent_cfg *cfg, config_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
	return config_parse("/etc/orguard/agent.conf", text, cfg, errs);
}

/* the text parses with exactly one error, at that line, containing needle */
static void
expect_error(const char *text, int line, const char *needle)
{
	agent_cfg	cfg;
	config_errors errs;
	char		prefix[64];

	assert_false(parse(text, &cfg, &errs));
	if (errs.n != 1)
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "unexpected: %s\n", errs.msg[i]);
	assert_int_equal(errs.n, 1);
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "/etc/orguard/agent.conf:%d: ", line);
	else
		snprintf(prefix, sizeof(prefix), "/etc/orguard/agent.conf: ");
	if (strncmp(errs.msg[0], prefix, strlen(prefix)) != 0 || !strstr(errs.msg[0], needle))
		fail_msg("got \"%s\", wanted prefix \"%s\" and \"%s\"", errs.msg[0], prefix, needle);
	config_errors_free(&errs);
	config_free(&cfg);
}

static void
test_minimal_defaults(void **state)
{
	agent_cfg	cfg;
	config_errors errs;

	(void) state;
	assert_true(parse(NODE, &cfg, &errs));
	assert_int_equal(errs.n, 0);
	assert_int_equal(cfg.n_nodes, 1);
	assert_string_equal(cfg.nodes[0].name, "n1");
	assert_string_equal(cfg.nodes[0].cluster, "n1");
	assert_true(cfg.interval_s == 10);
	assert_string_equal(cfg.listen, "127.0.0.1:9188");
	assert_int_equal(cfg.n_rules, RULE_KIND_COUNT);
	assert_non_null(config_rule(&cfg, "lock_wait"));
	assert_true(config_rule(&cfg, "connection_usage")->threshold == 80);
	assert_int_equal(cfg.log_fmt, LOG_FORMAT_TEXT);
	config_free(&cfg);
}

static void
test_node_timeout_follows_interval(void **state)
{
	agent_cfg	cfg;
	config_errors errs;

	(void) state;
	assert_true(parse("[agent]\ninterval = 1s\nlisten = off\n" NODE, &cfg, &errs));
	assert_true(cfg.node_timeout_s == 0.8);
	assert_string_equal(cfg.listen, "off");
	config_free(&cfg);
	assert_true(parse("[agent]\ninterval = 1m\n" NODE, &cfg, &errs));
	assert_true(cfg.node_timeout_s == 5);
	config_free(&cfg);
}

static void
test_full_file(void **state)
{
	agent_cfg	cfg;
	config_errors errs;
	const rule_cfg *r;
	const char *text =
		"# comment\n"
		"; another\n"
		"[agent]\n"
		"interval = 500ms\n"
		"node_timeout = 400ms\n"
		"  # quoted keeps blanks (an indented comment line)\n"
		"spool_dir = \"/var/spool/o g\"\n"
		"listen = 127.0.0.1:9999\n"
		"log_format = json\n"
		"log_level = debug\n"
		"top_n = 5\n"
		"remote_write_url = http://127.0.0.1:9090/api/v1/write\n"
		"external_label.region = eu\n"
		"[node store-042]\n"
		"conninfo = host=10.0.0.1 dbname=odoo user=monitor\n"
		"cluster = retail-eu\n"
		"store = 042\n"
		"region = eu-west\n"
		"brand = acme\n"
		"tag.tier = gold\n"
		"[pager am]\n"
		"type = alertmanager\n"
		"url = http://127.0.0.1:9093\n"
		"[pager hook]\n"
		"type = webhook\n"
		"url = https://hooks.example/orguard\n"
		"tls_verify = false\n"
		"min_severity = warning\n"
		"[rule lock_wait]\n"
		"threshold = 10s\n"
		"clear = 5s\n"
		"for = 1m\n"
		"severity = critical\n"
		"label.team = dba\n"
		"pagers = am, hook\n"
		"raise_during = mon-sat 09:00-21:00\n"
		"mute_during = * 01:00-04:00\n"
		"[rule big_lag]\n"
		"kind = replication_lag_bytes\n"
		"threshold = 64MB\n"
		"[rule connection_usage]\n"
		"threshold = 90%\n"
		"[runbook throttle]\n"
		"max_connections = 10\n";

	(void) state;
	assert_true(parse(text, &cfg, &errs));
	assert_true(cfg.interval_s == 0.5);
	assert_true(cfg.node_timeout_s == 0.4);
	assert_string_equal(cfg.spool_dir, "/var/spool/o g");
	assert_string_equal(cfg.listen, "127.0.0.1:9999");
	assert_int_equal(cfg.log_fmt, LOG_FORMAT_JSON);
	assert_int_equal(cfg.log_lvl, LOG_DEBUG);
	assert_int_equal(cfg.top_n, 5);
	assert_string_equal(labels_get(&cfg.external_labels, "region"), "eu");
	assert_string_equal(cfg.nodes[0].cluster, "retail-eu");
	assert_string_equal(labels_get(&cfg.nodes[0].tags, "store"), "042");
	assert_string_equal(labels_get(&cfg.nodes[0].tags, "brand"), "acme");
	assert_string_equal(labels_get(&cfg.nodes[0].tags, "tier"), "gold");
	assert_int_equal(cfg.n_pagers, 2);
	assert_int_equal(config_pager(&cfg, "am")->kind, PAGER_ALERTMANAGER);
	assert_false(config_pager(&cfg, "hook")->tls_verify);
	assert_int_equal(config_pager(&cfg, "hook")->min_severity, SEV_WARNING);
	r = config_rule(&cfg, "lock_wait");
	assert_true(r->threshold == 10 && r->clear == 5 && r->for_s == 60);
	assert_int_equal(r->sev, SEV_CRITICAL);
	assert_string_equal(labels_get(&r->labels, "team"), "dba");
	assert_int_equal(r->n_pagers, 2);
	assert_string_equal(r->pagers[1], "hook");
	assert_int_equal(r->raise_during.n, 1);
	assert_int_equal(r->mute_during.n, 1);
	r = config_rule(&cfg, "big_lag");
	assert_non_null(r);
	assert_int_equal(r->kind, RULE_REPLICATION_LAG_BYTES);
	assert_true(r->threshold == 64.0 * 1024 * 1024);
	assert_true(r->clear == r->threshold);	/* clear follows a new threshold */
	assert_true(config_rule(&cfg, "connection_usage")->threshold == 90);
	assert_int_equal(cfg.n_rules, RULE_KIND_COUNT + 1);
	assert_int_equal(cfg.n_runbooks, 1);
	assert_string_equal(labels_get(&cfg.runbooks[0].settings, "max_connections"), "10");
	config_free(&cfg);
}

static void
test_secrets(void **state)
{
	agent_cfg	cfg;
	config_errors errs;
	char		dir[] = "/tmp/orguard-cfg-XXXXXX";
	char		path[128],
				keyfile[128];
	FILE	   *f;
	char	   *text;

	(void) state;
	assert_non_null(mkdtemp(dir));
	snprintf(keyfile, sizeof(keyfile), "%s/pd.key", dir);
	f = fopen(keyfile, "w");
	fputs("R0UTINGKEY0123456789abcdef012345\n", f);
	fclose(f);
	setenv("ORGUARD_TEST_PW", "s3cret", 1);
	/* a relative secret path is relative to the config file */
	text = "[pager pd]\ntype = pagerduty\nrouting_key_file = pd.key\n"
		"[node n1]\nconninfo = host=x\npassword_env = ORGUARD_TEST_PW\n";
	snprintf(path, sizeof(path), "%s/agent.conf", dir);
	memset(&errs, 0, sizeof(errs));
	assert_true(config_parse(path, text, &cfg, &errs));
	assert_string_equal(cfg.pagers[0].secret, "R0UTINGKEY0123456789abcdef012345");
	assert_string_equal(cfg.pagers[0].url, "https://events.pagerduty.com/v2/enqueue");
	assert_true(cfg.pagers[0].rate_per_min == 120);
	assert_string_equal(cfg.nodes[0].password, "s3cret");
	config_free(&cfg);
	unlink(keyfile);
	rmdir(dir);
}

static void
test_secret_never_echoed(void **state)
{
	agent_cfg	cfg;
	config_errors errs;

	(void) state;
	assert_false(parse("[pager pd]\ntype = pagerduty\nrouting_key = TOPSECRETVALUE\n" NODE, &cfg, &errs));
	for (int i = 0; i < errs.n; i++)
		assert_null(strstr(errs.msg[i], "TOPSECRETVALUE"));
	config_errors_free(&errs);
	config_free(&cfg);
	assert_false(parse("[node n1]\nconninfo = host=x password=TOPSECRETVALUE\n", &cfg, &errs));
	assert_int_equal(errs.n, 1);
	assert_null(strstr(errs.msg[0], "TOPSECRETVALUE"));
	config_errors_free(&errs);
	config_free(&cfg);
}

/* a password in any form libpq understands, refused without being echoed */
static void
test_conninfo_password_forms(void **state)
{
	static const char *const refused[] = {
		"host=x password=TOPSECRETVALUE",
		"host=x password = 'TOPSECRETVALUE' dbname=odoo",
		"postgresql://orguard:TOPSECRETVALUE@db.example/odoo",
		"postgres://orguard:TOPSECRETVALUE@db.example:5432/odoo?sslmode=require",
		"postgresql://orguard:TOP%53ECRETVALUE@db.example/odoo",
		"postgresql://db.example/odoo?password=TOPSECRETVALUE",
		"postgresql://db.example/odoo?pass%77ord=TOPSECRETVALUE",
		"postgresql://db.example/odoo?%70%61%73%73%77%6f%72%64=TOPSECRETVALUE",
		"dbname=postgresql://orguard:TOPSECRETVALUE@db.example/odoo",
		"host=x dbname='host=y password=TOPSECRETVALUE'",
	};
	static const char *const accepted[] = {
		"host=/run/postgresql dbname=odoo user=password_reader",
		"postgresql://orguard@db.example/odoo?application_name=passwordless",
		"postgresql:///odoo?host=/run/postgresql&passfile=/etc/orguard/pgpass",
		"service=store42",
		"odoo",
		"host=x dbname=a=b",
		"postgresql://orguard:@db.example/odoo",	/* an empty password is none */
	};

	(void) state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
	{
		char	   *text = xasprintf("[node a]\nconninfo = %s\n", refused[i]);
		agent_cfg	cfg;
		config_errors errs;

		if (!conninfo_password_problem(refused[i]))
			fail_msg("%s: accepted", refused[i]);
		assert_false(parse(text, &cfg, &errs));
		assert_int_equal(errs.n, 1);
		if (!strstr(errs.msg[0], "/etc/orguard/agent.conf:2: conninfo: must not contain a password"))
			fail_msg("%s: got \"%s\"", refused[i], errs.msg[0]);
		assert_null(strstr(errs.msg[0], "TOPSECRETVALUE"));
		config_errors_free(&errs);
		config_free(&cfg);
		free(text);
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		if (conninfo_password_problem(accepted[i]))
			fail_msg("%s: refused: %s", accepted[i], conninfo_password_problem(accepted[i]));
}

/* a string libpq cannot parse is an error at its line that does not quote it */
static void
test_conninfo_unparsable(void **state)
{
	static const char *const bad[] = {
		"host=x TOPSECRETVALUE",
		"postgresql://u:TOPSECRETVALUE%zz@h/db",
		"host='x TOPSECRETVALUE",
		"host=x pasword=TOPSECRETVALUE",
	};

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		char	   *text = xasprintf("[node a]\nconninfo = %s\n", bad[i]);
		agent_cfg	cfg;
		config_errors errs;

		assert_false(parse(text, &cfg, &errs));
		assert_int_equal(errs.n, 1);
		if (!strstr(errs.msg[0], "/etc/orguard/agent.conf:2: conninfo: not a libpq connection string"))
			fail_msg("%s: got \"%s\"", bad[i], errs.msg[0]);
		assert_null(strstr(errs.msg[0], "TOPSECRETVALUE"));
		config_errors_free(&errs);
		config_free(&cfg);
		free(text);
	}
}

static void
test_syntax_errors(void **state)
{
	(void) state;
	expect_error(NODE "[agent\n", 3, "malformed section header");
	expect_error(NODE "[]\n", 3, "empty section name");
	expect_error(NODE "just words\n", 3, "expected key = value");
	expect_error(NODE "= value\n", 3, "missing key");
	expect_error(NODE "spool = \"unterminated\n", 3, "unbalanced quotes");
	expect_error("key = 1\n" NODE, 1, "outside of any section");
	expect_error(NODE "[nonsense]\n", 3, "unknown section [nonsense]");
	expect_error(NODE "[node n1]\nconninfo = x\n", 3, "duplicate section [node n1] (first at line 1)");
	expect_error(NODE "[agent x]\n", 3, "[agent] takes no name");
	expect_error(NODE "[pager]\n", 3, "[pager] needs a name");
	expect_error(NODE "[node bad/name]\nconninfo = x\n", 3, "names may hold");
}

static void
test_agent_errors(void **state)
{
	(void) state;
	expect_error("[agent]\ninterval = 10x\n" NODE, 2, "interval: invalid duration \"10x\"");
	expect_error("[agent]\ninterval = 50ms\nnode_timeout = 10ms\n" NODE, 1, "interval must be at least 100ms");
	expect_error("[agent]\ninterval = 1s\nnode_timeout = 2s\n" NODE, 1, "node_timeout must be positive and at most interval");
	expect_error("[agent]\nlog_format = xml\n" NODE, 2, "log_format: expected text or json");
	expect_error("[agent]\nlog_level = loud\n" NODE, 2, "log_level: expected");
	expect_error("[agent]\ntop_n = 2.5\n" NODE, 2, "top_n: expected an integer");
	expect_error("[agent]\nbogus = 1\n" NODE, 2, "unknown key \"bogus\" in [agent]");
	expect_error("[agent]\nremote_write_url = ftp://x\n" NODE, 2, "remote_write_url: expected an http");
	expect_error("[agent]\nexternal_label.bad-name = x\n" NODE, 2, "not a valid label name");
	expect_error("[agent]\n", 0, "no [node NAME] section");
	expect_error("[agent]\nlisten = 9187\n" NODE, 2, "listen: expected HOST:PORT");
	expect_error("[agent]\nlisten = 127.0.0.1:http\n" NODE, 2, "listen: expected HOST:PORT");
	expect_error("[agent]\nlisten = ::1:9188\n" NODE, 2, "IPv6 addresses go in brackets");
	expect_error("[agent]\nlisten = [::1:9188\n" NODE, 2, "listen: expected HOST:PORT");
	expect_error("[agent]\nlisten = [1.2.3.4]:9188\n" NODE, 2, "is not an IPv6 address");
	expect_error("[agent]\nlisten = 127.0.0.1:0\n" NODE, 2, "port from 1 to 65535");
}

/* remote write authentication: secrets from _env/_file only, pairs that go together, safe headers */
static void
test_remote_write_auth(void **state)
{
	agent_cfg	cfg;
	config_errors errs;

	(void) state;
	setenv("ORGUARD_TEST_RW_PW", "rw-s3cret", 1);
	assert_true(parse("[agent]\nremote_write_url = https://m.example/api/v1/push\n"
					  "remote_write_username = alice\nremote_write_password_env = ORGUARD_TEST_RW_PW\n"
					  "remote_write_header.X-Scope-OrgID = tenant-a\nremote_write_ca_file = /etc/ca.pem\n"
					  "remote_write_cert_file = /etc/c.pem\nremote_write_key_file = /etc/k.pem\n" NODE,
					  &cfg, &errs));
	assert_string_equal(cfg.remote_write_username, "alice");
	assert_string_equal(cfg.remote_write_password, "rw-s3cret");
	assert_null(cfg.remote_write_bearer_token);
	assert_string_equal(labels_get(&cfg.remote_write_headers, "X-Scope-OrgID"), "tenant-a");
	assert_string_equal(cfg.remote_write_ca_file, "/etc/ca.pem");
	assert_string_equal(cfg.remote_write_cert_file, "/etc/c.pem");
	assert_true(cfg.remote_write_tls_verify);
	config_free(&cfg);
	assert_true(parse("[agent]\nremote_write_bearer_token_env = ORGUARD_TEST_RW_PW\n"
					  "remote_write_tls_verify = false\n" NODE, &cfg, &errs));
	assert_string_equal(cfg.remote_write_bearer_token, "rw-s3cret");
	assert_false(cfg.remote_write_tls_verify);
	config_free(&cfg);

	expect_error("[agent]\nremote_write_password = hunter2\nremote_write_username = a\n" NODE, 2,
				 "secrets are not accepted inline");
	expect_error("[agent]\nremote_write_bearer_token = hunter2\n" NODE, 2, "secrets are not accepted inline");
	expect_error("[agent]\nremote_write_username = alice\n" NODE, 1, "needs remote_write_password_file");
	expect_error("[agent]\nremote_write_password_env = ORGUARD_TEST_RW_PW\n" NODE, 1,
				 "remote_write_password needs remote_write_username");
	expect_error("[agent]\nremote_write_username = a\nremote_write_password_env = ORGUARD_TEST_RW_PW\n"
				 "remote_write_bearer_token_env = ORGUARD_TEST_RW_PW\n" NODE, 1, "both set; use one");
	expect_error("[agent]\nremote_write_cert_file = /c.pem\n" NODE, 1, "go together");
	expect_error("[agent]\nremote_write_tls_verify = maybe\n" NODE, 2, "remote_write_tls_verify");
	expect_error("[agent]\nremote_write_header.Authorization = Basic eA==\n" NODE, 2,
				 "the agent sets this header itself");
	expect_error("[agent]\nremote_write_header.content-type = text/plain\n" NODE, 2,
				 "the agent sets this header itself");
	expect_error("[agent]\nremote_write_header.X Bad = 1\n" NODE, 2, "not a valid HTTP header name");
	/* a refused inline secret is never echoed */
	assert_false(parse("[agent]\nremote_write_bearer_token = TOPSECRETVALUE\n" NODE, &cfg, &errs));
	for (int i = 0; i < errs.n; i++)
		assert_null(strstr(errs.msg[i], "TOPSECRETVALUE"));
	config_errors_free(&errs);
	config_free(&cfg);
	unsetenv("ORGUARD_TEST_RW_PW");
}

static void
test_listen_addresses(void **state)
{
	listen_addr la;
	char		err[160];

	(void) state;
	assert_true(listen_addr_parse("127.0.0.1:9188", &la, err, sizeof(err)));
	assert_int_equal(la.family, AF_INET);
	assert_int_equal(la.port, 9188);
	assert_true(listen_addr_parse("localhost:1", &la, err, sizeof(err)));
	assert_int_equal(la.family, AF_INET);
	assert_true(listen_addr_parse("[::1]:9188", &la, err, sizeof(err)));
	assert_int_equal(la.family, AF_INET6);
	assert_int_equal(la.len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(((struct sockaddr_in6 *) &la.sa)->sin6_port), 9188);
	assert_true(listen_addr_parse("[::]:65535", &la, err, sizeof(err)));
	assert_false(listen_addr_parse("[::1]:65536", &la, err, sizeof(err)));
	assert_false(listen_addr_parse("[]:80", &la, err, sizeof(err)));
	assert_false(listen_addr_parse("host.example:80", &la, err, sizeof(err)));
}

static void
test_node_errors(void **state)
{
	(void) state;
	expect_error("[node a]\ncluster = c\n", 1, "conninfo is required");
	expect_error("[node a]\nconninfo = host=x password=y\n", 2, "must not contain a password");
	expect_error("[node a]\nconninfo = host=x\nport = 5432\n", 3, "unknown key \"port\" in [node a]");
	expect_error("[node a]\nconninfo = host=x\ntag.bad-label = 1\n", 3, "not a usable label name");
	expect_error("[node a]\nconninfo = host=x\ntag.node = 1\n", 3, "not a usable label name");
	expect_error("[node a]\nconninfo = host=x\npassword_env = ORGUARD_SURELY_UNSET_VAR\n", 3,
				 "environment variable ORGUARD_SURELY_UNSET_VAR is not set");
	expect_error("[node a]\nconninfo = host=x\npassword_file = /nonexistent/pw\n", 3, "cannot read \"/nonexistent/pw\"");
	expect_error("[node a]\nconninfo = host=x\npassword_file = /dev/null\n", 3, "is empty");
	setenv("ORGUARD_TEST_PW2", "x", 1);
	expect_error("[node a]\nconninfo = host=x\npassword_file = /dev/null\npassword_env = ORGUARD_TEST_PW2\n", 4,
				 "both set");
}

static void
test_pager_errors(void **state)
{
	(void) state;
	expect_error(NODE "[pager p]\nurl = http://x\n", 3, "type is required");
	expect_error(NODE "[pager dead-letter]\ntype = webhook\nurl = http://x\n", 3, "reserved by the spool");
	expect_error(NODE "[pager p]\ntype = opsgenie\nurl = http://x\n", 4, "unknown pager type \"opsgenie\"");
	expect_error(NODE "[pager p]\ntype = pagerduty\n", 3, "routing_key_file or routing_key_env is required");
	expect_error(NODE "[pager p]\ntype = pagerduty\nrouting_key = abc\n", 5, "secrets are not accepted inline");
	expect_error(NODE "[pager p]\ntype = alertmanager\n", 3, "url is required");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = gopher://x\n", 5, "url: expected an http");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = http://x\ntimeout = soon\n", 6, "timeout: invalid duration");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = http://x\ntimeout = 0\n", 3, "timeout must be positive");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = http://x\nbackoff_initial = 10s\nbackoff_max = 1s\n", 3,
				 "backoff_initial <= backoff_max");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = http://x\nrate_limit = -1\n", 3, "rate_limit must not be negative");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = http://x\ntls_verify = maybe\n", 6, "expected true or false");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = http://x\nmin_severity = loud\n", 6, "unknown severity \"loud\"");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = http://x\nrouting_key_env = X\n", 6, "unknown key \"routing_key_env\"");
}

static void
test_rule_errors(void **state)
{
	(void) state;
	expect_error(NODE "[rule my-rule]\n", 3, "must be a valid label name");
	expect_error(NODE "[rule custom]\nthreshold = 1\n", 3, "not a built-in rule; set kind");
	expect_error(NODE "[rule custom]\nkind = cpu\n", 4, "unknown rule kind \"cpu\"");
	expect_error(NODE "[rule lock_wait]\nkind = xid_age\n", 4, "built-in rule lock_wait is of kind lock_wait");
	expect_error(NODE "[rule lock_wait]\nthreshold = many\n", 4, "threshold: \"many\" is not a duration");
	expect_error(NODE "[rule lock_wait]\nthreshold = 10s\nclear = 20s\n", 3, "clear (20) must not exceed threshold (10)");
	expect_error(NODE "[rule lock_wait]\nfor = forever\n", 4, "for: invalid duration");
	expect_error(NODE "[rule lock_wait]\nseverity = page\n", 4, "unknown severity");
	expect_error(NODE "[rule lock_wait]\nenabled = perhaps\n", 4, "expected true or false");
	expect_error(NODE "[rule lock_wait]\nraise_during = someday 09:00-10:00\n", 4, "raise_during: unknown day");
	expect_error(NODE "[rule lock_wait]\nmute_during = * 25:00-26:00\n", 4, "mute_during: bad time range");
	expect_error(NODE "[rule lock_wait]\npagers = nowhere\n", 4, "pagers: no [pager nowhere] section");
	expect_error(NODE "[rule lock_wait]\nlabel.__x = 1\n", 4, "not a valid label name");
	expect_error(NODE "[rule lock_wait]\nflap_count = -1\n", 4, "flap_count: expected an integer from 0 to 16");
	expect_error(NODE "[rule lock_wait]\nthresold = 1\n", 4, "unknown key \"thresold\" in [rule lock_wait]");
}

/* errors_contain: one of the errors starts with file:line and holds needle */
static bool
errors_contain(const config_errors *errs, int line, const char *needle)
{
	char		prefix[64];

	snprintf(prefix, sizeof(prefix), "/etc/orguard/agent.conf:%d: ", line);
	for (int i = 0; i < errs->n; i++)
		if (!strncmp(errs->msg[i], prefix, strlen(prefix)) && strstr(errs->msg[i], needle))
			return true;
	return false;
}

/*
 * A second [agent] section after one that set top_n or remote_write_url
 * badly: each section's checks look at its own entries only (the second
 * once looked up the first's entry in itself and crashed on NULL).
 */
static void
test_second_agent_section(void **state)
{
	static const char *const texts[] = {
		"[agent]\ntop_n = 0\n[agent]\ninterval = 10s\n" NODE,
		"[agent]\ntop_n = 1e300\n[agent]\ninterval = 10s\n" NODE,
		"[agent]\nremote_write_url = ftp://x\n[agent]\ninterval = 10s\n" NODE,
		"[agent]\ntop_n = 5\nremote_write_url = http://x\n[agent]\ninterval = 10s\n" NODE,
	};

	(void) state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		agent_cfg	cfg;
		config_errors errs;

		assert_false(parse(texts[i], &cfg, &errs));
		assert_true(errors_contain(&errs, i < 3 ? 3 : 4, "duplicate section [agent] (first at line 1)"));
		if (i < 3)
			assert_true(errors_contain(&errs, 2, i < 2 ? "top_n: expected an integer from 1 to 100000"
									   : "remote_write_url: expected an http"));
		config_errors_free(&errs);
		config_free(&cfg);
	}
}

/* numbers that would overflow an int or a millisecond count are range errors at their line */
static void
test_numeric_ranges(void **state)
{
	agent_cfg	cfg;
	config_errors errs;

	(void) state;
	expect_error("[agent]\ntop_n = 1e300\n" NODE, 2, "top_n: expected an integer from 1 to 100000");
	expect_error("[agent]\ntop_n = 2.5\n" NODE, 2, "top_n: expected an integer");
	expect_error(NODE "[rule lock_wait]\nflap_count = 1e30\n", 4, "flap_count: expected an integer from 0 to 16");
	expect_error(NODE "[rule lock_wait]\nflap_count = -1e30\n", 4, "flap_count: expected an integer");
	expect_error("[agent]\ninterval = 1e300\n" NODE, 2, "interval: \"1e300\" is out of range");
	expect_error("[agent]\nstatement_timeout = 30d\n" NODE, 2, "statement_timeout: \"30d\" is out of range");
	expect_error("[agent]\nnode_timeout = 1e308d\n" NODE, 2, "node_timeout: invalid duration");
	expect_error(NODE "[rule lock_wait]\nfor = 1e20\n", 4, "for: \"1e20\" is out of range");
	expect_error(NODE "[rule lock_wait]\nrenotify = 400d\n", 4, "renotify: \"400d\" is out of range");
	expect_error(NODE "[rule replication_lag_bytes]\nthreshold = 1e300TB\n", 4, "threshold: \"1e300TB\" is not a size");
	expect_error(NODE "[rule replication_lag_bytes]\nthreshold = 2000000TB\n", 4, "threshold: \"2000000TB\" is out of range");
	expect_error(NODE "[rule lock_wait]\nthreshold = 1e300\nclear = 1\n", 4, "threshold: \"1e300\" is out of range");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = http://x\nrate_limit = 1e300\n", 6, "rate_limit: \"1e300\" is out of range");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = http://x\ntimeout = 2d\n", 6, "timeout: \"2d\" is out of range");
	expect_error(NODE "[pager p]\ntype = alertmanager\nurl = http://x\nalert_ttl = 1e12\n", 6, "alert_ttl: \"1e12\" is out of range");
	/* the bounds themselves are accepted */
	assert_true(parse("[agent]\ntop_n = 100000\ninterval = 1d\n" NODE "[rule lock_wait]\nflap_count = 16\nfor = 366d\n",
					  &cfg, &errs));
	assert_int_equal(cfg.top_n, 100000);
	assert_int_equal(config_rule(&cfg, "lock_wait")->flap_count, 16);
	config_errors_free(&errs);
	config_free(&cfg);
}

/* section names become spool directory names */
static void
test_names_that_are_paths(void **state)
{
	(void) state;
	expect_error(NODE "[pager ..]\ntype = webhook\nurl = http://x\n", 3, "names may hold letters");
	expect_error(NODE "[pager .]\ntype = webhook\nurl = http://x\n", 3, "names may hold letters");
	expect_error(NODE "[pager .hidden]\ntype = webhook\nurl = http://x\n", 3, "names may hold letters");
	expect_error(NODE "[pager a/b]\ntype = webhook\nurl = http://x\n", 3, "names may hold letters");
	expect_error(NODE "[pager ../x]\ntype = webhook\nurl = http://x\n", 3, "names may hold letters");
	expect_error(NODE "[pager cursors]\ntype = webhook\nurl = http://x\n", 3, "reserved by the spool");
	expect_error(NODE "[pager runbooks]\ntype = webhook\nurl = http://x\n", 3, "reserved by the spool");
	expect_error(NODE "[runbook ..]\nkind = pitr\n", 3, "names may hold letters");
}

static void
test_errors_sorted_and_all_reported(void **state)
{
	agent_cfg	cfg;
	config_errors errs;
	const char *text =
		"[agent]\n"
		"interval = nope\n"		/* 2 */
		"[node a]\n"
		"conninfo = host=x password=p\n"	/* 4 */
		"[rule lock_wait]\n"
		"severity = ??\n"		/* 6 */
		"[what]\n";				/* 7 */

	(void) state;
	assert_false(parse(text, &cfg, &errs));
	assert_int_equal(errs.n, 4);
	assert_non_null(strstr(errs.msg[0], ":2: "));
	assert_non_null(strstr(errs.msg[1], ":4: "));
	assert_non_null(strstr(errs.msg[2], ":6: "));
	assert_non_null(strstr(errs.msg[3], ":7: "));
	/* each message keeps the line it is sorted on */
	assert_int_equal(errs.line[0], 2);
	assert_int_equal(errs.line[1], 4);
	assert_int_equal(errs.line[2], 6);
	assert_int_equal(errs.line[3], 7);
	config_errors_free(&errs);
	config_free(&cfg);
}

static void
test_load_missing_file(void **state)
{
	agent_cfg	cfg;
	config_errors errs = {0};

	(void) state;
	assert_false(config_load("/nonexistent/agent.conf", &cfg, &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msg[0], "/nonexistent/agent.conf: cannot open"));
	config_errors_free(&errs);
	config_free(&cfg);
}

/* a NUL byte would cut the file short silently: it is an error at its line */
static void
test_load_nul_byte(void **state)
{
	agent_cfg	cfg;
	config_errors errs = {0};
	char		path[] = "/tmp/orguard-test-config-XXXXXX";
	int			fd = mkstemp(path);
	static const char text[] = NODE "[rule lock_wait]\nthreshold = 1\0\nthreshold = oops\n";

	(void) state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (int) sizeof(text) - 1);
	close(fd);
	assert_false(config_load(path, &cfg, &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msg[0], ":4: a NUL byte"));
	config_errors_free(&errs);
	config_free(&cfg);
	unlink(path);
}

static void
test_quantities(void **state)
{
	double		v;

	(void) state;
	assert_true(parse_duration("250ms", &v) && v == 0.25);
	assert_true(parse_duration("2m", &v) && v == 120);
	assert_true(parse_duration("1h", &v) && v == 3600);
	assert_true(parse_duration("1d", &v) && v == 86400);
	assert_true(parse_duration("7", &v) && v == 7);
	assert_false(parse_duration("-1s", &v));
	assert_false(parse_duration("1y", &v));
	assert_false(parse_duration("", &v));
	assert_true(parse_quantity("1GB", &v) && v == 1073741824.0);
	assert_true(parse_quantity("512kB", &v) && v == 524288);
	assert_true(parse_quantity("80%", &v) && v == 80);
	assert_true(parse_quantity("1e9", &v) && v == 1e9);
	assert_false(parse_quantity("lots", &v));
}

/* the runbook section's setting key, as the reader kept it */
static const char *
runbook_setting(const agent_cfg *cfg, const char *key)
{
	assert_int_equal(cfg->n_runbooks, 1);
	return labels_get(&cfg->runbooks[0].settings, key);
}

/*
 * One comment rule: whole comment lines only; values are taken whole, and
 * a command (any key ending in _command) goes to the shell as written.
 */
static void
test_comment_rule(void **state)
{
	agent_cfg	cfg;
	config_errors errs;
	const char *fence = "ssh p 'pg_ctlcluster 15 main stop -m immediate ; touch /fenced'";
	char	   *text = xasprintf(NODE
								 "# a comment line\n"
								 "   ; an indented one\n"
								 "[runbook promote]\n"
								 "fence_command = %s\n"
								 "traffic_command = /usr/local/bin/repoint --to x # keep\n"
								 "restore_command = \"/opt/my tools/fetch\" %%f \"%%p\"\n"
								 "check_query = \"SELECT 1 ; -- kept, quoted\"\n", fence);

	(void) state;
	assert_true(parse(text, &cfg, &errs));
	assert_string_equal(runbook_setting(&cfg, "fence_command"), fence);
	/* in a shell command '#' is the shell's: taken whole as well */
	assert_string_equal(runbook_setting(&cfg, "traffic_command"), "/usr/local/bin/repoint --to x # keep");
	/* a command's quotes are the shell's: not removed */
	assert_string_equal(runbook_setting(&cfg, "restore_command"), "\"/opt/my tools/fetch\" %f \"%p\"");
	assert_string_equal(runbook_setting(&cfg, "check_query"), "SELECT 1 ; -- kept, quoted");
	config_errors_free(&errs);
	config_free(&cfg);
	free(text);

	/* an empty value is a value (found by fuzzing: the check read past its end) */
	assert_true(parse(NODE "[agent]\nremote_write_url =", &cfg, &errs));
	assert_string_equal(cfg.remote_write_url, "");
	config_errors_free(&errs);
	config_free(&cfg);

	/* a schedule's "; " separator has no blank before the ';': a value, not a comment */
	assert_true(parse(NODE "[rule lock_wait]\nraise_during = mon-fri 08:00-21:00; sat 09:00-18:00\n", &cfg, &errs));
	assert_int_equal(config_rule(&cfg, "lock_wait")->raise_during.n, 2);
	config_errors_free(&errs);
	config_free(&cfg);

	/* an inline comment on any other key is a file:line error, not a new value */
	expect_error("[agent]\ninterval = 5s   # poll often\n" NODE, 2,
				 "interval: '#' or ';' after a blank: comments go on their own line");
	expect_error(NODE "[runbook promote]\nstandbys = b ; the replica\n", 4, "standbys: '#' or ';' after a blank");
	expect_error("[agent]\nspool_dir = \"/var/x\" # quoted, then a comment\n" NODE, 2, "spool_dir: unbalanced quotes");
	expect_error("[agent]\nspool_dir = \"/var/x\n" NODE, 2, "spool_dir: unbalanced quotes");
	expect_error("[agent] # the agent\n" NODE, 1, "malformed section header");
	/* a command whose shell quotes do not balance */
	expect_error(NODE "[runbook promote]\nfence_command = ssh p 'stop -m immediate ; touch /fenced\n", 4,
				 "fence_command: unbalanced single quote");
	expect_error(NODE "[runbook promote]\ntraffic_command = repoint \"x\n", 4,
				 "traffic_command: unbalanced double quote");
	expect_error(NODE "[runbook pitr]\nrestore_command = cp /a/%f %p \\\n", 4,
				 "restore_command: ends with a lone backslash");
	/* any future command is a command too */
	expect_error(NODE "[runbook x]\nnotify_command = echo 'x\n", 4, "notify_command: unbalanced single quote");
	assert_null(ini_shell_quote_problem("a 'b \"c' \"d 'e\" f\\' g"));
	assert_true(ini_is_command_key("fence_command") && !ini_is_command_key("command") &&
				!ini_is_command_key("fence_commands"));
}

static void
test_units(void **state)
{
	agent_cfg	cfg;
	config_errors errs;
	double		v;

	(void) state;
	/* sizes: bytes, never minutes */
	assert_true(parse_size("0", &v) && v == 0);
	assert_true(parse_size("4096", &v) && v == 4096);
	assert_true(parse_size("4096B", &v) && v == 4096);
	assert_true(parse_size("64kB", &v) && v == 65536);
	assert_true(parse_size("64kb", &v) && v == 65536);
	assert_true(parse_size("1MB", &v) && v == 1048576);
	assert_true(parse_size("1mb", &v) && v == 1048576);
	assert_true(parse_size("1 MB", &v) && v == 1048576);
	assert_true(parse_size("1.5GB", &v) && v == 1610612736.0);
	assert_true(parse_size("2TB", &v) && v == 2199023255552.0);
	assert_false(parse_size("1m", &v));
	assert_false(parse_size("1M", &v));
	assert_false(parse_size("1k", &v));
	assert_false(parse_size("1s", &v));
	assert_false(parse_size("1min", &v));
	assert_false(parse_size("-1MB", &v));
	assert_false(parse_size("1.5", &v));
	assert_false(parse_size("80%", &v));
	/* durations: seconds, never bytes */
	assert_true(parse_duration("1m", &v) && v == 60);
	assert_true(parse_duration("1min", &v) && v == 60);
	assert_true(parse_duration("1 h", &v) && v == 3600);
	assert_false(parse_duration("1MB", &v));
	assert_false(parse_duration("1kB", &v));
	assert_false(parse_duration("1B", &v));
	assert_false(parse_duration(" 1s", &v));
	/* numbers: no unit but percent */
	assert_true(parse_number("80%", &v) && v == 80);
	assert_true(parse_number("2.5", &v) && v == 2.5);
	assert_false(parse_number("1m", &v));
	assert_false(parse_number("1MB", &v));
	/* where either could be meant, "m" is refused */
	assert_false(parse_quantity("1m", &v));
	assert_true(parse_quantity("1min", &v) && v == 60);
	assert_true(parse_quantity("1MB", &v) && v == 1048576);

	/* the reader: each key takes its own kind of unit */
	expect_error(NODE "[rule replication_lag_bytes]\nthreshold = 1m\nclear = 0\n", 4,
				 "threshold: \"1m\" is not a size (write the unit in full (kB, MB, GB, TB); m means minutes");
	expect_error(NODE "[rule inactive_slot]\nthreshold = 30s\nclear = 0\n", 4, "that is a duration");
	expect_error(NODE "[rule lock_wait]\nthreshold = 1MB\nclear = 0\n", 4, "threshold: \"1MB\" is not a duration (that is a size");
	expect_error(NODE "[rule connection_usage]\nthreshold = 5m\nclear = 0\n", 4, "threshold: \"5m\" is not a number");
	expect_error("[agent]\ninterval = 10MB\n" NODE, 2, "interval: invalid duration \"10MB\" (that is a size");
	expect_error("[agent]\ntop_n = 1m\n" NODE, 2, "top_n: expected an integer");
	expect_error("[agent]\ntop_n = 1k\n" NODE, 2, "top_n: expected an integer");
	expect_error(NODE "[pager p]\ntype = webhook\nurl = http://x\nrate_limit = 1m\n", 6, "rate_limit: \"1m\" is not a number");
	expect_error(NODE "[rule lock_wait]\nflap_count = 1m\n", 4, "flap_count: expected an integer");

	assert_true(parse(NODE "[rule replication_lag_bytes]\nthreshold = 64mb\nclear = 512kB\n"
					  "[rule lock_wait]\nthreshold = 2min\nclear = 90\n"
					  "[rule connection_usage]\nthreshold = 90%\nclear = 80\n", &cfg, &errs));
	assert_true(config_rule(&cfg, "replication_lag_bytes")->threshold == 64.0 * 1048576);
	assert_true(config_rule(&cfg, "replication_lag_bytes")->clear == 524288);
	assert_true(config_rule(&cfg, "lock_wait")->threshold == 120 && config_rule(&cfg, "lock_wait")->clear == 90);
	assert_true(config_rule(&cfg, "connection_usage")->threshold == 90);
	config_errors_free(&errs);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_node_timeout_follows_interval),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_secret_never_echoed),
		cmocka_unit_test(test_conninfo_password_forms),
		cmocka_unit_test(test_conninfo_unparsable),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_agent_errors),
		cmocka_unit_test(test_remote_write_auth),
		cmocka_unit_test(test_listen_addresses),
		cmocka_unit_test(test_node_errors),
		cmocka_unit_test(test_pager_errors),
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_second_agent_section),
		cmocka_unit_test(test_numeric_ranges),
		cmocka_unit_test(test_names_that_are_paths),
		cmocka_unit_test(test_errors_sorted_and_all_reported),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_load_nul_byte),
		cmocka_unit_test(test_quantities),
		cmocka_unit_test(test_comment_rule),
		cmocka_unit_test(test_units),
	};

	return cmocka_run_group_tests_name("agent config", tests, NULL, NULL);
}
