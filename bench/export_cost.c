/*
 * export_cost.c: the agent's per-poll export work on synthetic real-sized
 * nodes, for callgrind (bench/export_cost.sh).  Each node's snapshot holds
 * 1,000 tables in autovacuum_lag and 1,000 model aggregates (13 folded
 * buckets each); between polls a live workload moves a few hundred of
 * them.  Per poll the agent runs stats_node_update and status_board_node;
 * per cycle it publishes (export_publish below does what main.c's
 * publish() does without a listening server: the merged set, its text,
 * the remote-write body and the status document).
 *
 *   export_cost NODES CYCLES [DUMP]
 *
 * With DUMP, the last cycle's /metrics text, status document and
 * remote-write body are written to DUMP.metrics, DUMP.json and DUMP.rw
 * (clock fixed), to compare two builds byte for byte.  EXPORT_TOP_N sets
 * top_n (default 20).
 */
#include "export/metrics.h"
#include "export/remote_write.h"
#include "export/stats.h"
#include "export/status_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLES 1000
#define MODELS 1000
#define BUCKETS 13
#define CHANGED_PER_POLL 300

static const char *const operations[] = {"read", "write", "create", "unlink", "search"};

static char *
fmt(const char *f, int i)
{
	char		buf[128];

	snprintf(buf, sizeof(buf), f, i);
	return xstrdup(buf);
}

static OdooRetailGuard__Snapshot *
synthetic_snapshot(int node_no)
{
	OdooRetailGuard__Snapshot *s = xcalloc(1, sizeof(*s));

	odoo_retail_guard__snapshot__init(s);
	s->node = xcalloc(1, sizeof(*s->node));
	odoo_retail_guard__node_identity__init(s->node);
	s->n_models = MODELS;
	s->models = xcalloc(MODELS, sizeof(*s->models));
	for (int i = 0; i < MODELS; i++)
	{
		OdooRetailGuard__ModelStat *m = xcalloc(1, sizeof(*m));

		odoo_retail_guard__model_stat__init(m);
		m->database = xstrdup("odoo");
		m->model = fmt("x_model_%d.line", i / 5);
		m->operation = xstrdup(operations[i % 5]);
		m->calls = (uint64_t) (1000 + (i * 7919 + node_no) % 100000);
		m->total_ms = (double) m->calls * 1.5;
		m->slow_calls = m->calls / 100;
		m->n_duration_le_ms = m->n_duration_le_count = BUCKETS;
		m->duration_le_ms = xcalloc(BUCKETS, sizeof(double));
		m->duration_le_count = xcalloc(BUCKETS, sizeof(uint64_t));
		for (int b = 0; b < BUCKETS; b++)
		{
			m->duration_le_ms[b] = 0.25 * (double) (1 << b);
			m->duration_le_count[b] = m->calls * (uint64_t) (b + 1) / BUCKETS;
		}
		s->models[i] = m;
	}
	s->n_autovacuum_lag = TABLES;
	s->autovacuum_lag = xcalloc(TABLES, sizeof(*s->autovacuum_lag));
	for (int i = 0; i < TABLES; i++)
	{
		OdooRetailGuard__AutovacuumLag *a = xcalloc(1, sizeof(*a));

		odoo_retail_guard__autovacuum_lag__init(a);
		a->database = xstrdup("odoo");
		a->relation = fmt("public.x_table_%d", i);
		a->dead_tuples = (i * 104729 + node_no) % 50000;
		a->lag_s = (double) ((i * 31 + node_no) % 600);
		s->autovacuum_lag[i] = a;
	}
	return s;
}

/* the live workload: a few hundred models and tables move between polls */
static void
workload_step(OdooRetailGuard__Snapshot *s, unsigned *seed)
{
	for (int k = 0; k < CHANGED_PER_POLL; k++)
	{
		OdooRetailGuard__ModelStat *m = s->models[rand_r(seed) % MODELS];
		OdooRetailGuard__AutovacuumLag *a = s->autovacuum_lag[rand_r(seed) % TABLES];
		uint64_t	more = 1 + (uint64_t) (rand_r(seed) % 50);

		m->calls += more;
		m->total_ms += (double) more * 2.0;
		for (int b = 0; b < BUCKETS; b++)
			m->duration_le_count[b] += more * (uint64_t) (b + 1) / BUCKETS;
		a->dead_tuples += rand_r(seed) % 500;
	}
}

