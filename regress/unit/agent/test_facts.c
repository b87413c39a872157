/*
 * test_facts.c: a snapshot, encoded and decoded as on the wire, reduced to
 * facts: lock waits per model with the root blocker, blocking chains,
 * idle-in-transaction holders, autovacuum, replication, slots, slow-query
 * rate, destructive events; ir_model overriding the extension's model;
 * the per-node memory of counters and baselines, and what it forgets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "alert/facts.h"
#include "collect/node.h"
#include "collect/standbys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const fact *
find(const fact_list *l, rule_kind k, const char *subject)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i].kind == k && !strcmp(l->v[i].subject, subject))
			return &l->v[i];
	return NULL;
}

/* builds, packs and unpacks a snapshot, as the agent receives it */
static OdooRetailGuard__Snapshot *
wire_snapshot(uint64_t slow_calls)
{
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	OdooRetailGuard__BlockingChain c1 = ODOO_RETAIL_GUARD__BLOCKING_CHAIN__INIT;
	OdooRetailGuard__BlockingChain c2 = ODOO_RETAIL_GUARD__BLOCKING_CHAIN__INIT;
	OdooRetailGuard__BlockingChain *chains[2] = {&c1, &c2};
	int32_t		chain1[2] = {501, 400};
	OdooRetailGuard__AutovacuumLag av = ODOO_RETAIL_GUARD__AUTOVACUUM_LAG__INIT;
	OdooRetailGuard__AutovacuumLag *avs[1] = {&av};
	OdooRetailGuard__ReplicationStandby rs = ODOO_RETAIL_GUARD__REPLICATION_STANDBY__INIT;
	OdooRetailGuard__ReplicationStandby *rss[1] = {&rs};
	OdooRetailGuard__ReplicationSlot sl = ODOO_RETAIL_GUARD__REPLICATION_SLOT__INIT;
	OdooRetailGuard__ReplicationSlot *sls[1] = {&sl};
	OdooRetailGuard__ModelStat ms = ODOO_RETAIL_GUARD__MODEL_STAT__INIT;
	OdooRetailGuard__ModelStat *mss[1] = {&ms};
	OdooRetailGuard__DestructiveEvent de = ODOO_RETAIL_GUARD__DESTRUCTIVE_EVENT__INIT;
	OdooRetailGuard__DestructiveEvent *des[1] = {&de};
	OdooRetailGuard__StandbyStatus st = ODOO_RETAIL_GUARD__STANDBY_STATUS__INIT;
	uint8_t    *buf;
	size_t		len;
	OdooRetailGuard__Snapshot *out;

	s.schema_version = 1;
	s.next_cursor = 17;
	c1.waiter_pid = 600;
	c1.database = "odoo";
	c1.relation = "stock_quant";
	c1.model = "";				/* the extension could not tell */
	c1.wait_ms = 42000;
	c1.n_chain = 2;
	c1.chain = chain1;
	c1.root_pid = 400;
	c1.root_application_name = "odoo-cron";
	c1.root_state = "idle in transaction";
	c1.root_xact_age_ms = 600000;
	c1.root_query = "UPDATE stock_quant SET quantity = $1 WHERE id = $2";
	c2 = c1;
	c2.waiter_pid = 601;
	c2.wait_ms = 5000;			/* shorter wait on the same model */
	c2.n_chain = 0;
	c2.chain = NULL;
	s.n_blocking_chains = 2;
	s.blocking_chains = chains;
	av.database = "odoo";
	av.relation = "mail_message";
	av.model = "mail.message";
	av.dead_tuples = 123456;
	av.over_threshold_since_us = 1;
	av.lag_s = 7200;
	av.xid_age = 1500000000;
	s.n_autovacuum_lag = 1;
	s.autovacuum_lag = avs;
	rs.application_name = "replica1";
	rs.replay_lag_bytes = 2147483648LL;
	rs.replay_lag_ms = -1;
	s.n_replication = 1;
	s.replication = rss;
	sl.slot_name = "old_slot";
	sl.active = 0;
	sl.retained_bytes = 5368709120LL;
	s.n_replication_slots = 1;
	s.replication_slots = sls;
	ms.database = "odoo";
	ms.model = "sale.order";
	ms.operation = "select";
	ms.slow_calls = slow_calls;
	ms.p95_ms = 12;
	s.n_models = 1;
	s.models = mss;
	de.id = 9;
	de.kind = "truncate";
	de.database = "odoo";
	de.relation = "account_move_line";
	de.role = "odoo";
	de.rows = 1000;
	de.lsn_before = 0x1600000028ULL;
	s.n_destructive_events = 1;
	s.destructive_events = des;
	st.receiver_state = "stopping";
	st.replay_delay_ms = 90000;
	s.standby = &st;
	len = odoo_retail_guard__snapshot__get_packed_size(&s);
	buf = malloc(len);
	odoo_retail_guard__snapshot__pack(&s, buf);
	out = odoo_retail_guard__snapshot__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

static void
test_snapshot_facts(void **state)
{
	OdooRetailGuard__Snapshot *s = wire_snapshot(100);
	facts_memory *mem = facts_memory_new();
	fact_list	l = {0};
	const fact *f;
	model_map	map = {0};
	char	   *tables[] = {"account_move_line", "stock_quant"};
	char	   *models[] = {"account.move.line", "stock.quant"};

	(void) state;
	map.table = tables;
	map.model = models;
	map.n = 2;
	model_map_apply(&map, "odoo", s);
	facts_from_snapshot(s, mem, 1000000, &l);

	f = find(&l, RULE_LOCK_WAIT, "odoo/stock.quant");
	assert_non_null(f);
	assert_true(f->value == 42);	/* the longest wait of the model */
	/* identity in the labels, the values that move in the annotations */
	assert_string_equal(labels_get(&f->labels, "database"), "odoo");
	assert_string_equal(labels_get(&f->labels, "model"), "stock.quant");
	assert_string_equal(labels_get(&f->labels, "relation"), "stock_quant");
	assert_int_equal(f->labels.n, 3);
	assert_string_equal(labels_get(&f->annotations, "root_pid"), "400");
	assert_string_equal(labels_get(&f->annotations, "root_application"), "odoo-cron");
	assert_string_equal(labels_get(&f->annotations, "root_state"), "idle in transaction");
	assert_string_equal(labels_get(&f->annotations, "duration_seconds"), "42");
	assert_string_equal(labels_get(&f->annotations, "root_query"),
						"UPDATE stock_quant SET quantity = $1 WHERE id = $2");
	assert_non_null(strstr(f->summary, "root blocker pid 400"));

	f = find(&l, RULE_BLOCKING_CHAIN, "odoo/pid:400");
	assert_non_null(f);
	assert_true(f->value == 3);
	assert_null(labels_get(&f->labels, "root_pid"));
	f = find(&l, RULE_IDLE_IN_TRANSACTION, "pid:400");
	assert_non_null(f);
	assert_true(f->value == 600);
	assert_null(labels_get(&f->labels, "pid"));
	assert_null(labels_get(&f->labels, "query"));
	assert_string_equal(labels_get(&f->annotations, "pid"), "400");
	assert_non_null(labels_get(&f->annotations, "query"));
	f = find(&l, RULE_AUTOVACUUM_LAG, "odoo/mail_message");
	assert_true(f && f->value == 7200);
	f = find(&l, RULE_XID_AGE, "odoo/mail_message");
	assert_true(f && f->value == 1.5e9);
	f = find(&l, RULE_REPLICATION_LAG_BYTES, "replica1");
	assert_true(f && f->value == 2147483648.0);
	assert_null(find(&l, RULE_REPLICATION_LAG_SECONDS, "replica1"));	/* unknown: -1 */
	f = find(&l, RULE_STANDBY_DISCONNECTED, "wal_receiver");
	assert_true(f && f->value == 1);
	f = find(&l, RULE_REPLICATION_LAG_SECONDS, "replay");
	assert_true(f && f->value == 90);
	f = find(&l, RULE_INACTIVE_SLOT, "old_slot");
	assert_true(f && f->value == 5368709120.0);
	f = find(&l, RULE_DESTRUCTIVE_EVENT, "truncate/odoo/account_move_line/9");
	assert_non_null(f);
	assert_string_equal(labels_get(&f->labels, "model"), "account.move.line");
	assert_null(labels_get(&f->labels, "lsn_before"));
	assert_null(labels_get(&f->labels, "rows"));
	assert_string_equal(labels_get(&f->annotations, "lsn_before"), "16/28");
	assert_string_equal(labels_get(&f->annotations, "rows"), "1000");
	/* the first poll has no rate yet */
	assert_null(find(&l, RULE_SLOW_QUERY_RATE, "odoo/sale.order"));
	facts_free(&l);
	odoo_retail_guard__snapshot__free_unpacked(s, NULL);

	/* 30 more slow calls in 60 s: 30 per minute */
	s = wire_snapshot(130);
	facts_from_snapshot(s, mem, 61000000, &l);
	f = find(&l, RULE_SLOW_QUERY_RATE, "odoo/sale.order");
	assert_non_null(f);
	assert_true(f->value > 29.99 && f->value < 30.01);
	facts_free(&l);
	odoo_retail_guard__snapshot__free_unpacked(s, NULL);
	facts_memory_free(mem);
}

/*
 * The slow-call rate sums a model's operations wherever they sit in the
 * snapshot, once per database and model; models of the same name in two
 * databases are two subjects.  1,000 more models (a big Odoo database)
 * each get their own rate and p95 memory.
 */
static int
count_kind(const fact_list *l, rule_kind k, const char *subject)
{
	int			n = 0;

	for (int i = 0; i < l->n; i++)
		if (l->v[i].kind == k && !strcmp(l->v[i].subject, subject))
			n++;
	return n;
}

static void
model_poll(facts_memory *mem, int64_t now, uint64_t extra, fact_list *l)
{
	enum
	{
		NAMED = 4,
		MANY = 1000
	};
	OdooRetailGuard__ModelStat ms[NAMED + MANY];
	OdooRetailGuard__ModelStat *mp[NAMED + MANY];
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	const char *db[NAMED] = {"odoo", "odoo", "odoo", "shop"};
	const char *model[NAMED] = {"sale.order", "stock.quant", "sale.order", "sale.order"};
	const char *op[NAMED] = {"select", "select", "update", "select"};
	uint64_t	slow[NAMED] = {3, 1, 4, 10};
	char		names[MANY][32];

	for (int i = 0; i < NAMED + MANY; i++)
	{
		odoo_retail_guard__model_stat__init(&ms[i]);
		if (i < NAMED)
		{
			ms[i].database = (char *) db[i];
			ms[i].model = (char *) model[i];
			ms[i].operation = (char *) op[i];
			ms[i].slow_calls = slow[i] + extra * (uint64_t) (i + 1);
		}
		else
		{
			snprintf(names[i - NAMED], sizeof(names[0]), "x.table.%d", i - NAMED);
			ms[i].database = "odoo";
			ms[i].model = names[i - NAMED];
			ms[i].operation = "select";
			ms[i].slow_calls = extra;
		}
		mp[i] = &ms[i];
	}
	s.n_models = NAMED + MANY;
	s.models = mp;
	facts_from_snapshot(&s, mem, now, l);
}

static void
test_rate_per_model(void **state)
{
	facts_memory *mem = facts_memory_new();
	fact_list	l = {0};
	const fact *f;

	(void) state;
	model_poll(mem, 1000000, 0, &l);
	assert_int_equal(count_kind(&l, RULE_SLOW_QUERY_RATE, "odoo/sale.order"), 0);
	facts_free(&l);
	/* 60 s later: sale.order select +6, update +18; stock.quant +12; shop's +24; the others +6 */
	model_poll(mem, 61000000, 6, &l);
	assert_int_equal(count_kind(&l, RULE_SLOW_QUERY_RATE, "odoo/sale.order"), 1);
	f = find(&l, RULE_SLOW_QUERY_RATE, "odoo/sale.order");
	assert_true(f->value > 23.99 && f->value < 24.01);
	f = find(&l, RULE_SLOW_QUERY_RATE, "odoo/stock.quant");
	assert_true(f && f->value > 11.99 && f->value < 12.01);
	f = find(&l, RULE_SLOW_QUERY_RATE, "shop/sale.order");
	assert_true(f && f->value > 23.99 && f->value < 24.01);
	f = find(&l, RULE_SLOW_QUERY_RATE, "odoo/x.table.999");
	assert_true(f && f->value > 5.99 && f->value < 6.01);
	assert_int_equal(count_kind(&l, RULE_SLOW_QUERY_RATE, "odoo/x.table.0"), 1);
	facts_free(&l);
	facts_memory_free(mem);
}

/* standbys that share an application_name each keep their own lag */
static void
test_standby_twins(void **state)
{
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	OdooRetailGuard__ReplicationStandby r[5];
	OdooRetailGuard__ReplicationStandby *rs[5];
	static const struct
	{
		const char *name;
		const char *addr;
		int			port;
		int			pid;
		long long	lag;
	}			in[5] = {
		{"walreceiver", "127.0.0.1", 40001, 201, 0},
		{"walreceiver", "127.0.0.1", 40002, 202, 5000000},
		{"15/main", "local", -1, 301, 7},
		{"15/main", "local", -1, 302, 9},
		{"replica1", "fe80::1", 5433, 401, 11},
	};
	OdooRetailGuard__Snapshot *w;
	uint8_t    *buf;
	size_t		len;
	fact_list	l = {0};
	facts_memory *mem = facts_memory_new();
	const fact *f;
	int			lag_facts = 0;

	(void) state;
	for (int i = 0; i < 5; i++)
	{
		odoo_retail_guard__replication_standby__init(&r[i]);
		r[i].application_name = (char *) in[i].name;
		r[i].client_addr = (char *) in[i].addr;
		r[i].client_port = in[i].port;
		r[i].pid = in[i].pid;
		r[i].replay_lag_bytes = in[i].lag;
		r[i].replay_lag_ms = (double) in[i].lag;
		rs[i] = &r[i];
	}
	s.n_replication = 5;
	s.replication = rs;
	len = odoo_retail_guard__snapshot__get_packed_size(&s);
	buf = malloc(len);
	odoo_retail_guard__snapshot__pack(&s, buf);
	w = odoo_retail_guard__snapshot__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(w);
	assert_string_equal(standby_duplicate_name(w), "walreceiver");

	facts_from_snapshot(w, mem, 1000000, &l);
	for (int i = 0; i < l.n; i++)
		lag_facts += l.v[i].kind == RULE_REPLICATION_LAG_BYTES;
	assert_int_equal(lag_facts, 5);
	f = find(&l, RULE_REPLICATION_LAG_BYTES, "walreceiver@127.0.0.1:40001");
	assert_true(f && f->value == 0);
	assert_string_equal(labels_get(&f->labels, "standby"), "walreceiver");
	assert_string_equal(labels_get(&f->annotations, "client"), "127.0.0.1:40001");
	f = find(&l, RULE_REPLICATION_LAG_BYTES, "walreceiver@127.0.0.1:40002");
	assert_true(f && f->value == 5000000);
	f = find(&l, RULE_REPLICATION_LAG_SECONDS, "walreceiver@127.0.0.1:40002");
	assert_true(f && f->value == 5000);
	assert_null(find(&l, RULE_REPLICATION_LAG_BYTES, "walreceiver"));
	/* over a Unix socket: the walsender's pid */
	f = find(&l, RULE_REPLICATION_LAG_BYTES, "15/main@pid:301");
	assert_true(f && f->value == 7);
	f = find(&l, RULE_REPLICATION_LAG_BYTES, "15/main@pid:302");
	assert_true(f && f->value == 9);
	assert_string_equal(labels_get(&f->annotations, "client"), "pid:302");
	/* a name of its own stays the subject, as before */
	f = find(&l, RULE_REPLICATION_LAG_BYTES, "replica1");
	assert_true(f && f->value == 11);
	assert_string_equal(labels_get(&f->annotations, "client"), "[fe80::1]:5433");
	facts_free(&l);

	/* once the twin is gone, nothing is shared */
	w->n_replication = 1;
	assert_null(standby_duplicate_name(w));
	w->n_replication = 5;
	odoo_retail_guard__snapshot__free_unpacked(w, NULL);
	facts_memory_free(mem);
}

static void
test_p95_baseline(void **state)
{
	facts_memory *mem = facts_memory_new();
	fact_list	l = {0};
	const fact *f = NULL;

	(void) state;
	for (int i = 0; i < 12; i++)
	{
		OdooRetailGuard__Snapshot *s = wire_snapshot(100);

		if (i == 11)
			s->models[0]->p95_ms = 60;	/* 5x the 12 ms baseline */
		facts_free(&l);
		facts_from_snapshot(s, mem, (int64_t) (i + 1) * 10000000, &l);
		odoo_retail_guard__snapshot__free_unpacked(s, NULL);
	}
	f = find(&l, RULE_SLOW_QUERY_P95, "odoo/sale.order/select");
	assert_non_null(f);
	assert_true(f->value > 4.99 && f->value < 5.01);
	facts_free(&l);
	facts_memory_free(mem);
}

/*
 * The memory between polls: what one poll lists, as a snapshot's model
 * entries (database, model, operation, p95, slow calls); n 0 is a
 * snapshot listing no model.
 */
typedef struct listed
{
	const char *database;
	const char *model;
	const char *operation;
	double		p95_ms;
	uint64_t	slow_calls;
} listed;

#define TEN_S 10000000

static void
poll_models(facts_memory *mem, int64_t now, const listed *v, int n, fact_list *l)
{
	OdooRetailGuard__ModelStat ms[16];
	OdooRetailGuard__ModelStat *mp[16];
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;

	assert_true(n <= 16);
	for (int i = 0; i < n; i++)
	{
		odoo_retail_guard__model_stat__init(&ms[i]);
		ms[i].database = (char *) v[i].database;
		ms[i].model = (char *) v[i].model;
		ms[i].operation = (char *) v[i].operation;
		ms[i].p95_ms = v[i].p95_ms;
		ms[i].slow_calls = v[i].slow_calls;
		mp[i] = &ms[i];
	}
	s.n_models = (size_t) n;
	s.models = n ? mp : NULL;
	facts_free(l);
	facts_from_snapshot(&s, mem, now, l);
}

/*
 * At a one-second interval, 60 polls are a minute: after a crash-restart
 * empties the statement table, a model that runs again within minutes
 * keeps its baseline.  It is forgotten only once FACTS_FORGET_AFTER_S has
 * passed as well.
 */
static void
test_memory_forgets_after_time_too(void **state)
{
	facts_memory *mem = facts_memory_new();
	fact_list	l = {0};
	listed		both[2] = {{"odoo", "sale.order", "select", 12, 5}, {"odoo", "res.partner", "select", 12, 5}};
	const listed *other = &both[1];
	const int64_t one_s = 1000000;
	int64_t		t = 0;
	int			absent = 0;

	(void) state;
	for (int i = 0; i < 12; i++)
		poll_models(mem, t += one_s, both, 2, &l);
	assert_int_equal(facts_memory_entries(mem), 4);
	/* ten times FACTS_FORGET_AFTER_POLLS one-second polls: 10 minutes, under the time */
	for (int i = 0; i < 10 * FACTS_FORGET_AFTER_POLLS; i++)
		poll_models(mem, t += one_s, other, 1, &l);
	assert_int_equal(facts_memory_entries(mem), 4);
	/* and forgotten once the time has passed too, within a sweep or two */
	while (facts_memory_entries(mem) == 4 && absent < 2000)
	{
		poll_models(mem, t += one_s, other, 1, &l);
		absent++;
	}
	assert_int_equal(facts_memory_entries(mem), 2);
	assert_true(10 * FACTS_FORGET_AFTER_POLLS + absent >= FACTS_FORGET_AFTER_S);
	assert_true(10 * FACTS_FORGET_AFTER_POLLS + absent <= FACTS_FORGET_AFTER_S + 40);
	facts_free(&l);
	facts_memory_free(mem);
}

/*
 * A model no poll lists for long (its statements evicted, its database
 * dropped) is forgotten: back, its baseline starts again.  Missing from
 * one poll, or through polls without a snapshot or without models (a
 * failed or empty poll), it keeps its baseline.
 */
static void
test_memory_forgets_unlisted(void **state)
{
	facts_memory *mem = facts_memory_new();
	fact_list	l = {0};
	listed		both[2] = {{"odoo", "sale.order", "select", 12, 5}, {"odoo", "res.partner", "select", 12, 5}};
	const listed *other = &both[1];
	int64_t		t = 0;
	int			absent = 0;
	const fact *f;

	(void) state;
	for (int i = 0; i < 12; i++)
		poll_models(mem, t += TEN_S, both, 2, &l);
	assert_int_equal(facts_memory_entries(mem), 4);
	poll_models(mem, t += TEN_S, other, 1, &l);
	both[0].p95_ms = 60;
	poll_models(mem, t += TEN_S, both, 2, &l);
	f = find(&l, RULE_SLOW_QUERY_P95, "odoo/sale.order/select");
	assert_non_null(f);
	assert_true(f->value > 4.99 && f->value < 5.01);
	assert_non_null(find(&l, RULE_SLOW_QUERY_RATE, "odoo/sale.order"));
	for (int i = 0; i < 5 * FACTS_FORGET_AFTER_POLLS; i++)
	{
		facts_free(&l);
		facts_from_snapshot(NULL, mem, t += TEN_S, &l);
		poll_models(mem, t += TEN_S, NULL, 0, &l);
	}
	assert_int_equal(facts_memory_entries(mem), 4);
	/* the baseline moved by one 60 ms sample: 12 + 0.05 * 48 */
	poll_models(mem, t += TEN_S, both, 2, &l);
	f = find(&l, RULE_SLOW_QUERY_P95, "odoo/sale.order/select");
	assert_non_null(f);
	assert_true(f->value > 60 / 14.4 - 0.01 && f->value < 60 / 14.4 + 0.01);

	/* listed no more: forgotten after FACTS_FORGET_AFTER_POLLS polls, not before */
	while (facts_memory_entries(mem) == 4 && absent < 3 * FACTS_FORGET_AFTER_POLLS)
	{
		poll_models(mem, t += TEN_S, other, 1, &l);
		absent++;
	}
	assert_int_equal(facts_memory_entries(mem), 2);
	assert_true(absent >= FACTS_FORGET_AFTER_POLLS);
	assert_true(absent <= 2 * FACTS_FORGET_AFTER_POLLS);
	assert_non_null(find(&l, RULE_SLOW_QUERY_RATE, "odoo/res.partner"));

	/* back: no rate on its first poll, its baseline warms up again from 60 ms */
	poll_models(mem, t += TEN_S, both, 2, &l);
	assert_null(find(&l, RULE_SLOW_QUERY_RATE, "odoo/sale.order"));
	assert_null(find(&l, RULE_SLOW_QUERY_P95, "odoo/sale.order/select"));
	for (int i = 0; i < 9; i++)
	{
		poll_models(mem, t += TEN_S, both, 2, &l);
		assert_null(find(&l, RULE_SLOW_QUERY_P95, "odoo/sale.order/select"));
	}
	poll_models(mem, t += TEN_S, both, 2, &l);
	f = find(&l, RULE_SLOW_QUERY_P95, "odoo/sale.order/select");
	assert_non_null(f);
	assert_true(f->value > 0.99 && f->value < 1.01);
	facts_free(&l);
	facts_memory_free(mem);
}

/*
 * Tenant databases created and dropped, 10,000 database/models through
 * one node: the memory holds the ones listed lately, not all it saw.
 */
static void
test_memory_bounded(void **state)
{
	enum
	{
		POLLS = 1000,
		PER_POLL = 10
	};
	facts_memory *mem = facts_memory_new();
	fact_list	l = {0};
	char		db[32];
	char		model[PER_POLL][24];
	listed		v[PER_POLL];
	size_t		most = 0;

	(void) state;
	for (int p = 0; p < POLLS; p++)
	{
		snprintf(db, sizeof(db), "tenant_%d", p);
		for (int i = 0; i < PER_POLL; i++)
		{
			snprintf(model[i], sizeof(model[i]), "x_model.m%d", i);
			v[i] = (listed) {db, model[i], "select", 20, 1};
		}
		poll_models(mem, (int64_t) (p + 1) * TEN_S, v, PER_POLL, &l);
		if (facts_memory_entries(mem) > most)
			most = facts_memory_entries(mem);
	}
	/* a rate and a p95 entry per model, for the last FACTS_FORGET_AFTER_POLLS polls and a sweep's */
	assert_true(most <= 2 * PER_POLL * 2 * FACTS_FORGET_AFTER_POLLS);
	assert_true(facts_memory_entries(mem) >= 2 * PER_POLL * FACTS_FORGET_AFTER_POLLS);
	facts_free(&l);
	facts_memory_free(mem);
}

/*
 * Keys are compared part by part: database "shop/eu" with model
 * "sale.order" and database "shop" with model "eu/sale.order" keep their
 * own slow-call counters (joined with '/', they shared one).
 */
static void
test_memory_parts_apart(void **state)
{
	facts_memory *mem = facts_memory_new();
	fact_list	l = {0};
	listed		v[2] = {{"shop/eu", "sale.order", "select", 0, 100}, {"shop", "eu/sale.order", "select", 0, 0}};
	int			seen = 0;

	(void) state;
	poll_models(mem, 1000000, v, 2, &l);
	v[0].slow_calls = 160;
	poll_models(mem, 61000000, v, 2, &l);
	for (int i = 0; i < l.n; i++)
	{
		const char *database = labels_get(&l.v[i].labels, "database");

		if (l.v[i].kind != RULE_SLOW_QUERY_RATE)
			continue;
		seen++;
		assert_non_null(database);
		if (!strcmp(database, "shop/eu"))
			assert_true(l.v[i].value > 59.99 && l.v[i].value < 60.01);
		else
			assert_true(!strcmp(database, "shop") && l.v[i].value == 0);
	}
	assert_int_equal(seen, 2);
	facts_free(&l);
	facts_memory_free(mem);
}

static void
test_observation_facts(void **state)
{
	node_observation o = {0};
	fact_list	l = {0};
	const fact *f;

	(void) state;
	o.reachable = true;
	o.max_connections = 200;
	o.connections = 170;
	facts_from_observation(&o, &l);
	f = find(&l, RULE_CONNECTION_USAGE, "connections");
	assert_true(f && f->value == 85);
	f = find(&l, RULE_NODE_UNREACHABLE, "node");
	assert_true(f && f->value == 0);
	facts_free(&l);
	o.reachable = false;
	o.error = "connection refused";
	facts_from_observation(&o, &l);
	assert_int_equal(l.n, 1);
	assert_true(l.v[0].value == 1);
	assert_non_null(strstr(l.v[0].summary, "connection refused"));
	facts_free(&l);
	/* a node without the extension: no snapshot facts, no crash */
	facts_from_snapshot(NULL, NULL, 0, &l);
	assert_int_equal(l.n, 0);
}

static void
test_model_map(void **state)
{
	model_map	map = {0};
	char	   *tables[] = {"res_partner", "sale_order", "stock_quant"};
	char	   *models[] = {"res.partner", "sale.order", "stock.quant"};
	OdooRetailGuard__Snapshot *s = wire_snapshot(1);

	(void) state;
	map.table = tables;
	map.model = models;
	map.n = 3;
	assert_string_equal(model_map_lookup(&map, "sale_order"), "sale.order");
	assert_string_equal(model_map_lookup(&map, "public.stock_quant"), "stock.quant");
	assert_null(model_map_lookup(&map, "pg_class"));
	assert_null(model_map_lookup(&map, ""));
	assert_null(model_map_lookup(&map, NULL));
	/* another database on the node keeps the extension's guess */
	model_map_apply(&map, "other_db", s);
	assert_string_equal(s->blocking_chains[0]->model, "");
	model_map_apply(&map, "odoo", s);
	assert_string_equal(s->blocking_chains[0]->model, "stock.quant");
	odoo_retail_guard__snapshot__free_unpacked(s, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_facts),
		cmocka_unit_test(test_rate_per_model),
		cmocka_unit_test(test_standby_twins),
		cmocka_unit_test(test_p95_baseline),
		cmocka_unit_test(test_memory_forgets_unlisted),
		cmocka_unit_test(test_memory_forgets_after_time_too),
		cmocka_unit_test(test_memory_bounded),
		cmocka_unit_test(test_memory_parts_apart),
		cmocka_unit_test(test_observation_facts),
		cmocka_unit_test(test_model_map),
	};

	return cmocka_run_group_tests_name("agent facts", tests, NULL, NULL);
}
