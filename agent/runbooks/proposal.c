/*
 * proposal.c: the state of page-first proposals from the journal (see
 * proposal.h).
 */
#include "runbooks/proposal.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool
eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

const char *
rb_proposal_state_name(rb_proposal_state s)
{
	switch (s)
	{
		case RB_PROPOSAL_PENDING:
			return "pending";
		case RB_PROPOSAL_APPROVED:
			return "approved";
		case RB_PROPOSAL_REJECTED:
			return "rejected";
		case RB_PROPOSAL_EXPIRED:
			return "expired";
		case RB_PROPOSAL_UNKNOWN:
			break;
	}
	return "unknown";
}

char *
rb_proposal_new_id(int64_t now_us, int pid)
{
	char	   *run = journal_new_run_id(now_us, pid);
	char	   *id = xasprintf("p%s", run);

	free(run);
	return id;
}

bool
rb_journal_time_parse(const char *s, int64_t *us)
{
	struct tm	tm;
	int			ms = 0,
				used = 0;

	memset(&tm, 0, sizeof(tm));
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
					 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
		return false;
	s += used;
	if (*s == '.')
	{
		int			digits = 0;

		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*s - '0');
		for (; digits > 0 && digits < 3; digits++)
			ms *= 10;
	}
	if (strcmp(s, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*us = (int64_t) timegm(&tm) * 1000000 + (int64_t) ms * 1000;
	return true;
}

static bool
is_proposal_line(const journal_entry *e)
{
	return eq(e->step, RB_PROPOSAL_STEP);
}

rb_proposal_state
rb_proposal_find(const journal_entries *es, const char *id, int64_t now_us, double approve_within_s,
				 rb_proposal *out)
{
	const journal_entry *first = NULL,
			   *decision = NULL;

	memset(out, 0, sizeof(*out));
	out->state = RB_PROPOSAL_UNKNOWN;
	for (int i = 0; i < es->n; i++)
	{
		const journal_entry *e = &es->v[i];

		if (!is_proposal_line(e) || !eq(e->run, id))
			continue;
		if (!first)
		{
			if (eq(e->result, "pending"))
				first = e;
			continue;
		}
		/* the first decision stands: a second one is never written */
		if (!decision && !eq(e->result, "pending"))
			decision = e;
	}
	if (!first)
		return RB_PROPOSAL_UNKNOWN;
	out->id = first->run;
	out->runbook = first->runbook;
	out->node = first->target;
	out->params = first->detail ? first->detail : "";
	if (!rb_journal_time_parse(first->time, &out->proposed_us))
		out->proposed_us = 0;
	if (decision)
	{
		out->decided_time = decision->time;
		out->state = eq(decision->result, "approved") ? RB_PROPOSAL_APPROVED
			: eq(decision->result, "rejected") ? RB_PROPOSAL_REJECTED : RB_PROPOSAL_EXPIRED;
	}
	else if ((double) (now_us - out->proposed_us) > approve_within_s * 1e6)
		out->state = RB_PROPOSAL_EXPIRED;
	else
		out->state = RB_PROPOSAL_PENDING;
	return out->state;
}

int
rb_proposal_ids(const journal_entries *es, const char ***ids)
{
	int			n = 0;

	*ids = NULL;
	for (int i = 0; i < es->n; i++)
	{
		const journal_entry *e = &es->v[i];
		bool		seen = false;

		if (!is_proposal_line(e) || !eq(e->result, "pending") || !e->run)
			continue;
		for (int k = 0; k < n && !seen; k++)
			seen = !strcmp((*ids)[k], e->run);
		if (seen)
			continue;
		*ids = xrealloc(*ids, sizeof(char *) * (size_t) (n + 1));
		(*ids)[n++] = e->run;
	}
	return n;
}

const char *
rb_proposal_pending_for(const journal_entries *es, const char *runbook, const char *params,
						int64_t now_us, double approve_within_s)
{
	const char **ids;
	const char *found = NULL;
	int			n = rb_proposal_ids(es, &ids);

	for (int i = 0; i < n && !found; i++)
	{
		rb_proposal p;

		if (rb_proposal_find(es, ids[i], now_us, approve_within_s, &p) == RB_PROPOSAL_PENDING &&
			eq(p.runbook, runbook) && eq(p.params, params))
			found = p.id;
	}
	free(ids);
	return found;
}
