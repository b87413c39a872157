/*
 * pitr_native.c: "orguard-agent runbook pitr" with the native backend: a
 * base backup from backup_dir plus the WAL archive, restored side by side
 * into a new data directory and port (or, with --in-place, into the
 * stopped source's own data directory), recovered to the target,
 * promoted, verified and timed.
 *
 * Steps (each journaled; a re-run after a crash resumes after the last
 * step that completed): plan, archive-flush (when the source answers),
 * [move-aside,] copy-backup, [keep-wal,] recovery-settings, start,
 * recovery, verify.  Nothing is changed before every guard holds: a
 * target is given and parsed, a base backup of this cluster precedes it,
 * the restore directory is new and the port is free (in place: the source
 * is stopped).  A resumed run checks every guard again, and the copy goes
 * through a staging directory so that nothing it did not create is ever
 * deleted or taken for its restore (pitr_owner.h).
 */
#include "runbooks/exec.h"
#include "runbooks/pgconn.h"
#include "runbooks/pitr.h"
#include "runbooks/pitr_node.h"
#include "runbooks/pitr_owner.h"
#include "runbooks/pitr_source.h"
#include "runbooks/rbfile.h"
#include "runbooks/rbutil.h"
#include "runbooks/run.h"
#include "common/files.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct pitr_job
{
	const rb_settings *s;
	const rb_pitr_settings *p;
	const rb_pitr_request *req;
	pitr_dest	d;				/* where the restore goes (pitr_node.h) */
	pitr_backup *backups;
	int			n_backups;
	int			chosen;
	uint64_t	sysid;
	char		pg_version[16]; /* the chosen backup's PG_VERSION */
	pitr_identity id;			/* of this run's restore (pitr_owner.h) */
	double		t_copy;
} pitr_job;

static int
refuse(pitr_job *j, const char *fmt, const char *a, const char *b)
{
	return rb_run_finish(&j->d.r, "refused", fmt, a ? a : "", b ? b : "");
}

/* guards and the choice of a backup; no change yet (a resumed run checks them all again) */
static int
plan(pitr_job *j, PGconn *src)
{
	char		err[1024];
	int			rc;

	if (j->d.in_place && !pitr_in_place_config_guard(j->s, &j->d.target, err, sizeof(err)))
		return refuse(j, "%s%s", err, NULL);
	if (j->d.target.kind == PITR_TARGET_EVENT)
	{
		if (!pitr_resolve_event(src, j->p->node, &j->d.target, err, sizeof(err)))
			return refuse(j, "%s%s", err, NULL);
		pitr_target_describe(&j->d.target, j->d.target_text, sizeof(j->d.target_text));
	}
	j->sysid = pitr_source_sysid(src);
	if (!rb_backups_load(j->p->backup_dir, &j->backups, &j->n_backups, err, sizeof(err)))
		return refuse(j, "base_backup: %s%s", err, NULL);
	j->chosen = pitr_choose_backup(j->backups, j->n_backups, &j->d.target, j->sysid);
	if (j->chosen < 0)
	{
		char	   *list = pitr_describe_backups(j->backups, j->n_backups);

		rc = refuse(j, "base_backup: no base backup precedes the target; backups: %s%s", list, NULL);
		free(list);
		return rc;
	}
	{
		char	   *path = xasprintf("%s/%s/data/PG_VERSION", j->p->backup_dir, j->backups[j->chosen].label);
		char	   *v = file_read(path);

		snprintf(j->pg_version, sizeof(j->pg_version), "%.*s", v ? (int) strcspn(v, "\r\n") : 0, v ? v : "");
		free(v);
		free(path);
	}
	j->id = (pitr_identity)
	{
		j->d.r.run, j->backups[j->chosen].sysid, j->pg_version
	};
	if (j->d.in_place ? pitr_in_place_guard(j->s, &j->d.r, &j->d.target, j->d.aside, "copy-backup", &j->id, err, sizeof(err))
		: pitr_side_by_side_guard(&j->d.r, "copy-backup", j->d.restore_dir, j->d.port, j->d.sock_dir, &j->id,
								  err, sizeof(err)))
		return RB_EXIT_DONE;
	pitr_refused_resume_cleanup(&j->d.r, j->d.restore_dir, &j->id);
	return refuse(j, "%s%s", err, NULL);
}

/* the copy's progress: bytes under the new directory against the backup's */
typedef struct copy_watch
{
	pitr_job   *j;
	const char *dir;
	rb_progress progress;
	int64_t		walked_ms;
} copy_watch;

