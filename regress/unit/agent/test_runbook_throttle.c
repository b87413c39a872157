/*
 * test_runbook_throttle.c
 *	  Unit tests for the connection throttle runbook: its settings, the
 *	  rules' runbook = NAME, the controller's state machine and its reading
 *	  of the journal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/config.h"
#include "runbooks/journal.h"
#include "runbooks/pgbouncer_admin.h"
#include "runbooks/pgconn.h"
#include "runbooks/settings.h"
#include "runbooks/throttle_control.h"

#define NODE "[node store7]\nconninfo = host=/run/pg port=5432 user=postgres dbname=odoo\ncluster = shop\n"
#define S(x) ((int64_t) ((x) * 1000000.0))

/* ---------- settings ---------- */

typedef struct loaded
{
	agent_cfg	cfg;
	config_errors cerrs;
	config_errors errs;
	rb_settings s;
	bool		parsed;
	bool		ok;
} loaded;

static void
load(loaded *l, const char *text, const char *name)
{
	memset(l, 0, sizeof(*l));
	l->parsed = config_parse("/etc/agent.conf", text, &l->cfg, &l->cerrs);
	for (int i = 0; i < l->cfg.n_runbooks; i++)
		if (!strcmp(l->cfg.runbooks[i].name, name))
			l->ok = rb_settings_load(&l->cfg, &l->cfg.runbooks[i], &l->s, &l->errs);
}

