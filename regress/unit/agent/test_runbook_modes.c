/*
 * test_runbook_modes.c
 *	  Unit tests for rule-triggered runbooks: the mode settings, the state
 *	  of proposals read back from the journal, and the arguments a rule's
 *	  alert gives its runbook.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/config.h"
#include "runbooks/proposal.h"
#include "runbooks/settings.h"
#include "runbooks/trigger_args.h"

#define NODES \
	"[node p]\nconninfo = host=/run/pg port=5432 user=postgres\ncluster = shop\n" \
	"[node s1]\nconninfo = host=/run/pg port=5433 user=postgres\ncluster = shop\n"
#define PITR "[runbook pitr]\nnode = p\nbackup_dir = /b\narchive_dir = /a\n"
#define PROMOTE "[runbook promote]\nprimary = p\nstandbys = s1\nfence_command = none\n"

/* ---- settings ---- */

static bool
load(const char *text, const char *name, rb_settings *s, char **first_error)
{
	agent_cfg	cfg;
	config_errors cerrs = {0},
				errs = {0};
	bool		ok = false;

	assert_true(config_parse("/etc/agent.conf", text, &cfg, &cerrs));
	for (int i = 0; i < cfg.n_runbooks; i++)
		if (!strcmp(cfg.runbooks[i].name, name))
			ok = rb_settings_load(&cfg, &cfg.runbooks[i], s, &errs);
	*first_error = errs.n ? strdup(errs.msg[0]) : NULL;
	config_errors_free(&errs);
	config_errors_free(&cerrs);
	config_free(&cfg);
	return ok;
}

static void
test_mode_defaults(void **state)
{
	rb_settings s;
	char	   *e;

	(void) state;
	assert_true(load(NODES PITR, "pitr", &s, &e));
	assert_int_equal(s.mode, RB_MODE_PAGE_FIRST);
	assert_true(s.approve_within_s == 1800);
	assert_true(s.announce_timeout_s == 10);
	rb_settings_free(&s);
	assert_true(load(NODES PROMOTE, "promote", &s, &e));
	assert_int_equal(s.mode, RB_MODE_PAGE_FIRST);
	rb_settings_free(&s);
}

static void
test_mode_set(void **state)
{
	rb_settings s;
	char	   *e;

	(void) state;
	assert_true(load(NODES PROMOTE "mode = auto\napprove_within = 5m\nannounce_timeout = 2s\n", "promote", &s, &e));
	assert_int_equal(s.mode, RB_MODE_AUTO);
	assert_true(s.approve_within_s == 300);
	assert_true(s.announce_timeout_s == 2);
	rb_settings_free(&s);
	assert_true(load(NODES PITR "mode = page-first\n", "pitr", &s, &e));
	assert_int_equal(s.mode, RB_MODE_PAGE_FIRST);
	rb_settings_free(&s);
}

static void
test_mode_errors(void **state)
{
	rb_settings s;
	char	   *e;

	(void) state;
	assert_false(load(NODES PITR "mode = sometimes\n", "pitr", &s, &e));
	assert_non_null(e);
	assert_non_null(strstr(e, "[runbook pitr]: mode: \"sometimes\" is not auto or page-first"));
	free(e);
	rb_settings_free(&s);
	assert_false(load(NODES PITR "approve_within = soon\n", "pitr", &s, &e));
	assert_non_null(e);
	assert_non_null(strstr(e, "approve_within: \"soon\" is not a positive duration"));
	free(e);
	rb_settings_free(&s);
}

/* ---- proposals ---- */

static journal_entry
line(const char *time, const char *run, const char *runbook, const char *st, const char *result,
	 const char *detail)
{
	journal_entry e = {(char *) time, (char *) run, (char *) runbook, (char *) st, "pg1",
	(char *) result, (char *) detail};

	return e;
}

#define T0 "2026-11-23T10:00:00.000Z"
#define T0_US INT64_C(1795428000000000)