static void
copy_tick(void *ctx, const char *chunk, size_t n)
{
	copy_watch *w = ctx;
	int64_t		now = mono_ms();

	(void) chunk;
	(void) n;
	/* a walk of the copy costs: no more often than a line can be due */
	if (now - w->walked_ms < (w->progress.tty ? RB_PROGRESS_TTY_MS : RB_PROGRESS_LINE_S * 1000))
		return;
	w->walked_ms = now;
	rb_run_progress(&w->j->d.r, &w->progress, "copy-backup", w->dir, rb_tree_bytes(w->dir));
}

/* pitr_fill_fn: cp -a of the backup's data into dir (new) */
static bool
copy_backup(void *ctx, const char *dir, char *err, size_t errlen)
{
	pitr_job   *j = ctx;
	const pitr_backup *b = &j->backups[j->chosen];
	char	   *src = xasprintf("%s/%s/data", j->p->backup_dir, b->label);
	char	   *argv[] = {"cp", "-a", src, (char *) dir, NULL};
	strbuf		out;
	int			rc;
	copy_watch	watch = {.j = j, .dir = dir, .walked_ms = mono_ms()};

	rb_progress_init(&watch.progress, "restore copy", RB_PROGRESS_BYTES, 0, rb_tree_bytes(src),
					 rb_run_progress_tty(), mono_ms());
	sb_init(&out);
	rc = rb_exec_watched(argv, NULL, false, 24 * 3600, &out, copy_tick, &watch, err, errlen);
	rb_run_progress_end(&watch.progress);
	free(src);
	if (rc > 0)
		snprintf(err, errlen, "cp failed: %s", rb_tail_lines(out.data, 3));
	sb_free(&out);
	if (rc != 0)
		return false;
	if (chmod(dir, 0700) != 0)
	{
		snprintf(err, errlen, "cannot chmod %s: %s", dir, strerror(errno));
		return false;
	}
	return true;
}

/* side by side: own port and socket; in place: the source's port */
static char *
node_settings(const pitr_job *j)
{
	if (!j->d.in_place)
		return pitr_side_by_side_settings(j->d.port, j->d.sock_dir);
	if (j->d.port > 0)
		return xasprintf("# in place: the source's port\nport = %d\n", j->d.port);
	return xstrdup("");
}

static bool
write_settings(pitr_job *j, char *err, size_t errlen)
{
	char	   *restore_cmd = j->p->restore_command ? xstrdup(j->p->restore_command)
		: pitr_restore_command(j->p->archive_dir);
	char	   *rec = pitr_recovery_settings(&j->d.target, restore_cmd, j->p->target_timeline, j->d.r.run);
	char	   *side = node_settings(j);
	char	   *auto_conf = xasprintf("%s/postgresql.auto.conf", j->d.restore_dir);
	char	   *signal = xasprintf("%s/recovery.signal", j->d.restore_dir);
	char	   *standby = xasprintf("%s/standby.signal", j->d.restore_dir);
	char	   *pid = xasprintf("%s/postmaster.pid", j->d.restore_dir);
	char	   *all = xasprintf("%s%s", rec, side);
	bool		ok = true;
	char	   *existing = file_read(auto_conf);

	/* a resumed run may have appended already */
	if (!existing || !pitr_settings_appended(existing, j->d.r.run))
		ok = rb_file_write(auto_conf, all, true);
	ok = ok && rb_file_touch(signal);
	unlink(standby);
	unlink(pid);
	if (!ok)
		snprintf(err, errlen, "cannot write %s or %s: %s", auto_conf, signal, strerror(errno));
	free(existing);
	free(restore_cmd);
	free(rec);
	free(side);
	free(auto_conf);
	free(signal);
	free(standby);
	free(pid);
	free(all);
	return ok;
}

