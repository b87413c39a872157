/*-------------------------------------------------------------------------
 *
 * throttle.h
 *		Connection throttle: rules in shared memory, enforced at client
 *		authentication, and the read accessors that both the SQL views and
 *		the agent snapshot use.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_THROTTLE_H
#define ORG_THROTTLE_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* rules that can be active at once */
#define ORG_THROTTLE_MAX_RULES	32
#define ORG_THROTTLE_REASON_LEN	256

typedef enum OrgThrottleEventKind
{
	ORG_THROTTLE_REFUSED = 0,
	ORG_THROTTLE_DRAINED
} OrgThrottleEventKind;

/* one active rule, as a reader gets it (a copy) */
typedef struct OrgThrottleRule
{
	uint32		id;
	char		name[NAMEDATALEN];
	char		appname_pattern[NAMEDATALEN];
	char		role[NAMEDATALEN];
	char		database[NAMEDATALEN];
	int32		worker_class;	/* OrgWorkerClass or ORG_THROTTLE_ANY_CLASS */
	int32		max_connections;
	int32		drain_idle_s;	/* 0: no drain */
	TimestampTz created;
	TimestampTz expires;
	char		reason[ORG_THROTTLE_REASON_LEN];
	char		set_by[NAMEDATALEN];
	int32		current;		/* connections admitted under the rule, still open */
	uint64		refused;
	uint64		drained;
} OrgThrottleRule;

typedef struct OrgThrottleEvent
{
	uint64		id;				/* from the node's event sequence (ring.h) */
	TimestampTz ts;
	int16		kind;			/* OrgThrottleEventKind */
	int16		worker_class;
	uint32		rule_id;
	int32		pid;
	char		rule_name[NAMEDATALEN];
	char		role[NAMEDATALEN];
	char		database[NAMEDATALEN];
	char		appname[NAMEDATALEN];
} OrgThrottleEvent;

typedef struct OrgThrottleInfo
{
	int64		rule_capacity;
	int64		rules_active;
	int64		event_capacity;
	uint64		events_written;
} OrgThrottleInfo;

extern void org_throttle_shmem_request(void);
extern void org_throttle_shmem_startup(void);
extern void org_throttle_install_hooks(void);

extern OrgThrottleRule *org_throttle_rules_collect(int *count);
extern OrgThrottleEvent *org_throttle_events_since(uint64 cursor, uint64 horizon,
												   int *count, bool *gap);
extern void org_throttle_info(OrgThrottleInfo *info);

extern const char *org_throttle_event_kind_name(int kind);

#endif							/* ORG_THROTTLE_H */
