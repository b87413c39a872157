/*
 * pitr_native.c: "orguard-agent runbook pitr" with the native backend: a
 * base backup from backup_dir plus the WAL archive, restored side by side
 * into a new data directory and port, recovered to the target, promoted,
 * verified and timed.
 *
 * Steps (each journaled; a re-run after a crash resumes after the last
 * step that completed): plan, archive-flush (when the source answers),
 * copy-backup, recovery-settings, start, recovery, verify.  Nothing is
 * changed before every guard holds: a target is given and parsed, a base
 * backup of this cluster precedes it, the restore directory is new and the
 * port is free.
 */
#include "runbooks/exec.h"
#include "runbooks/pgconn.h"
#include "runbooks/pitr.h"
#include "runbooks/rbutil.h"
#include "runbooks/run.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
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
	rb_run		r;
	pitr_target target;
	char		target_text[128];
	const char *restore_dir;
	int			port;
	char	   *sock_dir;
	char	   *logfile;
	char	   *conninfo;		/* of the restored node */
	pitr_backup *backups;
	int			n_backups;
	int			chosen;
	uint64_t	sysid;
	double		t_copy,
				t_start,
				t_recovery;
} pitr_job;

static char *
slurp(const char *path)
{
	FILE	   *f = fopen(path, "r");
	strbuf		sb;
	char		buf[8192];
	size_t		n;

	if (!f)
		return NULL;
	sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_append_len(&sb, buf, n);
	fclose(f);
	return sb_steal(&sb);
}

static bool
append_file(const char *path, const char *text)
{
	int			fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	size_t		len = strlen(text);
	bool		ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, len) == (ssize_t) len && fsync(fd) == 0;
	return close(fd) == 0 && ok;
}

/* the line of text that contains needle, copied into buf */
static bool
find_line(const char *text, const char *needle, char *buf, size_t len)
{
	const char *hit = text ? strstr(text, needle) : NULL;
	const char *start,
			   *end;

	if (!hit)
		return false;
	start = hit;
	while (start > text && start[-1] != '\n')
		start--;
	end = strchr(hit, '\n');
	if (!end)
		end = hit + strlen(hit);
	snprintf(buf, len, "%.*s", (int) (end - start), start);
	return true;
}

/* did this run start (not necessarily finish) step on target? */
static bool
step_started(const rb_run *r, const char *step, const char *target)
{
	if (!r->resumed)
		return false;
	for (int i = 0; i < r->past.n; i++)
	{
		const journal_entry *e = &r->past.v[i];

		if (e->run && !strcmp(e->run, r->run) && e->step && !strcmp(e->step, step) &&
			e->target && !strcmp(e->target, target))
			return true;
	}
	return false;
}

/* "host=... port=... user=... dbname=..." for the restored node */
static char *
restored_conninfo(const pitr_job *j)
{
	const char *user = NULL,
			   *db = NULL;
	PQconninfoOption *opts = NULL;
	char	   *out,
			   *qs;

	if (j->p->node && (opts = PQconninfoParse(j->p->node->conninfo, NULL)) != NULL)
		for (PQconninfoOption *o = opts; o->keyword; o++)
		{
			if (!strcmp(o->keyword, "user") && o->val)
				user = o->val;
			if (!strcmp(o->keyword, "dbname") && o->val)
				db = o->val;
		}
	qs = conf_quote(j->sock_dir);
	out = xasprintf("host=%s port=%d dbname='%s'%s%s%s", qs, j->port, db ? db : "postgres",
					user ? " user='" : "", user ? user : "", user ? "'" : "");
	free(qs);
	PQconninfoFree(opts);
	return out;
}

static int
refuse(pitr_job *j, const char *fmt, const char *a, const char *b)
{
	return rb_run_finish(&j->r, "refused", fmt, a ? a : "", b ? b : "");
}

