/*
 * promote_lease.h: the cluster-wide promotion lease of the native promote
 * runbook, without I/O.
 *
 * The per-cluster flock() only keeps runs on one host apart.  Agents on
 * several hosts agree through the standbys themselves:
 *
 *  1. the lock: a session advisory lock (pg_try_advisory_lock(CLASS, key of
 *     the cluster)) taken, in name order, on a strict majority of the
 *     configured standbys, the candidate among them, and held until the run
 *     ends.  Two runs cannot hold two majorities of one set at once.
 *  2. the claim: before anything is changed, the run writes which standby it
 *     chose, for which dead primary, on every standby it locked (ALTER
 *     SYSTEM SET orguard_agent.promotion, durable in postgresql.auto.conf).
 *     A later run's majority overlaps that one, so it reads the claim and
 *     may promote that standby only (or, once it is a primary, nothing).
 *
 * A claim binds a run whose section names the same dead primary while the
 * standbys are at most one timeline past the claim's (the promotion it
 * records); a later failover of that node (a newer timeline) is a new one.
 */
#ifndef ORGUARD_RB_PROMOTE_LEASE_H
#define ORGUARD_RB_PROMOTE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* first key of pg_try_advisory_lock(int4, int4): 'ORGP' */
#define PROMOTE_LEASE_CLASS 1330792272
/* the placeholder setting that holds a claim */
#define PROMOTE_CLAIM_SETTING "orguard_agent.promotion"

/* second key: the cluster's name, hashed (FNV-1a) */
int32_t		promote_lease_key(const char *cluster);

/* locks needed: a strict majority of the configured standbys */
int			promote_lease_quorum(int n_standbys);

typedef struct promote_claim
{
	char	   *run;
	char	   *primary;		/* the dead primary it fails over from */
	uint32_t	timeline;		/* the standbys' timeline when it chose */
	char	   *candidate;
} promote_claim;

/* the setting's value; names are %-encoded, so any bytes survive; caller frees */
char	   *promote_claim_format(const promote_claim *c);
/* false when text is not a claim; fills c (free with promote_claim_free) */
bool		promote_claim_parse(const char *text, promote_claim *c);
void		promote_claim_free(promote_claim *c);

/* one configured standby as the lease saw it */
typedef struct lease_member
{
	const char *name;
	bool		locked;			/* this run holds its advisory lock */
	const char *claim;			/* the claim setting's value there, NULL when none */
} lease_member;

/*
 * NULL when the run holds the lease: locks on a majority of the n configured
 * standbys, candidate (when not NULL) among them.  Else "lease", with why.
 */
const char *promote_lease_held(const lease_member *m, int n, const char *candidate, char *why, size_t len);

/*
 * The standby that binding claims of other runs than run name, or NULL when
 * none binds.  primary: the section's primary; timeline_now: the newest
 * timeline of the standbys in recovery.  *conflict is set when binding
 * claims name different standbys (the run must refuse); *by receives the
 * claiming run.  Both returned strings: caller frees.
 */
char	   *promote_lease_claimed(const lease_member *m, int n, const char *primary, uint32_t timeline_now,
								  const char *run, bool *conflict, char **by);

#endif
