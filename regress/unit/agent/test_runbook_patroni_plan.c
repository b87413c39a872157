/*
 * test_runbook_patroni_plan.c
 *	  Unit tests for the Patroni backend's decisions: parsing GET /cluster
 *	  (answers captured from Patroni 3.0.2 with etcd 3.4 on loopback, and a
 *	  Patroni 4-style one), choosing the candidate, every refusal, the
 *	  request bodies and when a request has taken effect.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "runbooks/patroni_plan.h"

/* Patroni 3.0.2: a healthy cluster of three */
static const char healthy[] =
	"{\"members\": [{\"name\": \"m1\", \"role\": \"leader\", \"state\": \"running\", "
	"\"api_url\": \"http://127.0.0.1:41828/patroni\", \"host\": \"127.0.0.1\", \"port\": 52679, \"timeline\": 1}, "
	"{\"name\": \"m2\", \"role\": \"replica\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:20386/patroni\", "
	"\"host\": \"127.0.0.1\", \"port\": 27467, \"timeline\": 1, \"lag\": 0}, "
	"{\"name\": \"m3\", \"role\": \"replica\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:52767/patroni\", "
	"\"host\": \"127.0.0.1\", \"port\": 38973, \"timeline\": 1, \"lag\": 0}]}";

/* Patroni 3.0.2, paused, after the leader's postgres was killed: no leader left */
static const char leader_down[] =
	"{\"members\": [{\"name\": \"m1\", \"role\": \"replica\", \"state\": \"stopped\", "
	"\"api_url\": \"http://127.0.0.1:41828/patroni\", \"host\": \"127.0.0.1\", \"port\": 52679, \"lag\": \"unknown\"}, "
	"{\"name\": \"m2\", \"role\": \"replica\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:20386/patroni\", "
	"\"host\": \"127.0.0.1\", \"port\": 27467, \"timeline\": 1, \"lag\": 0}, "
	"{\"name\": \"m3\", \"role\": \"replica\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:52767/patroni\", "
	"\"host\": \"127.0.0.1\", \"port\": 38973, \"timeline\": 1, \"lag\": 0}], \"pause\": true}";

/* Patroni 3.0.2, paused, right after POST /failover {"candidate": "m2"} */
static const char after_failover[] =
	"{\"members\": [{\"name\": \"m1\", \"role\": \"replica\", \"state\": \"stopped\", "
	"\"api_url\": \"http://127.0.0.1:41828/patroni\", \"host\": \"127.0.0.1\", \"port\": 52679, \"lag\": \"unknown\"}, "
	"{\"name\": \"m2\", \"role\": \"leader\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:20386/patroni\", "
	"\"host\": \"127.0.0.1\", \"port\": 27467, \"timeline\": 2}, "
	"{\"name\": \"m3\", \"role\": \"replica\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:52767/patroni\", "
	"\"host\": \"127.0.0.1\", \"port\": 38973, \"timeline\": 1, \"lag\": 264}], \"pause\": true}";

/*
 * Patroni 4 style: the leader's role is "primary" (as in 4.x health
 * checks), replicas report "streaming", a sync standby and a member tagged
 * nofailover; the leader itself is gone (crashed node)
 */
static const char v4_no_leader[] =
	"{\"members\": ["
	"{\"name\": \"a\", \"role\": \"replica\", \"state\": \"streaming\", \"host\": \"10.0.0.1\", \"port\": 5432, "
	"\"timeline\": 4, \"lag\": 0, \"tags\": {\"nofailover\": true}}, "
	"{\"name\": \"b\", \"role\": \"replica\", \"state\": \"streaming\", \"host\": \"10.0.0.2\", \"port\": 5432, "
	"\"timeline\": 4, \"lag\": 0}, "
	"{\"name\": \"c\", \"role\": \"sync_standby\", \"state\": \"streaming\", \"host\": \"10.0.0.3\", \"port\": 5432, "
	"\"timeline\": 4, \"lag\": 16}], "
	"\"scope\": \"shop\"}";

