/*
 * modes.c: "runbook trigger", "approve", "reject" and "proposals" (see
 * modes.h).
 *
 * Deciding on a proposal (approve, reject, or finding it expired) happens
 * under a lock of its own, JOURNAL.proposals.lock, held only while the
 * journal is re-read and the decision appended: two approvers cannot both
 * see "pending", and a runbook running on the cluster does not delay the
 * decision.  The approved runbook then runs like one typed by hand, under
 * the cluster lock.
 */
#include "runbooks/modes.h"
#include "runbooks/announce_spool.h"
#include "runbooks/execute.h"
#include "runbooks/journal.h"
#include "runbooks/list_json.h"
#include "runbooks/proposal.h"
#include "runbooks/request.h"
#include "runbooks/run.h"
#include "runbooks/settings.h"
#include "runbooks/trigger_args.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* the CLI command of a kind; the daemon's own kinds (throttle) have none */
static const char *
kind_word(rb_kind k)
{
	return k == RB_KIND_PITR ? "pitr" : k == RB_KIND_PROMOTE ? "promote" : NULL;
}

/* the [runbook NAME] section, any kind; false (reported) when missing or invalid */
static bool
load_named(const agent_cfg *cfg, const char *name, rb_settings *s, bool quiet)
{
	config_errors errs = {0};
	bool		ok;

	for (int i = 0; i < cfg->n_runbooks; i++)
	{
		if (strcmp(cfg->runbooks[i].name, name))
			continue;
		ok = rb_settings_load(cfg, &cfg->runbooks[i], s, &errs);
		for (int k = 0; !quiet && k < errs.n; k++)
			fprintf(stderr, "%s\n", errs.msg[k]);
		config_errors_free(&errs);
		if (!ok)
			rb_settings_free(s);
		return ok;
	}
	if (!quiet)
		fprintf(stderr, "orguard-agent: no [runbook %s] section\n", name);
	return false;
}

/*
 * "orguard-agent runbook KIND NAME ARGS... [--dry-run]" in this process:
 * the recorded arguments parse to a request like a typed command line's.
 */
static int
run_with_args(const agent_cfg *cfg, const rb_settings *s, const char *args, bool dry_run)
{
	char	  **words;
	int			n = rb_args_split(args, &words);
	char	  **argv = xcalloc((size_t) n + 5, sizeof(char *));
	int			argc = 0,
				rc;
	rb_request	req;

	argv[argc++] = "runbook";
	argv[argc++] = (char *) kind_word(s->kind);
	argv[argc++] = s->name;
	for (int i = 0; i < n; i++)
		argv[argc++] = words[i];
	if (dry_run)
		argv[argc++] = "--dry-run";
	rc = rb_request_parse(argc, argv, &req);
	if (rc == RB_REQUEST_OK)
	{
		rb_run_set_format(req.fmt);
		rc = rb_execute(cfg, &req);
	}
	free(argv);
	rb_args_free(words, n);
	return rc;
}

/* the dry run's text output (what a page-first proposal pages), as one string */
static char *
dry_run_plan(const agent_cfg *cfg, const rb_settings *s, const char *args, int *rc)
{
	rb_plan		plan;
	char	   *text;

	memset(&plan, 0, sizeof(plan));
	rb_run_keep_plan(&plan);
	*rc = run_with_args(cfg, s, args, true);
	rb_run_keep_plan(NULL);
	text = xstrdup(plan.output ? plan.output : "");
	rb_plan_free(&plan);
	return text;
}

/* a plan for a one-line summary: lines joined by "; ", runs of blanks squeezed */
static char *
one_line(const char *text)
{
	strbuf		sb;
	bool		blank = false;

	sb_init(&sb);
	for (const char *p = text; *p; p++)
	{
		if (*p == '\n')
		{
			while (sb.len > 0 && sb.data[sb.len - 1] == ' ')
				sb.data[--sb.len] = '\0';
			if (p[1])
				sb_append(&sb, "; ");
			blank = true;
			continue;
		}
		if (*p == ' ' || *p == '\t')
		{
			if (!blank)
				sb_appendc(&sb, ' ');
			blank = true;
			continue;
		}
		blank = false;
		sb_appendc(&sb, *p);
	}
	return sb_steal(&sb);
}

static char *
approve_command(const agent_cfg *cfg, const char *verb, const char *id)
{
	if (cfg->path && strcmp(cfg->path, ORGUARD_DEFAULT_CONFIG))
		return xasprintf("orguard-agent -c %s runbook %s %s", cfg->path, verb, id);
	return xasprintf("orguard-agent runbook %s %s", verb, id);
}

