/*-------------------------------------------------------------------------
 *
 * destructive.h
 *		Destructive-statement journal: DROP TABLE, TRUNCATE and large DELETE
 *		or UPDATE, each with the WAL insert position taken before it ran, so a
 *		point-in-time recovery can stop just before it.  Read accessors are
 *		shared by the SQL view and the agent snapshot.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_DESTRUCTIVE_H
#define ORG_DESTRUCTIVE_H

#include "postgres.h"

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

typedef enum OrgDestructiveKind
{
	ORG_DESTRUCTIVE_DROP_TABLE = 0,
	ORG_DESTRUCTIVE_TRUNCATE,
	ORG_DESTRUCTIVE_DELETE,
	ORG_DESTRUCTIVE_UPDATE
} OrgDestructiveKind;

typedef struct OrgDestructiveEvent
{
	uint64		id;				/* from the node's event sequence (ring.h) */
	TimestampTz ts;
	int16		kind;			/* OrgDestructiveKind */
	int32		pid;
	Oid			dbid;
	Oid			userid;
	TransactionId xid;
	XLogRecPtr	lsn_before;
	int64		rows;			/* -1: unknown (a table never analyzed) */
	char		appname[NAMEDATALEN];
	char		relation[NAMEDATALEN * 2];
	char		model[NAMEDATALEN];
	int16		origin;			/* OrgEventOrigin (cron_jobs.h) */
	int64		cron_job_id;	/* ir_cron id of the job that ran it; 0 none */
	int32		cron_pid;		/* that job's cron cursor; 0 none */
	char	   *text;			/* normalized; NULL when not asked for */
} OrgDestructiveEvent;

typedef struct OrgDestructiveInfo
{
	int64		capacity;
	uint64		written;
} OrgDestructiveInfo;

extern void org_destructive_shmem_request(void);
extern void org_destructive_shmem_startup(void);
extern void org_destructive_install_hooks(void);

extern OrgDestructiveEvent *org_destructive_events_since(uint64 cursor,
														 uint64 horizon,
														 int *count, bool *gap,
														 bool with_text);
extern void org_destructive_info(OrgDestructiveInfo *info);
extern const char *org_destructive_kind_name(int kind);

#endif							/* ORG_DESTRUCTIVE_H */
