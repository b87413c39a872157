/*
 * promote.h: the native replica promotion runbook (a single agent, no
 * DCS): probe the primary, and when it is dead by the configured rule,
 * fence it, promote the most advanced standby, verify it, repoint the
 * other standbys and move traffic.
 */
#ifndef ORGUARD_RB_PROMOTE_H
#define ORGUARD_RB_PROMOTE_H

#include "runbooks/settings.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rb_promote_request
{
	bool		dry_run;
	bool		watch;			/* probe until the primary is dead */
	double		watch_for_s;	/* with watch: give up after this (0: never) */
	bool		primary_lsn_known;
	uint64_t	last_primary_lsn;	/* --last-primary-lsn */
	const char *candidate;		/* --candidate (backend = patroni) */
	bool		switchover;		/* --switchover (backend = patroni) */
} rb_promote_request;

int			rb_promote_native(const rb_settings *s, const rb_promote_request *req);

/* backend = patroni: ask Patroni's REST API to fail over or switch over */
int			rb_promote_patroni(const rb_settings *s, const rb_promote_request *req);

/* an old primary (stopped, fenced) becomes a standby of the new one */
int			rb_rejoin_native(const rb_settings *s, const char *node, bool dry_run);

#endif