/* guards and the choice of a backup; no change yet */
static int
plan(pitr_job *j, PGconn *src)
{
	char		err[1024];
	char	   *v = NULL;
	char		ports[16];

	if (j->target.kind == PITR_TARGET_EVENT)
	{
		char	   *sql;

		if (!src)
			return refuse(j, "event: the target is an event but node %s does not answer%s",
						  j->p->node ? j->p->node->name : "(none configured)", NULL);
		if (!rb_query_value(src, "SELECT to_regclass('odoo_retail_guard.destructive_events') IS NOT NULL", &v, err, sizeof(err)) ||
			!v || strcmp(v, "t"))
		{
			free(v);
			return refuse(j, "event: odoo_retail_guard.destructive_events is not available on the source%s%s", NULL, NULL);
		}
		free(v);
		sql = xasprintf("SELECT lsn_before::text FROM odoo_retail_guard.destructive_events WHERE event_id = %" PRId64,
						j->target.event_id);
		if (!rb_query_value(src, sql, &v, err, sizeof(err)) || !v)
		{
			free(sql);
			free(v);
			return refuse(j, "event: no destructive event with that id (or no lsn_before): %s%s", err, NULL);
		}
		free(sql);
		if (!lsn_parse(v, &j->target.lsn))
		{
			free(v);
			return refuse(j, "event: lsn_before is not an LSN%s%s", NULL, NULL);
		}
		free(v);
		pitr_target_resolve_event(&j->target, j->target.lsn);
		pitr_target_describe(&j->target, j->target_text, sizeof(j->target_text));
	}
	if (src && rb_query_value(src, "SELECT system_identifier::text FROM pg_control_system()", &v, err, sizeof(err)) && v)
		j->sysid = strtoull(v, NULL, 10);
	free(v);
	if (!rb_backups_load(j->p->backup_dir, &j->backups, &j->n_backups, err, sizeof(err)))
		return refuse(j, "base_backup: %s%s", err, NULL);
	j->chosen = pitr_choose_backup(j->backups, j->n_backups, &j->target, j->sysid);
	if (j->chosen < 0)
	{
		char	   *list = pitr_describe_backups(j->backups, j->n_backups);
		int			rc = refuse(j, "base_backup: no base backup precedes the target; backups: %s%s", list, NULL);

		free(list);
		return rc;
	}
	if (!j->restore_dir || j->restore_dir[0] != '/')
		return refuse(j, "restore_dir: an absolute restore directory is required (restore_dir or --restore-dir)%s%s",
					  NULL, NULL);
	if (j->port <= 0)
		return refuse(j, "restore_port: a port for the restored node is required (restore_port or --restore-port)%s%s",
					  NULL, NULL);
	if (access(j->restore_dir, F_OK) == 0 && !step_started(&j->r, "copy-backup", j->restore_dir))
		return refuse(j, "restore_dir: %s already exists; the runbook restores into a new directory%s",
					  j->restore_dir, NULL);
	snprintf(ports, sizeof(ports), "%d", j->port);
	if (!rb_run_step_done(&j->r, "start", j->restore_dir))
	{
		char	   *probe = xasprintf("host=127.0.0.1 port=%d connect_timeout=2", j->port);
		PGPing		ping = PQping(probe);
		char	   *sockfile = xasprintf("%s/.s.PGSQL.%d", j->sock_dir, j->port);
		bool		busy = ping != PQPING_NO_RESPONSE || access(sockfile, F_OK) == 0;

		free(probe);
		free(sockfile);
		if (busy)
			return refuse(j, "restore_port: port %s is in use%s", ports, NULL);
	}
	return RB_EXIT_DONE;
}

static bool
copy_backup(pitr_job *j, char *err, size_t errlen)
{
	const pitr_backup *b = &j->backups[j->chosen];
	char	   *src = xasprintf("%s/%s/data", j->p->backup_dir, b->label);
	char	   *argv[] = {"cp", "-a", src, (char *) j->restore_dir, NULL};
	strbuf		out;
	int			rc;
	int64_t		t0 = mono_ms();

	sb_init(&out);
	if (access(j->restore_dir, F_OK) == 0)
	{
		/* our own half copy from an interrupted run */
		char	   *rm[] = {"rm", "-rf", (char *) j->restore_dir, NULL};

		if (rb_exec(rm, NULL, 600, &out, err, errlen) != 0)
		{
			snprintf(err, errlen, "cannot remove the interrupted copy %s", j->restore_dir);
			free(src);
			sb_free(&out);
			return false;
		}
	}
	rc = rb_exec(argv, NULL, 24 * 3600, &out, err, errlen);
	j->t_copy = (double) (mono_ms() - t0) / 1000.0;
	free(src);
	if (rc != 0)
	{
		if (rc > 0)
			snprintf(err, errlen, "cp failed: %s", rb_tail_lines(out.data, 3));
		sb_free(&out);
		return false;
	}
	sb_free(&out);
	chmod(j->restore_dir, 0700);
	return true;
}