static void
unload(loaded *l)
{
	rb_settings_free(&l->s);
	config_errors_free(&l->errs);
	config_errors_free(&l->cerrs);
	config_free(&l->cfg);
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
test_settings_defaults(void **state)
{
	loaded		l;
	char	   *name;

	(void) state;
	load(&l, NODE "[runbook throttle]\n", "throttle");
	assert_true(l.parsed);
	assert_true(l.ok);
	assert_int_equal(l.s.kind, RB_KIND_THROTTLE);
	assert_int_equal(l.s.mode, RB_MODE_AUTO);
	assert_true(l.s.approve_within_s == 1800);
	assert_int_equal(l.s.throttle.n_targets, 2);
	assert_string_equal(l.s.throttle.targets[0].worker_class, "cron");
	assert_string_equal(l.s.throttle.targets[1].worker_class, "queue_job");
	assert_null(l.s.throttle.targets[0].role);
	assert_int_equal(l.s.throttle.targets[0].max_connections, 2);
	assert_true(l.s.throttle.ttl_s == 300);
	assert_true(l.s.throttle.release_after_s == 120);
	assert_true(l.s.throttle.drain_idle_in_transaction_s == 0);
	name = rb_throttle_rule_name(l.s.name, &l.s.throttle.targets[0]);
	assert_string_equal(name, "orguard_throttle_cron");
	free(name);
	unload(&l);
}

static void
test_settings_values(void **state)
{
	loaded		l;
	char	   *name;

	(void) state;
	load(&l, NODE "[runbook overload]\nkind = throttle\nclasses = queue_job cron\nroles = reporting\n"
		 "max_connections = 3\nmax_connections.cron = 1\nmax_connections.reporting = 0\nttl = 10m\n"
		 "release_after = 30s\ndrain_idle_in_transaction = 2m\nmode = page-first\napprove_within = 5m\n",
		 "overload");
	assert_true(l.ok);
	assert_int_equal(l.s.mode, RB_MODE_PAGE_FIRST);
	assert_true(l.s.approve_within_s == 300);
	assert_int_equal(l.s.throttle.n_targets, 3);
	assert_string_equal(l.s.throttle.targets[0].worker_class, "queue_job");
	assert_int_equal(l.s.throttle.targets[0].max_connections, 3);
	assert_int_equal(l.s.throttle.targets[1].max_connections, 1);
	assert_string_equal(l.s.throttle.targets[2].role, "reporting");
	assert_int_equal(l.s.throttle.targets[2].max_connections, 0);
	assert_true(l.s.throttle.ttl_s == 600);
	assert_true(l.s.throttle.release_after_s == 30);
	assert_true(l.s.throttle.drain_idle_in_transaction_s == 120);
	name = rb_throttle_rule_name(l.s.name, &l.s.throttle.targets[2]);
	assert_string_equal(name, "orguard_overload_role_reporting");
	free(name);
	unload(&l);
	/* promote and pitr wait for an approval unless told otherwise */
	load(&l, NODE "[runbook promote]\nprimary = store7\nstandbys = store7\nfence_command = none\n", "promote");
	assert_int_equal(l.s.mode, RB_MODE_PAGE_FIRST);
	unload(&l);
}

static void
test_settings_errors(void **state)
{
	loaded		l;

	(void) state;
	load(&l, NODE "[runbook throttle]\nclasses = cron, pos, cron\nmax_connections.web = 1\n"
		 "max_connections = -1\nttl = 1s\nmode = sometimes\ndrain_idle_in_transaction = 500ms\n"
		 "backend = native\nprimary = store7\n", "throttle");
	assert_false(l.ok);
	assert_true(has(&l.errs, "/etc/agent.conf:5: [runbook throttle]: classes: \"pos\" is not a worker class"));
	assert_true(has(&l.errs, "classes: cron is listed twice"));
	assert_true(has(&l.errs, "max_connections.web: web is not in classes or roles"));
	assert_true(has(&l.errs, "max_connections: \"-1\" is not an integer from 0"));
	assert_true(has(&l.errs, "ttl: must be at least 2s"));
	assert_true(has(&l.errs, "mode: \"sometimes\" is not auto or page-first"));
	assert_true(has(&l.errs, "drain_idle_in_transaction: must be at least 1s"));
	assert_true(has(&l.errs, "backend: not a setting of a throttle runbook"));
	assert_true(has(&l.errs, "primary: unknown setting for a throttle runbook"));
	unload(&l);
	load(&l, NODE "[runbook throttle]\nroles = reporting_role_of_the_central_business_intelligence_team\n", "throttle");
	assert_false(l.ok);
	assert_true(has(&l.errs, "roles: the rule name orguard_throttle_role_reporting_role_of_the_central_business_intelligence_team would be longer than 63 bytes"));
	unload(&l);
	load(&l, NODE "[runbook throttle]\nclasses = \n", "throttle");
	assert_false(l.ok);
	assert_true(has(&l.errs, "classes: nothing to throttle"));
	unload(&l);
}

static void
test_rule_names_runbook(void **state)
{
	loaded		l;

	(void) state;
	load(&l, NODE "[rule connection_usage]\nrunbook = throttle\n[rule lock_wait]\nrunbook = throttle\n"
		 "[runbook throttle]\n", "throttle");
	assert_true(l.parsed);
	assert_string_equal(config_rule(&l.cfg, "connection_usage")->runbook, "throttle");
	assert_string_equal(config_rule(&l.cfg, "lock_wait")->runbook, "throttle");
	assert_null(config_rule(&l.cfg, "xid_age")->runbook);
	unload(&l);
	load(&l, NODE "[rule connection_usage]\nrunbook = brake\n", "brake");
	assert_false(l.parsed);
	assert_true(has(&l.cerrs, "/etc/agent.conf:5: runbook: no [runbook brake] section"));
	unload(&l);
}

static void
test_settings_pgbouncer(void **state)
{
	loaded		l;

	(void) state;
	load(&l, NODE "[runbook throttle]\npgbouncer_admin = host=127.0.0.1 port=6432 dbname=pgbouncer user=orguard\n"
		 "pgbouncer_db = odoo\npgbouncer_pool_size = 8\n", "throttle");
	assert_true(l.ok);
	assert_string_equal(l.s.throttle.pgbouncer_db, "odoo");
	assert_int_equal(l.s.throttle.pgbouncer_pool_size, 8);
	unload(&l);
	load(&l, NODE "[runbook throttle]\npgbouncer_admin = host=127.0.0.1 password=secret\n", "throttle");
	assert_false(l.ok);
	assert_true(has(&l.errs, "pgbouncer_admin: needs pgbouncer_db and pgbouncer_pool_size"));
	assert_true(has(&l.errs, "pgbouncer_admin: must not contain a password"));
	unload(&l);
	/* a URI's password too (libpq parses it as it will connect) */
	load(&l, NODE "[runbook throttle]\npgbouncer_admin = postgresql://orguard:secret@127.0.0.1:6432/pgbouncer\n"
		 "pgbouncer_db = odoo\npgbouncer_pool_size = 8\n", "throttle");
	assert_false(l.ok);
	assert_true(has(&l.errs, "pgbouncer_admin: must not contain a password"));
	unload(&l);
	load(&l, NODE "[runbook throttle]\npgbouncer_db = odoo\n", "throttle");
	assert_false(l.ok);
	assert_true(has(&l.errs, "need pgbouncer_admin"));
	unload(&l);
}

static void
test_pgbouncer_saved(void **state)
{
	pgb_saved	s = {20, 0},
				back = {-1, -1};
	char		buf[96];

	(void) state;
	pgb_saved_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "default_pool_size=20 max_db_connections=0");
	/* as the journal's detail carries it, followed by what was set */
	assert_true(pgb_saved_parse("saved default_pool_size=20 max_db_connections=0; "
								"default_pool_size and max_db_connections set to 5", &back));
	assert_int_equal(back.default_pool_size, 20);
	assert_int_equal(back.max_db_connections, 0);
	assert_false(pgb_saved_parse("default_pool_size=x", &back));
	assert_false(pgb_saved_parse(NULL, &back));
}

