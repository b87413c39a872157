/*
 * pitr.h: the executors of the backup and point-in-time recovery
 * runbooks: native (pg_basebackup + a WAL archive directory) and
 * pgBackRest (a stanza of its own configuration).
 *
 * Layout of backup_dir: one directory per base backup, named by its UTC
 * start time, holding data/ (the pg_basebackup output, plain format, taken
 * with an immediate checkpoint and its WAL streamed) and backup.json (the
 * catalog entry: system identifier, timeline, start/stop LSN and time).
 * A backup is written to NAME.partial and renamed when complete.
 */
#ifndef ORGUARD_RB_PITR_H
#define ORGUARD_RB_PITR_H

#include "runbooks/pitr_plan.h"
#include "runbooks/plan.h"
#include "runbooks/settings.h"

#include <libpq-fe.h>
#include <stdbool.h>

/* orguard-agent runbook backup */
int			rb_backup_native(const rb_settings *s, bool dry_run);

typedef struct rb_pitr_request
{
	pitr_target target;
	const char *restore_dir;	/* overrides the setting */
	int			restore_port;	/* overrides the setting */
	bool		in_place;		/* restore into the source's data_dir (stopped) */
	bool		dry_run;
} rb_pitr_request;

/* orguard-agent runbook pitr */
int			rb_pitr_native(const rb_settings *s, const rb_pitr_request *req);

/* the same with backend = pgbackrest (pitr_pgbackrest.c) */
int			rb_backup_pgbackrest(const rb_settings *s, bool dry_run);
int			rb_pitr_pgbackrest(const rb_settings *s, const rb_pitr_request *req);
int			rb_list_backups_pgbackrest(const rb_settings *s, rb_format fmt);

/* the complete backups of backup_dir, oldest first */
bool		rb_backups_load(const char *backup_dir, pitr_backup **out, int *n, char *err, size_t errlen);
void		rb_backups_free(pitr_backup *b, int n);

/*
 * Switches the WAL segment on the primary c and waits until the archiver
 * has archived it (and, with archive_dir, until the file is there).
 */
bool		rb_archive_flush(PGconn *c, const rb_pitr_settings *p, char *detail, size_t len);

#endif
