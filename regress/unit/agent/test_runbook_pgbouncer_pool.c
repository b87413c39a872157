/*
 * test_runbook_pgbouncer_pool.c
 *	  Unit tests for the throttle's pgbouncer enforcement: counting a
 *	  database's server connections in SHOW SERVERS' rows, the over-the-cap
 *	  decision, and the settings of its timeouts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/config.h"
#include "runbooks/pgbouncer_pool.h"
#include "runbooks/settings.h"

/* SHOW SERVERS of pgbouncer 1.18, trimmed to its first columns */
static const char *const cols[] = {"type", "user", "database", "state", "addr", "port"};
static const char *const cells[] = {
	"S", "odoo", "odoo", "active", "127.0.0.1", "5432",
	"S", "odoo", "odoo", "idle", "127.0.0.1", "5432",
	"S", "odoo", "odoo", "used", "127.0.0.1", "5432",
	"S", "odoo", "postgres", "active", "127.0.0.1", "5432",
	"S", "report", "odoo", "active", "127.0.0.1", "5432",
};

static void
test_counts_the_database_only(void **state)
{
	pgb_rows	r = {6, cols, 5, cells};

	(void) state;
	/* every user's pool of the database, every state; not the other database */
	assert_int_equal(pgb_servers_of(&r, "odoo"), 4);
	assert_int_equal(pgb_servers_of(&r, "postgres"), 1);
	assert_int_equal(pgb_servers_of(&r, "shop"), 0);
	/* a prefix is not the database */
	assert_int_equal(pgb_servers_of(&r, "od"), 0);
}

static void
test_over_cap(void **state)
{
	pgb_rows	r = {6, cols, 5, cells};
	int			count = 0;

	(void) state;
	assert_true(pgb_over_cap(&r, "odoo", 3, &count));
	assert_int_equal(count, 4);
	/* at the cap is not over it */
	assert_false(pgb_over_cap(&r, "odoo", 4, &count));
	assert_false(pgb_over_cap(&r, "odoo", 10, NULL));
	assert_false(pgb_over_cap(&r, "postgres", 1, &count));
	assert_int_equal(count, 1);
}

static void
test_no_servers(void **state)
{
	pgb_rows	r = {6, cols, 0, NULL};
	int			count = -1;

	(void) state;
	/* after KILL: no row at all is under any cap */
	assert_false(pgb_over_cap(&r, "odoo", 1, &count));
	assert_int_equal(count, 0);
}

static void
test_columns_found_by_name(void **state)
{
	/* a later pgbouncer with columns in another order */
	static const char *const cols2[] = {"database", "type", "user", "state"};
	static const char *const cells2[] = {"odoo", "S", "odoo", "active", "odoo", "S", "odoo", "idle"};
	pgb_rows	r = {4, cols2, 2, cells2};

	(void) state;
	assert_int_equal(pgb_servers_of(&r, "odoo"), 2);
}

static void
test_unreadable_rows_are_never_under(void **state)
{
	static const char *const cols3[] = {"type", "user", "state"};
	static const char *const cells3[] = {"S", "odoo", "active"};
	pgb_rows	r = {3, cols3, 1, cells3};
	int			count = 0;

	(void) state;
	assert_int_equal(pgb_servers_of(&r, "odoo"), -1);
	/* without a database column nothing says the cap holds */
	assert_true(pgb_over_cap(&r, "odoo", 100, &count));
	assert_int_equal(count, -1);
	assert_int_equal(pgb_servers_of(&r, NULL), -1);
}

/* ---------- settings ---------- */

#define CONF "[node store7]\nconninfo = host=/run/pg port=5432 user=postgres dbname=odoo\ncluster = shop\n" \
	"[runbook throttle]\npgbouncer_admin = host=127.0.0.1 port=6432 dbname=pgbouncer user=orguard\n" \
	"pgbouncer_db = odoo\npgbouncer_pool_size = 8\n"

static bool
load(const char *text, rb_settings *s, config_errors *errs, agent_cfg *cfg)
{
	config_errors cerrs = {0};
	bool		ok = false;

	memset(s, 0, sizeof(*s));
	config_parse("/etc/agent.conf", text, cfg, &cerrs);
	config_errors_free(&cerrs);
	for (int i = 0; i < cfg->n_runbooks; i++)
		if (!strcmp(cfg->runbooks[i].name, "throttle"))
			ok = rb_settings_load(cfg, &cfg->runbooks[i], s, errs);
	return ok;
}

static bool
has(const config_errors *e, const char *needle)
{
	for (int i = 0; i < e->n; i++)
		if (strstr(e->msg[i], needle))
			return true;
	return false;
}

static void
test_settings_timeouts(void **state)
{
	rb_settings s;
	config_errors errs = {0};
	agent_cfg	cfg;

	(void) state;
	assert_true(load(CONF, &s, &errs, &cfg));
	/* the 2 s for RECONNECT; PAUSE gets 5 s */
	assert_true(s.throttle.pgbouncer_reconnect_timeout_s == 2);
	assert_true(s.throttle.pgbouncer_pause_timeout_s == 5);
	rb_settings_free(&s);
	config_errors_free(&errs);
	config_free(&cfg);

	assert_true(load(CONF "pgbouncer_reconnect_timeout = 500ms\npgbouncer_pause_timeout = 3s\n", &s, &errs, &cfg));
	assert_true(s.throttle.pgbouncer_reconnect_timeout_s == 0.5);
	assert_true(s.throttle.pgbouncer_pause_timeout_s == 3);
	rb_settings_free(&s);
	config_errors_free(&errs);
	config_free(&cfg);

	assert_false(load(CONF "pgbouncer_pause_timeout = 0s\npgbouncer_reconnect_timeout = 2m\n", &s, &errs, &cfg));
	assert_true(has(&errs, "pgbouncer_pause_timeout: \"0s\" is not a positive duration"));
	assert_true(has(&errs, "at most 60s"));
	rb_settings_free(&s);
	config_errors_free(&errs);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_the_database_only),
		cmocka_unit_test(test_over_cap),
		cmocka_unit_test(test_no_servers),
		cmocka_unit_test(test_columns_found_by_name),
		cmocka_unit_test(test_unreadable_rows_are_never_under),
		cmocka_unit_test(test_settings_timeouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