/* ---------- the state machine ---------- */

static const tc_params auto_p = {
	.page_first = false, .drain = false, .ttl_us = S(60), .release_after_us = S(20), .approve_within_us = S(600)
};

static void
test_engage_renew_release(void **state)
{
	throttle_ctl c = {0};

	(void) state;
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(0)), 0);
	assert_int_equal(c.state, TC_IDLE);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(1)), TC_ACT_ENGAGE);
	assert_int_equal(c.state, TC_ENGAGED);
	/* nothing to do until half the TTL is spent */
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(30)), 0);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(31)), TC_ACT_RENEW);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(40)), 0);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(61)), TC_ACT_RENEW);
	/* clear: hysteresis, no renewal while clear */
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(70)), 0);
	assert_int_equal(c.state, TC_RELEASING);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(89)), 0);
	assert_int_equal(c.state, TC_RELEASING);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(90)), TC_ACT_RELEASE);
	assert_int_equal(c.state, TC_IDLE);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(91)), 0);
}

static void
test_hysteresis_restarts(void **state)
{
	throttle_ctl c = {0};

	(void) state;
	tc_step(&c, &auto_p, true, TC_UNDECIDED, S(0));
	tc_step(&c, &auto_p, false, TC_UNDECIDED, S(10));
	assert_int_equal(c.state, TC_RELEASING);
	/* fires again within release_after: engaged, and the wait starts over */
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(25)), 0);
	assert_int_equal(c.state, TC_ENGAGED);
	tc_step(&c, &auto_p, false, TC_UNDECIDED, S(26));
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(45)), 0);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(46)), TC_ACT_RELEASE);
	/* renewal due while releasing and firing again */
	c = (throttle_ctl) {0};
	tc_step(&c, &auto_p, true, TC_UNDECIDED, S(0));
	tc_step(&c, &auto_p, false, TC_UNDECIDED, S(20));
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(35)), TC_ACT_RENEW);
}

static void
test_drain_while_engaged(void **state)
{
	tc_params	p = auto_p;
	throttle_ctl c = {0};

	(void) state;
	p.drain = true;
	assert_int_equal(tc_step(&c, &p, false, TC_UNDECIDED, S(0)), 0);
	assert_int_equal(tc_step(&c, &p, true, TC_UNDECIDED, S(1)), TC_ACT_ENGAGE);
	assert_int_equal(tc_step(&c, &p, true, TC_UNDECIDED, S(2)), TC_ACT_DRAIN);
	assert_int_equal(tc_step(&c, &p, true, TC_UNDECIDED, S(31)), TC_ACT_DRAIN | TC_ACT_RENEW);
	assert_int_equal(tc_step(&c, &p, false, TC_UNDECIDED, S(32)), TC_ACT_DRAIN);
	assert_int_equal(tc_step(&c, &p, false, TC_UNDECIDED, S(52)), TC_ACT_RELEASE);
}

