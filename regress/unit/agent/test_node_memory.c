/*
 * test_node_memory.c: what the agent keeps per node (facts memory, last
 * metrics) follows the collector's nodes: a node kept across a reload keeps
 * it, a re-targeted or new node starts afresh, a removed node's is freed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "node_memory.h"

#include <stdlib.h>
#include <string.h>

static void
parse(const char *text, agent_cfg *cfg)
{
	config_errors errs = {0};

	memset(cfg, 0, sizeof(*cfg));
	assert_true(config_parse("t.conf", text, cfg, &errs));
	config_errors_free(&errs);
}

/* marks a memory as used: one metric family in its set */
static void
mark(node_memory *m, double v)
{
	mset_add(mset_family(&m->metrics, "orguard_test", "Test.", METRIC_GAUGE), v, NULL);
}

static const node_memory *
find(const node_memories *m, const collector *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->v[i]->cfg.name, name))
			return &m->v[i];
	return NULL;
}

static void
test_follows_reload(void **state)
{
	agent_cfg	cfg,
				fresh;
	collector  *c;
	node_memories mem = {0};
	facts_memory *kept;

	(void) state;
	parse("[node a]\nconninfo = host=a.invalid\n[node b]\nconninfo = host=b.invalid\n", &cfg);
	c = collector_new(&cfg);
	node_memories_sync(&mem, c);
	assert_int_equal(mem.n, 2);
	for (int i = 0; i < 2; i++)
	{
		assert_non_null(mem.v[i].facts);
		assert_int_equal(mem.v[i].node_serial, c->v[i]->serial);
		assert_int_equal(mem.v[i].metrics.n, 0);
	}
	assert_true(mem.v[0].facts != mem.v[1].facts);
	mark(&mem.v[0], 1);
	mark(&mem.v[1], 2);
	kept = mem.v[1].facts;

	/* a sync without a change keeps everything in place */
	node_memories_sync(&mem, c);
	assert_int_equal(mem.n, 2);
	assert_ptr_equal(mem.v[1].facts, kept);
	assert_int_equal(mem.v[0].metrics.n, 1);

	/* b kept (first now), a re-targeted, c new */
	parse("[node b]\nconninfo = host=b.invalid\n[node a]\nconninfo = host=other.invalid\n"
		  "[node c]\nconninfo = host=c.invalid\n", &fresh);
	config_free(&cfg);
	cfg = fresh;
	collector_reload(c, &cfg);
	node_memories_sync(&mem, c);
	assert_int_equal(mem.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mem.v[i].node_serial, c->v[i]->serial);
	assert_ptr_equal(find(&mem, c, "b")->facts, kept);
	assert_int_equal(find(&mem, c, "b")->metrics.n, 1);
	assert_int_equal(find(&mem, c, "b")->metrics.f[0].s[0].value, 2);
	assert_int_equal(find(&mem, c, "a")->metrics.n, 0);	/* afresh */
	assert_int_equal(find(&mem, c, "c")->metrics.n, 0);

	/* every node removed: every memory freed (valgrind counts leaks) */
	parse("[node d]\nconninfo = host=d.invalid\n", &fresh);
	config_free(&cfg);
	cfg = fresh;
	collector_reload(c, &cfg);
	node_memories_sync(&mem, c);
	assert_int_equal(mem.n, 1);
	assert_int_equal(mem.v[0].metrics.n, 0);

	node_memories_free(&mem);
	assert_int_equal(mem.n, 0);
	collector_free(c);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follows_reload),
	};

	return cmocka_run_group_tests_name("agent node_memory", tests, NULL, NULL);
}
