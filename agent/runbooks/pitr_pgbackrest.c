/*
 * pitr_pgbackrest.c: the backup and point-in-time recovery runbooks with
 * backend = pgbackrest: the repository, its WAL archive and its catalogue
 * belong to pgBackRest (a stanza of its configuration file); the agent
 * chooses the backup itself, has pgBackRest restore it, then brings the
 * node up and verifies it exactly as the native backend does.
 *
 *   backup        pgbackrest backup --type=full --start-fast, then check
 *   list-backups  pgbackrest info --output=json
 *   pitr          plan, archive-flush, [move-aside,] restore, [keep-wal,]
 *                 node-settings, start, recovery, verify
 */
#include "runbooks/exec.h"
#include "runbooks/list_json.h"
#include "runbooks/pgbackrest_plan.h"
#include "runbooks/pgconn.h"
#include "runbooks/pitr.h"
#include "runbooks/pitr_node.h"
#include "runbooks/pitr_owner.h"
#include "runbooks/pitr_source.h"
#include "runbooks/rbutil.h"
#include "runbooks/run.h"
#include "common/files.h"
#include "common/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pgbr_cmd
cmd_of(const rb_settings *s)
{
	pgbr_cmd	c = {s->pitr.pgbackrest_bin, s->pitr.pgbackrest_config, s->pitr.stanza};

	return c;
}

/*
 * Runs a pgbackrest command line; its output (stdout and stderr) in out.
 * Returns its exit status, -1 with err filled when it could not run.
 */
static int
run_pgbackrest(const rb_settings *s, const pgbr_argv *a, double timeout_s, strbuf *out, char *err, size_t errlen)
{
	char	   *pw = s->pitr.node ? rb_password_env(s->pitr.node) : NULL;
	char	   *env[] = {pw, NULL};
	int			rc = rb_exec_pq(a->v, env, timeout_s, out, err, errlen);

	free(pw);
	return rc;
}

/*
 * PG_VERSION of the stanza's database with system identifier sysid
 * ("15"), from pgbackrest info's db list; "" when not found
 */
static void
info_pg_version(const char *json, const char *stanza, uint64_t sysid, char *buf, size_t len)
{
	json_t	   *root = json_loads(json, 0, NULL);
	json_t	   *st,
			   *db;
	size_t		i,
				k;

	buf[0] = '\0';
	json_array_foreach(root, i, st)
		if (json_is_string(json_object_get(st, "name")) && !strcmp(json_string_value(json_object_get(st, "name")), stanza))
			json_array_foreach(json_object_get(st, "db"), k, db)
				if ((uint64_t) json_integer_value(json_object_get(db, "system-id")) == sysid &&
					json_is_string(json_object_get(db, "version")))
					snprintf(buf, len, "%s", json_string_value(json_object_get(db, "version")));
	json_decref(root);
}

/* the stanza's backups, from pgbackrest info; json (may be NULL) receives its text */
static bool
load_backups(const rb_settings *s, pgbr_backups *b, char **json, char *err, size_t errlen)
{
	pgbr_cmd	c = cmd_of(s);
	pgbr_argv	a = pgbr_info_argv(&c);
	strbuf		out;
	int			rc;
	bool		ok;

	sb_init(&out);
	rc = run_pgbackrest(s, &a, 120, &out, err, errlen);
	pgbr_argv_free(&a);
	if (rc != 0)
	{
		if (rc > 0)
			snprintf(err, errlen, "pgbackrest info failed (exit %d): %s", rc, rb_tail_lines(out.data, 3));
		sb_free(&out);
		memset(b, 0, sizeof(*b));
		return false;
	}
	/* warnings go to stderr, which out shares: the JSON starts at its '[' */
	ok = pgbr_parse_info(strchr(out.data, '[') ? strchr(out.data, '[') : out.data, s->pitr.stanza, b, err, errlen);
	if (ok && json)
		*json = xstrdup(strchr(out.data, '[') ? strchr(out.data, '[') : out.data);
	sb_free(&out);
	return ok;
}