static void
test_page_first(void **state)
{
	tc_params	p = auto_p;
	throttle_ctl c = {0};

	(void) state;
	p.page_first = true;
	assert_int_equal(tc_step(&c, &p, true, TC_UNDECIDED, S(0)), TC_ACT_PROPOSE);
	assert_int_equal(c.state, TC_PROPOSED);
	/* waits, firing or not, without proposing again */
	assert_int_equal(tc_step(&c, &p, true, TC_UNDECIDED, S(10)), 0);
	assert_int_equal(tc_step(&c, &p, false, TC_UNDECIDED, S(20)), 0);
	assert_int_equal(c.state, TC_PROPOSED);
	assert_int_equal(tc_step(&c, &p, true, TC_APPROVED, S(30)), TC_ACT_ENGAGE);
	assert_int_equal(c.state, TC_ENGAGED);
	assert_int_equal(tc_step(&c, &p, false, TC_UNDECIDED, S(31)), 0);
	assert_int_equal(tc_step(&c, &p, false, TC_UNDECIDED, S(51)), TC_ACT_RELEASE);
	/* rejected while firing: held until the alerts clear, then a new proposal */
	assert_int_equal(tc_step(&c, &p, true, TC_UNDECIDED, S(60)), TC_ACT_PROPOSE);
	assert_int_equal(tc_step(&c, &p, true, TC_REJECTED, S(61)), 0);
	assert_int_equal(c.state, TC_HELD);
	assert_int_equal(tc_step(&c, &p, true, TC_UNDECIDED, S(70)), 0);
	assert_int_equal(tc_step(&c, &p, false, TC_UNDECIDED, S(80)), 0);
	assert_int_equal(c.state, TC_IDLE);
	assert_int_equal(tc_step(&c, &p, true, TC_UNDECIDED, S(90)), TC_ACT_PROPOSE);
	/* no answer within approve_within: expired */
	assert_int_equal(tc_step(&c, &p, true, TC_UNDECIDED, S(689)), 0);
	assert_int_equal(c.state, TC_PROPOSED);
	assert_int_equal(tc_step(&c, &p, false, TC_UNDECIDED, S(690)), 0);
	assert_int_equal(c.state, TC_IDLE);
}

static void
test_failures(void **state)
{
	throttle_ctl c = {0};

	(void) state;
	/* a failed engagement is tried again at the next step */
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(0)), TC_ACT_ENGAGE);
	tc_engage_failed(&c, false);
	assert_int_equal(c.state, TC_IDLE);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(1)), TC_ACT_ENGAGE);
	/* a refusal by a guard is not: held until the alerts clear */
	tc_engage_failed(&c, true);
	assert_int_equal(c.state, TC_HELD);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(2)), 0);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(3)), 0);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(4)), TC_ACT_ENGAGE);
	/* a failed renewal is retried at once */
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(34)), TC_ACT_RENEW);
	tc_renew_failed(&c);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(35)), TC_ACT_RENEW);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(36)), 0);
}

/* a crash-restart emptied the node's rule table while the run is open */
static void
test_rules_lost(void **state)
{
	throttle_ctl c = {0};

	(void) state;
	/* no run: nothing to restore */
	tc_rules_lost(&c);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(0)), 0);
	/* engaged: set again at the next step, long before the renewal is due */
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(1)), TC_ACT_ENGAGE);
	tc_rules_lost(&c);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(2)), TC_ACT_RENEW);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(3)), 0);
	/* the renewal clock starts again from the restore */
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(31)), 0);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(32)), TC_ACT_RENEW);
	/* releasing: set again too, the run holds them until release_after */
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(40)), 0);
	assert_int_equal(c.state, TC_RELEASING);
	tc_rules_lost(&c);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(41)), TC_ACT_RENEW);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(42)), 0);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(60)), TC_ACT_RELEASE);
	/* lost while releasing, released before the next step: nothing left to restore */
	c = (throttle_ctl) {0};
	tc_step(&c, &auto_p, true, TC_UNDECIDED, S(0));
	tc_step(&c, &auto_p, false, TC_UNDECIDED, S(1));
	tc_rules_lost(&c);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(30)), TC_ACT_RELEASE);
	assert_false(c.restore_due);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(31)), TC_ACT_ENGAGE);
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(32)), 0);
	/* the incarnation: a change only between two known values */
	assert_true(tc_incarnation_changed(1, 2));
	assert_false(tc_incarnation_changed(2, 2));
	assert_false(tc_incarnation_changed(0, 2));
	assert_false(tc_incarnation_changed(2, 0));
}

