/*
 * stats.c: the metric families the agent exposes.  Names follow the
 * Prometheus conventions (orguard_ prefix, base units, _total for
 * counters); per-object families keep only the top_n largest samples per
 * node so that a 1000-table Odoo database cannot flood Prometheus.
 */
#include "export/stats.h"
#include "collect/snapshot_merge.h"
#include "collect/standbys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What one node's series are built with on every poll.  A node of real
 * size gives about 440 series (at top_n 20: 320 of them the model
 * histograms), so each series' labels are composed by reference (the
 * node's labels once, then the series' own) and packed into one
 * allocation, instead of two per label and a copy of the whole set; a
 * model's 15 histogram series share theirs.
 */
typedef struct node_series
{
	metric_set *ms;
	labelrefs	node;			/* cluster, node, tags */
	labelrefs	series;			/* scratch: node's labels plus the series' */
} node_series;

static void
node_labels(labelrefs *r, const node *n)
{
	labelrefs_set(r, "cluster", n->cfg.cluster);
	labelrefs_set(r, "node", n->cfg.name);
	/* store, region, brand: one value per node, so no extra cardinality */
	labelrefs_set_all(r, &n->cfg.tags);
}

/* the node's labels plus the name, value pairs of ap (an empty value: "unknown") */
static void
add_va(node_series *ns, metric_family *f, double v, va_list ap)
{
	const char *k;

	labelrefs_assign(&ns->series, &ns->node);
	while ((k = va_arg(ap, const char *)) != NULL)
	{
		const char *val = va_arg(ap, const char *);

		labelrefs_set(&ns->series, k, val && *val ? val : "unknown");
	}
	mset_add_refs(f, NULL, &ns->series, v);
}

static void
add_to(node_series *ns, metric_family *f, double v, ...) __attribute__((sentinel));

static void
add_to(node_series *ns, metric_family *f, double v, ...)
{
	va_list		ap;

	va_start(ap, v);
	add_va(ns, f, v, ap);
	va_end(ap);
}

static void
add(node_series *ns, const char *name, const char *help, metric_type t, double v, ...)
	__attribute__((sentinel));

static void
add(node_series *ns, const char *name, const char *help, metric_type t, double v, ...)
{
	va_list		ap;

	va_start(ap, v);
	add_va(ns, mset_family(ns->ms, name, help, t), v, ap);
	va_end(ap);
}

static const char *
nz(const char *s)
{
	return s && *s ? s : "unknown";
}

/* a value and where it came from, to keep the largest before any label is built */
typedef struct ranked
{
	double		value;
	size_t		i;
} ranked;

static int
by_rank(const void *a, const void *b)
{
	const ranked *x = a;
	const ranked *y = b;

	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return (x->i > y->i) - (x->i < y->i);
}

/* restores the heap below i: the lowest-ranked of v[0..k) on top */
static void
sift_down(ranked *v, size_t k, size_t i)
{
	for (;;)
	{
		size_t		worst = i;
		size_t		l = 2 * i + 1;
		size_t		r = l + 1;
		ranked		tmp;

		if (l < k && by_rank(&v[l], &v[worst]) > 0)
			worst = l;
		if (r < k && by_rank(&v[r], &v[worst]) > 0)
			worst = r;
		if (worst == i)
			return;
		tmp = v[i];
		v[i] = v[worst];
		v[worst] = tmp;
		i = worst;
	}
}

/*
 * The indexes of the top_n largest of v[0..count) (all when top_n < 0),
 * largest first, ties in snapshot order: a node's 1,000 tables and models
 * are ranked, and only the kept ones get label sets.  A heap of top_n
 * picks them (count log top_n) and only those are sorted: by_rank is a
 * total order, so they are the first top_n of a full sort.
 */