static node *
synthetic_node(int i)
{
	node	   *n = xcalloc(1, sizeof(*n));

	n->cfg.name = fmt("store-%03d", i);
	n->cfg.cluster = xstrdup(n->cfg.name);
	labels_set(&n->cfg.tags, "store", n->cfg.name);
	labels_set(&n->cfg.tags, "region", i % 2 ? "eu-west" : "eu-central");
	labels_set(&n->cfg.tags, "brand", "retail");
	n->obs.reachable = true;
	n->obs.connections = 40;
	n->obs.max_connections = 200;
	n->snap = synthetic_snapshot(i);
	return n;
}

/* main.c's publish(), minus the HTTP server and the sender thread */
static void
dump(const char *prefix, const char *ext, const void *data, size_t len)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s.%s", prefix, ext);
	if (!(f = fopen(path, "wb")) || fwrite(data, 1, len, f) != len || fclose(f))
	{
		perror(path);
		exit(1);
	}
}

static void __attribute__((noinline))
export_publish(const agent_cfg *cfg, const collector *c, const metric_set *const *sets,
			   status_board *board, rw_state *rw_sent, int64_t t, const char *dump_prefix,
			   size_t *text_bytes, size_t *rw_bytes)
{
	metric_set	ms = {0};
	char	   *text;
	char	   *status;
	uint8_t    *body;
	size_t		len,
				series;

	stats_build(&ms, cfg, c, sets, NULL, NULL, 0, NULL);
	text = mset_format(&ms);
	*text_bytes = strlen(text);
	status = status_board_json(board, NULL, t);
	body = remote_write_encode(&ms, &cfg->external_labels, t / 1000, rw_sent, &len, &series);
	*rw_bytes = len;
	if (dump_prefix)
	{
		dump(dump_prefix, "metrics", text, strlen(text));
		dump(dump_prefix, "json", status, strlen(status));
		dump(dump_prefix, "rw", body, len);
	}
	free(body);
	free(status);
	free(text);
	mset_free(&ms);
}

int
main(int argc, char **argv)
{
	int			nodes = argc > 1 ? atoi(argv[1]) : 50;
	int			cycles = argc > 2 ? atoi(argv[2]) : 3;
	agent_cfg	cfg;
	collector	c = {0};
	metric_set *sets;
	const metric_set **set_refs;
	status_board *board = status_board_new();
	rw_state	rw_sent = {0};
	unsigned	seed = 42;
	size_t		text_bytes = 0,
				rw_bytes = 0;
	const char *dump_prefix = argc > 3 ? argv[3] : NULL;
	int64_t		t = 1796000000000000;	/* fixed: dumps compare byte for byte */

	memset(&cfg, 0, sizeof(cfg));
	cfg.top_n = getenv("EXPORT_TOP_N") ? atoi(getenv("EXPORT_TOP_N")) : 20;
	c.n = nodes;
	c.v = xcalloc((size_t) nodes, sizeof(node *));
	sets = xcalloc((size_t) nodes, sizeof(metric_set));
	set_refs = xcalloc((size_t) nodes, sizeof(metric_set *));
	for (int i = 0; i < nodes; i++)
	{
		c.v[i] = synthetic_node(i);
		set_refs[i] = &sets[i];
	}
	for (int cycle = 0; cycle < cycles; cycle++)
	{
		t += 10 * 1000000;
		for (int i = 0; i < nodes; i++)
		{
			node	   *n = c.v[i];

			workload_step((OdooRetailGuard__Snapshot *) n->snap, &seed);
			n->polls++;
			n->obs.now_us = t;
			stats_node_update(&sets[i], n, cfg.top_n);
			status_board_node(board, n->cfg.name, n->cfg.cluster, &n->obs, "", n->snap, t);
		}
		export_publish(&cfg, &c, set_refs, board, &rw_sent, t, cycle == cycles - 1 ? dump_prefix : NULL,
					   &text_bytes, &rw_bytes);
	}
	printf("nodes %d cycles %d: /metrics %zu bytes, remote write body %zu bytes\n", nodes, cycles,
		   text_bytes, rw_bytes);
	for (int i = 0; i < nodes; i++)
	{
		node	   *n = c.v[i];

		mset_free(&sets[i]);
		odoo_retail_guard__snapshot__free_unpacked((OdooRetailGuard__Snapshot *) n->snap, NULL);
		labels_free(&n->cfg.tags);
		free(n->cfg.name);
		free(n->cfg.cluster);
		free(n);
	}
	rw_state_free(&rw_sent);
	status_board_free(board);
	free(sets);
	free(set_refs);
	free(c.v);
	return 0;
}
