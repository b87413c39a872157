/*
 * test_runbook_promote_plan.c
 *	  Unit tests for the promotion runbook's decisions: when the primary
 *	  counts as dead, which standby wins, and every guard that refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "runbooks/promote_plan.h"

static const dead_rule rule3x2 = {3, 4000};	/* 3 probes 2 s apart */

static void
test_dead_needs_count_and_span(void **state)
{
	probe_sample h[] = {{0, true}, {2000, false}, {4000, false}, {6000, false}};
	probe_sample quick[] = {{0, true}, {100, false}, {200, false}, {300, false}};
	int			fails;

	(void) state;
	assert_true(promote_primary_dead(h, 4, &rule3x2, &fails));
	assert_int_equal(fails, 3);
	/* two failures are not enough */
	assert_false(promote_primary_dead(h, 3, &rule3x2, &fails));
	assert_int_equal(fails, 2);
	/* three failures within 200 ms are not "over at least T seconds" */
	assert_false(promote_primary_dead(quick, 4, &rule3x2, &fails));
	assert_int_equal(fails, 3);
	assert_false(promote_primary_dead(h, 0, &rule3x2, &fails));
}

static void
test_dead_reset_by_success(void **state)
{
	/* a slow-but-alive primary: failures broken by one answer */
	probe_sample h[] = {{0, false}, {2000, false}, {4000, true}, {6000, false}, {8000, false}};

	(void) state;
	assert_false(promote_primary_dead(h, 5, &rule3x2, NULL));
}

static promote_guards
guards(void)
{
	promote_guards g = {0};

	g.fence_configured = true;
	g.cluster_sysid = 7710937794862906196ULL;
	g.primary_lsn_known = true;
	g.last_primary_lsn = 0x3000100;
	g.max_lag_bytes = 1048576;
	return g;
}

static void
two(promote_candidate *c)
{
	memset(c, 0, 2 * sizeof(*c));
	c[0] = (promote_candidate) {"s1", true, true, 7710937794862906196ULL, 0x3000000, 0x2FFFF00, false, PROMOTE_ASYNC};
	c[1] = (promote_candidate) {"s2", true, true, 7710937794862906196ULL, 0x3000080, 0x2000000, false, PROMOTE_ASYNC};
}

static void
test_choose_most_received(void **state)
{
	promote_candidate c[2];
	promote_guards g = guards();
	promote_decision d;

	(void) state;
	two(c);
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 1);
	assert_int_equal(d.lag_bytes, 0x80);
	assert_null(d.guard);
	/* ties on receive go to replay, then to the name */
	c[1].receive_lsn = c[0].receive_lsn;
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 0);
	c[1].replay_lsn = c[0].replay_lsn;
	c[0].name = "s9";
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 1);
	/* an unreachable node is not a candidate */
	two(c);
	c[1].reachable = false;
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 0);
	c[0].reachable = false;
	assert_false(promote_decide(c, 2, &g, &d));
	/* none answers: the unreachable-node guard (exit 4), not a judgement on a candidate */
	assert_string_equal(d.guard, "node_reachable");
}

static void
test_refuse_other_primary(void **state)
{
	promote_candidate c[2];
	promote_guards g = guards();
	promote_decision d;

	(void) state;
	/* s1 was promoted by hand: promoting s2 too would make two primaries */
	two(c);
	c[0].in_recovery = false;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "other_primary");
	assert_int_equal(d.candidate, -1);
	assert_non_null(strstr(d.reason, "s1 answers as a primary"));
	/* also when s1 is the better one, and whatever the lag bound */
	c[0].receive_lsn = 0x9000000;
	g.max_lag_bytes = -1;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "other_primary");
	/* a resumed run: the standby it chose and promoted itself is verified, not refused */
	g.chosen_before = "s1";
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 0);
	assert_non_null(strstr(d.reason, "already out of recovery"));
	/* ... but not another one */
	g.chosen_before = "s2";
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "other_primary");
	/* nor when another agent claimed s1: it promoted s1, this run has nothing to do */
	g.chosen_before = "s1";
	g.claimed = "s1";
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "other_primary");
	/* a node that does not answer is not seen as a primary */
	g.chosen_before = NULL;
	g.claimed = NULL;
	c[0].reachable = false;
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 1);

	/* the last look before pg_promote() */
	two(c);
	assert_null(promote_other_primary(c, 2, "s2"));
	c[0].in_recovery = false;
	assert_string_equal(promote_other_primary(c, 2, "s2"), "s1");
	assert_null(promote_other_primary(c, 2, "s1"));
	c[0].reachable = false;
	assert_null(promote_other_primary(c, 2, "s2"));
}