static ranked *
top_ranked(ranked *v, size_t count, int top_n, size_t *kept)
{
	size_t		k = top_n >= 0 && (size_t) top_n < count ? (size_t) top_n : count;

	for (size_t i = 0; i < count; i++)
		v[i].i = i;
	if (k > 0 && k < count)
	{
		for (size_t i = k / 2; i-- > 0;)
			sift_down(v, k, i);
		for (size_t i = k; i < count; i++)
			if (by_rank(&v[i], &v[0]) < 0)
			{
				v[0] = v[i];
				sift_down(v, k, 0);
			}
	}
	qsort(v, k, sizeof(ranked), by_rank);
	*kept = k;
	return v;
}

/* the text of each bucket bound, formatted once while the bounds repeat (they do, model to model) */
#define LE_CACHED 32
typedef struct le_texts
{
	double		bound[LE_CACHED];
	char		text[LE_CACHED][32];
	bool		set[LE_CACHED];
} le_texts;

static const char *
le_text(le_texts *c, size_t b, double bound, char *buf, size_t len)
{
	if (b >= LE_CACHED)
	{
		metric_format_value(bound, buf, len);
		return buf;
	}
	/* bit for bit: -0 and 0 print differently */
	if (!c->set[b] || memcmp(&c->bound[b], &bound, sizeof(bound)))
	{
		metric_format_value(bound, c->text[b], sizeof(c->text[b]));
		c->bound[b] = bound;
		c->set[b] = true;
	}
	return c->text[b];
}

/*
 * orguard_model_duration_seconds from the extension's folded buckets, for
 * the top_n models by total time (a histogram is 15 series per model, so it
 * is bounded by model, not by sample).
 */
static void
add_model_histograms(node_series *ns, const node *n, ranked *v, int top_n)
{
	const OdooRetailGuard__Snapshot *s = n->snap;
	metric_family *f;
	size_t		keep;
	le_texts   *les;

	if (!s || s->n_models == 0)
		return;
	for (size_t i = 0; i < s->n_models; i++)
		v[i].value = s->models[i]->total_ms;
	top_ranked(v, s->n_models, top_n, &keep);
	f = mset_family(ns->ms, "orguard_model_duration_seconds",
					"Statement time per Odoo model and operation.", METRIC_HISTOGRAM);
	les = xcalloc(1, sizeof(*les));
	for (size_t i = 0; i < keep; i++)
	{
		const OdooRetailGuard__ModelStat *m = s->models[v[i].i];
		size_t		nb = m->n_duration_le_ms < m->n_duration_le_count ? m->n_duration_le_ms
			: m->n_duration_le_count;
		char		(*le)[64] = xmalloc(sizeof(*le) * (nb ? nb : 1));
		const char **texts = xmalloc(sizeof(char *) * (nb ? nb : 1));
		double	   *counts = xmalloc(sizeof(double) * (nb ? nb : 1));

		labelrefs_assign(&ns->series, &ns->node);
		labelrefs_set(&ns->series, "datname", nz(m->database));
		labelrefs_set(&ns->series, "model", nz(m->model));
		labelrefs_set(&ns->series, "operation", nz(m->operation));
		for (size_t b = 0; b < nb; b++)
		{
			texts[b] = le_text(les, b, m->duration_le_ms[b] / 1000.0, le[b], sizeof(le[b]));
			counts[b] = (double) m->duration_le_count[b];
		}
		mset_add_histogram_refs(f, &ns->series, nb, texts, counts, (double) m->calls,
								m->total_ms / 1000.0);
		free(le);
		free(texts);
		free(counts);
	}
	free(les);
}