static void
test_time_parse(void **state)
{
	int64_t		us;

	(void) state;
	assert_true(rb_journal_time_parse(T0, &us));
	assert_true(us == T0_US);
	assert_true(rb_journal_time_parse("2026-11-23T10:00:01.250Z", &us));
	assert_true(us == T0_US + 1250000);
	assert_true(rb_journal_time_parse("2026-11-23T10:00:01Z", &us));
	assert_true(us == T0_US + 1000000);
	assert_false(rb_journal_time_parse("2026-11-23 10:00:01", &us));
	assert_false(rb_journal_time_parse("", &us));
	assert_false(rb_journal_time_parse(NULL, &us));
}

static void
test_proposal_states(void **state)
{
	journal_entry v[] = {
		line(T0, "r1", "pitr", "runbook", "started", "--before-event 7"),
		line(T0, "pA", "pitr", "proposal", "pending", "--before-event 42"),
		line(T0, "pB", "pitr", "proposal", "pending", "--before-event 43"),
		line(T0, "pC", "pitr", "proposal", "pending", "--before-event 44"),
		line("2026-11-23T10:01:00.000Z", "pB", "pitr", "proposal", "approved", "--before-event 43"),
		line("2026-11-23T10:02:00.000Z", "pC", "pitr", "proposal", "rejected", "--before-event 44"),
		/* a later line never overrides the first decision */
		line("2026-11-23T10:03:00.000Z", "pB", "pitr", "proposal", "rejected", "--before-event 43"),
	};
	journal_entries es = {v, 7, 0};
	rb_proposal p;

	(void) state;
	assert_int_equal(rb_proposal_find(&es, "pA", T0_US + 60000000, 1800, &p), RB_PROPOSAL_PENDING);
	assert_string_equal(p.params, "--before-event 42");
	assert_string_equal(p.node, "pg1");
	assert_string_equal(p.runbook, "pitr");
	assert_true(p.proposed_us == T0_US);
	assert_null(p.decided_time);
	assert_int_equal(rb_proposal_find(&es, "pB", T0_US, 1800, &p), RB_PROPOSAL_APPROVED);
	assert_string_equal(p.decided_time, "2026-11-23T10:01:00.000Z");
	assert_int_equal(rb_proposal_find(&es, "pC", T0_US, 1800, &p), RB_PROPOSAL_REJECTED);
	assert_int_equal(rb_proposal_find(&es, "pZ", T0_US, 1800, &p), RB_PROPOSAL_UNKNOWN);
	/* a run id is not a proposal */
	assert_int_equal(rb_proposal_find(&es, "r1", T0_US, 1800, &p), RB_PROPOSAL_UNKNOWN);
	assert_string_equal(rb_proposal_state_name(RB_PROPOSAL_APPROVED), "approved");
}

static void
test_proposal_expiry(void **state)
{
	journal_entry v[] = {
		line(T0, "pA", "promote", "proposal", "pending", "--watch-for 60s"),
		line(T0, "pE", "promote", "proposal", "pending", "--watch-for 60s"),
		line("2026-11-23T10:31:00.000Z", "pE", "promote", "proposal", "expired", "--watch-for 60s"),
	};
	journal_entries es = {v, 3, 0};
	rb_proposal p;

	(void) state;
	/* pending up to approve_within, expired after */
	assert_int_equal(rb_proposal_find(&es, "pA", T0_US + 1800000000, 1800, &p), RB_PROPOSAL_PENDING);
	assert_int_equal(rb_proposal_find(&es, "pA", T0_US + 1800000001, 1800, &p), RB_PROPOSAL_EXPIRED);
	assert_null(p.decided_time);
	/* recorded as expired: stays expired, with its time */
	assert_int_equal(rb_proposal_find(&es, "pE", T0_US, 1800, &p), RB_PROPOSAL_EXPIRED);
	assert_string_equal(p.decided_time, "2026-11-23T10:31:00.000Z");
}

static void
test_proposal_ids(void **state)
{
	journal_entry v[] = {
		line(T0, "pA", "pitr", "proposal", "pending", ""),
		line(T0, "r1", "pitr", "runbook", "started", ""),
		line(T0, "pB", "promote", "proposal", "pending", ""),
		line(T0, "pA", "pitr", "proposal", "approved", ""),
	};
	journal_entries es = {v, 4, 0};
	const char **ids;
	int			n = rb_proposal_ids(&es, &ids);

	(void) state;
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "pA");
	assert_string_equal(ids[1], "pB");
	free(ids);
}

