/*
 * patroni_plan.h: the decisions of the promotion runbook with the Patroni
 * backend, without I/O.
 *
 * Patroni holds the leader lock in its DCS and performs every promotion;
 * the agent only reads GET /cluster, decides whether to ask and whom to
 * promote, builds the body of POST /failover or /switchover and recognises
 * when the request has taken effect.  Patroni 3.x calls the primary's role
 * "master" where 4.x says "primary"; /cluster says "leader" in both: all
 * three count as the leader.
 */
#ifndef ORGUARD_RB_PATRONI_PLAN_H
#define ORGUARD_RB_PATRONI_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum patroni_role
{
	PATRONI_ROLE_LEADER,		/* leader, master, primary */
	PATRONI_ROLE_STANDBY_LEADER,	/* leads a standby cluster: never a candidate */
	PATRONI_ROLE_SYNC_STANDBY,
	PATRONI_ROLE_REPLICA,
	PATRONI_ROLE_OTHER
} patroni_role;

typedef enum patroni_pg_state
{
	PATRONI_PG_UNKNOWN,			/* not asked, or did not answer */
	PATRONI_PG_STANDBY,			/* in recovery */
	PATRONI_PG_PRIMARY			/* out of recovery: takes writes */
} patroni_pg_state;

typedef struct patroni_member
{
	char	   *name;
	patroni_role role;
	char	   *role_text;		/* as Patroni said it */
	char	   *state;			/* running, streaming, stopped, ... */
	char	   *host;
	int			port;
	bool		lag_known;		/* "lag": a number, not "unknown" or absent */
	int64_t		lag;			/* bytes behind the leader's last known position */
	int			timeline;		/* 0 when not reported */
	bool		nofailover;
	/*
	 * What its PostgreSQL answered to pg_is_in_recovery() (the executor asks
	 * each member with libpq): a member Patroni lists as a replica may have
	 * been promoted by hand (pg_promote() during maintenance mode).
	 */
	patroni_pg_state pg;
} patroni_member;

typedef struct patroni_cluster
{
	patroni_member *m;
	int			n;
	bool		paused;			/* maintenance mode */
} patroni_cluster;

/* false with err filled when json is not a /cluster answer */
bool		patroni_cluster_parse(const char *json, patroni_cluster *out, char *err, size_t errlen);
void		patroni_cluster_free(patroni_cluster *c);

patroni_role patroni_role_parse(const char *role);
/* PostgreSQL is up on the member ("running", or "streaming" in Patroni 4) */
bool		patroni_member_running(const patroni_member *m);
/* index of the member that leads and runs, -1 when none */
int			patroni_live_leader(const patroni_cluster *c);
/* index of the member called name, -1 when none */
int			patroni_member_index(const patroni_cluster *c, const char *name);

typedef enum patroni_action
{
	PATRONI_REFUSE,
	PATRONI_FAILOVER,
	PATRONI_SWITCHOVER
} patroni_action;

typedef struct patroni_request
{
	const char *candidate;		/* NULL: choose */
	bool		switchover;		/* a leader is alive and should hand over */
	int64_t		max_lag_bytes;	/* < 0: unbounded */
} patroni_request;

typedef struct patroni_decision
{
	patroni_action action;
	int			candidate;		/* index into the cluster, -1 when refused */
	int			leader;			/* index of the live leader, -1 when none */
	const char *guard;			/* the unmet guard when refused */
	char		reason[512];
} patroni_decision;

/*
 * Whether to ask Patroni for a failover (no live leader), a switchover
 * (--switchover and a live leader) or nothing, and which member to name.
 * A member qualifies when it runs, is a replica or sync standby, is not
 * tagged nofailover, its lag is known and within max_lag_bytes and it is on
 * the newest timeline reported; among those a sync standby wins, then the
 * least lag, then the name.  Refuses (other_primary) when a member other
 * than the live leader answers as a primary: asking Patroni to promote
 * another would make two.  Returns true unless refused.
 */
bool		patroni_decide(const patroni_cluster *c, const patroni_request *req, patroni_decision *d);

/* {"candidate": X} and {"leader": L, "candidate": X}; caller frees */
char	   *patroni_failover_body(const char *candidate);
char	   *patroni_switchover_body(const char *leader, const char *candidate);

/* the request has taken effect: candidate leads and runs */
bool		patroni_promoted(const patroni_cluster *c, const char *candidate);

/*
 * "user:password" (one line, trailing newline ignored) from a
 * patroni_auth_file's text into user and password; false when malformed.
 */
bool		patroni_auth_parse(const char *text, char *user, size_t ulen, char *password, size_t plen);

/* one line describing the members, e.g. "m1 leader running tl 2; m2 replica running lag 0" */
char	   *patroni_describe(const patroni_cluster *c);

#endif
