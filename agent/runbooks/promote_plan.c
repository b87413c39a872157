/*
 * promote_plan.c: pure decisions of the promotion runbook.
 *
 * Candidate choice follows repmgr's election and the PG documentation on
 * failover: the standby that received the most WAL wins, because promotion
 * replays everything received before it opens for writes; replay position
 * and then the name break ties so the choice is deterministic.
 */
#include "runbooks/promote_plan.h"
#include "runbooks/rbutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
promote_primary_dead(const probe_sample *h, int n, const dead_rule *rule, int *failures)
{
	int			tail = 0;
	int64_t		span;

	while (tail < n && !h[n - 1 - tail].ok)
		tail++;
	if (failures)
		*failures = tail;
	if (tail == 0 || tail < rule->probes)
		return false;
	span = h[n - 1].at_ms - h[n - tail].at_ms;
	return span >= rule->min_span_ms;
}

static bool
better(const promote_candidate *a, const promote_candidate *b)
{
	if (a->receive_lsn != b->receive_lsn)
		return a->receive_lsn > b->receive_lsn;
	if (a->replay_lsn != b->replay_lsn)
		return a->replay_lsn > b->replay_lsn;
	return strcmp(a->name, b->name) < 0;
}

static bool
refuse(promote_decision *d, const char *guard, const char *fmt, const char *a, const char *b)
{
	d->candidate = -1;
	d->guard = guard;
	snprintf(d->reason, sizeof(d->reason), fmt, a ? a : "", b ? b : "");
	return false;
}

static bool
eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

const char *
promote_sync_name(promote_sync s)
{
	return s == PROMOTE_SYNC ? "sync" : s == PROMOTE_QUORUM ? "quorum" : "async";
}

/*
 * Had the standby every commit the primary acknowledged?  A `sync` one
 * (FIRST n) did.  Under ANY n every commit waited for some n of the quorum,
 * so a `quorum` one may have been left behind (a stalled WAL receiver still
 * shows `quorum`): only its position proves it, up to the last flush
 * position the agent saw.
 */
static bool
proven_sync(const promote_candidate *c, const promote_guards *g)
{
	if (c->sync == PROMOTE_SYNC)
		return true;
	return c->sync == PROMOTE_QUORUM && g->primary_lsn_known && c->receive_lsn >= g->last_primary_lsn;
}

const char *
promote_other_primary(const promote_candidate *c, int n, const char *cand)
{
	for (int i = 0; i < n; i++)
		if (c[i].reachable && !c[i].in_recovery && !eq(c[i].name, cand))
			return c[i].name;
	return NULL;
}