static const char v4_primary_alive[] =
	"{\"members\": ["
	"{\"name\": \"a\", \"role\": \"primary\", \"state\": \"running\", \"host\": \"10.0.0.1\", \"port\": 5432, \"timeline\": 5}, "
	"{\"name\": \"b\", \"role\": \"replica\", \"state\": \"streaming\", \"host\": \"10.0.0.2\", \"port\": 5432, "
	"\"timeline\": 5, \"lag\": 0}]}";

static patroni_cluster
parse(const char *json)
{
	patroni_cluster c;
	char		err[256];

	assert_true(patroni_cluster_parse(json, &c, err, sizeof(err)));
	return c;
}

static void
test_parse_3_0_2(void **state)
{
	patroni_cluster c = parse(leader_down);

	(void) state;
	assert_int_equal(c.n, 3);
	assert_true(c.paused);
	assert_string_equal(c.m[0].name, "m1");
	assert_int_equal(c.m[0].role, PATRONI_ROLE_REPLICA);
	assert_false(patroni_member_running(&c.m[0]));
	assert_false(c.m[0].lag_known);	/* "unknown" */
	assert_int_equal(c.m[0].timeline, 0);
	assert_string_equal(c.m[1].host, "127.0.0.1");
	assert_int_equal(c.m[1].port, 27467);
	assert_true(c.m[1].lag_known);
	assert_int_equal(c.m[1].lag, 0);
	assert_int_equal(c.m[1].timeline, 1);
	assert_int_equal(patroni_live_leader(&c), -1);
	patroni_cluster_free(&c);

	c = parse(healthy);
	assert_false(c.paused);
	assert_int_equal(patroni_live_leader(&c), 0);
	assert_int_equal(patroni_member_index(&c, "m3"), 2);
	assert_int_equal(patroni_member_index(&c, "nope"), -1);
	patroni_cluster_free(&c);
}

static void
test_parse_roles_all_versions(void **state)
{
	patroni_cluster c = parse(v4_primary_alive);

	(void) state;
	assert_int_equal(patroni_role_parse("master"), PATRONI_ROLE_LEADER);
	assert_int_equal(patroni_role_parse("primary"), PATRONI_ROLE_LEADER);
	assert_int_equal(patroni_role_parse("leader"), PATRONI_ROLE_LEADER);
	assert_int_equal(patroni_role_parse("standby_leader"), PATRONI_ROLE_STANDBY_LEADER);
	assert_int_equal(patroni_role_parse("sync_standby"), PATRONI_ROLE_SYNC_STANDBY);
	assert_int_equal(patroni_role_parse("replica"), PATRONI_ROLE_REPLICA);
	assert_int_equal(patroni_role_parse("uninitialized"), PATRONI_ROLE_OTHER);
	assert_int_equal(patroni_role_parse(NULL), PATRONI_ROLE_OTHER);
	assert_int_equal(patroni_live_leader(&c), 0);
	assert_true(patroni_member_running(&c.m[1]));	/* "streaming" */
	patroni_cluster_free(&c);
}

static void
test_parse_rejects_garbage(void **state)
{
	patroni_cluster c;
	char		err[256];

	(void) state;
	assert_false(patroni_cluster_parse("<html>502</html>", &c, err, sizeof(err)));
	assert_non_null(strstr(err, "not JSON"));
	assert_false(patroni_cluster_parse("{\"state\": \"running\", \"role\": \"master\"}", &c, err, sizeof(err)));
	assert_non_null(strstr(err, "members"));
	assert_false(patroni_cluster_parse(NULL, &c, err, sizeof(err)));
	/* members without a name are skipped, not fatal */
	assert_true(patroni_cluster_parse("{\"members\": [{\"role\": \"replica\"}, 3]}", &c, err, sizeof(err)));
	assert_int_equal(c.n, 0);
	patroni_cluster_free(&c);
}