int
rb_list_backups_pgbackrest(const rb_settings *s, rb_format fmt)
{
	pgbr_backups b;
	char		err[1024];
	char	   *list;

	if (!load_backups(s, &b, NULL, err, sizeof(err)))
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return RB_EXIT_FAILED;
	}
	if (fmt == RB_FORMAT_JSON)
	{
		list = rb_backups_json(b.v, b.type, b.n);
		printf("%s\n", list);
		free(list);
	}
	else if (b.n == 0)
		printf("no backups in stanza %s\n", s->pitr.stanza);
	else
	{
		list = pgbr_describe_backups(&b);
		printf("%s\n", list);
		free(list);
	}
	pgbr_backups_free(&b);
	return RB_EXIT_DONE;
}

int
rb_backup_pgbackrest(const rb_settings *s, bool dry_run)
{
	pgbr_cmd	c = cmd_of(s);
	pgbr_argv	backup = pgbr_backup_argv(&c),
				check = pgbr_check_argv(&c);
	char	   *bd = pgbr_argv_describe(&backup),
			   *cd = pgbr_argv_describe(&check);
	rb_run		r;
	char		err[1024];
	strbuf		out;
	pgbr_backups b = {0};
	int			rc;
	int64_t		t0;
	double		took;

	sb_init(&out);
	rc = rb_run_begin(&r, s, "backup", dry_run, err, sizeof(err));
	if (rc != RB_EXIT_DONE)
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		goto out;
	}
	if (dry_run)
	{
		rb_plan_text(&r, "plan: %s\n      then %s (a WAL switch must reach the repository)\n", bd, cd);
		rc = rb_run_finish(&r, "done", "backup of stanza %s", s->pitr.stanza);
		goto out;
	}
	rb_run_step(&r, "base-backup", s->pitr.stanza, "started", "%s", bd);
	t0 = mono_ms();
	rc = run_pgbackrest(s, &backup, s->pitr.backup_timeout_s, &out, err, sizeof(err));
	took = (double) (mono_ms() - t0) / 1000.0;
	if (rc != 0)
	{
		rb_run_step(&r, "base-backup", s->pitr.stanza, "failed", "%s", rc < 0 ? err : rb_tail_lines(out.data, 5));
		rc = rb_run_finish(&r, "failed", "pgbackrest backup failed");
		goto out;
	}
	if (load_backups(s, &b, NULL, err, sizeof(err)) && b.n > 0)
	{
		const pitr_backup *last = &b.v[b.n - 1];
		char		s1[24],
					s2[24];

		rb_lsn_format(last->start_lsn, s1, sizeof(s1));
		rb_lsn_format(last->stop_lsn, s2, sizeof(s2));
		rb_run_step(&r, "base-backup", s->pitr.stanza, "ok", "%s lsn %s..%s timeline %u in %.2f s",
					last->label, s1, s2, last->timeline, took);
	}
	else
		rb_run_step(&r, "base-backup", s->pitr.stanza, "ok", "in %.2f s (catalogue not read: %s)", took,
					b.n ? "" : err);
	sb_reset(&out);
	rc = run_pgbackrest(s, &check, s->pitr.archive_timeout_s + 60, &out, err, sizeof(err));
	if (rc != 0)
	{
		rb_run_step(&r, "archive-check", s->pitr.stanza, "failed", "%s", rc < 0 ? err : rb_tail_lines(out.data, 5));
		rc = rb_run_finish(&r, "failed", "backup taken, but WAL archiving does not work: PITR past its end is impossible");
		goto out;
	}
	rb_run_step(&r, "archive-check", s->pitr.stanza, "ok", "pgbackrest check: WAL reaches the repository");
	rc = rb_run_finish(&r, "done", "backup %s in %.2f s", b.n ? b.v[b.n - 1].label : "?", took);
out:
	pgbr_backups_free(&b);
	pgbr_argv_free(&backup);
	pgbr_argv_free(&check);
	free(bd);
	free(cd);
	sb_free(&out);
	return rc;
}

