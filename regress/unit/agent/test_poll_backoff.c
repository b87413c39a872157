/*
 * test_poll_backoff.c: how long a node that keeps failing is left alone,
 * and how many sessions the collector opens at once.
 *
 * The pause: 0.5 s doubling per failure in a row, capped by reconnect_max
 * (0: none), without overflow however long the streak; none after a reset.
 * The collector: a node backing off ends its poll at once and says when
 * the next one comes; against a listener that accepts connections and
 * never answers (a server too slow to answer), at most POLL_MAX_OPENING
 * sessions are being opened at any moment, every node is polled in the
 * end, and each one's deadline counts from when it really started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collect/node.h"
#include "collect/poll_backoff.h"
#include "common/config.h"
#include "common/util.h"

#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
test_doubling(void **state)
{
	(void) state;
	assert_int_equal(poll_backoff_ms(1, 60), 500);
	assert_int_equal(poll_backoff_ms(2, 60), 1000);
	assert_int_equal(poll_backoff_ms(3, 60), 2000);
	assert_int_equal(poll_backoff_ms(4, 60), 4000);
	assert_int_equal(poll_backoff_ms(7, 60), 32000);
}

static void
test_cap(void **state)
{
	(void) state;
	/* 64 s would come next: reconnect_max holds it */
	assert_int_equal(poll_backoff_ms(8, 60), 60000);
	assert_int_equal(poll_backoff_ms(9, 60), 60000);
	assert_int_equal(poll_backoff_ms(3, 1.5), 1500);
	/* a cap that is no power of two of 0.5 s */
	assert_int_equal(poll_backoff_ms(4, 3.3), 3300);
}

static void
test_no_overflow(void **state)
{
	(void) state;
	/* a streak of years at a 1 s interval, and the most there can be */
	assert_int_equal(poll_backoff_ms(100000000, 60), 60000);
	assert_int_equal(poll_backoff_ms(INT_MAX, 60), 60000);
	/* a cap the doubling never reaches in 64 bits without stopping */
	assert_true(poll_backoff_ms(INT_MAX, 1e300) > 0);
	assert_true(poll_backoff_ms(INT_MAX, 1e300) >= poll_backoff_ms(60, 1e300));
	assert_true(poll_backoff_ms(INT_MAX, INFINITY) > 0);
	/* 366 days, the configuration's largest duration */
	assert_int_equal(poll_backoff_ms(INT_MAX, 366.0 * 86400), INT64_C(366) * 86400 * 1000);
}

static void
test_small_or_no_cap(void **state)
{
	(void) state;
	/* reconnect_max 0: polled every interval, as before any failure */
	assert_int_equal(poll_backoff_ms(1, 0), 0);
	assert_int_equal(poll_backoff_ms(INT_MAX, 0), 0);
	assert_int_equal(poll_backoff_ms(5, -1), 0);
	assert_int_equal(poll_backoff_ms(5, NAN), 0);
	/* below the first pause: the cap from the start */
	assert_int_equal(poll_backoff_ms(1, 0.2), 200);
	assert_int_equal(poll_backoff_ms(30, 0.2), 200);
	assert_int_equal(poll_backoff_ms(1, 0.5), 500);
	assert_int_equal(poll_backoff_ms(2, 0.5), 500);
}

static void
test_reset(void **state)
{
	(void) state;
	/* no failure in a row (a poll ended in time): no pause */
	assert_int_equal(poll_backoff_ms(0, 60), 0);
	assert_int_equal(poll_backoff_ms(-3, 60), 0);
	assert_int_equal(poll_backoff_ms(INT_MIN, 60), 0);
}

static void
test_recap(void **state)
{
	(void) state;
	/* set under reconnect_max 60 s, cut to 5 s from now */
	assert_int_equal(poll_backoff_recap(1000 + 60000, 1000, 5), 1000 + 5000);
	/* already within the new cap: kept */
	assert_int_equal(poll_backoff_recap(1000 + 3000, 1000, 5), 1000 + 3000);
	assert_int_equal(poll_backoff_recap(0, 1000, 5), 0);
	/* reconnect_max 0: polled at once */
	assert_int_equal(poll_backoff_recap(1000 + 3000, 1000, 0), 1000);
}

static void
parse(const char *text, agent_cfg *cfg)
{
	config_errors errs = {0};

	memset(cfg, 0, sizeof(*cfg));
	assert_true(config_parse("t.conf", text, cfg, &errs));
	config_errors_free(&errs);
}

static collector *
collector_from(const char *text, agent_cfg *cfg)
{
	parse(text, cfg);
	return collector_new(cfg);
}