bool
promote_decide(const promote_candidate *c, int n, const promote_guards *g, promote_decision *d)
{
	uint64_t	sysid = g->cluster_sysid;
	int			best = -1;
	int			behind_quorum = -1;
	bool		exempt;
	uint64_t	loss;
	char		a[32],
				b[32];

	memset(d, 0, sizeof(*d));
	d->candidate = -1;
	if (!g->fence_configured)
		return refuse(d, "fence_command",
					  "no fence_command configured for the old primary (set one, or none explicitly)%s%s",
					  NULL, NULL);

	/*
	 * A node already out of recovery is a primary: promoting another would
	 * make two.  Only the interrupted run's own choice may be, promoted by it.
	 */
	for (int i = 0; i < n; i++)
	{
		if (!c[i].reachable || c[i].in_recovery)
			continue;
		if (eq(c[i].name, g->chosen_before) && !g->claimed)
		{
			d->candidate = i;
			snprintf(d->reason, sizeof(d->reason), "%s: already out of recovery, promoted by the interrupted run",
					 c[i].name);
			return true;
		}
		return refuse(d, "other_primary",
					  "%s answers as a primary (not in recovery): promoting a standby next to it would make two "
					  "primaries; if it is the new primary, name it in the section%s", c[i].name, NULL);
	}
	/* without a configured identifier every reachable standby must agree */
	for (int i = 0; i < n && sysid == 0; i++)
		if (c[i].reachable)
			sysid = c[i].sysid;
	for (int i = 0; i < n; i++)
	{
		if (!c[i].reachable)
			continue;
		if (c[i].sysid != sysid)
		{
			snprintf(a, sizeof(a), "%" PRIu64, c[i].sysid);
			return refuse(d, "system_identifier",
						  "standby %s has system identifier %s, not the cluster's", c[i].name, a);
		}
		/* a choice already made (by this run before a crash, or another agent's claim) stands */
		if ((g->claimed && !eq(c[i].name, g->claimed)) ||
			(!g->claimed && g->chosen_before && !eq(c[i].name, g->chosen_before)))
			continue;
		if (g->require_sync && !proven_sync(&c[i], g))
		{
			if (c[i].sync == PROMOTE_QUORUM && (behind_quorum < 0 || better(&c[i], &c[behind_quorum])))
				behind_quorum = i;
			continue;
		}
		if (best < 0 || better(&c[i], &c[best]))
			best = i;
	}
	if (best < 0 && g->claimed)
		return refuse(d, "lease",
					  "another run claimed the promotion of %s for this primary, and %s is not a reachable standby "
					  "that qualifies: no other standby may be promoted", g->claimed, g->claimed);
	if (best < 0 && g->chosen_before)
		return refuse(d, "candidate",
					  "the interrupted run chose %s, which is not a reachable standby that qualifies now: "
					  "it may be promoting; check it%s", g->chosen_before, NULL);
	if (best < 0 && behind_quorum >= 0)
	{
		char		msg[160];

		rb_lsn_format(c[behind_quorum].receive_lsn, a, sizeof(a));
		if (g->primary_lsn_known)
		{
			rb_lsn_format(g->last_primary_lsn, b, sizeof(b));
			snprintf(msg, sizeof(msg), "received up to %s, behind the primary's last flush position %s", a, b);
		}
		else
			snprintf(msg, sizeof(msg), "received up to %s, and the primary's last flush position is unknown", a);
		return refuse(d, "candidate",
					  "no reachable standby that was synchronous: %s was a quorum standby but %s; "
					  "quorum membership alone does not prove it has every commit", c[behind_quorum].name, msg);
	}
	if (best < 0)
	{
		bool		any = false;

		for (int i = 0; i < n; i++)
			any = any || c[i].reachable;
		if (!any)
			return refuse(d, "node_reachable", "no standby answers%s%s", NULL, NULL);
	}
	if (best < 0)
		return refuse(d, "candidate",
					  g->require_sync ? "no reachable standby that was synchronous%s%s"
					  : "no reachable standby in recovery%s%s", NULL, NULL);
	if (c[best].streaming)
		return refuse(d, "upstream_gone",
					  "standby %s still streams from the primary: its WAL receiver sees the upstream alive%s",
					  c[best].name, NULL);
	exempt = g->require_sync && proven_sync(&c[best], g);
	if (g->max_lag_bytes >= 0 && !g->primary_lsn_known && !exempt)
		return refuse(d, "max_lag_bytes",
					  "the primary's last WAL position is unknown, so the data loss of %s cannot be bounded%s",
					  c[best].name, NULL);
	loss = g->primary_lsn_known && g->last_primary_lsn > c[best].receive_lsn
		? g->last_primary_lsn - c[best].receive_lsn : 0;
	d->lag_bytes = loss;
	if (g->max_lag_bytes >= 0 && !exempt && loss > (uint64_t) g->max_lag_bytes)
	{
		char		msg[192];

		rb_lsn_format(c[best].receive_lsn, a, sizeof(a));
		rb_lsn_format(g->last_primary_lsn, b, sizeof(b));
		snprintf(msg, sizeof(msg), "%s (primary at %s): %" PRIu64 " bytes behind, max_lag_bytes %" PRId64,
				 a, b, loss, g->max_lag_bytes);
		return refuse(d, "max_lag_bytes", "best standby %s received up to %s", c[best].name, msg);
	}
	d->candidate = best;
	d->guard = NULL;
	rb_lsn_format(c[best].receive_lsn, a, sizeof(a));
	snprintf(d->reason, sizeof(d->reason), "promote %s: received up to %s, %" PRIu64 " bytes behind the primary%s%s%s",
			 c[best].name, a, loss, g->primary_lsn_known ? "" : " (primary position unknown)",
			 c[best].sync != PROMOTE_ASYNC ? ", was " : "", c[best].sync != PROMOTE_ASYNC ? promote_sync_name(c[best].sync) : "");
	return true;
}

bool
controldata_parse(const char *text, controldata *cd)
{
	const char *v;

	memset(cd, 0, sizeof(*cd));
	if (!text || !(v = rb_line_value(text, "Database system identifier")))
		return false;
	cd->sysid = strtoull(v, NULL, 10);
	if ((v = rb_line_value(text, "Database cluster state")))
	{
		size_t		n = strcspn(v, "\n");

		snprintf(cd->state, sizeof(cd->state), "%.*s", (int) n, v);
	}
	if ((v = rb_line_value(text, "wal_log_hints setting")))
		cd->wal_log_hints = !strncmp(v, "on", 2);
	if ((v = rb_line_value(text, "Data page checksum version")))
		cd->checksum_version = atoi(v);
	if ((v = rb_line_value(text, "Latest checkpoint's TimeLineID")))
		cd->timeline = (uint32_t) strtoul(v, NULL, 10);
	return cd->sysid != 0;
}

const char *
rejoin_guard(const controldata *cd, bool running, uint64_t primary_sysid, char *reason, size_t len)
{
	if (running)
	{
		snprintf(reason, len, "the old primary is running: it must stay fenced (stopped) until it is rewound");
		return "stopped";
	}
	if (cd->sysid != primary_sysid)
	{
		snprintf(reason, len, "its system identifier %" PRIu64 " is not the new primary's %" PRIu64
				 ": a different cluster; a re-clone (pg_basebackup) is needed", cd->sysid, primary_sysid);
		return "system_identifier";
	}
	if (!cd->wal_log_hints && cd->checksum_version == 0)
	{
		snprintf(reason, len, "pg_rewind needs wal_log_hints = on or data checksums, and it has neither: "
				 "a re-clone (pg_basebackup) is needed");
		return "rewindable";
	}
	return NULL;
}
