/*
 * trigger_args.h: what a rule that fires hands to its runbook.
 *
 * "orguard-agent runbook trigger RBNAME --rule R --node N --subject S"
 * derives the runbook's arguments from the alert: a promotion watches the
 * primary for a bounded time (the rule saw it fail; the runbook's own dead
 * rule decides); a point-in-time recovery needs a target, and the only one
 * an alert can name is a destructive event of the extension's journal
 * (the subject of the destructive_event rule ends with the event id).  Any
 * other rule cannot trigger a restore: a target cannot be guessed.  The
 * arguments are plain words, recorded as a proposal's detail and split
 * again by approve.  Pure: no I/O.
 */
#ifndef ORGUARD_RB_TRIGGER_ARGS_H
#define ORGUARD_RB_TRIGGER_ARGS_H

#include "runbooks/settings.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * The arguments for a runbook of kind triggered by rule (destructive: the
 * rule is of kind destructive_event) on subject, e.g. "--before-event 42"
 * or "--watch-for 60s"; NULL with err naming the unmet guard.
 */
char	   *rb_trigger_args(rb_kind kind, const char *rule, bool destructive, const char *subject,
							double watch_for_s, char *err, size_t errlen);

/* the event id that ends a destructive_event subject (kind/db/relation/ID) */
bool		rb_trigger_event_id(const char *subject, unsigned long long *id);

/* splits args on blanks; returns the count, *argv malloc'd with its words */
int			rb_args_split(const char *args, char ***argv);
void		rb_args_free(char **argv, int n);

#endif