static void
test_failover_when_leader_gone(void **state)
{
	patroni_cluster c = parse(leader_down);
	patroni_request r = {"m3", false, 1048576};
	patroni_decision d;

	(void) state;
	assert_true(patroni_decide(&c, &r, &d));
	assert_int_equal(d.action, PATRONI_FAILOVER);
	assert_int_equal(d.leader, -1);
	assert_string_equal(c.m[d.candidate].name, "m3");
	/* paused: only a named candidate */
	r.candidate = NULL;
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "paused");
	c.paused = false;
	/* equal lag: the name decides */
	assert_true(patroni_decide(&c, &r, &d));
	assert_string_equal(c.m[d.candidate].name, "m2");
	/* the stopped old leader cannot be named */
	r.candidate = "m1";
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "candidate");
	assert_non_null(strstr(d.reason, "stopped"));
	r.candidate = "m9";
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "candidate");
	assert_non_null(strstr(d.reason, "not a member"));
	patroni_cluster_free(&c);
}

static void
test_leader_alive_needs_switchover(void **state)
{
	patroni_cluster c = parse(healthy);
	patroni_request r = {NULL, false, 1048576};
	patroni_decision d;

	(void) state;
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "leader_alive");
	assert_non_null(strstr(d.reason, "m1"));
	assert_int_equal(d.candidate, -1);
	r.switchover = true;
	r.candidate = "m3";
	assert_true(patroni_decide(&c, &r, &d));
	assert_int_equal(d.action, PATRONI_SWITCHOVER);
	assert_string_equal(c.m[d.leader].name, "m1");
	assert_string_equal(c.m[d.candidate].name, "m3");
	/* the leader is no candidate of its own switchover */
	r.candidate = "m1";
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "candidate");
	patroni_cluster_free(&c);

	/* a switchover needs a leader */
	c = parse(leader_down);
	r.candidate = "m2";
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "no_leader");
	patroni_cluster_free(&c);
}

static void
test_lag_and_timeline_guards(void **state)
{
	patroni_cluster c = parse(after_failover);
	patroni_request r = {"m3", true, 100};
	patroni_decision d;

	(void) state;
	/* m3: 264 bytes behind */
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "max_lag_bytes");
	assert_non_null(strstr(d.reason, "264"));
	r.max_lag_bytes = -1;		/* unbounded */
	assert_true(patroni_decide(&c, &r, &d));
	/* chosen: the only one, and the lag refusal is what is reported */
	r.candidate = NULL;
	r.max_lag_bytes = 0;
	c.paused = false;
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "max_lag_bytes");
	assert_non_null(strstr(d.reason, "no healthy candidate"));
	assert_non_null(strstr(d.reason, "m1 is stopped"));
	patroni_cluster_free(&c);

	/* a replica left on an older timeline loses to one on the newest */
	c = parse(leader_down);
	c.paused = false;
	c.m[1].timeline = 2;
	c.m[2].lag = 0;
	r.max_lag_bytes = 1048576;
	r.switchover = false;
	assert_true(patroni_decide(&c, &r, &d));
	assert_string_equal(c.m[d.candidate].name, "m2");
	r.candidate = "m3";
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "timeline");
	patroni_cluster_free(&c);
}

static void
test_prefer_sync_skip_nofailover(void **state)
{
	patroni_cluster c = parse(v4_no_leader);
	patroni_request r = {NULL, false, 1048576};
	patroni_decision d;

	(void) state;
	assert_true(c.m[0].nofailover);
	/* c is a sync standby: it wins over b despite 16 bytes of lag */
	assert_true(patroni_decide(&c, &r, &d));
	assert_int_equal(d.action, PATRONI_FAILOVER);
	assert_string_equal(c.m[d.candidate].name, "c");
	assert_non_null(strstr(d.reason, "chosen: sync_standby"));
	r.candidate = "a";
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "candidate");
	assert_non_null(strstr(d.reason, "nofailover"));
	/* without the sync standby, the least lag wins */
	r.candidate = NULL;
	c.m[2].role = PATRONI_ROLE_REPLICA;
	assert_true(patroni_decide(&c, &r, &d));
	assert_string_equal(c.m[d.candidate].name, "b");
	patroni_cluster_free(&c);
}

