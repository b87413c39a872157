/*
 * proposal.h: proposals of page-first runbooks, read back from the
 * runbooks' journal.
 *
 * A rule-triggered runbook in page-first mode changes nothing: it appends
 * a line {run: "p<id>", step: "proposal", target: NODE, result: "pending",
 * detail: the runbook's arguments} and pages the plan.  Deciding appends
 * the same line with result "approved", "rejected" or "expired".  The
 * state of a proposal is therefore its last decision, or "pending" until
 * approve_within has passed since the proposal, then "expired".  Pure: no
 * I/O.
 */
#ifndef ORGUARD_RB_PROPOSAL_H
#define ORGUARD_RB_PROPOSAL_H

#include "runbooks/journal.h"

#include <stdbool.h>
#include <stdint.h>

#define RB_PROPOSAL_STEP "proposal"

typedef enum rb_proposal_state
{
	RB_PROPOSAL_UNKNOWN,		/* no such proposal in the journal */
	RB_PROPOSAL_PENDING,
	RB_PROPOSAL_APPROVED,
	RB_PROPOSAL_REJECTED,
	RB_PROPOSAL_EXPIRED
} rb_proposal_state;

typedef struct rb_proposal
{
	rb_proposal_state state;
	const char *id;
	const char *runbook;
	const char *node;			/* the target of the proposal line */
	const char *params;			/* the arguments approve runs the runbook with */
	int64_t		proposed_us;
	const char *decided_time;	/* the deciding line's time, or NULL */
} rb_proposal;

const char *rb_proposal_state_name(rb_proposal_state s);

/* "p" + a run id: proposals and runs never share an id */
char	   *rb_proposal_new_id(int64_t now_us, int pid);

/* parses the journal's "YYYY-MM-DDTHH:MM:SS.mmmZ" into microseconds */
bool		rb_journal_time_parse(const char *s, int64_t *us);

/*
 * Finds proposal id in es; fills *out (pointing into es) and returns its
 * state at now_us, a pending proposal older than approve_within_s being
 * expired.  RB_PROPOSAL_UNKNOWN when es holds no such proposal.
 */
rb_proposal_state rb_proposal_find(const journal_entries *es, const char *id, int64_t now_us,
								   double approve_within_s, rb_proposal *out);

/*
 * The ids of every proposal in es, in journal order, each once; returns
 * the count, *ids malloc'd (the strings point into es).
 */
int			rb_proposal_ids(const journal_entries *es, const char ***ids);

/*
 * The pending proposal of runbook with these params, or NULL: an alert
 * that fires again while its proposal waits does not propose twice.
 */
const char *rb_proposal_pending_for(const journal_entries *es, const char *runbook, const char *params,
									int64_t now_us, double approve_within_s);

#endif