static void
test_resume(void **state)
{
	throttle_ctl c = {0};

	(void) state;
	/* taken over after a restart: set again at once while firing */
	tc_resume_engaged(&c, S(100));
	assert_int_equal(tc_step(&c, &auto_p, true, TC_UNDECIDED, S(100)), TC_ACT_RENEW);
	c = (throttle_ctl) {0};
	/* or released after release_after when the alerts are gone */
	tc_resume_engaged(&c, S(100));
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(101)), 0);
	assert_int_equal(tc_step(&c, &auto_p, false, TC_UNDECIDED, S(121)), TC_ACT_RELEASE);
	assert_string_equal(tc_state_name(c.state), "idle");
}

/* ---------- the journal ---------- */

static void
add(journal_entries *es, const char *run, const char *runbook, const char *step, const char *target,
	const char *result)
{
	journal_entry *e;

	es->v = realloc(es->v, sizeof(journal_entry) * (size_t) (es->n + 1));
	e = &es->v[es->n++];
	memset(e, 0, sizeof(*e));
	e->run = strdup(run);
	e->runbook = strdup(runbook);
	e->step = strdup(step);
	e->target = strdup(target);
	e->result = strdup(result);
	e->detail = strdup("");
}

static void
test_journal(void **state)
{
	journal_entries es = {0};

	(void) state;
	assert_null(tc_journal_open_run(&es, "throttle", "store7"));
	add(&es, "r1", "throttle", "runbook", "store7", "started");
	add(&es, "r1", "throttle", "engage", "store7", "ok");
	add(&es, "r1", "throttle", "runbook", "store7", "done");
	add(&es, "r2", "throttle", "runbook", "store7", "started");
	add(&es, "r3", "throttle", "runbook", "store8", "started");
	add(&es, "r4", "promote", "runbook", "store7", "started");
	assert_string_equal(tc_journal_open_run(&es, "throttle", "store7"), "r2");
	assert_string_equal(tc_journal_open_run(&es, "throttle", "store8"), "r3");
	add(&es, "r2", "throttle", "runbook", "store7", "done");
	assert_null(tc_journal_open_run(&es, "throttle", "store7"));

	add(&es, "p1", "throttle", "proposal", "store7", "pending");
	assert_int_equal(tc_journal_decision(&es, "p1"), TC_UNDECIDED);
	assert_int_equal(tc_journal_decision(&es, "p2"), TC_UNDECIDED);
	add(&es, "p1", "throttle", "proposal", "store7", "approved");
	add(&es, "p1", "throttle", "proposal", "store7", "rejected");
	assert_int_equal(tc_journal_decision(&es, "p1"), TC_APPROVED);
	add(&es, "p2", "throttle", "proposal", "store7", "pending");
	add(&es, "p2", "throttle", "proposal", "store7", "expired");
	assert_int_equal(tc_journal_decision(&es, "p2"), TC_EXPIRED);
	add(&es, "p3", "throttle", "proposal", "store7", "rejected");
	assert_int_equal(tc_journal_decision(&es, "p3"), TC_REJECTED);
	journal_entries_free(&es);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_defaults),
		cmocka_unit_test(test_settings_values),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_rule_names_runbook),
		cmocka_unit_test(test_settings_pgbouncer),
		cmocka_unit_test(test_pgbouncer_saved),
		cmocka_unit_test(test_engage_renew_release),
		cmocka_unit_test(test_hysteresis_restarts),
		cmocka_unit_test(test_drain_while_engaged),
		cmocka_unit_test(test_page_first),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_rules_lost),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
