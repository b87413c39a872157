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

static void
node_labels(labelset *ls, const node *n)
{
	labels_set(ls, "cluster", n->cfg.cluster);
	labels_set(ls, "node", n->cfg.name);
	/* store, region, brand: one value per node, so no extra cardinality */
	labels_copy(ls, &n->cfg.tags);
}

static void
add(metric_set *ms, const char *name, const char *help, metric_type t, const node *n, double v,
	...) __attribute__((sentinel));

static void
add(metric_set *ms, const char *name, const char *help, metric_type t, const node *n, double v, ...)
{
	metric_family *f = mset_family(ms, name, help, t);
	labelset	ls = {0};
	va_list		ap;
	const char *k;

	node_labels(&ls, n);
	va_start(ap, v);
	while ((k = va_arg(ap, const char *)) != NULL)
	{
		const char *val = va_arg(ap, const char *);

		labels_set(&ls, k, val && *val ? val : "unknown");
	}
	va_end(ap);
	mset_add_labels(f, &ls, v);
	labels_free(&ls);
}

static const char *
nz(const char *s)
{
	return s && *s ? s : "unknown";
}

static int
by_total_ms_desc(const void *a, const void *b)
{
	double		x = (*(OdooRetailGuard__ModelStat *const *) a)->total_ms;
	double		y = (*(OdooRetailGuard__ModelStat *const *) b)->total_ms;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * orguard_model_duration_seconds from the extension's folded buckets, for
 * the top_n models by total time (a histogram is 15 series per model, so it
 * is bounded by model, not by sample).
 */
static void
add_model_histograms(metric_set *ms, const node *n, int top_n)
{
	const OdooRetailGuard__Snapshot *s = n->snap;
	metric_family *f;
	OdooRetailGuard__ModelStat **by_time;
	size_t		keep;

	if (!s || s->n_models == 0)
		return;
	by_time = xcalloc(s->n_models, sizeof(*by_time));
	memcpy(by_time, s->models, s->n_models * sizeof(*by_time));
	qsort(by_time, s->n_models, sizeof(*by_time), by_total_ms_desc);
	keep = top_n >= 0 && (size_t) top_n < s->n_models ? (size_t) top_n : s->n_models;
	f = mset_family(ms, "orguard_model_duration_seconds",
					"Statement time per Odoo model and operation.", METRIC_HISTOGRAM);
	for (size_t i = 0; i < keep; i++)
	{
		const OdooRetailGuard__ModelStat *m = by_time[i];
		labelset	ls = {0};
		size_t		nb = m->n_duration_le_ms < m->n_duration_le_count ? m->n_duration_le_ms
			: m->n_duration_le_count;
		char		le[64];

		node_labels(&ls, n);
		labels_set(&ls, "datname", nz(m->database));
		labels_set(&ls, "model", nz(m->model));
		labels_set(&ls, "operation", nz(m->operation));
		for (size_t b = 0; b < nb; b++)
		{
			labelset	bl = {0};

			labels_copy(&bl, &ls);
			metric_format_value(m->duration_le_ms[b] / 1000.0, le, sizeof(le));
			labels_set(&bl, "le", le);
			mset_add_suffixed(f, "_bucket", &bl, (double) m->duration_le_count[b]);
			labels_free(&bl);
		}
		{
			labelset	bl = {0};

			labels_copy(&bl, &ls);
			labels_set(&bl, "le", "+Inf");
			mset_add_suffixed(f, "_bucket", &bl, (double) m->calls);
			labels_free(&bl);
		}
		mset_add_suffixed(f, "_sum", &ls, m->total_ms / 1000.0);
		mset_add_suffixed(f, "_count", &ls, (double) m->calls);
		labels_free(&ls);
	}
	free(by_time);
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

/*
 * The indexes of the top_n largest of v[0..count) (all when top_n < 0),
 * largest first, ties in snapshot order: a node's 1,000 tables and models
 * are ranked, and only the kept ones get label sets.
 */
static ranked *
top_ranked(ranked *v, size_t count, int top_n, size_t *kept)
{
	for (size_t i = 0; i < count; i++)
		v[i].i = i;
	qsort(v, count, sizeof(ranked), by_rank);
	*kept = top_n >= 0 && (size_t) top_n < count ? (size_t) top_n : count;
	return v;
}

void
stats_node_update(metric_set *ms, node *n, int top_n)
{
	const OdooRetailGuard__Snapshot *s = n->snap;

	mset_free(ms);
	add(ms, "orguard_node_up", "Whether the last poll reached the node.", METRIC_GAUGE, n,
		n->obs.reachable ? 1 : 0, NULL);
	add(ms, "orguard_node_poll_duration_seconds", "Duration of the last poll.", METRIC_GAUGE, n,
		n->poll_seconds, NULL);
	add(ms, "orguard_node_polls_total", "Polls of the node.", METRIC_COUNTER, n, (double) n->polls, NULL);
	add(ms, "orguard_node_poll_failures_total", "Polls that did not reach the node.", METRIC_COUNTER, n,
		(double) n->failures, NULL);
	add(ms, "orguard_node_deadline_overruns_total", "Polls cancelled at the node deadline.",
		METRIC_COUNTER, n, (double) n->overruns, NULL);
	add(ms, "orguard_node_snapshot_ok", "Whether the last poll decoded a snapshot.", METRIC_GAUGE, n,
		s ? 1 : 0, NULL);
	add(ms, "orguard_node_ring_gaps_total", "Snapshots reporting ring entries overwritten unread.",
		METRIC_COUNTER, n, (double) n->ring_gaps, NULL);
	add(ms, "orguard_node_shmem_restarts_total",
		"Crash-restarts seen: the node's shared memory re-initialized, its event rings read again from the start.",
		METRIC_COUNTER, n, (double) n->shmem_restarts, NULL);
	add(ms, "orguard_node_snapshot_bytes_total", "Bytes of snapshots read from the node.",
		METRIC_COUNTER, n, (double) n->snapshot_bytes, NULL);
	add(ms, "orguard_node_snapshots_total", "Snapshots decoded, full and delta (bytes per snapshot: "
		"orguard_node_snapshot_bytes_total over this).", METRIC_COUNTER, n, (double) n->snapshots, NULL);
	if (n->merge)
	{
		snapshot_merge_stats mst;

		snapshot_merge_get_stats(n->merge, &mst);
		add(ms, "orguard_node_snapshot_deltas_total", "Delta snapshots merged into the kept state.",
			METRIC_COUNTER, n, (double) mst.deltas, NULL);
		add(ms, "orguard_node_snapshot_fulls_total", "Full snapshots read while keeping state for deltas.",
			METRIC_COUNTER, n, (double) mst.fulls, NULL);
	}
	/* counted once: a poll whose events go back to the ring (node_keep_cursor) did not move */
	for (size_t i = 0; s && n->cursor_moved && i < s->n_destructive_events; i++)
		n->destructive_events[cron_event_origin(&n->crons, s->destructive_events[i])]++;
	for (int o = 0; o < ORIGIN_COUNT; o++)
		add(ms, "orguard_destructive_events_total",
			"Destructive events read from the node's journal, by origin (adhoc, cron, housekeeping).",
			METRIC_COUNTER, n, (double) n->destructive_events[o], "origin",
			destructive_origin_name((destructive_origin) o), NULL);
	if (!n->obs.reachable)
		return;
	add(ms, "orguard_node_connections", "Client backends on the node.", METRIC_GAUGE, n,
		n->obs.connections, NULL);
	add(ms, "orguard_node_max_connections", "The node's max_connections.", METRIC_GAUGE, n,
		n->obs.max_connections, NULL);
	add(ms, "orguard_node_in_recovery", "Whether the node is a standby.", METRIC_GAUGE, n,
		n->obs.in_recovery ? 1 : 0, NULL);
	if (!s)
		return;
	{
		double		max_wait = 0;

		for (size_t i = 0; i < s->n_blocking_chains; i++)
			if (s->blocking_chains[i]->wait_ms > max_wait)
				max_wait = s->blocking_chains[i]->wait_ms;
		add(ms, "orguard_blocking_chains", "Sessions waiting on a lock now.", METRIC_GAUGE, n,
			(double) s->n_blocking_chains, NULL);
		add(ms, "orguard_lock_wait_max_seconds", "Longest current lock wait.", METRIC_GAUGE, n,
			max_wait / 1000.0, NULL);
	}
	{
		size_t		nv = s->n_models > s->n_autovacuum_lag ? s->n_models : s->n_autovacuum_lag;
		ranked	   *v = xcalloc(nv ? nv : 1, sizeof(ranked));
		size_t		kept;

#define MODEL_FAMILY(name, help, field, scale) \
		do { \
			for (size_t i = 0; i < s->n_models; i++) \
				v[i].value = (double) s->models[i]->field / (scale); \
			top_ranked(v, s->n_models, top_n, &kept); \
			for (size_t k = 0; k < kept; k++) \
			{ \
				const OdooRetailGuard__ModelStat *m = s->models[v[k].i]; \
				add(ms, name, help, METRIC_COUNTER, n, v[k].value, "datname", nz(m->database), \
					"model", nz(m->model), "operation", nz(m->operation), NULL); \
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

			add(ms, "orguard_table_dead_tuples", "Dead tuples per table (top N).", METRIC_GAUGE, n,
				v[k].value, "datname", nz(a->database), "relname", nz(a->relation), NULL);
		}
		for (size_t i = 0; i < s->n_autovacuum_lag; i++)
			v[i].value = s->autovacuum_lag[i]->lag_s;
		top_ranked(v, s->n_autovacuum_lag, top_n, &kept);
		for (size_t k = 0; k < kept; k++)
		{
			const OdooRetailGuard__AutovacuumLag *a = s->autovacuum_lag[v[k].i];

			add(ms, "orguard_table_autovacuum_lag_seconds", "Time a table has been over its autovacuum "
				"threshold (top N).", METRIC_GAUGE, n, v[k].value, "datname", nz(a->database), "relname",
				nz(a->relation), NULL);
		}
		free(v);
	}
	for (size_t i = 0; i < s->n_replication; i++)
	{
		const OdooRetailGuard__ReplicationStandby *r = s->replication[i];
		char		client[96];

		/* client: standbys that share an application_name are distinct series */
		standby_client(r, client, sizeof(client));
		add(ms, "orguard_replication_replay_lag_bytes", "Replay lag per standby.", METRIC_GAUGE, n,
			(double) r->replay_lag_bytes, "application_name", nz(r->application_name), "client",
			client, NULL);
		if (r->replay_lag_ms >= 0)
			add(ms, "orguard_replication_replay_lag_seconds", "Replay lag per standby.", METRIC_GAUGE,
				n, r->replay_lag_ms / 1000.0, "application_name", nz(r->application_name), "client",
				client, NULL);
	}
	for (size_t i = 0; i < s->n_replication_slots; i++)
		add(ms, "orguard_replication_slot_retained_bytes", "WAL retained per replication slot.",
			METRIC_GAUGE, n, (double) s->replication_slots[i]->retained_bytes, "slot_name",
			nz(s->replication_slots[i]->slot_name), NULL);
	if (s->vacuum_horizon)
		add(ms, "orguard_vacuum_horizon_age_seconds", "Age of the oldest vacuum horizon holder.",
			METRIC_GAUGE, n, s->vacuum_horizon->age_s, NULL);
	for (int i = 0; i < ms->n; i++)
		mset_top_n(&ms->f[i], top_n);
	add_model_histograms(ms, n, top_n);
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
