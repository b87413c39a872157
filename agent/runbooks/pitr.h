/*
 * pitr.h: the executors of the native backup and point-in-time recovery
 * runbooks (pg_basebackup + a WAL archive directory).
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
	bool		dry_run;
} rb_pitr_request;

/* orguard-agent runbook pitr */
int			rb_pitr_native(const rb_settings *s, const rb_pitr_request *req);

/* the complete backups of backup_dir, oldest first */
bool		rb_backups_load(const char *backup_dir, pitr_backup **out, int *n, char *err, size_t errlen);
void		rb_backups_free(pitr_backup *b, int n);

/*
 * Switches the WAL segment on the primary c and waits until the archiver
 * has archived it (and, with archive_dir, until the file is there).
 */
bool		rb_archive_flush(PGconn *c, const rb_pitr_settings *p, char *detail, size_t len);

#endif
