/*
 * announce.c: builds the pager notification of one runbook step (see
 * announce.h).
 */
#include "runbooks/announce.h"

#include "common/util.h"

#include <string.h>

static const char *
or_empty(const char *s)
{
	return s ? s : "";
}

/* a run that succeeded, or a proposal someone decided (or let expire) */
static bool
closes_ok(const char *result)
{
	static const char *const ok[] = {"done", "approved", "rejected", "expired", NULL};

	for (int i = 0; result && ok[i]; i++)
		if (!strcmp(result, ok[i]))
			return true;
	return false;
}

void
rb_announce_event(const rb_announcement *a, alert_event *ev)
{
	bool		closed_ok = a->final && closes_ok(a->result);
	bool		closed_bad = a->final && !closed_ok;
	strbuf		sb;

	memset(ev, 0, sizeof(*ev));
	ev->status = closed_ok ? ALERT_RESOLVED : ALERT_FIRING;
	ev->rule = xstrdup(RB_ANNOUNCE_RULE);
	ev->cluster = xstrdup(or_empty(a->cluster));
	ev->node = xstrdup(or_empty(a->node));
	ev->subject = xstrdup(or_empty(a->run));
	ev->dedup_key = alert_dedup_key(ev->cluster, ev->node, ev->rule, ev->subject);
	ev->sev = closed_bad ? SEV_CRITICAL : SEV_WARNING;

	sb_init(&sb);
	sb_printf(&sb, "runbook %s (run %s): %s", or_empty(a->runbook), or_empty(a->run),
			  or_empty(a->step));
	if (a->target && *a->target)
		sb_printf(&sb, " %s", a->target);
	sb_printf(&sb, ": %s", or_empty(a->result));
	if (a->detail && *a->detail)
		sb_printf(&sb, " (%s)", a->detail);
	ev->summary = sb_steal(&sb);

	labels_set(&ev->labels, "alertname", ev->rule);
	labels_set(&ev->labels, "severity", severity_name(ev->sev));
	labels_set(&ev->labels, "cluster", ev->cluster);
	if (*ev->node)
		labels_set(&ev->labels, "node", ev->node);
	labels_set(&ev->labels, "subject", ev->subject);
	labels_set(&ev->labels, "runbook", or_empty(a->runbook));
	labels_set(&ev->labels, "run", or_empty(a->run));
	labels_set(&ev->labels, "step", or_empty(a->step));
	labels_set(&ev->labels, "result", or_empty(a->result));
	ev->starts_at_us = a->started_us ? a->started_us : a->now_us;
	ev->event_at_us = a->now_us;
	if (closed_ok)
		ev->ends_at_us = a->now_us;
}