/* the node's series into ns->ms; v: room to rank the snapshot's models and tables */
static void
node_series_build(node_series *ns, node *n, ranked *v, int top_n)
{
	const OdooRetailGuard__Snapshot *s = n->snap;
	metric_set *ms = ns->ms;

	add(ns, "orguard_node_up", "Whether the last poll reached the node.", METRIC_GAUGE,
		n->obs.reachable ? 1 : 0, NULL);
	add(ns, "orguard_node_poll_duration_seconds", "Duration of the last poll.", METRIC_GAUGE,
		n->poll_seconds, NULL);
	add(ns, "orguard_node_polls_total", "Polls of the node.", METRIC_COUNTER, (double) n->polls, NULL);
	add(ns, "orguard_node_poll_failures_total", "Polls that did not reach the node.", METRIC_COUNTER,
		(double) n->failures, NULL);
	add(ns, "orguard_node_deadline_overruns_total", "Polls cancelled at the node deadline.",
		METRIC_COUNTER, (double) n->overruns, NULL);
	add(ns, "orguard_node_snapshot_ok", "Whether the last poll decoded a snapshot.", METRIC_GAUGE,
		s ? 1 : 0, NULL);
	add(ns, "orguard_node_ring_gaps_total", "Snapshots reporting ring entries overwritten unread.",
		METRIC_COUNTER, (double) n->ring_gaps, NULL);
	add(ns, "orguard_node_shmem_restarts_total",
		"Crash-restarts seen: the node's shared memory re-initialized, its event rings read again from the start.",
		METRIC_COUNTER, (double) n->shmem_restarts, NULL);
	add(ns, "orguard_node_snapshot_bytes_total", "Bytes of snapshots read from the node.",
		METRIC_COUNTER, (double) n->snapshot_bytes, NULL);
	add(ns, "orguard_node_snapshots_total", "Snapshots decoded, full and delta (bytes per snapshot: "
		"orguard_node_snapshot_bytes_total over this).", METRIC_COUNTER, (double) n->snapshots, NULL);
	if (n->merge)
	{
		snapshot_merge_stats mst;

		snapshot_merge_get_stats(n->merge, &mst);
		add(ns, "orguard_node_snapshot_deltas_total", "Delta snapshots merged into the kept state.",
			METRIC_COUNTER, (double) mst.deltas, NULL);
		add(ns, "orguard_node_snapshot_fulls_total", "Full snapshots read while keeping state for deltas.",
			METRIC_COUNTER, (double) mst.fulls, NULL);
	}
	/* counted once: a poll whose events go back to the ring (node_keep_cursor) did not move */
	for (size_t i = 0; s && n->cursor_moved && i < s->n_destructive_events; i++)
		n->destructive_events[cron_event_origin(&n->crons, s->destructive_events[i])]++;
	for (int o = 0; o < ORIGIN_COUNT; o++)
		add(ns, "orguard_destructive_events_total",
			"Destructive events read from the node's journal, by origin (adhoc, cron, housekeeping).",
			METRIC_COUNTER, (double) n->destructive_events[o], "origin",
			destructive_origin_name((destructive_origin) o), NULL);
	if (!n->obs.reachable)
		return;
	add(ns, "orguard_node_connections", "Client backends on the node.", METRIC_GAUGE,
		n->obs.connections, NULL);
	add(ns, "orguard_node_max_connections", "The node's max_connections.", METRIC_GAUGE,
		n->obs.max_connections, NULL);
	add(ns, "orguard_node_in_recovery", "Whether the node is a standby.", METRIC_GAUGE,
		n->obs.in_recovery ? 1 : 0, NULL);
	if (!s)
		return;
	{
		double		max_wait = 0;

		for (size_t i = 0; i < s->n_blocking_chains; i++)
			if (s->blocking_chains[i]->wait_ms > max_wait)
				max_wait = s->blocking_chains[i]->wait_ms;
		add(ns, "orguard_blocking_chains", "Sessions waiting on a lock now.", METRIC_GAUGE,
			(double) s->n_blocking_chains, NULL);
		add(ns, "orguard_lock_wait_max_seconds", "Longest current lock wait.", METRIC_GAUGE,
			max_wait / 1000.0, NULL);
	}
	{
		size_t		kept;
		metric_family *f = NULL;

		/* the family is looked up once, and only made when it gets a sample (as before) */
#define MODEL_FAMILY(name, help, field, scale) \
		do { \
			for (size_t i = 0; i < s->n_models; i++) \
				v[i].value = (double) s->models[i]->field / (scale); \
			top_ranked(v, s->n_models, top_n, &kept); \
			for (size_t k = 0; k < kept; k++) \
			{ \
				const OdooRetailGuard__ModelStat *m = s->models[v[k].i]; \
				if (k == 0) \
					f = mset_family(ns->ms, name, help, METRIC_COUNTER); \
				add_to(ns, f, v[k].value, "datname", nz(m->database), "model", nz(m->model), \
					   "operation", nz(m->operation), NULL); \
			} \
		} while (0)
		MODEL_FAMILY("orguard_model_calls_total", "Statements per Odoo model and operation.", calls, 1);
		MODEL_FAMILY("orguard_model_seconds_total", "Statement time per Odoo model and operation.",
					 total_ms, 1000.0);
		MODEL_FAMILY("orguard_model_slow_calls_total", "Slow statements per Odoo model and operation.",
					 slow_calls, 1);
#undef MODEL_FAMILY
		for (size_t i = 0; i < s->n_autovacuum_lag; i++)
			v[i].value = (double) s->autovacuum_lag[i]->dead_tuples;
		top_ranked(v, s->n_autovacuum_lag, top_n, &kept);
		for (size_t k = 0; k < kept; k++)
		{
			const OdooRetailGuard__AutovacuumLag *a = s->autovacuum_lag[v[k].i];

			if (k == 0)
				f = mset_family(ns->ms, "orguard_table_dead_tuples", "Dead tuples per table (top N).",
								METRIC_GAUGE);
			add_to(ns, f, v[k].value, "datname", nz(a->database), "relname", nz(a->relation), NULL);
		}
		for (size_t i = 0; i < s->n_autovacuum_lag; i++)
			v[i].value = s->autovacuum_lag[i]->lag_s;
		top_ranked(v, s->n_autovacuum_lag, top_n, &kept);
		for (size_t k = 0; k < kept; k++)
		{
			const OdooRetailGuard__AutovacuumLag *a = s->autovacuum_lag[v[k].i];

			if (k == 0)
				f = mset_family(ns->ms, "orguard_table_autovacuum_lag_seconds", "Time a table has been over "
								"its autovacuum threshold (top N).", METRIC_GAUGE);
			add_to(ns, f, v[k].value, "datname", nz(a->database), "relname", nz(a->relation), NULL);
		}
	}
	for (size_t i = 0; i < s->n_replication; i++)
	{
		const OdooRetailGuard__ReplicationStandby *r = s->replication[i];
		char		client[96];

		/* client: standbys that share an application_name are distinct series */
		standby_client(r, client, sizeof(client));
		add(ns, "orguard_replication_replay_lag_bytes", "Replay lag per standby.", METRIC_GAUGE,
			(double) r->replay_lag_bytes, "application_name", nz(r->application_name), "client",
			client, NULL);
		if (r->replay_lag_ms >= 0)
			add(ns, "orguard_replication_replay_lag_seconds", "Replay lag per standby.", METRIC_GAUGE,
				r->replay_lag_ms / 1000.0, "application_name", nz(r->application_name), "client",
				client, NULL);
	}
	for (size_t i = 0; i < s->n_replication_slots; i++)
		add(ns, "orguard_replication_slot_retained_bytes", "WAL retained per replication slot.",
			METRIC_GAUGE, (double) s->replication_slots[i]->retained_bytes, "slot_name",
			nz(s->replication_slots[i]->slot_name), NULL);
	if (s->vacuum_horizon)
		add(ns, "orguard_vacuum_horizon_age_seconds", "Age of the oldest vacuum horizon holder.",
			METRIC_GAUGE, s->vacuum_horizon->age_s, NULL);
	for (int i = 0; i < ms->n; i++)
		mset_top_n(&ms->f[i], top_n);
	add_model_histograms(ns, n, v, top_n);
}

