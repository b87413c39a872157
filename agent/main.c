/*
 * main.c: orguard-agent's command line, signals and main loop.  It wires
 * the parts together and holds no business logic of its own:
 *
 *   collect/node.c --poll--> alert/facts.c --> alert/rules.c --events-->
 *       |     deliver/fanout.c --> deliver/pager*.c --> spool + receivers
 *       \--> export/stats.c --> export/metrics_server.c (/metrics), export/remote_write.c (push)
 *
 * What it keeps of each node between polls beside the collector's own
 * state (the facts' memory, the node's last metrics) is node_memory.c's.
 */
#include "common/config.h"
#include "common/exit_status.h"
#include "collect/cursor.h"
#include "alert/facts.h"
#include "deliver/fanout.h"
#include "common/http.h"
#include "export/journal_view.h"
#include "common/log.h"
#include "common/process_usage.h"
#include "export/metrics.h"
#include "export/metrics_server.h"
#include "collect/node.h"
#include "node_memory.h"
#include "deliver/pager.h"
#include "export/remote_write.h"
#include "alert/rules.h"
#include "runbooks/announce_spool.h"
#include "runbooks/cli.h"
#include "alert/split_brain.h"
#include "runbooks/trigger.h"
#include "common/sd_notify.h"
#include "deliver/spool.h"
#include "export/stats.h"
#include "export/status_json.h"
#include "common/utf8.h"
#include "common/util.h"

#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t got_hup;
static volatile sig_atomic_t got_term;

typedef struct agent
{
	agent_cfg	cfg;
	collector  *coll;
	node_memories mem;			/* per node of coll: facts memory, last metrics */
	rule_engine *re;
	pager	  **pagers;
	int			n_pagers;
	int64_t    *reposted_ms;	/* per pager: last re-post of firing alerts */
	metrics_server *srv;
	remote_writer *rw;
	char	  **last_error;		/* per node, to log changes only */
	cursor_store cursors;
	char	   *cursor_path;
	rw_state	rw_sent;		/* series pushed last time, for stale markers */
	rb_orphans *rb_orphans;		/* runbook announcements a CLI left unsent */
	role_table	roles;			/* latest role of every node: two_primaries */
	rb_trigger *trig;			/* runbooks named by rules (runbook = NAME) */
	uint64_t	spool_failures;	/* writes to the spool that failed (disk full...) */
	bool		spool_failing;	/* the latest write failed: /healthz says so */
	char	   *state_saved;	/* the rule state as last written to the spool */
	status_board *board;		/* what the status page shows */
	journal_view *journals;		/* the runbook journals, for the page */
} agent;

static void
usage(FILE *f)
{
	fputs("Usage: orguard-agent [--config FILE] [COMMAND]\n"
		  "       orguard-agent COMMAND --help\n"
		  "\n"
		  "Watches Odoo PostgreSQL nodes, pages on-call and serves metrics.\n"
		  "\n"
		  "Commands:\n"
		  "  run            run the agent (the default); SIGHUP reloads, SIGTERM stops\n"
		  "  check-config   validate the configuration and explain every error\n"
		  "  once           poll every node once and print what it sees\n"
		  "  runbook ...    backup, point-in-time recovery, promotion and rejoin\n"
		  "                 (orguard-agent runbook --help)\n"
		  "\n"
		  "Options:\n"
		  "  -c, --config FILE   configuration file (default " ORGUARD_DEFAULT_CONFIG ")\n"
		  "  -f, --format FMT    output of once: table (default) or json\n"
		  "  -h, --help          show this help (no configuration is read)\n"
		  "  -V, --version       show the version\n"
		  "\n" ORG_EXIT_STATUS_HELP, f);
}

