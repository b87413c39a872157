/*
 * pitr_source.h: what a point-in-time recovery asks of the source cluster
 * (the LSN a destructive event began at, its system identifier) and, for
 * an in-place restore, does to it (checks it is stopped, moves its data
 * directory aside, keeps the WAL the archive may lack).  Shared by the
 * native and pgBackRest executors.
 */
#ifndef ORGUARD_RB_PITR_SOURCE_H
#define ORGUARD_RB_PITR_SOURCE_H

#include "common/config.h"
#include "runbooks/pitr_owner.h"
#include "runbooks/pitr_plan.h"
#include "runbooks/run.h"
#include "runbooks/settings.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A --before-event target becomes "stop before the event's lsn_before",
 * read from odoo_retail_guard.destructive_events on src (NULL: the source
 * does not answer).  False with err starting with the unmet guard.
 */
bool		pitr_resolve_event(PGconn *src, const node_cfg *node, pitr_target *t, char *err, size_t errlen);
/* the source's system identifier, 0 when unknown */
uint64_t	pitr_source_sysid(PGconn *src);

/* the port in the node's conninfo, 0 when it has none */
int			pitr_node_port(const node_cfg *node);

/*
 * In place: the source must be down, or the restore would pull its files
 * away under a running server.  Checks pg_ctl status on data_dir (with
 * dir_may_be_missing, a data_dir that is not there passes) and that
 * nothing answers at the node's conninfo; false with err naming the guard.
 */
bool		pitr_source_stopped(const char *bin_dir, const char *data_dir, const node_cfg *node,
								bool dir_may_be_missing, char *err, size_t errlen);
/*
 * Every guard of an in-place restore, checked again by a resumed run:
 * data_dir and node configured, a target that does not need the running
 * source; before the restore has started, the source stopped (whatever
 * is at data_dir now), the aside path free when data_dir is to be moved
 * there, and no foreign staging directory; once files were restored
 * (copy_step journaled, or start begun), data_dir must be this run's
 * restore (pitr_owner.h), whatever an operator put there meanwhile.
 * False with err naming the unmet guard.
 */
bool		pitr_in_place_guard(const rb_settings *s, const rb_run *r, const pitr_target *t, const char *aside,
								const char *copy_step, const pitr_identity *id, char *err, size_t errlen);
/*
 * A resumed run refused by a guard is closed: its own cut-short copy in
 * the staging directory of dest (proven by its marker) goes with it;
 * nothing else is touched.  Call before the run is finished.
 */
void		pitr_refused_resume_cleanup(const rb_run *r, const char *dest, const pitr_identity *id);
/*
 * postgresql.auto.conf text holds the settings this run appended (their
 * "# orguard-agent runbook pitr, run RUN" line): a resumed run appends
 * them once.  The run id alone is no proof: pgBackRest writes the staging
 * path, which holds it, into its restore_command.
 */
bool		pitr_settings_appended(const char *auto_conf_text, const char *run);
/* the target checks of an in-place restore that need no backup (before the choice) */
bool		pitr_in_place_config_guard(const rb_settings *s, const pitr_target *t, char *err, size_t errlen);

/* DATA.before-pitr-RUN: where the old data directory is kept */
char	   *pitr_aside_path(const char *data_dir, const char *run);
/* renames data_dir to aside (same file system: never a copy, never a delete, never over aside) */
bool		pitr_move_aside(const char *data_dir, const char *aside, char *err, size_t errlen);

/*
 * Copies the WAL segments of the old pg_wal that the restored one lacks:
 * the archive may not have the last ones (a stopped server leaves its
 * current segment unarchived), and recovery reads pg_wal when the archive
 * has no file.  *copied counts them.
 */
bool		pitr_keep_unarchived_wal(const char *aside, const char *data_dir, int *copied,
									 char *err, size_t errlen);

/* the steps both executors share, each journaled through rb_run_step */

/*
 * archive-flush: when src is a primary, switch WAL and wait for it in the
 * archive, so that targets close to now are reachable (a failure is only
 * recorded: the restore may still reach an older target)
 */
void		pitr_step_archive_flush(rb_run *r, PGconn *src, const rb_pitr_settings *p);
/*
 * move-aside (in place): whatever is at data_dir and is not this run's
 * restore (the source; or, in a resumed run, a data directory an operator
 * moved back) is renamed to aside.  False once it failed and the run is
 * finished, *rc its exit code.
 */
bool		pitr_step_move_aside(rb_run *r, const char *data_dir, const char *aside, const pitr_identity *id,
								 int *rc);
/* keep-wal (in place); false once it failed and the run is finished, *rc its exit code */
bool		pitr_step_keep_wal(rb_run *r, const char *data_dir, const char *aside, int *rc);

/* fills dir (new, absent) with the backup's files; false with err */
typedef bool (*pitr_fill_fn) (void *ctx, const char *dir, char *err, size_t errlen);

/*
 * The copy step (copy-backup, restore) into dest through this run's
 * staging directory (pitr_owner.h): a complete restore of this run found
 * at dest is taken as done; a copy cut short is removed once proven ours.
 * *took: the fill's seconds.  False once it failed and the run is
 * finished, *rc its exit code.
 */
bool		pitr_step_restore_files(rb_run *r, const char *step, const char *dest, const pitr_identity *id,
									pitr_fill_fn fill, void *ctx, const char *detail, double *took, int *rc);

/*
 * Where a request restores to: in place, data_dir and the node's port
 * (or --restore-port); side by side, --restore-dir/restore_dir and
 * --restore-port/restore_port.  Returns the run's parameters (for the
 * journal and resumption), malloc'd.
 */
char	   *pitr_request_destination(const rb_settings *s, bool in_place, const char *req_dir, int req_port,
									 const char *target_text, const char **restore_dir, int *port);

#endif