typedef struct pgbr_job
{
	const rb_settings *s;
	const rb_pitr_request *req;
	pitr_dest	d;				/* where the restore goes (pitr_node.h) */
	pgbr_backups backups;
	int			chosen;
	char	   *info_json;		/* pgbackrest info's output */
	char		pg_version[16]; /* of the chosen backup's database */
	pitr_identity id;			/* of this run's restore (pitr_owner.h) */
	double		t_restore;
} pgbr_job;

static int
refuse(pgbr_job *j, const char *fmt, const char *a)
{
	return rb_run_finish(&j->d.r, "refused", fmt, a ? a : "");
}

/* guards and the choice of a backup; no change yet */
static int
plan(pgbr_job *j, PGconn *src)
{
	char		err[2048];

	if (j->d.in_place && !pitr_in_place_config_guard(j->s, &j->d.target, err, sizeof(err)))
		return refuse(j, "%s", err);
	if (j->d.target.kind == PITR_TARGET_EVENT)
	{
		if (!pitr_resolve_event(src, j->s->pitr.node, &j->d.target, err, sizeof(err)))
			return refuse(j, "%s", err);
		pitr_target_describe(&j->d.target, j->d.target_text, sizeof(j->d.target_text));
	}
	if (!load_backups(j->s, &j->backups, &j->info_json, err, sizeof(err)))
		return refuse(j, "base_backup: %s", err);
	/* the choice is the agent's: pgBackRest would take a later backup silently */
	j->chosen = pitr_choose_backup(j->backups.v, j->backups.n, &j->d.target, pitr_source_sysid(src));
	if (j->chosen < 0)
	{
		char	   *list = pitr_describe_backups(j->backups.v, j->backups.n);
		int			rc = rb_run_finish(&j->d.r, "refused", "base_backup: no base backup precedes the target; backups: %s", list);

		free(list);
		return rc;
	}
	info_pg_version(j->info_json, j->s->pitr.stanza, j->backups.v[j->chosen].sysid, j->pg_version,
					sizeof(j->pg_version));
	j->id = (pitr_identity)
	{
		j->d.r.run, j->backups.v[j->chosen].sysid, j->pg_version
	};
	if (j->d.in_place ? pitr_in_place_guard(j->s, &j->d.r, &j->d.target, j->d.aside, "restore", &j->id, err, sizeof(err))
		: pitr_side_by_side_guard(&j->d.r, "restore", j->d.restore_dir, j->d.port, j->d.sock_dir, &j->id,
								  err, sizeof(err)))
		return RB_EXIT_DONE;
	pitr_refused_resume_cleanup(&j->d.r, j->d.restore_dir, &j->id);
	return refuse(j, "%s", err);
}

/* pgbackrest restore into dir: this run's staging copy of the destination */
static pgbr_argv
restore_argv(const pgbr_job *j, const char *dir)
{
	pgbr_cmd	c = cmd_of(j->s);

	return pgbr_restore_argv(&c, dir, j->backups.v[j->chosen].label, &j->d.target, j->s->pitr.target_timeline);
}

/*
 * pgBackRest writes --pg1-path into the restore_command it generates, and
 * archive-get reads the control file there: after the staging copy was
 * renamed into place, the node fetches WAL with the final path.
 */
static char *
restore_command(const pgbr_job *j)
{
	const rb_pitr_settings *p = &j->s->pitr;
	char	   *bin = rb_shell_quote(p->pgbackrest_bin ? p->pgbackrest_bin : "pgbackrest");
	char	   *conf = p->pgbackrest_config ? rb_shell_quote(p->pgbackrest_config) : NULL;
	char	   *path = rb_shell_quote(j->d.restore_dir);
	char	   *stanza = rb_shell_quote(p->stanza);
	char	   *cmd = xasprintf("%s%s%s --pg1-path=%s --stanza=%s archive-get %%f \"%%p\"", bin,
								conf ? " --config=" : "", conf ? conf : "", path, stanza);
	char	   *q = rb_conf_quote(cmd);
	char	   *line = xasprintf("restore_command = %s\n", q);

	free(bin);
	free(conf);
	free(path);
	free(stanza);
	free(cmd);
	free(q);
	return line;
}

