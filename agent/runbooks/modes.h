/*
 * modes.h: rule-triggered runbooks and their approval.
 *
 *   runbook trigger RBNAME --rule R --node N --subject S
 *       (started by the daemon when rule R fires on node N) auto mode:
 *       runs the runbook; page-first mode: records a proposal in the
 *       journal, pages its exact plan (the dry run) with the approve
 *       command, and exits without changing anything.
 *   runbook approve ID    runs a pending proposal (throttle: records it)
 *   runbook reject ID     closes a pending proposal
 *   runbook proposals     lists the pending proposals with their age
 *
 * A human typing "runbook promote" or "runbook pitr" is the approval:
 * those run at once in either mode.
 */
#ifndef ORGUARD_RB_MODES_H
#define ORGUARD_RB_MODES_H

#include "common/config.h"
#include "runbooks/plan.h"
#include "runbooks/request.h"	/* rb_trigger_request */

/* each returns the process exit code (see run.h) */
int			rb_modes_trigger(const agent_cfg *cfg, const rb_trigger_request *t);
int			rb_modes_approve(const agent_cfg *cfg, const char *id);
int			rb_modes_reject(const agent_cfg *cfg, const char *id);
int			rb_modes_proposals(const agent_cfg *cfg, rb_format fmt);

#endif