static void
test_proposal_pending_for(void **state)
{
	journal_entry v[] = {
		line(T0, "pA", "pitr", "proposal", "pending", "--before-event 42"),
		line(T0, "pA", "pitr", "proposal", "approved", "--before-event 42"),
		line(T0, "pB", "pitr", "proposal", "pending", "--before-event 42"),
		line(T0, "pC", "promote", "proposal", "pending", "--watch-for 60s"),
	};
	journal_entries es = {v, 4, 0};

	(void) state;
	assert_string_equal(rb_proposal_pending_for(&es, "pitr", "--before-event 42", T0_US, 1800), "pB");
	assert_null(rb_proposal_pending_for(&es, "pitr", "--before-event 43", T0_US, 1800));
	assert_null(rb_proposal_pending_for(&es, "other", "--watch-for 60s", T0_US, 1800));
	/* an expired proposal does not stop a new one */
	assert_null(rb_proposal_pending_for(&es, "promote", "--watch-for 60s", T0_US + 3600000000, 1800));
}

static void
test_proposal_id(void **state)
{
	char	   *id = rb_proposal_new_id(T0_US, 4242);

	(void) state;
	assert_string_equal(id, "p20261123T100000Z-4242");
	free(id);
}

/* ---- trigger arguments ---- */

static void
test_trigger_pitr_from_destructive_event(void **state)
{
	char		err[512] = "";
	char	   *a = rb_trigger_args(RB_KIND_PITR, "destructive_event", true, "delete/shop/public.res_partner/42",
									0, err, sizeof(err));
	unsigned long long id;

	(void) state;
	assert_non_null(a);
	assert_string_equal(a, "--before-event 42");
	free(a);
	assert_true(rb_trigger_event_id("42", &id));
	assert_true(id == 42);
	assert_false(rb_trigger_event_id("delete/shop/x/", &id));
	assert_false(rb_trigger_event_id("delete/shop/x/4a", &id));
	assert_false(rb_trigger_event_id("delete/shop/x/0", &id));
}

static void
test_trigger_pitr_refuses_without_target(void **state)
{
	char		err[512] = "";

	(void) state;
	assert_null(rb_trigger_args(RB_KIND_PITR, "lock_wait", false, "shop/sale.order", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "target: rule lock_wait does not name a point in time"));
	assert_null(rb_trigger_args(RB_KIND_PITR, "destructive_event", true, "delete/shop/t/", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "does not end with a destructive event id"));
}

static void
test_trigger_promote_watches_bounded(void **state)
{
	char		err[512] = "";
	char	   *a = rb_trigger_args(RB_KIND_PROMOTE, "node_unreachable", false, "pg1", 34, err, sizeof(err));

	(void) state;
	assert_string_equal(a, "--watch-for 34s");
	free(a);
}

static void
test_args_split(void **state)
{
	char	  **argv;
	int			n = rb_args_split("  --before-event\t42 ", &argv);

	(void) state;
	assert_int_equal(n, 2);
	assert_string_equal(argv[0], "--before-event");
	assert_string_equal(argv[1], "42");
	assert_null(argv[2]);
	rb_args_free(argv, n);
	n = rb_args_split("", &argv);
	assert_int_equal(n, 0);
	rb_args_free(argv, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_defaults),
		cmocka_unit_test(test_mode_set),
		cmocka_unit_test(test_mode_errors),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_proposal_states),
		cmocka_unit_test(test_proposal_expiry),
		cmocka_unit_test(test_proposal_ids),
		cmocka_unit_test(test_proposal_pending_for),
		cmocka_unit_test(test_proposal_id),
		cmocka_unit_test(test_trigger_pitr_from_destructive_event),
		cmocka_unit_test(test_trigger_pitr_refuses_without_target),
		cmocka_unit_test(test_trigger_promote_watches_bounded),
		cmocka_unit_test(test_args_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
