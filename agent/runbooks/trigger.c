/*
 * trigger.c: dispatch of the runbooks that rules name (see trigger.h).
 */
#include "runbooks/trigger.h"

#include "common/log.h"
#include "runbooks/settings.h"
#include "runbooks/throttle_exec.h"
#include "common/util.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct child
{
	char	   *runbook;
	pid_t		pid;
} child;

struct rb_trigger
{
	throttle_exec **x;
	int			n_x;
	child	   *children;
	int			n_children;
	char	  **started_by;		/* firing alerts that already started their runbook */
	int			n_started_by;
	char	   *config_path;
};

rb_trigger *
rb_trigger_new(void)
{
	return xcalloc(1, sizeof(rb_trigger));
}

void
rb_trigger_free(rb_trigger *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n_x; i++)
		throttle_exec_free(t->x[i]);
	free(t->x);
	/* children run on by themselves: a runbook is not cut short by the daemon stopping */
	for (int i = 0; i < t->n_children; i++)
		free(t->children[i].runbook);
	free(t->children);
	for (int i = 0; i < t->n_started_by; i++)
		free(t->started_by[i]);
	free(t->started_by);
	free(t->config_path);
	free(t);
}

static const char *
kind_of(const agent_cfg *cfg, const char *runbook)
{
	for (int i = 0; i < cfg->n_runbooks; i++)
		if (!strcmp(cfg->runbooks[i].name, runbook))
		{
			const char *k = labels_get(&cfg->runbooks[i].settings, "kind");

			return k ? k : runbook;
		}
	return NULL;
}

static throttle_exec *
find_exec(const rb_trigger *t, const char *runbook, const char *node)
{
	/* NULL entries: already taken over while rb_trigger_configure rebuilds the list */
	for (int i = 0; i < t->n_x; i++)
		if (t->x[i] && !strcmp(t->x[i]->runbook, runbook) && !strcmp(t->x[i]->node, node))
			return t->x[i];
	return NULL;
}

static bool
named_by_a_rule(const agent_cfg *cfg, const char *runbook)
{
	for (int i = 0; i < cfg->n_rules; i++)
		if (cfg->rules[i].enabled && cfg->rules[i].runbook && !strcmp(cfg->rules[i].runbook, runbook))
			return true;
	return false;
}

bool
rb_trigger_check(const agent_cfg *cfg, config_errors *errs)
{
	bool		ok = true;

	for (int r = 0; r < cfg->n_runbooks; r++)
	{
		rb_settings s;

		if (!named_by_a_rule(cfg, cfg->runbooks[r].name))
			continue;
		if (!rb_settings_load(cfg, &cfg->runbooks[r], &s, errs))
			ok = false;
		rb_settings_free(&s);
	}
	return ok;
}

void
rb_trigger_configure(rb_trigger *t, const agent_cfg *cfg)
{
	throttle_exec **keep = NULL;
	int			n_keep = 0;

	free(t->config_path);
	t->config_path = xstrdup(cfg->path ? cfg->path : ORGUARD_DEFAULT_CONFIG);
	/* one throttle per (runbook named by a rule, node), so an interrupted one is found at start */
	for (int r = 0; r < cfg->n_runbooks; r++)
	{
		const char *name = cfg->runbooks[r].name;
		const char *kind = kind_of(cfg, name);

		if (strcmp(kind, "throttle") || !named_by_a_rule(cfg, name))
			continue;
		for (int i = 0; i < cfg->n_nodes; i++)
		{
			throttle_exec *x = find_exec(t, name, cfg->nodes[i].name);

			if (!x)
				x = throttle_exec_new(name, cfg->nodes[i].name);
			else
				for (int k = 0; k < t->n_x; k++)
					if (t->x[k] == x)
						t->x[k] = NULL;
			/* invalid settings on reload: the last valid ones stay */
			throttle_exec_configure(x, cfg);
			throttle_exec_prune(x, cfg);
			keep = xrealloc(keep, sizeof(*keep) * (size_t) (n_keep + 1));
			keep[n_keep++] = x;
		}
	}
	for (int i = 0; i < t->n_x; i++)
		if (t->x[i])
		{
			/* gone from the configuration: its rules end at their TTL */
			log_warn("runbook %s: node %s: no longer configured (state %s)", t->x[i]->runbook,
					 t->x[i]->node, tc_state_name(t->x[i]->ctl.state));
			throttle_exec_free(t->x[i]);
		}
	free(t->x);
	t->x = keep;
	t->n_x = n_keep;
}