static char *
format_age(double s)
{
	if (s < 120)
		return xasprintf("%.0fs", s);
	if (s < 7200)
		return xasprintf("%.0fm", s / 60);
	return xasprintf("%.1fh", s / 3600);
}

static void
announce_proposal(const rb_settings *s, const char *id, const char *node, const char *result,
				  const char *detail, bool final, int64_t proposed_us)
{
	rb_announcement a = {
		.cluster = s->cluster,
		.node = node,
		.runbook = s->name,
		.run = id,
		.step = RB_PROPOSAL_STEP,
		.target = node,
		.result = result,
		.detail = detail,
		.final = final,
		.started_us = proposed_us,
		.now_us = now_us(),
	};

	rb_announcer_send(&a, s->announce_timeout_s);
}

static bool
append_proposal_line(const rb_settings *s, const char *id, const char *node, const char *result,
					 const char *params)
{
	rb_journal	j;
	char		err[512];
	bool		ok;

	if (!journal_open(&j, s->journal, s->name, id, err, sizeof(err)))
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return false;
	}
	ok = journal_write(&j, RB_PROPOSAL_STEP, node, result, "%s", params ? params : "");
	if (!ok)
		fprintf(stderr, "orguard-agent: journal %s: %s\n", s->journal, strerror(errno));
	journal_close(&j);
	return ok;
}

/* a trigger that cannot go on: journaled and announced as a refused run */
static int
refuse_trigger(const rb_settings *s, const rb_trigger_request *t, const char *why)
{
	rb_run		r;
	char		err[1024];
	char	   *params = xasprintf("trigger rule=%s node=%s subject=%s", t->rule, t->node, t->subject);
	int			rc = rb_run_begin(&r, s, params, false, err, sizeof(err));

	free(params);
	if (rc != RB_EXIT_DONE)
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return rc;
	}
	return rb_run_finish(&r, "refused", "%s", why);
}

/* true (and said) when the same proposal is still pending: its page stands */
static bool
already_proposed(const rb_settings *s, const char *args)
{
	journal_entries es;
	char		err[512];
	const char *id;
	bool		found = false;

	if (!journal_read(s->journal, &es, err, sizeof(err)))
		return false;			/* appending the proposal will say what is wrong */
	if ((id = rb_proposal_pending_for(&es, s->name, args, now_us(), s->approve_within_s)))
	{
		printf("proposal %s: %s %s is already pending; not proposed again\n", id, s->name, args);
		found = true;
	}
	journal_entries_free(&es);
	return found;
}

int
rb_modes_trigger(const agent_cfg *cfg, const rb_trigger_request *t)
{
	const rule_cfg *rule;
	rb_settings s;
	char		err[1024];
	char	   *args,
			   *id,
			   *plan,
			   *flat,
			   *approve,
			   *reject,
			   *within,
			   *detail;
	int			rc;

	if (!t->runbook || !t->rule || !t->node || !t->subject)
	{
		fprintf(stderr, "orguard-agent: trigger needs RBNAME, --rule, --node and --subject\n");
		return RB_EXIT_USAGE;
	}
	if (!(rule = config_rule(cfg, t->rule)))
	{
		fprintf(stderr, "orguard-agent: no rule %s in the configuration\n", t->rule);
		return RB_EXIT_USAGE;
	}
	if (!load_named(cfg, t->runbook, &s, false))
		return RB_EXIT_USAGE;
	if (!kind_word(s.kind))
	{
		fprintf(stderr, "orguard-agent: [runbook %s] is engaged by the daemon itself, not by trigger\n",
				s.name);
		rb_settings_free(&s);
		return RB_EXIT_USAGE;
	}
	/* a promotion watches for twice the dead rule, plus a margin, then gives up */
	args = rb_trigger_args(s.kind, t->rule, rule->kind == RULE_DESTRUCTIVE_EVENT, t->subject,
						   s.kind == RB_KIND_PROMOTE ? 2 * s.promote.min_dead_for_s + 30 : 0,
						   err, sizeof(err));
	if (!args)
	{
		rc = refuse_trigger(&s, t, err);
		rb_settings_free(&s);
		return rc;
	}
	if (s.mode == RB_MODE_AUTO)
	{
		printf("trigger: rule %s on %s (%s): running %s %s %s\n", t->rule, t->node, t->subject,
			   kind_word(s.kind), s.name, args);
		fflush(stdout);
		rc = run_with_args(cfg, &s, args, false);
		free(args);
		rb_settings_free(&s);
		return rc;
	}

	/* page-first: the plan, a proposal, a page; nothing changes */
	if (already_proposed(&s, args))
	{
		free(args);
		rb_settings_free(&s);
		return RB_EXIT_DONE;
	}
	/* a promotion's plan is one look now: the page must not wait for the watch */
	plan = dry_run_plan(cfg, &s, s.kind == RB_KIND_PROMOTE ? "" : args, &rc);
	id = rb_proposal_new_id(now_us(), (int) getpid());
	if (!append_proposal_line(&s, id, t->node, "pending", args))
	{
		free(plan);
		free(id);
		free(args);
		rb_settings_free(&s);
		return RB_EXIT_FAILED;
	}
	flat = one_line(plan);
	approve = approve_command(cfg, "approve", id);
	reject = approve_command(cfg, "reject", id);
	within = format_age(s.approve_within_s);
	detail = xasprintf("rule %s on %s (%s); approve within %s: %s; or: %s; dry run%s: %s", t->rule,
					   t->node, t->subject, within, approve, reject,
					   rc == RB_EXIT_DONE ? "" : " (its guards refuse now)", flat);
	announce_proposal(&s, id, t->node, "pending", detail, false, now_us());
	printf("proposal %s: %s %s %s (rule %s on %s, %s)\n", id, kind_word(s.kind), s.name, args, t->rule,
		   t->node, t->subject);
	if (rc != RB_EXIT_DONE)
		printf("its guards refuse now:\n");
	fputs(plan, stdout);
	printf("approve within %s: %s\nreject: %s\n", within, approve, reject);
	free(detail);
	free(within);
	free(reject);
	free(approve);
	free(flat);
	free(plan);
	free(id);
	free(args);
	rb_settings_free(&s);
	return RB_EXIT_DONE;
}