/* "orguard-agent COMMAND --help" */
static void
command_usage(const char *cmd, FILE *f)
{
	if (!strcmp(cmd, "run"))
		fputs("Usage: orguard-agent [--config FILE] run\n"
			  "\n"
			  "Runs the agent: polls every node each interval, evaluates the rules, pages and serves\n"
			  "/metrics.  SIGHUP reloads the configuration (a file with errors is refused and the\n"
			  "running one kept), SIGTERM and SIGINT stop it.\n"
			  "\n"
			  "Exit status: 0 stopped by a signal, 1 could not start (listen address, spool),\n"
			  "2 configuration error (restarting will not help).\n", f);
	else if (!strcmp(cmd, "check-config"))
		fputs("Usage: orguard-agent [--config FILE] check-config\n"
			  "\n"
			  "Validates the configuration, including the runbooks rules start, and prints every\n"
			  "error as file:line: message.\n"
			  "\n"
			  "Exit status: 0 valid, 2 errors (or the file cannot be read).\n", f);
	else if (!strcmp(cmd, "once"))
		fputs("Usage: orguard-agent [--config FILE] once [--format table|json]\n"
			  "\n"
			  "Polls every node once and prints connections, snapshot status, errors and the facts\n"
			  "the rules would see.\n"
			  "\n"
			  "Exit status: 0 every node read, 2 configuration error, 4 a node could not be read.\n", f);
	else if (!strcmp(cmd, "runbook"))
	{
		char	   *argv[] = {"runbook", "--help", NULL};

		runbook_cli_help(2, argv);
	}
	else
		usage(f);
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static bool
load_or_explain(const char *path, agent_cfg *cfg)
{
	config_errors errs = {0};
	bool		ok = config_load(path, cfg, &errs);

	if (ok)
		ok = rb_trigger_check(cfg, &errs);
	for (int i = 0; i < errs.n; i++)
		log_error("%s", errs.msg[i]);
	config_errors_free(&errs);
	return ok;
}

static int
check_config(const char *path)
{
	agent_cfg	cfg;
	config_errors errs = {0};
	bool		ok = config_load(path, &cfg, &errs);

	/* the runbooks that rules start are the daemon's to run: check them too */
	if (ok)
		ok = rb_trigger_check(&cfg, &errs);
	for (int i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	if (ok)
		printf("%s: ok (%d nodes, %d pagers, %d rules, %d runbooks)\n", path, cfg.n_nodes,
			   cfg.n_pagers, cfg.n_rules, cfg.n_runbooks);
	else
		fprintf(stderr, "%s: %d error%s\n", path, errs.n, errs.n == 1 ? "" : "s");
	config_errors_free(&errs);
	config_free(&cfg);
	return ok ? ORG_EXIT_OK : ORG_EXIT_CONFIG;
}

/* gate NULL: every fact (--once prints them all) */
static void
collect_facts(node *n, facts_memory *mem, const fact_gate *gate, fact_list *facts)
{
	facts_from_observation(&n->obs, facts);
	facts_from_snapshot_gated(n->snap, mem, n->obs.now_us, gate, facts);
}

static void
record_role(role_table *roles, const node *n)
{
	uint32_t	tl = n->snap && n->snap->node ? n->snap->node->timeline : 0;

	role_table_set(roles, n->cfg.name, n->cfg.cluster, n->obs.reachable, n->obs.in_recovery, tl,
				   n->system_id, n->start_us, n->obs.now_us);
}

/*
 * The cluster's two_primaries fact, under its anchor node only.  A role
 * older than two intervals plus a poll deadline is stale: that node
 * missed a poll.
 */
static void
collect_cluster_facts(const agent_cfg *cfg, const role_table *roles, const node_cfg *ncfg,
					  int64_t now, fact_list *facts)
{
	int64_t		max_age = (int64_t) ((2 * cfg->interval_s + cfg->node_timeout_s) * 1e6);

	if (ncfg && split_brain_anchor(cfg, ncfg))
		split_brain_facts(roles, ncfg->cluster, now, max_age, facts);
}

/* ---------- once ---------- */

static void
poll_once(collector *c)
{
	collector_start_poll(c, mono_ms());
	while (collector_busy(c))
		collector_step(c, 100);
}

static int
run_once(const char *path, const char *format)
{
	agent_cfg	cfg;
	collector  *c;
	int			unreachable = 0;
	bool		json = format && !strcmp(format, "json");
	json_t	   *arr = json_array();
	role_table	roles = {0};
	node_memories mem = {0};

	if (!load_or_explain(path, &cfg))
	{
		json_decref(arr);
		config_free(&cfg);
		return ORG_EXIT_CONFIG;
	}
	c = collector_new(&cfg);
	node_memories_sync(&mem, c);
	poll_once(c);
	for (int i = 0; i < c->n; i++)
		record_role(&roles, c->v[i]);
	if (!json)
		printf("%-20s %-16s %-6s %-11s %-8s %s\n", "NODE", "CLUSTER", "UP", "CONNECTIONS", "ROLE",
			   "SNAPSHOT");
	for (int i = 0; i < c->n; i++)
	{
		node	   *n = c->v[i];
		fact_list	facts = {0};

		node_lend_sets(n);
		collect_facts(n, mem.v[i].facts, NULL, &facts);
		node_return_sets(n);
		for (int k = 0; k < cfg.n_nodes; k++)
			if (!strcmp(cfg.nodes[k].name, n->cfg.name))
				collect_cluster_facts(&cfg, &roles, &cfg.nodes[k], n->obs.now_us, &facts);
		if (!n->obs.reachable)
			unreachable++;
		if (json)
		{
			json_t	   *o = json_object();
			json_t	   *fa = json_array();

			json_object_set_new(o, "node", json_text(n->cfg.name));
			json_object_set_new(o, "cluster", json_text(n->cfg.cluster));
			json_object_set_new(o, "reachable", json_boolean(n->obs.reachable));
			if (!n->obs.reachable)
				json_object_set_new(o, "error", json_text(n->error));
			else
			{
				json_object_set_new(o, "connections", json_integer(n->obs.connections));
				json_object_set_new(o, "max_connections", json_integer(n->obs.max_connections));
				json_object_set_new(o, "in_recovery", json_boolean(n->obs.in_recovery));
				json_object_set_new(o, "snapshot", json_boolean(n->snap != NULL));
				if (n->snapshot_error[0])
					json_object_set_new(o, "snapshot_error", json_text(n->snapshot_error));
				if (n->snap)
				{
					json_object_set_new(o, "schema_version", json_integer(n->snap->schema_version));
					json_object_set_new(o, "next_cursor", json_integer((json_int_t) n->snap->next_cursor));
				}
			}
			json_object_set_new(o, "poll_seconds", json_real(n->poll_seconds));
			for (int k = 0; k < facts.n; k++)
			{
				json_t	   *f = json_object();

				json_object_set_new(f, "kind", json_string(rule_kind_name(facts.v[k].kind)));
				json_object_set_new(f, "subject", json_text(facts.v[k].subject));
				json_object_set_new(f, "value", json_real(facts.v[k].value));
				json_object_set_new(f, "summary", json_text(facts.v[k].summary));
				json_array_append_new(fa, f);
			}
			json_object_set_new(o, "facts", fa);
			json_array_append_new(arr, o);
		}
		else
		{
			char		conn[32] = "-";

			if (n->obs.reachable)
				snprintf(conn, sizeof(conn), "%d/%d", n->obs.connections, n->obs.max_connections);
			printf("%-20s %-16s %-6s %-11s %-8s %s\n", n->cfg.name, n->cfg.cluster,
				   n->obs.reachable ? "yes" : "no", conn,
				   !n->obs.reachable ? "-" : n->obs.in_recovery ? "standby" : "primary",
				   !n->obs.reachable ? n->error : n->snap ? "ok" : n->snapshot_error);
			for (int k = 0; k < facts.n; k++)
				if (facts.v[k].value != 0)
					printf("    %-24s %-32s %12.6g  %s\n", rule_kind_name(facts.v[k].kind),
						   facts.v[k].subject, facts.v[k].value, facts.v[k].summary);
		}
		facts_free(&facts);
	}
	if (json)
	{
		char	   *s = json_dumps(arr, JSON_INDENT(2));

		printf("%s\n", s);
		free(s);
	}
	json_decref(arr);
	role_table_free(&roles);
	node_memories_free(&mem);
	collector_free(c);
	config_free(&cfg);
	return unreachable ? ORG_EXIT_UNREACHABLE : ORG_EXIT_OK;
}

/* ---------- run ---------- */

/* the fan-out's view of the agent: its configuration, pagers and rule engine */
static fanout
fanout_of(agent *a)
{
	fanout		f = {&a->cfg, a->pagers, a->n_pagers, a->re};

	return f;
}

static void
show_health(agent *a)
{
	char	   *stuck = NULL;

	if (a->spool_failing)
	{
		metrics_server_set_unhealthy(a->srv, "notifications cannot be written to the spool "
									 "(disk full?): alerts are held back and retried each poll");
		return;
	}
	/* a receiver down for long: its spool is stuck and pages wait */
	for (int i = 0; i < a->n_pagers && !stuck; i++)
	{
		pager_stats st = pager_get_stats(a->pagers[i]);
		int64_t		age = st.failing_since_ms ? mono_ms() - st.failing_since_ms : 0;

		if (st.failing_since_ms && age >= (int64_t) (a->cfg.healthz_pager_stuck_s * 1000))
			stuck = xasprintf("pager %s has not delivered for %.0fs (healthz_pager_stuck %.0fs): "
							  "%llu notifications wait in its spool", pager_name(a->pagers[i]),
							  (double) age / 1000.0, a->cfg.healthz_pager_stuck_s,
							  (unsigned long long) (st.pending > 0 ? st.pending : 1));
	}
	metrics_server_set_unhealthy(a->srv, stuck);
	free(stuck);
}

/* /healthz fails when no poll cycle completed within three intervals and a node deadline */
static int64_t
stall_after_ms(const agent *a)
{
	return (int64_t) ((3 * a->cfg.interval_s + a->cfg.node_timeout_s) * 1000);
}

/* the outcome of a write to the spool: counted, and shown by /healthz while it fails */
static void
spool_write_result(agent *a, bool ok)
{
	if (!ok)
		a->spool_failures++;
	if (ok == !a->spool_failing)
		return;
	a->spool_failing = !ok;
	if (ok)
		log_info("the spool in %s takes writes again", a->cfg.spool_dir);
	show_health(a);
}

/*
 * The rule state after a change, written to the spool directory so that a
 * restart continues the same alerts; skipped when nothing changed since the
 * last successful write, unless the spool is failing (then every cycle's
 * write tells when it works again).  Returns false when the write failed.
 */
static bool
write_rules(agent *a)
{
	char	   *json = rules_to_json(a->re);
	char	   *err = NULL;

	if (a->state_saved && !strcmp(json, a->state_saved) && !a->spool_failing)
	{
		free(json);
		return true;
	}
	free(a->state_saved);
	a->state_saved = NULL;
	if (!spool_state_write(a->cfg.spool_dir, json, &err))
	{
		log_error("%s", err);
		free(err);
		free(json);
		return false;
	}
	a->state_saved = json;
	return true;
}

static void
save_rules(agent *a)
{
	spool_write_result(a, write_rules(a));
}

/*
 * Spools events for their pagers (fanout.h); the rule state is saved with
 * them.  Returns false when one could not be spooled.
 */
static bool
route(agent *a, event_list *events, bool from_rules)
{
	fanout		f = fanout_of(a);
	bool		ok;

	if (events->n == 0)
		return true;
	ok = fanout_route(&f, events, from_rules);
	/* one outcome for the batch: a state write that works does not hide a failed entry */
	spool_write_result(a, (!from_rules || write_rules(a)) && ok);
	return ok;
}

/* the rule state saved by the previous run: the same alerts go on (and resolve) */
static void
restore_rules(agent *a)
{
	char	   *text = spool_state_read(a->cfg.spool_dir);
	char	   *err = NULL;
	rule_counts c;

	if (!text)
		return;
	if (!rules_from_json(a->re, text, &err))
	{
		log_warn("%s/%s: %s", a->cfg.spool_dir, SPOOL_STATE_FILE, err);
		free(err);
	}
	free(text);
	c = rules_count(a->re, NULL);
	log_info("alert state restored: %d firing, %d pending", c.firing, c.pending);
}

/* a crash during a fan-out: its events are spooled again (fanout.h) */
static void
recover_fanout(agent *a)
{
	fanout		f = fanout_of(a);

	if (!fanout_recover(&f))
		spool_write_result(a, false);
}

/* Alertmanager forgets an alert at its endsAt: firing ones are posted again (fanout.h) */
static void
repost_to_alertmanagers(agent *a, int64_t now_ms)
{
	fanout		f = fanout_of(a);

	for (int failed = fanout_repost_to_alertmanagers(&f, a->reposted_ms, now_ms); failed > 0; failed--)
		spool_write_result(a, false);	/* re-posted again next time */
}

/*
 * What one finished poll leads to: its facts are evaluated and its events
 * added to the batch of the loop's turn (rule events to events, runbook
 * steps to steps); its metrics and status are updated.  The snapshot is
 * released by finish_polls, after the batch is spooled: a node whose
 * events could not be spooled keeps its cursor.  Returns whether the node
 * added rule events.
 */
static bool
node_finished(agent *a, int idx, node *n, event_list *events, event_list *steps)
{
	fact_list	facts = {0};
	event_list	own = {0};
	rules_gate	gate;
	const char *err = !n->obs.reachable ? n->error : n->snapshot_error;
	const node_cfg *ncfg = NULL;
	bool		added;

	/* the collector keeps the configuration's order (collector_reload): searched only if not */
	if (idx < a->cfg.n_nodes && !strcmp(a->cfg.nodes[idx].name, n->cfg.name))
		ncfg = &a->cfg.nodes[idx];
	else
		for (int i = 0; i < a->cfg.n_nodes; i++)
			if (!strcmp(a->cfg.nodes[i].name, n->cfg.name))
				ncfg = &a->cfg.nodes[i];
	if (!a->last_error[idx] || strcmp(a->last_error[idx], err))
	{
		if (*err)
			log_warn("node %s: %s", n->cfg.name, err);
		else
			log_info("node %s: %s", n->cfg.name, n->snap ? "polling snapshots" : "reachable");
		free(a->last_error[idx]);
		a->last_error[idx] = xstrdup(err);
	}
	/*
	 * A node backing off was not asked: its own alerts stay as they are
	 * until a poll that asks it.  Judged on the failure repeated meanwhile,
	 * node_unreachable would fire for time in which the node may long have
	 * answered again (a page for a 15 s stall at a 1 s interval).  Its
	 * cluster's facts are still evaluated: they come from the other nodes.
	 */
	node_lend_sets(n);
	if (!n->obs.paused)
	{
		/* only the facts the rules can act on: a node has thousands of tables and models */
		if (ncfg)
			rules_gate_init(&gate, a->re, &a->cfg, ncfg);
		collect_facts(n, a->mem.v[idx].facts, ncfg ? &gate.gate : NULL, &facts);
		record_role(&a->roles, n);
	}
	collect_cluster_facts(&a->cfg, &a->roles, ncfg, n->obs.now_us, &facts);
	if (ncfg && n->obs.paused)
		rules_eval_node_unasked(a->re, &a->cfg, ncfg, &facts, now_us(), &own);
	else if (ncfg)
		rules_eval_node(a->re, &a->cfg, ncfg, &facts, now_us(), &own);
	rb_trigger_observe(a->trig, &a->cfg, &own);
	added = own.n > 0;
	for (int i = 0; i < own.n; i++)
		alert_copy(events_push(events), &own.v[i]);
	events_free(&own);
	/* the runbooks' steps reach on-call like any alert */
	if (ncfg)
		rb_trigger_node_polled(a->trig, ncfg, now_us(), steps);
	stats_node_update(&a->mem.v[idx].metrics, n, a->cfg.top_n);
	status_board_node(a->board, n->cfg.name, n->cfg.cluster, &n->obs, err, n->snap, n->obs.now_us);
	node_return_sets(n);
	facts_free(&facts);
	return added;
}

/*
 * The polls finished since the last turn, their events spooled as one
 * batch: one intent file and one save of the alert state, each synced,
 * per turn rather than per node.  Hundreds of nodes failing together (a
 * network cut) each added an event; spooled one node at a time, their
 * syncs held the loop for seconds, every other poll overran its deadline,
 * and their failures added more events.
 */
static void
finish_polls(agent *a)
{
	event_list	events = {0};
	event_list	steps = {0};
	bool	   *added = NULL;
	int			finished = 0;

	for (int i = 0; i < a->coll->n; i++)
	{
		if (!a->coll->v[i]->done)
			continue;
		if (!added)
			added = xcalloc((size_t) a->coll->n, sizeof(bool));
		added[i] = node_finished(a, i, a->coll->v[i], &events, &steps);
		finished++;
	}
	if (!finished)
		return;
	/* events that could not be spooled come again from the same ring entries */
	if (!route(a, &events, true))
		for (int i = 0; i < a->coll->n; i++)
			if (added[i])
				node_keep_cursor(a->coll->v[i]);
	route(a, &steps, false);
	events_free(&events);
	events_free(&steps);
	for (int i = 0; i < a->coll->n; i++)
		if (a->coll->v[i]->done)
			node_consume(a->coll->v[i]);
	free(added);
}

static void
load_cursors(agent *a)
{
	char	   *err = NULL;

	cursor_store_free(&a->cursors);
	free(a->cursor_path);
	a->cursor_path = xasprintf("%s/cursors", a->cfg.spool_dir);
	if (!cursor_load(a->cursor_path, &a->cursors, &err))
	{
		log_warn("%s", err);
		free(err);
	}
	for (int i = 0; i < a->coll->n; i++)
	{
		node	   *n = a->coll->v[i];
		const cursor_entry *e = cursor_get(&a->cursors, n->cfg.name);

		if (e && !n->start_us && !n->cursor)
		{
			n->cursor = e->cursor;
			n->system_id = e->system_id;
			n->start_us = e->start_us;
			n->incarnation = e->incarnation;
		}
	}
}

static void
save_cursors(agent *a)
{
	char	   *err = NULL;

	for (int i = 0; i < a->coll->n; i++)
	{
		node	   *n = a->coll->v[i];

		if (n->cursor || n->start_us)
		{
			cursor_set(&a->cursors, n->cfg.name, n->system_id, n->start_us, n->cursor);
			cursor_set_incarnation(&a->cursors, n->cfg.name, n->incarnation);
		}
	}
	if (!cursor_save(a->cursor_path, &a->cursors, &err))
	{
		log_warn("%s", err);
		free(err);
		spool_write_result(a, false);
	}
}

static void
publish(agent *a)
{
	metric_set	ms = {0};
	process_usage usage;
	const metric_set **node_sets = xcalloc((size_t) (a->mem.n ? a->mem.n : 1), sizeof(metric_set *));

	for (int i = 0; i < a->mem.n; i++)
		node_sets[i] = &a->mem.v[i].metrics;
	stats_build(&ms, &a->cfg, a->coll, node_sets, a->re, a->pagers, a->n_pagers, a->rw);
	free(node_sets);
	rb_trigger_metrics(a->trig, &ms);
	mset_add(mset_family(&ms, "orguard_spool_write_failures_total",
						 "Writes to the spool (notifications, fan-out intent, alert state) that failed.",
						 METRIC_COUNTER), (double) a->spool_failures, NULL);
	if (process_usage_read(&usage))
	{
		/* the names of Prometheus's own process collector: what the agent costs at this scale */
		mset_add(mset_family(&ms, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
							 METRIC_COUNTER), usage.cpu_seconds, NULL);
		mset_add(mset_family(&ms, "process_resident_memory_bytes", "Resident memory size in bytes.",
							 METRIC_GAUGE), usage.resident_bytes, NULL);
	}
	if (a->srv)
	{
		event_list	firing = {0};
		int64_t		now = now_us();

		metrics_server_publish(a->srv, mset_format(&ms), true);
		rules_firing(a->re, &a->cfg, now, &firing);
		status_board_runbooks(a->board, journal_view_json(a->journals, &a->cfg));
		metrics_server_publish_status(a->srv, status_board_json(a->board, &firing, now));
		events_free(&firing);
	}
	if (a->rw)
	{
		size_t		len,
					series;
		uint8_t    *body = remote_write_encode(&ms, &a->cfg.external_labels, now_us() / 1000,
											   &a->rw_sent, &len, &series);

		if (len > 0)
			remote_writer_push(a->rw, body, len, series);
		else
			free(body);
	}
	mset_free(&ms);
}

static bool
start_outputs(agent *a)
{
	char	   *err = NULL;

	a->pagers = xcalloc((size_t) (a->cfg.n_pagers ? a->cfg.n_pagers : 1), sizeof(pager *));
	a->reposted_ms = xcalloc((size_t) (a->cfg.n_pagers ? a->cfg.n_pagers : 1), sizeof(int64_t));
	for (int i = 0; i < a->cfg.n_pagers; i++)
		a->reposted_ms[i] = mono_ms();
	a->n_pagers = 0;
	for (int i = 0; i < a->cfg.n_pagers; i++)
	{
		pager	   *p = pager_start(&a->cfg.pagers[i], a->cfg.spool_dir, &err);

		if (!p)
		{
			log_error("%s", err);
			free(err);
			return false;
		}
		a->pagers[a->n_pagers++] = p;
	}
	a->rb_orphans = rb_orphans_new();
	if (a->cfg.remote_write_url && *a->cfg.remote_write_url)
	{
		remote_write_opts o = {
			.url = a->cfg.remote_write_url,
			.timeout_s = a->cfg.remote_write_timeout_s,
			.username = a->cfg.remote_write_username,
			.password = a->cfg.remote_write_password,
			.bearer_token = a->cfg.remote_write_bearer_token,
			.headers = &a->cfg.remote_write_headers,
			.ca_file = a->cfg.remote_write_ca_file,
			.cert_file = a->cfg.remote_write_cert_file,
			.key_file = a->cfg.remote_write_key_file,
			.tls_verify = a->cfg.remote_write_tls_verify,
		};

		a->rw = remote_writer_start(&o);
	}
	return true;
}

static void
stop_outputs(agent *a)
{
	for (int i = 0; i < a->n_pagers; i++)
		pager_stop(a->pagers[i]);
	free(a->pagers);
	a->pagers = NULL;
	free(a->reposted_ms);
	a->reposted_ms = NULL;
	a->n_pagers = 0;
	remote_writer_stop(a->rw);
	a->rw = NULL;
	rb_orphans_free(a->rb_orphans);
	a->rb_orphans = NULL;
}

static bool
start_server(agent *a)
{
	char	   *err = NULL;

	if (!*a->cfg.listen || !strcmp(a->cfg.listen, "off"))
		return true;
	a->srv = metrics_server_start_secure(a->cfg.listen, a->cfg.listen_tls_cert_file,
										 a->cfg.listen_tls_key_file, a->cfg.listen_users_file, &err);
	if (!a->srv)
	{
		log_error("%s", err);
		free(err);
		return false;
	}
	return true;
}

static bool
differ(const char *x, const char *y)
{
	return strcmp(x ? x : "", y ? y : "") != 0;
}

/* TLS or users changed: the listener starts again with them */
static bool
listen_access_changed(const agent_cfg *x, const agent_cfg *y)
{
	return differ(x->listen_tls_cert_file, y->listen_tls_cert_file) ||
		differ(x->listen_tls_key_file, y->listen_tls_key_file) ||
		differ(x->listen_users_file, y->listen_users_file);
}

/* returns whether /metrics listens anew: it has nothing to serve until the next publish */
static bool
reload(agent *a, const char *path)
{
	agent_cfg	fresh;
	event_list	events = {0};
	bool		relisten;
	char	   *old_listen;

	if (!load_or_explain(path, &fresh))
	{
		log_error("reload: configuration has errors; keeping the running one");
		config_free(&fresh);
		return false;
	}
	relisten = strcmp(fresh.listen, a->cfg.listen) != 0 || listen_access_changed(&fresh, &a->cfg);
	old_listen = xstrdup(a->cfg.listen);
	stop_outputs(a);
	for (int i = 0; i < a->coll->n; i++)
		free(a->last_error[i]);
	free(a->last_error);
	config_free(&a->cfg);
	a->cfg = fresh;
	log_configure(a->cfg.log_fmt, a->cfg.log_lvl);
	collector_reload(a->coll, &a->cfg);
	node_memories_sync(&a->mem, a->coll);
	{
		const char **names = xcalloc((size_t) a->cfg.n_nodes + 1, sizeof(char *));

		/* removed nodes leave the status page */
		for (int i = 0; i < a->cfg.n_nodes; i++)
			names[i] = a->cfg.nodes[i].name;
		status_board_retain(a->board, names, a->cfg.n_nodes);
		free(names);
	}
	a->last_error = xcalloc((size_t) (a->coll->n ? a->coll->n : 1), sizeof(char *));
	if (!start_outputs(a))
		log_error("reload: a pager could not start; its events stay spooled");
	load_cursors(a);
	if (relisten)
	{
		metrics_server_stop(a->srv);
		a->srv = NULL;
		/* a new address that cannot be bound keeps the old one serving */
		if (!start_server(a))
		{
			log_error("reload: cannot listen on %s; keeping %s", a->cfg.listen, old_listen);
			free(a->cfg.listen);
			a->cfg.listen = old_listen;
			old_listen = NULL;
			start_server(a);
		}
		show_health(a);
	}
	free(old_listen);
	rb_trigger_configure(a->trig, &a->cfg);
	rules_reconcile(a->re, &a->cfg, now_us(), &events);
	route(a, &events, true);
	rb_trigger_observe(a->trig, &a->cfg, &events);
	events_free(&events);
	log_info("configuration reloaded: %d nodes, %d pagers, %d rules", a->cfg.n_nodes,
			 a->cfg.n_pagers, a->cfg.n_rules);
	return relisten;
}

static int
run_agent(const char *path)
{
	agent		a = {0};
	int64_t		next_tick;
	bool		pending_publish = false;
	int			rc = 0;

#ifdef M_MMAP_THRESHOLD

	/*
	 * A cycle's large buffers (the /metrics text is 26 MB at 500 nodes, a
	 * full snapshot 300 kB) are mapped and handed back when freed.  glibc
	 * would raise its threshold to the largest buffer freed and carve the
	 * next ones from a heap that never shrinks again.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
	/* before the first load: a reload asked for during start-up is kept, not fatal */
	install_signals();
	if (!load_or_explain(path, &a.cfg))
	{
		config_free(&a.cfg);
		return ORG_EXIT_CONFIG;		/* systemd does not restart it */
	}
	log_configure(a.cfg.log_fmt, a.cfg.log_lvl);
	http_global_init();
	a.re = rules_new();
	a.board = status_board_new();
	a.journals = journal_view_new();
	a.trig = rb_trigger_new();
	rb_trigger_configure(a.trig, &a.cfg);
	a.coll = collector_new(&a.cfg);
	node_memories_sync(&a.mem, a.coll);
	a.last_error = xcalloc((size_t) (a.coll->n ? a.coll->n : 1), sizeof(char *));
	if (!start_outputs(&a) || !start_server(&a))
		rc = 1;
	else
	{
		event_list	events = {0};

		load_cursors(&a);
		restore_rules(&a);
		recover_fanout(&a);
		/* alerts of nodes or rules removed while the agent was down resolve now */
		rules_reconcile(a.re, &a.cfg, now_us(), &events);
		route(&a, &events, true);
		events_free(&events);
		/*
		 * The runbooks follow the restored alerts as they did before the
		 * restart: a throttle whose alerts still fire engages (or is taken
		 * over), a runbook started once per firing alert is asked again
		 * (its journal resumes or refuses it).  The pagers were told already.
		 */
		rules_firing(a.re, &a.cfg, now_us(), &events);
		rb_trigger_observe(a.trig, &a.cfg, &events);
		events_free(&events);
		log_info("orguard-agent %s started: %d nodes, %d pagers, interval %gs, metrics on %s",
				 ORGUARD_VERSION, a.cfg.n_nodes, a.cfg.n_pagers, a.cfg.interval_s,
				 *a.cfg.listen ? a.cfg.listen : "(off)");
		notify_watchdog_start(a.cfg.node_timeout_s);
		notify_ready("polling");
	}
	next_tick = mono_ms();
	metrics_server_cycle_done(a.srv, next_tick, stall_after_ms(&a));
	while (rc == 0 && !got_term)
	{
		int64_t		now = mono_ms();
		int64_t		wait;

		if (got_hup)
		{
			double		interval_before = a.cfg.interval_s;

			got_hup = 0;
			notify_reloading();
			/* a new listener serves the last figures again, not nothing until the next cycle */
			if (reload(&a, path))
				pending_publish = true;
			/* a 10 min interval cut to 10 s must not wait out the old 10 min */
			next_tick = poll_next_tick_after_reload(next_tick, interval_before, a.cfg.interval_s);
			notify_ready("polling");
		}
		if (now >= next_tick)
		{
			int			busy = collector_start_poll(a.coll, now);

			if (busy)
				log_debug("%d nodes still busy from the previous interval", busy);
			if (a.rb_orphans)
				rb_orphans_poll(a.rb_orphans, &a.cfg);
			next_tick += (int64_t) (a.cfg.interval_s * 1000);
			if (next_tick <= now)
				next_tick = now + (int64_t) (a.cfg.interval_s * 1000);
			pending_publish = true;
		}
		wait = next_tick - now;
		collector_step(a.coll, (int) (wait < 250 ? (wait > 0 ? wait : 0) : 250));
		finish_polls(&a);
		rb_trigger_reap(a.trig);
		if (pending_publish && !collector_cycle_busy(a.coll))
		{
			publish(&a);
			save_cursors(&a);
			save_rules(&a);
			show_health(&a);
			metrics_server_cycle_done(a.srv, mono_ms(), stall_after_ms(&a));
			pending_publish = false;
		}
		repost_to_alertmanagers(&a, mono_ms());
		notify_watchdog_turn(pending_publish, mono_ms());
	}
	notify_stopping();
	log_info("orguard-agent stopping");
	stop_outputs(&a);
	metrics_server_stop(a.srv);
	a.srv = NULL;
	for (int i = 0; i < a.coll->n; i++)
		free(a.last_error[i]);
	free(a.last_error);
	if (a.cursor_path)
	{
		save_cursors(&a);
		save_rules(&a);
	}
	free(a.state_saved);
	cursor_store_free(&a.cursors);
	free(a.cursor_path);
	rw_state_free(&a.rw_sent);
	node_memories_free(&a.mem);
	collector_free(a.coll);
	status_board_free(a.board);
	journal_view_free(a.journals);
	role_table_free(&a.roles);
	rules_free(a.re);
	rb_trigger_free(a.trig);
	config_free(&a.cfg);
	http_global_cleanup();
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *path = ORGUARD_DEFAULT_CONFIG;
	const char *cmd = "run";
	const char *format = "table";
	bool		help = false;
	int			c;

	/* the runbooks parse their own options (runbooks/cli.h) */
	if (runbook_cli_wanted(argc, argv))
		return runbook_cli_dispatch(argc, argv);
	while ((c = getopt_long(argc, argv, "c:f:hV", opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				path = optarg;
				break;
			case 'f':
				format = optarg;
				if (strcmp(format, "table") && strcmp(format, "json"))
				{
					fprintf(stderr, "orguard-agent: --format must be table or json\n");
					return ORG_EXIT_CONFIG;
				}
				break;
			case 'h':
				help = true;
				break;
			case 'V':
				printf("orguard-agent " ORGUARD_VERSION "\n");
				return ORG_EXIT_OK;
			default:
				fputs("orguard-agent: see orguard-agent --help\n", stderr);
				return ORG_EXIT_CONFIG;
		}
	}
	/* GNU getopt has moved the command after the options, wherever it was */
	if (optind < argc)
		cmd = argv[optind++];
	else if (help)
		cmd = "";				/* no command: the general help */
	/* help reads no configuration: "orguard-agent once --help" works before one exists */
	if (help || !strcmp(cmd, "help"))
	{
		if (!strcmp(cmd, "help"))
			cmd = optind < argc ? argv[optind] : "";
		command_usage(cmd, stdout);
		return ORG_EXIT_OK;
	}
	if (optind < argc)
	{
		fprintf(stderr, "orguard-agent: unexpected argument \"%s\"\n", argv[optind]);
		return ORG_EXIT_CONFIG;
	}
	if (!strcmp(cmd, "check-config"))
		return check_config(path);
	if (!strcmp(cmd, "once"))
		return run_once(path, format);
	if (!strcmp(cmd, "run"))
		return run_agent(path);
	fprintf(stderr, "orguard-agent: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return ORG_EXIT_CONFIG;
}
