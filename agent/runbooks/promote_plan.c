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

bool
promote_decide(const promote_candidate *c, int n, const promote_guards *g, promote_decision *d)
{
	uint64_t	sysid = g->cluster_sysid;
	int			best = -1;
	uint64_t	loss;
	char		a[32],
				b[32];

	memset(d, 0, sizeof(*d));
	d->candidate = -1;
	if (!g->fence_configured)
		return refuse(d, "fence_command",
					  "no fence_command configured for the old primary (set one, or none explicitly)%s%s",
					  NULL, NULL);
	/* without a configured identifier every reachable standby must agree */
	for (int i = 0; i < n && sysid == 0; i++)
		if (c[i].reachable && c[i].in_recovery)
			sysid = c[i].sysid;
	for (int i = 0; i < n; i++)
	{
		if (!c[i].reachable || !c[i].in_recovery)
			continue;
		if (c[i].sysid != sysid)
		{
			snprintf(a, sizeof(a), "%" PRIu64, c[i].sysid);
			return refuse(d, "system_identifier",
						  "standby %s has system identifier %s, not the cluster's", c[i].name, a);
		}
		if (g->require_sync && !c[i].was_sync)
			continue;
		if (best < 0 || better(&c[i], &c[best]))
			best = i;
	}
	if (best < 0)
		return refuse(d, "candidate",
					  g->require_sync ? "no reachable standby that was synchronous%s%s"
					  : "no reachable standby in recovery%s%s", NULL, NULL);
	if (c[best].streaming)
		return refuse(d, "upstream_gone",
					  "standby %s still streams from the primary: its WAL receiver sees the upstream alive%s",
					  c[best].name, NULL);
	if (g->max_lag_bytes >= 0 && !g->primary_lsn_known && !(g->require_sync && c[best].was_sync))
		return refuse(d, "max_lag_bytes",
					  "the primary's last WAL position is unknown, so the data loss of %s cannot be bounded%s",
					  c[best].name, NULL);
	loss = g->primary_lsn_known && g->last_primary_lsn > c[best].receive_lsn
		? g->last_primary_lsn - c[best].receive_lsn : 0;
	d->lag_bytes = loss;
	if (g->max_lag_bytes >= 0 && !(g->require_sync && c[best].was_sync) &&
		loss > (uint64_t) g->max_lag_bytes)
	{
		char		msg[192];

		lsn_format(c[best].receive_lsn, a, sizeof(a));
		lsn_format(g->last_primary_lsn, b, sizeof(b));
		snprintf(msg, sizeof(msg), "%s (primary at %s): %" PRIu64 " bytes behind, max_lag_bytes %" PRId64,
				 a, b, loss, g->max_lag_bytes);
		return refuse(d, "max_lag_bytes", "best standby %s received up to %s", c[best].name, msg);
	}
	d->candidate = best;
	d->guard = NULL;
	lsn_format(c[best].receive_lsn, a, sizeof(a));
	snprintf(d->reason, sizeof(d->reason), "promote %s: received up to %s, %" PRIu64 " bytes behind the primary%s",
			 c[best].name, a, loss, g->primary_lsn_known ? "" : " (primary position unknown)");
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
