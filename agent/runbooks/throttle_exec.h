/*
 * throttle_exec.h: the connection throttle of one (runbook, node) inside
 * the daemon.  It feeds throttle_control.c with the triggering alerts and
 * performs its actions on the node through the extension's throttle API
 * (docs/throttle.md), with a short-lived connection of its own, the
 * cluster's runbook lock around every change, the journal and the pagers.
 */
#ifndef ORGUARD_RB_THROTTLE_EXEC_H
#define ORGUARD_RB_THROTTLE_EXEC_H

#include "alert/alert.h"
#include "common/config.h"
#include "runbooks/pgbouncer_admin.h"
#include "runbooks/settings.h"
#include "runbooks/throttle_control.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct throttle_counts
{
	uint64_t	engagements;
	uint64_t	renewals;
	uint64_t	releases;
	uint64_t	refusals;
	uint64_t	proposals;
	uint64_t	drained;		/* sessions terminated by drain() */
	uint64_t	lock_skips;		/* polls skipped: another runbook held the cluster */
	uint64_t	failures;
} throttle_counts;

typedef struct throttle_exec
{
	char	   *runbook;
	char	   *node;
	rb_settings s;
	bool		have_settings;
	throttle_ctl ctl;
	char	  **firing;			/* dedup keys of the triggering alerts that fire */
	char	  **firing_rule;	/* and their rules */
	int			n_firing;
	char	   *last_rule;		/* the rule that fired last, for the journal */
	char	   *run;			/* the journal run while engaged */
	int64_t		run_started_us;
	char	   *proposal;		/* page-first: the pending proposal's id */
	bool		journal_checked;	/* an interrupted run was looked for */
	PGconn	   *conn;
	uint64_t	incarnation;	/* the node's shared-memory incarnation when the rules were set; 0 unknown */
	bool		pgb_capped;		/* pgbouncer's settings are lowered; saved holds the old ones */
	pgb_saved	pgb;
	throttle_counts counts;
} throttle_exec;

throttle_exec *throttle_exec_new(const char *runbook, const char *node);
void		throttle_exec_free(throttle_exec *x);
/* (re)reads the runbook's settings; false (logged) when they are invalid */
bool		throttle_exec_configure(throttle_exec *x, const agent_cfg *cfg);

/* a triggering alert fired (again) or resolved */
void		throttle_exec_alert(throttle_exec *x, const alert_event *ev);
/* after a reload: forgets alerts of rules that no longer name the runbook */
void		throttle_exec_prune(throttle_exec *x, const agent_cfg *cfg);

/* one step after a poll of the node: notifications of the steps taken go to out */
void		throttle_exec_poll(throttle_exec *x, const node_cfg *n, int64_t now_us, event_list *out);

#endif