static bool
write_settings(pitr_job *j, char *err, size_t errlen)
{
	char	   *restore_cmd = j->p->restore_command ? xstrdup(j->p->restore_command)
		: pitr_restore_command(j->p->archive_dir);
	char	   *rec = pitr_recovery_settings(&j->target, restore_cmd, j->p->target_timeline, j->r.run);
	char	   *qs = conf_quote(j->sock_dir);
	char	   *side = xasprintf("# side by side: own port and socket, no archiving into the source's archive,\n"
								 "# no waiting for the source's synchronous standbys, no upstream\n"
								 "port = %d\nunix_socket_directories = %s\narchive_mode = off\n"
								 "synchronous_standby_names = ''\nprimary_conninfo = ''\nprimary_slot_name = ''\n",
								 j->port, qs);
	char	   *auto_conf = xasprintf("%s/postgresql.auto.conf", j->restore_dir);
	char	   *signal = xasprintf("%s/recovery.signal", j->restore_dir);
	char	   *standby = xasprintf("%s/standby.signal", j->restore_dir);
	char	   *pid = xasprintf("%s/postmaster.pid", j->restore_dir);
	char	   *all = xasprintf("%s%s", rec, side);
	bool		ok = true;
	char	   *existing = slurp(auto_conf);

	/* a resumed run may have appended already */
	if (!existing || !strstr(existing, j->r.run))
		ok = append_file(auto_conf, all);
	if (ok)
	{
		int			fd = open(signal, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		ok = fd >= 0 && fsync(fd) == 0;
		if (fd >= 0)
			close(fd);
	}
	unlink(standby);
	unlink(pid);
	if (!ok)
		snprintf(err, errlen, "cannot write %s or %s: %s", auto_conf, signal, strerror(errno));
	free(existing);
	free(restore_cmd);
	free(rec);
	free(qs);
	free(side);
	free(auto_conf);
	free(signal);
	free(standby);
	free(pid);
	free(all);
	return ok;
}

static bool
server_running(pitr_job *j)
{
	char	   *tool = xasprintf("%s/pg_ctl", j->s->bin_dir);
	char	   *argv[] = {tool, "-D", (char *) j->restore_dir, "status", NULL};
	char		err[256];
	int			rc = rb_exec(argv, NULL, 30, NULL, err, sizeof(err));

	free(tool);
	return rc == 0;
}

static bool
start_node(pitr_job *j, char *err, size_t errlen)
{
	char	   *tool = xasprintf("%s/pg_ctl", j->s->bin_dir);
	char		tmo[16];
	char	   *argv[] = {tool, "-D", (char *) j->restore_dir, "-l", j->logfile, "-w", "-t", tmo, "start", NULL};
	strbuf		out;
	int			rc;
	int64_t		t0 = mono_ms();

	snprintf(tmo, sizeof(tmo), "%d", (int) (j->p->start_timeout_s + 0.5));
	sb_init(&out);
	rc = rb_exec(argv, NULL, j->p->start_timeout_s + 10, &out, err, errlen);
	j->t_start = (double) (mono_ms() - t0) / 1000.0;
	if (rc != 0)
	{
		char	   *log = slurp(j->logfile);

		snprintf(err, errlen, "pg_ctl start failed: %s", rb_tail_lines(log ? log : out.data, 4));
		free(log);
	}
	free(tool);
	sb_free(&out);
	return rc == 0;
}

/* waits until the restored node has left recovery */
static bool
wait_recovery(pitr_job *j, char *err, size_t errlen)
{
	int64_t		t0 = mono_ms();
	int64_t		deadline = t0 + (int64_t) (j->p->recovery_timeout_s * 1000);

	for (;;)
	{
		PGconn	   *c = rb_connect(j->conninfo, NULL, 5, err, errlen);
		char	   *v = NULL;
		bool		done = false;

		if (c && rb_query_value(c, "SELECT pg_is_in_recovery()", &v, err, errlen) && v && !strcmp(v, "f"))
			done = true;
		free(v);
		PQfinish(c);
		if (done)
		{
			j->t_recovery = (double) (mono_ms() - t0) / 1000.0;
			return true;
		}
		if (!server_running(j))
		{
			char	   *log = slurp(j->logfile);
			char		line[512];

			if (log && find_line(log, "recovery ended before configured recovery target", line, sizeof(line)))
				snprintf(err, errlen, "the archive ends before the target: %s", line);
			else
				snprintf(err, errlen, "the restored node stopped: %s", rb_tail_lines(log, 3));
			free(log);
			return false;
		}
		if (mono_ms() >= deadline)
		{
			snprintf(err, errlen, "still in recovery after %.0f s", j->p->recovery_timeout_s);
			return false;
		}
		usleep(100000);
	}
}

static bool
verify(pitr_job *j, char *detail, size_t len)
{
	char	   *log = slurp(j->logfile);
	char		stop[512] = "",
				tl_line[256] = "";
	char		err[512];
	PGconn	   *c = rb_connect(j->conninfo, NULL, 5, err, sizeof(err));
	char	   *tli = NULL,
			   *chk = NULL;
	unsigned	new_tl = 0;
	bool		ok = true;
	strbuf		sb;

	sb_init(&sb);
	if (!find_line(log, "recovery stopping ", stop, sizeof(stop)))
	{
		sb_append(&sb, "no \"recovery stopping\" line in the server log; ");
		ok = false;
	}
	find_line(log, "selected new timeline ID:", tl_line, sizeof(tl_line));
	if (!c || !rb_query_value(c, "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)", &tli, err, sizeof(err)) || !tli)
	{
		sb_printf(&sb, "cannot read the timeline: %s; ", err);
		ok = false;
	}
	else
	{
		new_tl = (unsigned) strtoul(tli, NULL, 16);
		if (new_tl <= j->backups[j->chosen].timeline)
		{
			sb_printf(&sb, "timeline %u is not above the backup's %u; ", new_tl, j->backups[j->chosen].timeline);
			ok = false;
		}
	}
	if (c && j->p->check_query)
	{
		if (!rb_query_value(c, j->p->check_query, &chk, err, sizeof(err)))
		{
			sb_printf(&sb, "check_query failed: %s; ", err);
			ok = false;
		}
		else if (!chk || strcmp(chk, "t"))
		{
			sb_printf(&sb, "check_query returned %s, not true; ", chk ? chk : "NULL");
			ok = false;
		}
	}
	{
		const char *st = strstr(stop, "recovery stopping ");

		sb_printf(&sb, "%s%s; timeline %u (backup on %u)%s", ok ? "" : "| ", st ? st : "(no stop line)",
				  new_tl, j->backups[j->chosen].timeline, j->p->check_query ? (ok ? "; check_query true" : "") : "");
	}
	snprintf(detail, len, "%s", sb.data);
	sb_free(&sb);
	free(tli);
	free(chk);
	free(log);
	PQfinish(c);
	return ok;
}

int
rb_pitr_native(const rb_settings *s, const rb_pitr_request *req)
{
	pitr_job	j;
	char		err[2048],
				detail[2048];
	char	   *params;
	PGconn	   *src = NULL;
	int			rc;
	char		s1[24],
				s2[24];

	memset(&j, 0, sizeof(j));
	j.s = s;
	j.p = &s->pitr;
	j.req = req;
	j.target = req->target;
	j.chosen = -1;
	j.restore_dir = req->restore_dir ? req->restore_dir : s->pitr.restore_dir;
	j.port = req->restore_port ? req->restore_port : s->pitr.restore_port;
	pitr_target_describe(&j.target, j.target_text, sizeof(j.target_text));
	if (j.restore_dir && j.restore_dir[0] == '/')
	{
		char	   *copy = xstrdup(j.restore_dir);

		j.sock_dir = s->pitr.restore_socket_dir ? xstrdup(s->pitr.restore_socket_dir) : xstrdup(dirname(copy));
		free(copy);
		j.logfile = xasprintf("%s.log", j.restore_dir);
	}
	else
		j.sock_dir = xstrdup("/tmp");
	j.conninfo = restored_conninfo(&j);
	params = xasprintf("pitr to %s into %s port %d", j.target_text, j.restore_dir ? j.restore_dir : "?", j.port);
	rc = rb_run_begin(&j.r, s, params, req->dry_run, err, sizeof(err));
	free(params);
	if (rc != RB_EXIT_DONE)
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		goto out;
	}
	if (s->pitr.node && !(src = rb_connect_node(s->pitr.node, 5, err, sizeof(err))))
		rb_run_step(&j.r, "source", s->pitr.node->name, "skipped", "does not answer (%s); restoring from the archive as it is", err);
	if ((rc = plan(&j, src)) != RB_EXIT_DONE)
		goto out;
	lsn_format(j.backups[j.chosen].start_lsn, s1, sizeof(s1));
	lsn_format(j.backups[j.chosen].stop_lsn, s2, sizeof(s2));
	if (req->dry_run)
	{
		char	   *restore_cmd = s->pitr.restore_command ? xstrdup(s->pitr.restore_command)
			: pitr_restore_command(s->pitr.archive_dir);
		char	   *rec = pitr_recovery_settings(&j.target, restore_cmd, s->pitr.target_timeline, "dry-run");

		printf("plan: restore %s to %s\n"
			   "  base backup  %s (lsn %s..%s, timeline %u)\n"
			   "  copy to      %s (side by side, port %d, socket %s, log %s)\n"
			   "  settings     appended to postgresql.auto.conf, plus recovery.signal:%s"
			   "  then         start, wait for the end of recovery, verify%s%s\n",
			   s->cluster, j.target_text, j.backups[j.chosen].label, s1, s2, j.backups[j.chosen].timeline,
			   j.restore_dir, j.port, j.sock_dir, j.logfile, rec,
			   s->pitr.check_query ? " with: " : "", s->pitr.check_query ? s->pitr.check_query : "");
		free(restore_cmd);
		free(rec);
		rc = rb_run_finish(&j.r, "done", "nothing changed");
		goto out;
	}
	rb_run_step(&j.r, "plan", j.restore_dir, "ok", "%s from backup %s (lsn %s..%s) on port %d",
				j.target_text, j.backups[j.chosen].label, s1, s2, j.port);

	/* the WAL up to now must be in the archive for targets close to now */
	if (src)
	{
		char	   *v = NULL;

		if (rb_query_value(src, "SELECT pg_is_in_recovery()", &v, err, sizeof(err)) && v && !strcmp(v, "f"))
		{
			if (rb_archive_flush(src, &s->pitr, detail, sizeof(detail)))
				rb_run_step(&j.r, "archive-flush", s->pitr.node->name, "ok", "%s", detail);
			else
				rb_run_step(&j.r, "archive-flush", s->pitr.node->name, "failed", "%s; recovery may stop short", detail);
		}
		free(v);
	}

	if (!rb_run_step_done(&j.r, "copy-backup", j.restore_dir))
	{
		rb_run_step(&j.r, "copy-backup", j.restore_dir, "started", "from %s", j.backups[j.chosen].label);
		if (!copy_backup(&j, err, sizeof(err)))
		{
			rb_run_step(&j.r, "copy-backup", j.restore_dir, "failed", "%s", err);
			rc = rb_run_finish(&j.r, "failed", "copy of the base backup failed");
			goto out;
		}
		rb_run_step(&j.r, "copy-backup", j.restore_dir, "ok", "in %.2f s", j.t_copy);
	}
	if (!rb_run_step_done(&j.r, "recovery-settings", j.restore_dir))
	{
		if (!write_settings(&j, err, sizeof(err)))
		{
			rb_run_step(&j.r, "recovery-settings", j.restore_dir, "failed", "%s", err);
			rc = rb_run_finish(&j.r, "failed", "cannot configure the restored node");
			goto out;
		}
		rb_run_step(&j.r, "recovery-settings", j.restore_dir, "ok", "target %s, action promote", j.target_text);
	}
	if (!server_running(&j))
	{
		rb_run_step(&j.r, "start", j.restore_dir, "started", "port %d", j.port);
		if (!start_node(&j, err, sizeof(err)))
		{
			rb_run_step(&j.r, "start", j.restore_dir, "failed", "%s", err);
			rc = rb_run_finish(&j.r, "failed", "the restored node did not start; see %s", j.logfile);
			goto out;
		}
		rb_run_step(&j.r, "start", j.restore_dir, "ok", "accepting connections after %.2f s", j.t_start);
	}
	if (!wait_recovery(&j, err, sizeof(err)))
	{
		rb_run_step(&j.r, "recovery", j.restore_dir, "failed", "%s", err);
		rc = rb_run_finish(&j.r, "failed", "recovery did not reach the target; see %s", j.logfile);
		goto out;
	}
	rb_run_step(&j.r, "recovery", j.restore_dir, "ok", "promoted %.2f s after start", j.t_recovery);
	if (!verify(&j, detail, sizeof(detail)))
	{
		rb_run_step(&j.r, "verify", j.restore_dir, "failed", "%s", detail);
		rc = rb_run_finish(&j.r, "failed", "the restored node is up on port %d but did not verify", j.port);
		goto out;
	}
	rb_run_step(&j.r, "verify", j.restore_dir, "ok", "%s", detail);
	rc = rb_run_finish(&j.r, "done", "restored to %s on port %d in %.2f s (copy %.2f s, start %.2f s, recovery %.2f s)",
					   j.target_text, j.port, rb_run_elapsed(&j.r), j.t_copy, j.t_start, j.t_recovery);
out:
	PQfinish(src);
	rb_backups_free(j.backups, j.n_backups);
	free(j.sock_dir);
	free(j.logfile);
	free(j.conninfo);
	return rc;
}