static void
test_bodies_and_completion(void **state)
{
	char	   *f = patroni_failover_body("m2");
	char	   *s = patroni_switchover_body("m1", "we\"ird");
	patroni_cluster c = parse(after_failover);

	(void) state;
	assert_string_equal(f, "{\"candidate\":\"m2\"}");
	assert_string_equal(s, "{\"leader\":\"m1\",\"candidate\":\"we\\\"ird\"}");
	assert_true(patroni_promoted(&c, "m2"));
	assert_false(patroni_promoted(&c, "m3"));
	assert_false(patroni_promoted(&c, "zz"));
	c.m[1].state[0] = 'x';		/* "xunning": leads but does not run */
	assert_false(patroni_promoted(&c, "m2"));
	free(f);
	free(s);
	patroni_cluster_free(&c);
}

static void
test_auth_and_describe(void **state)
{
	char		u[32],
				p[32];
	patroni_cluster c = parse(after_failover);
	char	   *desc = patroni_describe(&c);

	(void) state;
	assert_true(patroni_auth_parse("orguard:s3:cret\n", u, sizeof(u), p, sizeof(p)));
	assert_string_equal(u, "orguard");
	assert_string_equal(p, "s3:cret");
	assert_true(patroni_auth_parse("a:", u, sizeof(u), p, sizeof(p)));
	assert_string_equal(p, "");
	assert_false(patroni_auth_parse(":x", u, sizeof(u), p, sizeof(p)));
	assert_false(patroni_auth_parse("nocolon\n", u, sizeof(u), p, sizeof(p)));
	assert_false(patroni_auth_parse("a:b\nc:d\n", u, sizeof(u), p, sizeof(p)));
	assert_false(patroni_auth_parse("averyveryveryveryverylongusername:x", u, 8, p, sizeof(p)));
	assert_string_equal(desc, "m1 replica stopped lag unknown; m2 leader running tl 2; "
						"m3 replica running tl 1 lag 264 (paused)");
	free(desc);
	patroni_cluster_free(&c);
}

static void
test_other_primary_refuses(void **state)
{
	patroni_cluster c = parse(leader_down);
	patroni_request r = {"m3", false, 1048576};
	patroni_decision d;

	(void) state;
	/* m2 was promoted by hand during maintenance: Patroni still lists it as a replica */
	c.m[1].pg = PATRONI_PG_PRIMARY;
	c.m[2].pg = PATRONI_PG_STANDBY;
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "other_primary");
	assert_int_equal(d.candidate, -1);
	assert_non_null(strstr(d.reason, "m2 answers as a primary"));
	/* naming it, or choosing, changes nothing */
	r.candidate = "m2";
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "other_primary");
	/* the old leader's PostgreSQL still answering as a primary is no dead leader either */
	c.m[1].pg = PATRONI_PG_STANDBY;
	c.m[0].pg = PATRONI_PG_PRIMARY;
	r.candidate = "m3";
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "other_primary");
	assert_non_null(strstr(d.reason, "m1"));
	c.m[0].pg = PATRONI_PG_UNKNOWN;
	assert_true(patroni_decide(&c, &r, &d));
	patroni_cluster_free(&c);

	/* a switchover: the live leader is the one primary allowed */
	c = parse(healthy);
	r.switchover = true;
	c.m[0].pg = PATRONI_PG_PRIMARY;
	assert_true(patroni_decide(&c, &r, &d));
	c.m[1].pg = PATRONI_PG_PRIMARY;
	assert_false(patroni_decide(&c, &r, &d));
	assert_string_equal(d.guard, "other_primary");
	patroni_cluster_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_3_0_2),
		cmocka_unit_test(test_parse_roles_all_versions),
		cmocka_unit_test(test_parse_rejects_garbage),
		cmocka_unit_test(test_failover_when_leader_gone),
		cmocka_unit_test(test_leader_alive_needs_switchover),
		cmocka_unit_test(test_lag_and_timeline_guards),
		cmocka_unit_test(test_prefer_sync_skip_nofailover),
		cmocka_unit_test(test_bodies_and_completion),
		cmocka_unit_test(test_auth_and_describe),
		cmocka_unit_test(test_other_primary_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