void
stats_node_update(metric_set *ms, node *n, int top_n)
{
	const OdooRetailGuard__Snapshot *s = n->snap;
	size_t		nv = s ? (s->n_models > s->n_autovacuum_lag ? s->n_models : s->n_autovacuum_lag) : 0;
	ranked	   *v = xcalloc(nv ? nv : 1, sizeof(ranked));
	node_series ns = {.ms = ms};

	mset_free(ms);
	node_labels(&ns.node, n);
	node_series_build(&ns, n, v, top_n);
	/* kept until the node's next poll: 500 nodes' sets held their doubling room for good */
	mset_shrink(ms);
	labelrefs_free(&ns.node);
	labelrefs_free(&ns.series);
	free(v);
}

void
stats_build(metric_set *out, const agent_cfg *cfg, const collector *c,
			const metric_set *const *node_sets, const rule_engine *re, pager **pagers, int n_pagers,
			remote_writer *rw)
{
	metric_family *f;

	f = mset_family(out, "orguard_agent_info", "Agent version.", METRIC_GAUGE);
	mset_add(f, 1, "version", ORGUARD_VERSION, NULL);
	f = mset_family(out, "orguard_agent_nodes", "Configured nodes.", METRIC_GAUGE);
	mset_add(f, c->n, NULL);
	/* by reference: out lives only while the node sets stand still (one publish) */
	for (int i = 0; i < c->n; i++)
		if (node_sets[i])
			mset_merge_borrowed(out, node_sets[i]);
	f = mset_family(out, "orguard_alerts", "Alert instances by rule and state.", METRIC_GAUGE);
	for (int i = 0; i < cfg->n_rules; i++)
	{
		rule_counts rc = rules_count(re, cfg->rules[i].name);

		mset_add(f, rc.firing, "rule", cfg->rules[i].name, "state", "firing", NULL);
		mset_add(f, rc.pending, "rule", cfg->rules[i].name, "state", "pending", NULL);
	}
	for (int i = 0; i < n_pagers; i++)
	{
		pager_stats ps = pager_get_stats(pagers[i]);
		const char *name = pager_name(pagers[i]);

		f = mset_family(out, "orguard_pager_events_queued_total", "Notifications written to the spool.",
						METRIC_COUNTER);
		mset_add(f, (double) ps.queued, "pager", name, NULL);
		f = mset_family(out, "orguard_pager_events_sent_total", "Notifications the receiver accepted.",
						METRIC_COUNTER);
		mset_add(f, (double) ps.sent, "pager", name, NULL);
		f = mset_family(out, "orguard_pager_retries_total", "Failed attempts that will be retried.",
						METRIC_COUNTER);
		mset_add(f, (double) ps.retries, "pager", name, NULL);
		f = mset_family(out, "orguard_pager_dead_letters_total",
						"Notifications the receiver refused for good.", METRIC_COUNTER);
		mset_add(f, (double) ps.dead_letters, "pager", name, NULL);
		f = mset_family(out, "orguard_pager_spool_pending", "Notifications waiting in the spool.",
						METRIC_GAUGE);
		mset_add(f, (double) ps.pending, "pager", name, NULL);
	}
	if (rw)
	{
		remote_write_stats rs = remote_writer_stats(rw);

		f = mset_family(out, "orguard_remote_write_samples_sent_total", "Samples accepted by the "
						"remote write receiver.", METRIC_COUNTER);
		mset_add(f, (double) rs.samples_sent, NULL);
		f = mset_family(out, "orguard_remote_write_failures_total", "Failed remote write requests.",
						METRIC_COUNTER);
		mset_add(f, (double) rs.failures, NULL);
		f = mset_family(out, "orguard_remote_write_batches_dropped_total", "Batches dropped because "
						"the queue was full.", METRIC_COUNTER);
		mset_add(f, (double) rs.dropped, NULL);
	}
}