static void
print_plan(pitr_job *j, const char *s1, const char *s2)
{
	const rb_settings *s = j->s;
	char	   *restore_cmd = s->pitr.restore_command ? xstrdup(s->pitr.restore_command)
		: pitr_restore_command(s->pitr.archive_dir);
	char	   *rec = pitr_recovery_settings(&j->d.target, restore_cmd, s->pitr.target_timeline, "dry-run");

	rb_plan_text(&j->d.r, "plan: restore %s to %s\n"
		   "  base backup  %s (lsn %s..%s, timeline %u)\n", s->cluster, j->d.target_text,
		   j->backups[j->chosen].label, s1, s2, j->backups[j->chosen].timeline);
	if (j->d.in_place)
		rb_plan_text(&j->d.r, "  in place     move %s aside to %s (kept), copy the backup into %s, keep the old pg_wal's\n"
			   "               unarchived segments, port %d, log %s\n",
			   j->d.restore_dir, j->d.aside, j->d.restore_dir, j->d.port, j->d.logfile);
	else
		rb_plan_text(&j->d.r, "  copy to      %s (side by side, port %d, socket %s, log %s)\n",
			   j->d.restore_dir, j->d.port, j->d.sock_dir, j->d.logfile);
	rb_plan_text(&j->d.r, "  settings     appended to postgresql.auto.conf, plus recovery.signal:%s"
		   "  then         start, wait for the end of recovery, verify%s%s\n",
		   rec, s->pitr.check_query ? " with: " : "", s->pitr.check_query ? s->pitr.check_query : "");
	free(restore_cmd);
	free(rec);
}

/* the steps after the plan; returns the exit code */
static int
execute(pitr_job *j, PGconn *src)
{
	const rb_settings *s = j->s;
	char		err[2048];
	int			rc;

	/* the WAL up to now must be in the archive for targets close to now */
	pitr_step_archive_flush(&j->d.r, src, &s->pitr);
	if (j->d.in_place && !pitr_step_move_aside(&j->d.r, j->d.restore_dir, j->d.aside, &j->id, &rc))
		return rc;
	{
		char	   *from = xasprintf("from %s", j->backups[j->chosen].label);
		bool		ok = pitr_step_restore_files(&j->d.r, "copy-backup", j->d.restore_dir, &j->id, copy_backup, j,
												 from, &j->t_copy, &rc);

		free(from);
		if (!ok)
			return rc;
	}
	if (j->d.in_place && !pitr_step_keep_wal(&j->d.r, j->d.restore_dir, j->d.aside, &rc))
		return rc;
	if (!rb_run_step_done(&j->d.r, "recovery-settings", j->d.restore_dir))
	{
		if (!write_settings(j, err, sizeof(err)))
		{
			rb_run_step(&j->d.r, "recovery-settings", j->d.restore_dir, "failed", "%s", err);
			return rb_run_finish(&j->d.r, "failed", "cannot configure the restored node");
		}
		rb_run_step(&j->d.r, "recovery-settings", j->d.restore_dir, "ok", "target %s, action promote", j->d.target_text);
	}
	/* replay's progress runs from the backup's start to an LSN target (a time has no LSN) */
	j->d.node.replay_from = j->backups[j->chosen].start_lsn;
	j->d.node.replay_to = j->d.target.kind == PITR_TARGET_TIME ? 0 : j->d.target.lsn;
	return pitr_bring_up(&j->d.r, &j->d.node, j->backups[j->chosen].timeline, s->pitr.check_query, j->d.target_text,
						 j->d.port, j->t_copy);
}

int
rb_pitr_native(const rb_settings *s, const rb_pitr_request *req)
{
	pitr_job	j;
	PGconn	   *src = NULL;
	int			rc;
	char		s1[24],
				s2[24];

	memset(&j, 0, sizeof(j));
	j.s = s;
	j.p = &s->pitr;
	j.req = req;
	j.chosen = -1;
	if ((rc = pitr_dest_open(&j.d, s, &req->target, req->restore_dir, req->restore_port, req->in_place,
							 req->dry_run, "the archive", &src)) != RB_EXIT_DONE)
		goto out;
	if ((rc = plan(&j, src)) != RB_EXIT_DONE)
		goto out;
	rb_lsn_format(j.backups[j.chosen].start_lsn, s1, sizeof(s1));
	rb_lsn_format(j.backups[j.chosen].stop_lsn, s2, sizeof(s2));
	if (req->dry_run)
	{
		print_plan(&j, s1, s2);
		rc = rb_run_finish(&j.d.r, "done", "nothing changed");
		goto out;
	}
	if (j.d.in_place)
		rb_run_step(&j.d.r, "plan", j.d.restore_dir, "ok", "%s from backup %s (lsn %s..%s) in place, old data kept as %s",
					j.d.target_text, j.backups[j.chosen].label, s1, s2, j.d.aside);
	else
		rb_run_step(&j.d.r, "plan", j.d.restore_dir, "ok", "%s from backup %s (lsn %s..%s) on port %d",
					j.d.target_text, j.backups[j.chosen].label, s1, s2, j.d.port);
	rc = execute(&j, src);
out:
	PQfinish(src);
	rb_backups_free(j.backups, j.n_backups);
	pitr_dest_close(&j.d);
	return rc;
}