/*
 * The runbook whose journal holds proposal id: *s and *es filled (free
 * both) and the state returned; RB_PROPOSAL_UNKNOWN (nothing to free) when
 * no journal holds it.
 */
static rb_proposal_state
find_proposal(const agent_cfg *cfg, const char *id, rb_settings *s, journal_entries *es, rb_proposal *p)
{
	char		err[512];

	for (int i = 0; i < cfg->n_runbooks; i++)
	{
		rb_proposal_state st;

		if (!load_named(cfg, cfg->runbooks[i].name, s, true))
			continue;
		if (journal_read(s->journal, es, err, sizeof(err)))
		{
			st = rb_proposal_find(es, id, now_us(), s->approve_within_s, p);
			if (st != RB_PROPOSAL_UNKNOWN && p->runbook && !strcmp(p->runbook, s->name))
				return st;
			journal_entries_free(es);
		}
		rb_settings_free(s);
	}
	return RB_PROPOSAL_UNKNOWN;
}

static int
decision_lock(const rb_settings *s)
{
	char	   *path = xasprintf("%s.proposals.lock", s->journal);
	int			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0 || flock(fd, LOCK_EX) != 0)
	{
		fprintf(stderr, "orguard-agent: cannot lock %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

/*
 * Records the decision (approved or rejected) on a pending proposal under
 * the decision lock; refuses anything else.  On success *s holds the
 * runbook's settings and *params a copy of the proposal's arguments.
 */
static int
decide(const agent_cfg *cfg, const char *id, const char *decision, rb_settings *s, char **params)
{
	journal_entries es;
	rb_proposal p;
	rb_proposal_state st;
	int			fd,
				rc = RB_EXIT_REFUSED;
	char	   *age;

	*params = NULL;
	if (!id)
	{
		fprintf(stderr, "orguard-agent: %s needs the proposal's ID (orguard-agent runbook proposals)\n",
				!strcmp(decision, "approved") ? "approve" : "reject");
		return RB_EXIT_USAGE;
	}
	if (find_proposal(cfg, id, s, &es, &p) == RB_PROPOSAL_UNKNOWN)
	{
		fprintf(stderr, "orguard-agent: no proposal %s in the runbooks' journals\n", id);
		return RB_EXIT_USAGE;
	}
	journal_entries_free(&es);
	if ((fd = decision_lock(s)) < 0)
	{
		rb_settings_free(s);
		return RB_EXIT_FAILED;
	}
	/* again, under the lock: someone may have decided meanwhile */
	{
		char		err[512];

		if (!journal_read(s->journal, &es, err, sizeof(err)))
		{
			fprintf(stderr, "orguard-agent: %s\n", err);
			close(fd);
			rb_settings_free(s);
			return RB_EXIT_FAILED;
		}
	}
	st = rb_proposal_find(&es, id, now_us(), s->approve_within_s, &p);
	age = format_age((double) (now_us() - p.proposed_us) / 1e6);
	if (st == RB_PROPOSAL_PENDING)
	{
		if (append_proposal_line(s, id, p.node, decision, p.params))
		{
			*params = xstrdup(p.params);
			rc = RB_EXIT_DONE;
			printf("proposal %s (%s %s): %s\n", id, s->name, p.params, decision);
			announce_proposal(s, id, p.node, decision, p.params, true, p.proposed_us);
		}
		else
			rc = RB_EXIT_FAILED;
	}
	else if (st == RB_PROPOSAL_EXPIRED && !p.decided_time)
	{
		char	   *within = format_age(s->approve_within_s);

		append_proposal_line(s, id, p.node, "expired", p.params);
		announce_proposal(s, id, p.node, "expired", p.params, true, p.proposed_us);
		fprintf(stderr, "orguard-agent: refused: approve_within: proposal %s is %s old, older than "
				"approve_within (%s); nothing was run.  Trigger it again or run the runbook by hand\n",
				id, age, within);
		free(within);
	}
	else
		fprintf(stderr, "orguard-agent: refused: proposal %s is already %s (at %s); nothing was run\n", id,
				rb_proposal_state_name(st), p.decided_time ? p.decided_time : "?");
	free(age);
	journal_entries_free(&es);
	close(fd);
	if (rc != RB_EXIT_DONE)
		rb_settings_free(s);
	return rc;
}

int
rb_modes_approve(const agent_cfg *cfg, const char *id)
{
	rb_settings s;
	char	   *params;
	int			rc = decide(cfg, id, "approved", &s, &params);

	if (rc != RB_EXIT_DONE)
		return rc;
	if (kind_word(s.kind))
	{
		printf("running %s %s %s\n", kind_word(s.kind), s.name, params);
		fflush(stdout);
		rc = run_with_args(cfg, &s, params, false);
	}
	else
		printf("approval recorded: the daemon acts on it\n");
	free(params);
	rb_settings_free(&s);
	return rc;
}

int
rb_modes_reject(const agent_cfg *cfg, const char *id)
{
	rb_settings s;
	char	   *params;
	int			rc = decide(cfg, id, "rejected", &s, &params);

	if (rc != RB_EXIT_DONE)
		return rc;
	free(params);
	rb_settings_free(&s);
	return rc;
}

int
rb_modes_proposals(const agent_cfg *cfg, rb_format fmt)
{
	int			shown = 0;
	rb_proposal_row *rows = NULL;
	int64_t		now = now_us();

	for (int i = 0; i < cfg->n_runbooks; i++)
	{
		rb_settings s;
		journal_entries es;
		const char **ids;
		char		err[512];
		int			n;

		if (!load_named(cfg, cfg->runbooks[i].name, &s, true))
			continue;
		if (!journal_read(s.journal, &es, err, sizeof(err)))
		{
			fprintf(stderr, "orguard-agent: %s\n", err);
			rb_settings_free(&s);
			continue;
		}
		n = rb_proposal_ids(&es, &ids);
		for (int k = 0; k < n; k++)
		{
			rb_proposal p;
			char	   *age,
					   *left;

			if (rb_proposal_find(&es, ids[k], now_us(), s.approve_within_s, &p) != RB_PROPOSAL_PENDING ||
				strcmp(p.runbook, s.name))
				continue;
			if (fmt == RB_FORMAT_JSON)
			{
				/* copies: p points into es, freed with this runbook */
				rows = xrealloc(rows, sizeof(*rows) * (size_t) (shown + 1));
				rows[shown++] = (rb_proposal_row) {
					xstrdup(p.id), xstrdup(s.name), xstrdup(p.params), p.node ? xstrdup(p.node) : NULL,
					p.proposed_us, p.proposed_us + (int64_t) (s.approve_within_s * 1e6)
				};
				continue;
			}
			age = format_age((double) (now_us() - p.proposed_us) / 1e6);
			left = format_age(s.approve_within_s - (double) (now_us() - p.proposed_us) / 1e6);
			printf("%s  %s %s  node %s  age %s  expires in %s\n", p.id, s.name, p.params,
				   p.node ? p.node : "", age, left);
			free(age);
			free(left);
			shown++;
		}
		free(ids);
		journal_entries_free(&es);
		rb_settings_free(&s);
	}
	if (fmt == RB_FORMAT_JSON)
	{
		char	   *json = rb_proposals_json(rows, shown, now);

		printf("%s\n", json);
		free(json);
		for (int i = 0; i < shown; i++)
		{
			free((void *) rows[i].id);
			free((void *) rows[i].runbook);
			free((void *) rows[i].params);
			free((void *) rows[i].node);
		}
		free(rows);
	}
	else if (shown == 0)
		printf("no pending proposals\n");
	return RB_EXIT_DONE;
}
