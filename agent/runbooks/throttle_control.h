/*
 * throttle_control.h: the connection throttle's state machine, one per
 * (runbook, node).  Pure: its inputs are whether any alert of a rule that
 * names the runbook fires on the node, the operator's decision on a
 * proposal, and the time; its outputs are actions for the executor
 * (throttle_exec.c), which reports failures back.
 *
 *   idle --firing--> [page-first: proposed --approved-->] engaged
 *   engaged --clear--> releasing --clear for release_after--> idle
 *   releasing --firing--> engaged
 *   refused or rejected or expired: held until the alerts clear, then idle
 *
 * While engaged the extension's rules are set again when half their TTL is
 * spent, so they outlive the agent by at most one TTL.  When the node lost
 * them (a crash-restart re-initializes its shared memory), they are set
 * again at the next step while the run is open, engaged or releasing.
 */
#ifndef ORGUARD_RB_THROTTLE_CONTROL_H
#define ORGUARD_RB_THROTTLE_CONTROL_H

#include "runbooks/journal.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum tc_state
{
	TC_IDLE,
	TC_PROPOSED,				/* page-first: waiting for an approval */
	TC_ENGAGED,
	TC_RELEASING,				/* alerts resolved; waiting release_after */
	TC_HELD						/* refused, rejected or expired: until the alerts clear */
} tc_state;

/* actions, as bits: one step may ask for several (renew and drain) */
#define TC_ACT_PROPOSE	0x01
#define TC_ACT_ENGAGE	0x02
#define TC_ACT_RENEW	0x04
#define TC_ACT_DRAIN	0x08
#define TC_ACT_RELEASE	0x10

typedef enum tc_decision
{
	TC_UNDECIDED,
	TC_APPROVED,
	TC_REJECTED,
	TC_EXPIRED
} tc_decision;

typedef struct tc_params
{
	bool		page_first;
	bool		drain;
	int64_t		ttl_us;
	int64_t		release_after_us;
	int64_t		approve_within_us;
} tc_params;

typedef struct throttle_ctl
{
	tc_state	state;
	int64_t		proposed_us;
	int64_t		engaged_us;
	int64_t		renewed_us;		/* when the rules were last set */
	int64_t		clear_since_us; /* releasing: when the last alert resolved */
	bool		restore_due;	/* the node lost the rules: set them again */
} throttle_ctl;

const char *tc_state_name(tc_state s);

/*
 * One step at time now: firing says whether any triggering alert fires,
 * decision is the proposal's fate (page-first).  Returns TC_ACT_* bits and
 * moves the state as if the actions succeed.
 */
unsigned	tc_step(throttle_ctl *c, const tc_params *p, bool firing, tc_decision decision, int64_t now_us);

/* the executor could not engage: refused (a guard) holds, else retry next step */
void		tc_engage_failed(throttle_ctl *c, bool refused);
/* setting the rules again failed: try again at the next step */
void		tc_renew_failed(throttle_ctl *c);

/*
 * The node's rules are gone although the run is open (its shared memory was
 * re-initialized): the next step sets them again (TC_ACT_RENEW), also while
 * releasing.  Nothing when no run is open.
 */
void		tc_rules_lost(throttle_ctl *c);

/* whether a node's shared-memory incarnation moved from had to now (0: unknown) */
bool		tc_incarnation_changed(uint64_t had, uint64_t now);

/*
 * After a restart: a run that engaged the throttle on this node and was
 * never closed is taken over as engaged, its rules due for renewal (the
 * names are the same, so setting them again is harmless).
 */
void		tc_resume_engaged(throttle_ctl *c, int64_t now_us);

/*
 * The journal's view of a node's throttle: the run of runbook on node that
 * engaged and never closed (NULL when none), and the decision on proposal
 * (the last line of that proposal run).
 */
const char *tc_journal_open_run(const journal_entries *es, const char *runbook, const char *node);
tc_decision tc_journal_decision(const journal_entries *es, const char *proposal);

#endif