static void
test_choice_already_made(void **state)
{
	promote_candidate c[2];
	promote_guards g = guards();
	promote_decision d;

	(void) state;
	/* another agent's claim on s1 stands, though s2 received more */
	two(c);
	g.claimed = "s1";
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 0);
	/* the claimed standby gone: no other may be promoted */
	c[0].reachable = false;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "lease");
	assert_non_null(strstr(d.reason, "s1"));
	/* this run's own choice before a crash stands the same way */
	g.claimed = NULL;
	g.chosen_before = "s1";
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "candidate");
	assert_non_null(strstr(d.reason, "interrupted run chose s1"));
	c[0].reachable = true;
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 0);
}

static void
test_require_sync_quorum(void **state)
{
	promote_candidate c[2];
	promote_guards g = guards();
	promote_decision d;

	(void) state;
	/*
	 * synchronous_standby_names = 'ANY 1 (s1, s2)': both show quorum.  s2's
	 * WAL receiver stalled 100 MB ago while s1 confirmed every commit.
	 */
	two(c);
	g.require_sync = true;
	g.max_lag_bytes = 1048576;
	c[0].sync = c[1].sync = PROMOTE_QUORUM;
	c[0].receive_lsn = 0x9000000;
	c[1].receive_lsn = 0x9000000 - 100 * 1048576;
	g.last_primary_lsn = 0x8F00000;	/* sampled a moment before the crash */
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 0);
	assert_non_null(strstr(d.reason, "was quorum"));
	/* s1 gone: quorum membership does not make s2 eligible */
	c[0].reachable = false;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "candidate");
	assert_non_null(strstr(d.reason, "s2 was a quorum standby"));
	assert_non_null(strstr(d.reason, "behind the primary's last flush position"));
	/* nor without the primary's position, nor with an unbounded max_lag_bytes */
	g.max_lag_bytes = -1;
	assert_false(promote_decide(c, 2, &g, &d));
	g.primary_lsn_known = false;
	c[1].receive_lsn = 0x9000000;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_non_null(strstr(d.reason, "unknown"));
	/* both caught up to the sample: the most advanced of them */
	g.primary_lsn_known = true;
	c[0].reachable = true;
	c[1].receive_lsn = 0x9000080;
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 1);
	/* caught up, it is exempt from max_lag_bytes like a sync standby */
	g.max_lag_bytes = 0;
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 1);
	/* a sync standby (FIRST n) had every commit whatever the sample said */
	two(c);
	c[0].sync = PROMOTE_SYNC;
	g.last_primary_lsn = 0x9000000;
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 0);
}

static void
test_refuse_without_fence(void **state)
{
	promote_candidate c[2];
	promote_guards g = guards();
	promote_decision d;

	(void) state;
	two(c);
	g.fence_configured = false;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "fence_command");
	assert_int_equal(d.candidate, -1);
	assert_non_null(strstr(d.reason, "fence_command"));
}

static void
test_refuse_lag(void **state)
{
	promote_candidate c[2];
	promote_guards g = guards();
	promote_decision d;

	(void) state;
	two(c);
	g.last_primary_lsn = 0x3000080 + 2 * 1048576;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "max_lag_bytes");
	assert_non_null(strstr(d.reason, "s2"));
	assert_non_null(strstr(d.reason, "2097152 bytes behind"));
	/* exactly at the bound is fine; zero means no loss at all */
	g.last_primary_lsn = 0x3000080 + 1048576;
	assert_true(promote_decide(c, 2, &g, &d));
	g.max_lag_bytes = 0;
	assert_false(promote_decide(c, 2, &g, &d));
	g.last_primary_lsn = 0x3000080;
	assert_true(promote_decide(c, 2, &g, &d));
	/* unbounded */
	g.max_lag_bytes = -1;
	g.last_primary_lsn = 0x90000000;
	assert_true(promote_decide(c, 2, &g, &d));
	/* the primary's position never seen: loss cannot be bounded */
	g.max_lag_bytes = 1048576;
	g.primary_lsn_known = false;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "max_lag_bytes");
	assert_non_null(strstr(d.reason, "unknown"));
}

