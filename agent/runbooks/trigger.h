/*
 * trigger.h: runbooks started by rules.  A [rule NAME] section that says
 * runbook = RBNAME hands its alerts to that runbook when they fire on a
 * node:
 *
 *   - kind throttle: run inside the daemon (throttle_exec.c), one per
 *     (runbook, node), engaged while any of its alerts fires on the node;
 *   - kind promote or pitr: a child "orguard-agent -c CONFIG runbook
 *     trigger RBNAME --rule RULE --node NODE --subject SUBJECT", never two
 *     at once for the same runbook, reaped without waiting.
 */
#ifndef ORGUARD_RB_TRIGGER_H
#define ORGUARD_RB_TRIGGER_H

#include "alert/alert.h"
#include "common/config.h"
#include "export/metrics.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rb_trigger rb_trigger;

rb_trigger *rb_trigger_new(void);
void		rb_trigger_free(rb_trigger *t);

/* validates every runbook a rule names; false with errors appended */
bool		rb_trigger_check(const agent_cfg *cfg, config_errors *errs);

/* (re)reads the runbooks that rules name, keeping the state of the throttles */
void		rb_trigger_configure(rb_trigger *t, const agent_cfg *cfg);

/* alerts of a poll (or a reload): starts child runbooks, feeds the throttles */
void		rb_trigger_observe(rb_trigger *t, const agent_cfg *cfg, const event_list *events);

/* after a poll of node: steps its throttles; notifications of their steps go to out */
void		rb_trigger_node_polled(rb_trigger *t, const node_cfg *n, int64_t now_us, event_list *out);

/* reaps child runbooks that ended (never blocks) */
void		rb_trigger_reap(rb_trigger *t);

/* orguard_runbook_throttle_* families */
void		rb_trigger_metrics(const rb_trigger *t, metric_set *ms);

#endif
