/*
 * fenced.c: the old primary a cluster's journal says is fenced (see
 * fenced.h).  Walks the journal in order and looks at each run when its
 * closing "done" line comes: a promotion records the node its "fence" step
 * acted on (also with fence_command = none: that node is the old primary
 * all the same), a rejoin whose "follow" step succeeded clears it.
 */
#include "runbooks/fenced.h"

#include <string.h>

static bool
eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* the target of run's first ok entry of step, or NULL */
static const char *
ok_target(const journal_entries *es, int upto, const char *run, const char *step)
{
	for (int i = 0; i < upto; i++)
		if (eq(es->v[i].run, run) && eq(es->v[i].step, step) && eq(es->v[i].result, "ok"))
			return es->v[i].target;
	return NULL;
}

bool
journal_fenced_primary(const journal_entries *es, const char *cluster, fenced_primary *out)
{
	const char *node = NULL,
			   *run = NULL,
			   *promoted = NULL;

	for (int i = 0; i < es->n; i++)
	{
		const journal_entry *e = &es->v[i];
		const char *fenced,
				   *rejoined;

		if (!eq(e->step, "runbook") || !eq(e->result, "done") || !eq(e->target, cluster))
			continue;
		if ((fenced = ok_target(es, i, e->run, "fence")) != NULL)
		{
			node = fenced;
			run = e->run;
			promoted = ok_target(es, i, e->run, "promote");
		}
		else if (node && (rejoined = ok_target(es, i, e->run, "follow")) != NULL && eq(rejoined, node))
			node = run = promoted = NULL;
	}
	if (!node)
		return false;
	out->node = node;
	out->run = run;
	out->promoted = promoted ? promoted : "";
	return true;
}