static void
test_require_sync(void **state)
{
	promote_candidate c[2];
	promote_guards g = guards();
	promote_decision d;

	(void) state;
	two(c);
	g.require_sync = true;
	g.max_lag_bytes = 0;
	g.last_primary_lsn = 0x4000000;	/* sampled ahead: WAL not yet committed */
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "candidate");
	/* the synchronous standby wins even though the other received more */
	c[0].sync = PROMOTE_SYNC;
	assert_true(promote_decide(c, 2, &g, &d));
	assert_int_equal(d.candidate, 0);
}

static void
test_refuse_sysid_and_streaming(void **state)
{
	promote_candidate c[2];
	promote_guards g = guards();
	promote_decision d;

	(void) state;
	two(c);
	c[0].sysid = 42;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "system_identifier");
	assert_non_null(strstr(d.reason, "s1"));
	/* without a configured identifier, the standbys must agree */
	g.cluster_sysid = 0;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "system_identifier");
	two(c);
	assert_true(promote_decide(c, 2, &g, &d));
	/* the candidate still streams: the primary is alive for it */
	c[1].streaming = true;
	assert_false(promote_decide(c, 2, &g, &d));
	assert_string_equal(d.guard, "upstream_gone");
}

static const char *controldata_text =
	"pg_control version number:            1300\n"
	"Catalog version number:               202209061\n"
	"Database system identifier:           7711329137968627391\n"
	"Database cluster state:               in production\n"
	"Latest checkpoint's TimeLineID:       1\n"
	"wal_level setting:                    replica\n"
	"wal_log_hints setting:                off\n"
	"Data page checksum version:           0\n";

static void
test_controldata_and_rejoin(void **state)
{
	controldata cd;
	char		why[256];

	(void) state;
	assert_true(controldata_parse(controldata_text, &cd));
	assert_int_equal(cd.sysid, 7711329137968627391ULL);
	assert_string_equal(cd.state, "in production");
	assert_int_equal(cd.timeline, 1);
	assert_false(cd.wal_log_hints);
	assert_int_equal(cd.checksum_version, 0);
	assert_false(controldata_parse("no such thing\n", &cd));

	assert_true(controldata_parse(controldata_text, &cd));
	assert_string_equal(rejoin_guard(&cd, false, 7711329137968627391ULL, why, sizeof(why)), "rewindable");
	assert_non_null(strstr(why, "re-clone"));
	cd.checksum_version = 1;
	assert_null(rejoin_guard(&cd, false, 7711329137968627391ULL, why, sizeof(why)));
	cd.checksum_version = 0;
	cd.wal_log_hints = true;
	assert_null(rejoin_guard(&cd, false, 7711329137968627391ULL, why, sizeof(why)));
	assert_string_equal(rejoin_guard(&cd, true, 7711329137968627391ULL, why, sizeof(why)), "stopped");
	assert_string_equal(rejoin_guard(&cd, false, 42, why, sizeof(why)), "system_identifier");
	assert_non_null(strstr(why, "re-clone"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dead_needs_count_and_span),
		cmocka_unit_test(test_dead_reset_by_success),
		cmocka_unit_test(test_choose_most_received),
		cmocka_unit_test(test_refuse_without_fence),
		cmocka_unit_test(test_refuse_lag),
		cmocka_unit_test(test_require_sync),
		cmocka_unit_test(test_refuse_sysid_and_streaming),
		cmocka_unit_test(test_refuse_other_primary),
		cmocka_unit_test(test_choice_already_made),
		cmocka_unit_test(test_require_sync_quorum),
		cmocka_unit_test(test_controldata_and_rejoin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