/* side by side: own port and socket; in place: the source's port */
static char *
node_settings(const pgbr_job *j)
{
	char	   *body;
	char	   *all;

	char	   *fetch = restore_command(j);

	if (!j->d.in_place)
		body = pitr_side_by_side_settings(j->d.port, j->d.sock_dir);
	else if (j->d.port > 0)
		body = xasprintf("# in place: the source's port\nport = %d\n", j->d.port);
	else
		body = xstrdup("");
	all = xasprintf("# orguard-agent runbook pitr, run %s, after pgbackrest restore\n%s%s", j->d.r.run, fetch, body);
	free(fetch);
	free(body);
	return all;
}

/* pitr_fill_fn: pgbackrest restore into dir (new, empty) */
static bool
restore(void *ctx, const char *dir, char *err, size_t errlen)
{
	pgbr_job   *j = ctx;
	pgbr_argv	a = restore_argv(j, dir);
	strbuf		out;
	int			rc;

	if (mkdir(dir, 0700) != 0)
	{
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		pgbr_argv_free(&a);
		return false;
	}
	sb_init(&out);
	rc = run_pgbackrest(j->s, &a, j->s->pitr.backup_timeout_s, &out, err, errlen);
	if (rc > 0)
		snprintf(err, errlen, "pgbackrest restore failed (exit %d): %s", rc, rb_tail_lines(out.data, 3));
	sb_free(&out);
	pgbr_argv_free(&a);
	return rc == 0;
}

static bool
write_node_settings(pgbr_job *j, char *err, size_t errlen)
{
	char	   *auto_conf = xasprintf("%s/postgresql.auto.conf", j->d.restore_dir);
	char	   *existing = file_read(auto_conf);
	char	   *text = node_settings(j);
	bool		ok = true;

	/* pgBackRest wrote the recovery settings; a resumed run may have appended already */
	if (!existing || !strstr(existing, "recovery_target_action"))
	{
		snprintf(err, errlen, "%s lacks the recovery settings pgbackrest restore writes", auto_conf);
		ok = false;
	}
	else if (!pitr_settings_appended(existing, j->d.r.run) && !rb_file_write(auto_conf, text, true))
	{
		snprintf(err, errlen, "cannot append to %s: %s", auto_conf, strerror(errno));
		ok = false;
	}
	free(auto_conf);
	free(existing);
	free(text);
	return ok;
}

static void
print_plan(pgbr_job *j)
{
	const pitr_backup *b = &j->backups.v[j->chosen];
	char	   *staging = pitr_staging_data(j->d.restore_dir, j->d.r.run);
	pgbr_argv	a = restore_argv(j, staging);
	char	   *cmd = pgbr_argv_describe(&a);
	char	   *settings = node_settings(j);
	char		s1[24],
				s2[24];

	rb_lsn_format(b->start_lsn, s1, sizeof(s1));
	rb_lsn_format(b->stop_lsn, s2, sizeof(s2));
	rb_plan_text(&j->d.r, "plan: restore %s to %s\n"
		   "  backup       %s %s (lsn %s..%s, timeline %u) of stanza %s\n", j->s->cluster, j->d.target_text,
		   j->backups.type[j->chosen], b->label, s1, s2, b->timeline, j->s->pitr.stanza);
	if (j->d.in_place)
		rb_plan_text(&j->d.r, "  in place     move %s aside to %s (kept), restore into %s, keep the old pg_wal's\n"
			   "               unarchived segments, port %d, log %s\n",
			   j->d.restore_dir, j->d.aside, j->d.restore_dir, j->d.port, j->d.logfile);
	else
		rb_plan_text(&j->d.r, "  restore to   %s (side by side, port %d, socket %s, log %s)\n",
			   j->d.restore_dir, j->d.port, j->d.sock_dir, j->d.logfile);
	rb_plan_text(&j->d.r, "  command      %s\n"
		   "               (into this run's staging directory, renamed to %s when complete)\n"
		   "  settings     appended to postgresql.auto.conf:\n%s"
		   "  then         start, wait for the end of recovery, verify%s%s\n",
		   cmd, j->d.restore_dir, settings, j->s->pitr.check_query ? " with: " : "", j->s->pitr.check_query ? j->s->pitr.check_query : "");
	free(cmd);
	free(settings);
	free(staging);
	pgbr_argv_free(&a);
}

