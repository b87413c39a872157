/*
 * pitr_plan.h: the decisions of the point-in-time recovery runbook,
 * without I/O: the recovery target, which base backup can reach it, and
 * the recovery settings the restored node starts with.
 */
#ifndef ORGUARD_RB_PITR_PLAN_H
#define ORGUARD_RB_PITR_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum pitr_target_kind
{
	PITR_TARGET_TIME,
	PITR_TARGET_LSN,
	PITR_TARGET_EVENT			/* resolved to an LSN by the executor */
} pitr_target_kind;

typedef struct pitr_target
{
	pitr_target_kind kind;
	int64_t		time_us;
	uint64_t	lsn;
	int64_t		event_id;
	bool		inclusive;		/* recovery_target_inclusive */
} pitr_target;

/* parses the argument of --target-time, --target-lsn or --before-event */
bool		pitr_target_parse(pitr_target_kind kind, const char *text, pitr_target *t,
							  char *err, size_t errlen);
/* a --before-event target becomes "stop before the LSN the event began at" */
void		pitr_target_resolve_event(pitr_target *t, uint64_t lsn_before);
/* "lsn 0/3000028", "time 2026-...", "before event 42" */
void		pitr_target_describe(const pitr_target *t, char *buf, size_t len);

typedef struct pitr_backup
{
	char	   *label;			/* directory name inside backup_dir */
	uint64_t	sysid;			/* 0: unknown */
	uint32_t	timeline;
	uint64_t	start_lsn;
	uint64_t	stop_lsn;		/* consistent from here on */
	int64_t		start_us;
	int64_t		stop_us;		/* 0: unknown (no time target can use it) */
} pitr_backup;

/*
 * The newest backup that becomes consistent before the target (stop LSN
 * or stop time not after it), of cluster sysid when that is non-zero;
 * -1 when none precedes the target.
 */
int			pitr_choose_backup(const pitr_backup *b, int n, const pitr_target *t, uint64_t sysid);
/* one line per backup, for refusals and listings ("none" when n == 0) */
char	   *pitr_describe_backups(const pitr_backup *b, int n);

/* 'cp "DIR/%f" "%p"' with DIR quoted for the shell */
char	   *pitr_restore_command(const char *archive_dir);

/*
 * The lines appended to postgresql.auto.conf of the restored node:
 * restore_command, the target, recovery_target_action = 'promote' and
 * recovery_target_timeline; extra (may be NULL) is appended as is.
 */
char	   *pitr_recovery_settings(const pitr_target *t, const char *restore_command,
								   const char *target_timeline, const char *run);

/* backup_label: START WAL LOCATION, START TIMELINE, START TIME */
bool		pitr_parse_backup_label(const char *text, pitr_backup *b);
/* backup_manifest: the End-LSN and Timeline of its last WAL range */
bool		pitr_parse_manifest(const char *json, pitr_backup *b);
/* the catalog file the backup runbook writes next to each backup */
char	   *pitr_backup_to_json(const pitr_backup *b);
bool		pitr_backup_from_json(const char *json, pitr_backup *b);
void		pitr_backup_free(pitr_backup *b);

#endif