static bool
child_running(const rb_trigger *t, const char *runbook)
{
	for (int i = 0; i < t->n_children; i++)
		if (!strcmp(t->children[i].runbook, runbook))
			return true;
	return false;
}

static void
start_child(rb_trigger *t, const char *runbook, const alert_event *ev)
{
	pid_t		pid;

	if (child_running(t, runbook))
	{
		log_info("runbook %s: already running; alert %s does not start it again", runbook, ev->dedup_key);
		return;
	}
	pid = fork();
	if (pid < 0)
	{
		log_error("runbook %s: cannot start: fork: %s", runbook, strerror(errno));
		return;
	}
	if (pid == 0)
	{
		static const char msg[] = "orguard-agent: cannot exec the triggered runbook\n";

		/* the daemon's sockets (metrics listener, nodes, pagers) are not the runbook's */
		if (close_range(3, ~0U, 0) != 0)
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
		execl("/proc/self/exe", "orguard-agent", "-c", t->config_path, "runbook", "trigger", runbook,
			  "--rule", ev->rule, "--node", ev->node, "--subject", ev->subject, (char *) NULL);
		/* nothing more to do if even this fails */
		(void) !write(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	log_warn("runbook %s: started (pid %d) by alert %s: orguard-agent -c %s runbook trigger %s "
			 "--rule %s --node %s --subject %s", runbook, (int) pid, ev->dedup_key, t->config_path,
			 runbook, ev->rule, ev->node, ev->subject);
	t->children = xrealloc(t->children, sizeof(child) * (size_t) (t->n_children + 1));
	t->children[t->n_children].runbook = xstrdup(runbook);
	t->children[t->n_children++].pid = pid;
}

/*
 * A child runbook starts when its alert becomes firing, not again when the
 * same alert is notified anew (renotify, flapping) before it resolves.
 */
static bool
note_started_by(rb_trigger *t, const alert_event *ev)
{
	for (int i = 0; i < t->n_started_by; i++)
		if (!strcmp(t->started_by[i], ev->dedup_key))
		{
			if (ev->status == ALERT_RESOLVED)
			{
				free(t->started_by[i]);
				t->started_by[i] = t->started_by[--t->n_started_by];
			}
			return false;
		}
	if (ev->status == ALERT_RESOLVED)
		return false;
	t->started_by = xrealloc(t->started_by, sizeof(char *) * (size_t) (t->n_started_by + 1));
	t->started_by[t->n_started_by++] = xstrdup(ev->dedup_key);
	return true;
}

void
rb_trigger_observe(rb_trigger *t, const agent_cfg *cfg, const event_list *events)
{
	for (int i = 0; i < events->n; i++)
	{
		const alert_event *ev = &events->v[i];
		const rule_cfg *r = config_rule(cfg, ev->rule);
		const char *kind;
		throttle_exec *x;

		if (ev->status == ALERT_RESOLVED)
		{
			note_started_by(t, ev);
			/* whatever the rule says now: a rule removed by a reload resolves its alerts */
			for (int k = 0; k < t->n_x; k++)
				if (!strcmp(t->x[k]->node, ev->node))
					throttle_exec_alert(t->x[k], ev);
			continue;
		}
		if (!r || !r->runbook || !(kind = kind_of(cfg, r->runbook)))
			continue;
		if (!strcmp(kind, "throttle"))
		{
			if ((x = find_exec(t, r->runbook, ev->node)) != NULL)
				throttle_exec_alert(x, ev);
		}
		else if (note_started_by(t, ev))
			start_child(t, r->runbook, ev);
	}
}

void
rb_trigger_node_polled(rb_trigger *t, const node_cfg *n, int64_t now_us, event_list *out)
{
	for (int i = 0; i < t->n_x; i++)
		if (!strcmp(t->x[i]->node, n->name))
			throttle_exec_poll(t->x[i], n, now_us, out);
}

void
rb_trigger_reap(rb_trigger *t)
{
	for (int i = 0; i < t->n_children;)
	{
		int			status;
		pid_t		r = waitpid(t->children[i].pid, &status, WNOHANG);

		if (r == 0 || (r < 0 && errno == EINTR))
		{
			i++;
			continue;
		}
		if (r > 0 && WIFEXITED(status))
			log_msg(WEXITSTATUS(status) ? LOG_WARN : LOG_INFO, "runbook %s (pid %d) exited with %d",
					t->children[i].runbook, (int) t->children[i].pid, WEXITSTATUS(status));
		else if (r > 0 && WIFSIGNALED(status))
			log_warn("runbook %s (pid %d) killed by signal %d", t->children[i].runbook,
					 (int) t->children[i].pid, WTERMSIG(status));
		free(t->children[i].runbook);
		t->children[i] = t->children[--t->n_children];
	}
}

void
rb_trigger_metrics(const rb_trigger *t, metric_set *ms)
{
	static const struct
	{
		const char *name;
		const char *help;
		size_t		off;
	}			counters[] = {
		{"orguard_runbook_throttle_engagements_total", "Throttle engagements.",
		offsetof(throttle_counts, engagements)},
		{"orguard_runbook_throttle_renewals_total", "Throttle rules set again before their TTL ended.",
		offsetof(throttle_counts, renewals)},
		{"orguard_runbook_throttle_releases_total", "Throttle releases.",
		offsetof(throttle_counts, releases)},
		{"orguard_runbook_throttle_refusals_total", "Engagements refused by a guard.",
		offsetof(throttle_counts, refusals)},
		{"orguard_runbook_throttle_proposals_total", "Throttle proposals paged (page-first).",
		offsetof(throttle_counts, proposals)},
		{"orguard_runbook_throttle_drained_total", "Sessions idle in transaction terminated by drain().",
		offsetof(throttle_counts, drained)},
		{"orguard_runbook_throttle_lock_skips_total", "Throttle steps skipped: another runbook held the cluster.",
		offsetof(throttle_counts, lock_skips)},
		{"orguard_runbook_throttle_failures_total", "Throttle actions that failed (retried).",
		offsetof(throttle_counts, failures)},
	};

	for (int i = 0; i < t->n_x; i++)
	{
		const throttle_exec *x = t->x[i];
		metric_family *f = mset_family(ms, "orguard_runbook_throttle_engaged",
									   "1 while the throttle holds the node's lower-priority workers.",
									   METRIC_GAUGE);

		mset_add(f, x->ctl.state == TC_ENGAGED || x->ctl.state == TC_RELEASING ? 1 : 0,
				 "runbook", x->runbook, "node", x->node, NULL);
		for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++)
		{
			const uint64_t *v = (const uint64_t *) ((const char *) &x->counts + counters[k].off);

			f = mset_family(ms, counters[k].name, counters[k].help, METRIC_COUNTER);
			mset_add(f, (double) *v, "runbook", x->runbook, "node", x->node, NULL);
		}
	}
	for (int i = 0; i < t->n_children; i++)
	{
		metric_family *f = mset_family(ms, "orguard_runbook_running", "Runbooks started by a rule, running.",
									   METRIC_GAUGE);

		mset_add(f, 1, "runbook", t->children[i].runbook, NULL);
	}
}