static int
execute(pgbr_job *j, PGconn *src)
{
	const rb_settings *s = j->s;
	char		err[2048];
	int			rc;

	/* the WAL up to now must be in the archive for targets close to now */
	pitr_step_archive_flush(&j->d.r, src, &s->pitr);
	if (j->d.in_place && !pitr_step_move_aside(&j->d.r, j->d.restore_dir, j->d.aside, &j->id, &rc))
		return rc;
	{
		char	   *detail = xasprintf("pgbackrest restore of %s, %s", j->backups.v[j->chosen].label, j->d.target_text);
		bool		ok = pitr_step_restore_files(&j->d.r, "restore", j->d.restore_dir, &j->id, restore, j, detail,
												 &j->t_restore, &rc);

		free(detail);
		if (!ok)
			return rc;
	}
	if (j->d.in_place && !pitr_step_keep_wal(&j->d.r, j->d.restore_dir, j->d.aside, &rc))
		return rc;
	if (!rb_run_step_done(&j->d.r, "node-settings", j->d.restore_dir))
	{
		if (!write_node_settings(j, err, sizeof(err)))
		{
			rb_run_step(&j->d.r, "node-settings", j->d.restore_dir, "failed", "%s", err);
			return rb_run_finish(&j->d.r, "failed", "cannot configure the restored node");
		}
		rb_run_step(&j->d.r, "node-settings", j->d.restore_dir, "ok", "%s",
					j->d.in_place ? "in place" : "side by side: own port and socket, archive_mode off");
	}
	/* replay's progress runs from the backup's start to an LSN target (a time has no LSN) */
	j->d.node.replay_from = j->backups.v[j->chosen].start_lsn;
	j->d.node.replay_to = j->d.target.kind == PITR_TARGET_TIME ? 0 : j->d.target.lsn;
	return pitr_bring_up(&j->d.r, &j->d.node, j->backups.v[j->chosen].timeline, s->pitr.check_query, j->d.target_text,
						 j->d.port, j->t_restore);
}

int
rb_pitr_pgbackrest(const rb_settings *s, const rb_pitr_request *req)
{
	pgbr_job	j;
	PGconn	   *src = NULL;
	int			rc;

	memset(&j, 0, sizeof(j));
	j.s = s;
	j.req = req;
	j.chosen = -1;
	if ((rc = pitr_dest_open(&j.d, s, &req->target, req->restore_dir, req->restore_port, req->in_place,
							 req->dry_run, "the repository", &src)) != RB_EXIT_DONE)
		goto out;
	if ((rc = plan(&j, src)) != RB_EXIT_DONE)
		goto out;
	if (req->dry_run)
	{
		print_plan(&j);
		rc = rb_run_finish(&j.d.r, "done", "nothing changed");
		goto out;
	}
	{
		const pitr_backup *b = &j.backups.v[j.chosen];
		char		s1[24],
					s2[24];

		rb_lsn_format(b->start_lsn, s1, sizeof(s1));
		rb_lsn_format(b->stop_lsn, s2, sizeof(s2));
		if (j.d.in_place)
			rb_run_step(&j.d.r, "plan", j.d.restore_dir, "ok", "%s from pgbackrest backup %s (lsn %s..%s) in place, old data kept as %s",
						j.d.target_text, b->label, s1, s2, j.d.aside);
		else
			rb_run_step(&j.d.r, "plan", j.d.restore_dir, "ok", "%s from pgbackrest backup %s (lsn %s..%s) on port %d",
						j.d.target_text, b->label, s1, s2, j.d.port);
	}
	rc = execute(&j, src);
out:
	PQfinish(src);
	pgbr_backups_free(&j.backups);
	free(j.info_json);
	pitr_dest_close(&j.d);
	return rc;
}
