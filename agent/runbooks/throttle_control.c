/*
 * throttle_control.c: the connection throttle's state machine and its
 * reading of the journal (see throttle_control.h).  No I/O.
 */
#include "runbooks/throttle_control.h"

#include <stddef.h>
#include <string.h>

const char *
tc_state_name(tc_state s)
{
	switch (s)
	{
		case TC_IDLE:
			return "idle";
		case TC_PROPOSED:
			return "proposed";
		case TC_ENGAGED:
			return "engaged";
		case TC_RELEASING:
			return "releasing";
		case TC_HELD:
			return "held";
	}
	return "?";
}

static unsigned
engage(throttle_ctl *c, int64_t now_us)
{
	c->state = TC_ENGAGED;
	c->engaged_us = now_us;
	c->renewed_us = now_us;
	c->clear_since_us = 0;
	c->restore_due = false;
	return TC_ACT_ENGAGE;
}

/* engaged or releasing: keeps the rules alive and drains */
static unsigned
maintain(throttle_ctl *c, const tc_params *p, bool firing, int64_t now_us)
{
	unsigned	act = 0;

	/*
	 * Renewed only while the condition holds: once clear, the TTL may end
	 * it.  Rules the node lost are set again either way: until the release
	 * the run means them to hold.
	 */
	if ((firing && now_us - c->renewed_us >= p->ttl_us / 2) || c->restore_due)
	{
		c->renewed_us = now_us;
		c->restore_due = false;
		act |= TC_ACT_RENEW;
	}
	if (p->drain)
		act |= TC_ACT_DRAIN;
	return act;
}

unsigned
tc_step(throttle_ctl *c, const tc_params *p, bool firing, tc_decision decision, int64_t now_us)
{
	switch (c->state)
	{
		case TC_IDLE:
			if (!firing)
				return 0;
			if (p->page_first)
			{
				c->state = TC_PROPOSED;
				c->proposed_us = now_us;
				return TC_ACT_PROPOSE;
			}
			return engage(c, now_us);
		case TC_PROPOSED:
			/* the operator approved the plan as paged: it runs even if the alerts cleared since */
			if (decision == TC_APPROVED)
				return engage(c, now_us);
			if (decision == TC_REJECTED || decision == TC_EXPIRED ||
				now_us - c->proposed_us >= p->approve_within_us)
				c->state = firing ? TC_HELD : TC_IDLE;
			return 0;
		case TC_ENGAGED:
			if (!firing)
			{
				c->state = TC_RELEASING;
				c->clear_since_us = now_us;
			}
			return maintain(c, p, firing, now_us);
		case TC_RELEASING:
			if (firing)
			{
				c->state = TC_ENGAGED;
				c->clear_since_us = 0;
				return maintain(c, p, firing, now_us);
			}
			if (now_us - c->clear_since_us >= p->release_after_us)
			{
				c->state = TC_IDLE;
				c->clear_since_us = 0;
				c->restore_due = false;
				return TC_ACT_RELEASE;
			}
			return maintain(c, p, firing, now_us);
		case TC_HELD:
			if (!firing)
				c->state = TC_IDLE;
			return 0;
	}
	return 0;
}

void
tc_engage_failed(throttle_ctl *c, bool refused)
{
	c->state = refused ? TC_HELD : TC_IDLE;
	c->engaged_us = c->renewed_us = 0;
}

void
tc_renew_failed(throttle_ctl *c)
{
	c->renewed_us = INT64_MIN / 2;
}

void
tc_rules_lost(throttle_ctl *c)
{
	if (c->state == TC_ENGAGED || c->state == TC_RELEASING)
		c->restore_due = true;
}

bool
tc_incarnation_changed(uint64_t had, uint64_t now)
{
	return had != 0 && now != 0 && had != now;
}

void
tc_resume_engaged(throttle_ctl *c, int64_t now_us)
{
	c->state = TC_ENGAGED;
	c->engaged_us = now_us;
	c->renewed_us = INT64_MIN / 2;
	c->clear_since_us = 0;
}

static bool
eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool
is_final(const char *result)
{
	return result && journal_result_is_final(result);
}

const char *
tc_journal_open_run(const journal_entries *es, const char *runbook, const char *node)
{
	for (int i = es->n - 1; i >= 0; i--)
	{
		const journal_entry *e = &es->v[i];
		bool		closed = false;

		if (!eq(e->runbook, runbook) || !eq(e->step, "runbook") || !eq(e->target, node) ||
			!(eq(e->result, "started") || eq(e->result, "resumed")))
			continue;
		for (int k = i + 1; k < es->n && !closed; k++)
			closed = eq(es->v[k].run, e->run) && eq(es->v[k].step, "runbook") && is_final(es->v[k].result);
		if (!closed)
			return e->run;
	}
	return NULL;
}

tc_decision
tc_journal_decision(const journal_entries *es, const char *proposal)
{
	/* the first decision counts: later lines for a decided proposal change nothing */
	for (int i = 0; i < es->n; i++)
	{
		const journal_entry *e = &es->v[i];

		if (!eq(e->run, proposal) || !eq(e->step, "proposal"))
			continue;
		if (eq(e->result, "approved"))
			return TC_APPROVED;
		if (eq(e->result, "rejected"))
			return TC_REJECTED;
		if (eq(e->result, "expired"))
			return TC_EXPIRED;
	}
	return TC_UNDECIDED;
}
