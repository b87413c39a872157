/*-------------------------------------------------------------------------
 *
 * destructive.h
 *		Destructive-change journal: DROP TABLE, TRUNCATE, and DELETE or UPDATE
 *		rows summed per transaction and relation, each event with the WAL
 *		insert position taken before the first statement that made it, so a
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
#include "utils/palloc.h"

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
	int32		statements;		/* statements of the transaction that made it */
	uint64		cause_event_id; /* cascaded rows: the event that caused them */
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
	uint64		rolled_back;	/* transactions over the threshold rolled back */
	uint64		untracked_relations;	/* past the per-backend cap */
} OrgDestructiveInfo;

/*
 * Between destructive.c (hooks, ring) and destructive_xact.c (the
 * per-transaction table).  A payload is one event ready to be written but
 * for its counts; it is prepared at statement time, when catalog access is
 * allowed, and written at commit, when it is not.
 */
typedef struct DestructivePayload DestructivePayload;

extern DestructivePayload *org_destructive_prepare(Oid relid, int16 kind,
												   const char *text,
												   MemoryContext cxt);
extern uint64 org_destructive_write(DestructivePayload *p, int64 rows,
									int32 statements, XLogRecPtr lsn_before,
									uint64 cause_event_id);
extern void org_destructive_count(uint64 rolled_back, uint64 untracked);

/* destructive_xact.c */
extern void org_journal_register_callbacks(void);
extern MemoryContext org_journal_context(void);
extern int	org_journal_find(Oid relid, int16 kind, int cause);
extern int	org_journal_add(Oid relid, int16 kind, int cause, XLogRecPtr lsn,
							const char *source, int location, int len);
extern void org_journal_count_rows(int entry, int64 rows);
extern void org_journal_add_event(Oid relid, int16 kind, XLogRecPtr lsn,
								  int64 rows_estimate, DestructivePayload *p);

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
