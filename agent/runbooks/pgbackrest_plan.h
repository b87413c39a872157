/*
 * pgbackrest_plan.h: the pgBackRest backend's decisions, without I/O: its
 * catalogue (`pgbackrest info --output=json`) read into the PITR
 * runbook's backups, and the command lines of backup, check, info and
 * restore.
 */
#ifndef ORGUARD_RB_PGBACKREST_PLAN_H
#define ORGUARD_RB_PGBACKREST_PLAN_H

#include "runbooks/pitr_plan.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct pgbr_backups
{
	pitr_backup *v;				/* oldest first (by stop LSN) */
	const char **type;			/* "full", "diff" or "incr", per backup */
	int			n;
} pgbr_backups;

/*
 * The complete backups of stanza in the output of `pgbackrest info
 * --output=json`: label, type, start/stop LSN and time, timeline (from
 * the first WAL segment) and system identifier (from the stanza's db
 * list).  Backups in error are left out.  False with err filled when the
 * text is not that output or the stanza is not in it.
 */
bool		pgbr_parse_info(const char *json, const char *stanza, pgbr_backups *out,
							char *err, size_t errlen);
void		pgbr_backups_free(pgbr_backups *b);
/* one line per backup with its type, for list-backups ("none" when empty) */
char	   *pgbr_describe_backups(const pgbr_backups *b);

/* a NULL-terminated argument vector; every string is owned by it */
typedef struct pgbr_argv
{
	char	  **v;
	int			n;
} pgbr_argv;

void		pgbr_argv_free(pgbr_argv *a);
/* the words of a for a human (dry run, journal), shell-quoted */
char	   *pgbr_argv_describe(const pgbr_argv *a);

typedef struct pgbr_cmd
{
	const char *bin;			/* the pgbackrest program */
	const char *config;			/* --config, NULL for the tool's default */
	const char *stanza;
} pgbr_cmd;

/* full backup with an immediate checkpoint (--start-fast) */
pgbr_argv	pgbr_backup_argv(const pgbr_cmd *c);
/* pgbackrest check: the stanza's archiving works end to end */
pgbr_argv	pgbr_check_argv(const pgbr_cmd *c);
/* pgbackrest info --output=json */
pgbr_argv	pgbr_info_argv(const pgbr_cmd *c);

/*
 * pgbackrest restore of backup label into pg_path, recovering to target
 * (time or LSN; a --before-event target is an exclusive LSN) and then
 * promoting; target_timeline may be NULL.
 */
pgbr_argv	pgbr_restore_argv(const pgbr_cmd *c, const char *pg_path, const char *label,
							  const pitr_target *t, const char *target_timeline);

#endif