/* a bound port nobody listens on: connections to it are refused at once */
static int
refusing_port(int *port)
{
	struct sockaddr_in sa = {0};
	socklen_t	len = sizeof(sa);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* one poll cycle, to its end (bounded) */
static void
poll_cycle(collector *c)
{
	int64_t		give_up = mono_ms() + 30000;

	collector_start_poll(c, mono_ms());
	while (collector_busy(c) && mono_ms() < give_up)
		collector_step(c, 50);
	assert_false(collector_busy(c));
}

/*
 * A failed poll starts a pause and says how long; a poll during the pause
 * ends at once with the same report and connects nowhere; the next real
 * poll that fails doubles the pause.
 */
static void
test_backing_off_node_ends_at_once(void **state)
{
	agent_cfg	cfg;
	collector  *c;
	node	   *n;
	int			port;
	int			fd = refusing_port(&port);
	char		text[256];
	char		first[512];
	uint64_t	failures;

	(void) state;
	snprintf(text, sizeof(text), "[agent]\ninterval = 10s\nnode_timeout = 5s\nreconnect_max = 60s\n"
			 "[node a]\nconninfo = host=127.0.0.1 port=%d dbname=shop user=guard\n", port);
	c = collector_from(text, &cfg);
	n = c->v[0];

	poll_cycle(c);
	assert_false(n->obs.reachable);
	assert_int_equal(n->backoff, 1);
	assert_int_equal(n->failures, 1);
	assert_non_null(strstr(n->obs.error, "; next poll in 0.5s"));
	snprintf(first, sizeof(first), "%s", n->obs.error);

	/* within the pause (it ends 500 ms after the failure; a cycle takes far less) */
	failures = n->failures;
	if (mono_ms() + 100 < n->next_connect_ms)
	{
		poll_cycle(c);
		assert_null(n->conn);
		assert_int_equal(n->polls, 2);
		assert_int_equal(n->failures, failures);
		assert_int_equal(n->backoff, 1);
		assert_false(n->obs.reachable);
		assert_string_equal(n->obs.error, first);
	}

	/* past it: polled again, refused again, twice as long */
	while (mono_ms() < n->next_connect_ms)
		collector_step(c, 50);
	poll_cycle(c);
	assert_int_equal(n->backoff, 2);
	assert_int_equal(n->failures, failures + 1);
	assert_non_null(strstr(n->obs.error, "; next poll in 1.0s"));
	collector_free(c);
	config_free(&cfg);
	close(fd);
}

/* a reload keeps a kept node's backoff, cut to a lower reconnect_max */
static void
test_reload_keeps_backoff(void **state)
{
	agent_cfg	cfg,
				cfg2;
	collector  *c;
	node	   *a;
	int64_t		now = mono_ms();

	(void) state;
	c = collector_from("[agent]\ninterval = 10s\nreconnect_max = 60s\n"
					   "[node a]\nconninfo = host=a.invalid\n", &cfg);
	a = c->v[0];
	a->backoff = 9;
	a->next_connect_ms = now + 60000;
	parse("[agent]\ninterval = 10s\nreconnect_max = 60s\n"
		  "[node a]\nconninfo = host=a.invalid\ncluster = x\n", &cfg2);
	collector_reload(c, &cfg2);
	assert_ptr_equal(c->v[0], a);
	assert_int_equal(a->backoff, 9);
	assert_true(a->next_connect_ms == now + 60000);
	config_free(&cfg2);

	parse("[agent]\ninterval = 10s\nreconnect_max = 5s\n"
		  "[node a]\nconninfo = host=a.invalid\n", &cfg2);
	collector_reload(c, &cfg2);
	assert_ptr_equal(c->v[0], a);
	assert_true(a->next_connect_ms <= mono_ms() + 5000);
	assert_true(a->next_connect_ms >= now + 5000);
	collector_free(c);
	config_free(&cfg);
	config_free(&cfg2);
}

/* a TCP listener on loopback that never accepts: connections sit in its backlog unanswered */
static int
silent_listener(int *port)
{
	struct sockaddr_in sa = {0};
	socklen_t	len = sizeof(sa);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 128), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int
count_opening(const collector *c)
{
	int			k = 0;

	for (int i = 0; i < c->n; i++)
		if (c->v[i]->state == NODE_CONNECTING || c->v[i]->state == NODE_SETUP)
			k++;
	return k;
}

#define SLOW_NODES 40

static void
test_sessions_opened_at_once_are_bounded(void **state)
{
	agent_cfg	cfg;
	collector  *c;
	int			port;
	int			lfd = silent_listener(&port);
	size_t		cap = 256 + SLOW_NODES * 128;
	char	   *text = xmalloc(cap);
	size_t		o;
	int			most = 0;
	int64_t		start,
				give_up;

	(void) state;
	/* 40 nodes on one slow server; their starts spread over 390 ms */
	o = (size_t) snprintf(text, cap, "[agent]\ninterval = 4s\nnode_timeout = 2s\nreconnect_max = 60s\n");
	for (int i = 0; i < SLOW_NODES; i++)
		o += (size_t) snprintf(text + o, cap - o,
							   "[node n%d]\nconninfo = host=127.0.0.1 port=%d dbname=shop user=guard\n",
							   i, port);
	c = collector_from(text, &cfg);
	free(text);

	start = mono_ms();
	collector_start_poll(c, start);
	/* every start time has come, no deadline yet: 16 opening, the rest waiting for a slot */
	while (mono_ms() < start + 600)
	{
		collector_step(c, 50);
		if (count_opening(c) > most)
			most = count_opening(c);
	}
	assert_int_equal(count_opening(c), POLL_MAX_OPENING);
	for (int i = 0; i < c->n; i++)
		if (c->v[i]->state == NODE_DISCONNECTED)
		{
			assert_true(c->v[i]->busy);
			assert_true(c->v[i]->waiting);
			assert_null(c->v[i]->conn);
		}

	/* to the end of the cycle: slots go round, never more than 16 at once */
	give_up = mono_ms() + 60000;
	while (collector_busy(c) && mono_ms() < give_up)
	{
		collector_step(c, 50);
		if (count_opening(c) > most)
			most = count_opening(c);
	}
	assert_false(collector_busy(c));
	assert_int_equal(most, POLL_MAX_OPENING);
	for (int i = 0; i < c->n; i++)
	{
		node	   *n = c->v[i];

		/* each ran its whole deadline, counted from its own start, and backs off */
		assert_int_equal(n->polls, 1);
		assert_int_equal(n->overruns, 1);
		assert_true(n->poll_seconds >= 1.9);
		assert_true(n->poll_seconds < 4.0);
		assert_int_equal(n->backoff, 1);
		assert_false(n->obs.reachable);
		assert_non_null(strstr(n->error, "node deadline"));
	}
	/* the last ones started only when earlier ones let go of their slots */
	assert_true(c->v[SLOW_NODES - 1]->poll_start_ms >= start + 1900);
	collector_free(c);
	config_free(&cfg);
	close(lfd);
}

/* nodes removed by a reload while they wait for a slot or open a session: the others go on */
static void
test_removed_while_waiting(void **state)
{
	agent_cfg	cfg,
				cfg2;
	collector  *c;
	int			port;
	int			lfd = silent_listener(&port);
	size_t		cap = 256 + 20 * 128;
	char	   *text = xmalloc(cap);
	char	   *text2 = xmalloc(cap);
	size_t		o,
				o2;
	int64_t		start,
				give_up;

	(void) state;
	o = (size_t) snprintf(text, cap, "[agent]\ninterval = 2s\nnode_timeout = 1s\n");
	o2 = (size_t) snprintf(text2, cap, "[agent]\ninterval = 2s\nnode_timeout = 1s\n");
	for (int i = 0; i < 20; i++)
	{
		o += (size_t) snprintf(text + o, cap - o,
							   "[node n%d]\nconninfo = host=127.0.0.1 port=%d dbname=shop user=guard\n",
							   i, port);
		/* n0 (opening) and n16 to n19 (waiting) go */
		if (i > 0 && i < 16)
			o2 += (size_t) snprintf(text2 + o2, cap - o2,
									"[node n%d]\nconninfo = host=127.0.0.1 port=%d dbname=shop user=guard\n",
									i, port);
	}
	c = collector_from(text, &cfg);
	start = mono_ms();
	collector_start_poll(c, start);
	while (mono_ms() < start + 300)
		collector_step(c, 20);
	assert_int_equal(count_opening(c), POLL_MAX_OPENING);
	assert_true(c->v[19]->waiting);

	parse(text2, &cfg2);
	collector_reload(c, &cfg2);
	assert_int_equal(c->n, 15);
	give_up = mono_ms() + 30000;
	while (collector_busy(c) && mono_ms() < give_up)
		collector_step(c, 50);
	assert_false(collector_busy(c));
	for (int i = 0; i < c->n; i++)
		assert_int_equal(c->v[i]->overruns, 1);
	collector_free(c);
	config_free(&cfg);
	config_free(&cfg2);
	free(text);
	free(text2);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_no_overflow),
		cmocka_unit_test(test_small_or_no_cap),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_recap),
		cmocka_unit_test(test_backing_off_node_ends_at_once),
		cmocka_unit_test(test_reload_keeps_backoff),
		cmocka_unit_test(test_sessions_opened_at_once_are_bounded),
		cmocka_unit_test(test_removed_while_waiting),
	};

	return cmocka_run_group_tests_name("agent poll backoff", tests, NULL, NULL);
}
