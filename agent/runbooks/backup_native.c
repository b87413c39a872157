/*
 * backup_native.c: "orguard-agent runbook backup": a base backup with
 * pg_basebackup (immediate checkpoint, WAL streamed into the backup),
 * catalogued for the PITR runbook, followed by a check that WAL archiving
 * works: without archived WAL a base backup restores only to its own end.
 */
#include "runbooks/exec.h"
#include "runbooks/pgconn.h"
#include "runbooks/pitr.h"
#include "runbooks/rbfile.h"
#include "runbooks/rbutil.h"
#include "runbooks/run.h"
#include "common/files.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
cmp_backup(const void *a, const void *b)
{
	const pitr_backup *x = a,
			   *y = b;

	return x->stop_lsn < y->stop_lsn ? -1 : x->stop_lsn > y->stop_lsn ? 1 : strcmp(x->label, y->label);
}

bool
rb_backups_load(const char *backup_dir, pitr_backup **out, int *n, char *err, size_t errlen)
{
	DIR		   *d = opendir(backup_dir);
	struct dirent *de;

	*out = NULL;
	*n = 0;
	if (!d)
	{
		snprintf(err, errlen, "cannot read backup_dir %s: %s", backup_dir, strerror(errno));
		return false;
	}
	while ((de = readdir(d)) != NULL)
	{
		char	   *path,
				   *text;
		pitr_backup b;

		if (de->d_name[0] == '.' || strstr(de->d_name, ".partial"))
			continue;
		path = xasprintf("%s/%s/backup.json", backup_dir, de->d_name);
		text = file_read(path);
		free(path);
		if (!text)
			continue;
		if (pitr_backup_from_json(text, &b) && !strcmp(b.label, de->d_name))
		{
			*out = xrealloc(*out, sizeof(pitr_backup) * (size_t) (*n + 1));
			(*out)[(*n)++] = b;
		}
		else
			pitr_backup_free(&b);
		free(text);
	}
	closedir(d);
	if (*n > 1)
		qsort(*out, (size_t) *n, sizeof(pitr_backup), cmp_backup);
	return true;
}

void
rb_backups_free(pitr_backup *b, int n)
{
	for (int i = 0; i < n; i++)
		pitr_backup_free(&b[i]);
	free(b);
}

bool
rb_archive_flush(PGconn *c, const rb_pitr_settings *p, char *detail, size_t len)
{
	char	   *seg = NULL;
	char		err[512];
	int64_t		deadline = mono_ms() + (int64_t) (p->archive_timeout_s * 1000);
	char	   *last = NULL,
			   *failed = NULL;
	bool		ok = false;

	if (!rb_query_value(c, "SELECT pg_walfile_name(pg_switch_wal())", &seg, err, sizeof(err)) || !seg)
	{
		snprintf(detail, len, "cannot switch WAL: %s", err);
		free(seg);
		return false;
	}
	while (!ok)
	{
		bool		in_dir = true;

		free(last);
		free(failed);
		last = failed = NULL;
		if (!rb_query_value(c, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver", &last, err, sizeof(err)) ||
			!rb_query_value(c, "SELECT CASE WHEN last_failed_time > coalesce(last_archived_time, '-infinity') "
							"THEN last_failed_wal || ' at ' || last_failed_time END FROM pg_stat_archiver",
							&failed, err, sizeof(err)))
		{
			snprintf(detail, len, "cannot read pg_stat_archiver: %s", err);
			break;
		}
		if (p->archive_dir)
		{
			char	   *f = xasprintf("%s/%s", p->archive_dir, seg);

			in_dir = access(f, R_OK) == 0;
			free(f);
		}
		if (last && strlen(last) >= 24 && strncmp(last, seg, 24) >= 0 && in_dir)
		{
			snprintf(detail, len, "segment %s archived", seg);
			ok = true;
			break;
		}
		if (mono_ms() >= deadline)
		{
			snprintf(detail, len, "segment %s not archived within %.0f s (last archived %s%s%s)%s",
					 seg, p->archive_timeout_s, last && *last ? last : "none",
					 failed ? ", last failure " : "", failed ? failed : "",
					 p->archive_dir && !in_dir ? "; not found in archive_dir" : "");
			break;
		}
		usleep(100000);
	}
	free(last);
	free(failed);
	free(seg);
	return ok;
}

static char *
new_label(const char *backup_dir)
{
	char		base[32];
	time_t		t = time(NULL);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 1;; i++)
	{
		char	   *label = i == 1 ? xstrdup(base) : xasprintf("%s-%d", base, i);
		char	   *a = xasprintf("%s/%s", backup_dir, label);
		char	   *b = xasprintf("%s/%s.partial", backup_dir, label);
		bool		free_name = access(a, F_OK) != 0 && access(b, F_OK) != 0;

		free(a);
		free(b);
		if (free_name)
			return label;
		free(label);
	}
}

/* pg_basebackup -P's lines as they come: the latest figure becomes the step's progress */
typedef struct basebackup_watch
{
	rb_run	   *r;
	const char *target;
	rb_progress progress;
	bool		started;
	uint64_t	done;
	char		line[256];		/* the line being read */
	size_t		len;
} basebackup_watch;

static void
basebackup_tick(void *ctx, const char *chunk, size_t n)
{
	basebackup_watch *w = ctx;

	for (size_t i = 0; i < n; i++)
	{
		uint64_t	done_kb,
					total_kb;

		if (chunk[i] != '\n' && chunk[i] != '\r')
		{
			if (w->len < sizeof(w->line) - 1)
				w->line[w->len++] = chunk[i];
			continue;
		}
		w->line[w->len] = '\0';
		w->len = 0;
		if (!rb_progress_parse_basebackup(w->line, &done_kb, &total_kb))
			continue;
		if (!w->started)
			rb_progress_init(&w->progress, "base backup", RB_PROGRESS_BYTES, 0, total_kb * 1024,
							 rb_run_progress_tty(), mono_ms());
		w->started = true;
		/* the server's estimate grows as the backup goes */
		w->progress.total = total_kb * 1024;
		w->done = done_kb * 1024;
	}
	if (w->started)
		rb_run_progress(w->r, &w->progress, "base-backup", w->target, w->done);
}

int
rb_backup_native(const rb_settings *s, bool dry_run)
{
	const rb_pitr_settings *p = &s->pitr;
	rb_run		r;
	char		err[1024],
				detail[1024];
	PGconn	   *c = NULL;
	char	   *v = NULL,
			   *label = NULL,
			   *dir = NULL,
			   *partial = NULL,
			   *tool = NULL,
			   *pwenv = NULL,
			   *text = NULL;
	pitr_backup b = {0};
	strbuf		out;
	int			rc;
	int64_t		t0;
	double		took;

	if (!p->node)
	{
		fprintf(stderr, "orguard-agent: [runbook %s]: backup needs node = NODE\n", s->name);
		return RB_EXIT_USAGE;
	}
	rc = rb_run_begin(&r, s, "backup", dry_run, err, sizeof(err));
	if (rc != RB_EXIT_DONE)
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return rc;
	}
	sb_init(&out);
	/* guards: a reachable primary with archiving on */
	if (!(c = rb_connect_node(p->node, 10, err, sizeof(err))))
	{
		rc = rb_run_finish(&r, "refused", "node_reachable: %s does not answer: %s", p->node->name, err);
		goto out;
	}
	if (!rb_query_value(c, "SELECT pg_is_in_recovery()::text || ' ' || current_setting('archive_mode') || ' ' || "
						"(SELECT system_identifier FROM pg_control_system())", &v, err, sizeof(err)) || !v)
	{
		rc = rb_run_finish(&r, "failed", "cannot read %s: %s", p->node->name, err);
		goto out;
	}
	if (!strncmp(v, "true", 4))
	{
		rc = rb_run_finish(&r, "refused", "primary: %s is a standby; take backups from the primary", p->node->name);
		goto out;
	}
	if (strstr(v, " off "))
	{
		rc = rb_run_finish(&r, "refused",
						   "archive_mode: off on %s: without archived WAL a base backup restores only to its own end",
						   p->node->name);
		goto out;
	}
	b.sysid = strtoull(strrchr(v, ' ') + 1, NULL, 10);
	label = new_label(p->backup_dir);
	dir = xasprintf("%s/%s", p->backup_dir, label);
	partial = xasprintf("%s/%s.partial", p->backup_dir, label);
	tool = xasprintf("%s/pg_basebackup", s->bin_dir);
	if (dry_run)
	{
		char		rate[48] = "";

		if (p->backup_max_rate_kb > 0)
			snprintf(rate, sizeof(rate), " --max-rate=%dk", p->backup_max_rate_kb);
		rb_plan_text(&r, "plan: %s -d <%s> -D %s/data -c fast -X stream -Fp -P%s, catalogue as %s, then switch WAL and wait for it in the archive\n",
					 tool, p->node->name, partial, rate, dir);
		rc = rb_run_finish(&r, "done", "backup of %s", p->node->name);
		goto out;
	}
	if (mkdir(partial, 0700) != 0)
	{
		rc = rb_run_finish(&r, "failed", "cannot create %s: %s", partial, strerror(errno));
		goto out;
	}
	{
		char		rate[48] = "";
		char	   *data = xasprintf("%s/data", partial);
		char	   *lbl = xasprintf("orguard-agent %s", label);
		char	   *argv[] = {tool, "-d", p->node->conninfo, "-D", data, "-c", "fast", "-X", "stream",
			"-F", "p", "-w", "-P", "-l", lbl, NULL, NULL};
		char	   *env[] = {NULL, NULL};
		basebackup_watch watch = {.r = &r, .target = partial};

		/* the limit is pg_basebackup's own: it paces the data directory, not the WAL stream */
		if (p->backup_max_rate_kb > 0)
		{
			snprintf(rate, sizeof(rate), "--max-rate=%dk", p->backup_max_rate_kb);
			argv[sizeof(argv) / sizeof(argv[0]) - 2] = rate;
		}
		rb_run_step(&r, "base-backup", partial, "started", "pg_basebackup from %s, immediate checkpoint%s%s",
					p->node->name, *rate ? ", " : "", rate);

		pwenv = rb_password_env(p->node);
		env[0] = pwenv;
		b.start_us = now_us();
		t0 = mono_ms();
		rc = rb_exec_watched(argv, env, true, p->backup_timeout_s, &out, basebackup_tick, &watch,
							 err, sizeof(err));
		rb_run_progress_end(&watch.progress);
		took = (double) (mono_ms() - t0) / 1000.0;
		b.stop_us = now_us();
		free(lbl);
		if (rc != 0)
		{
			free(data);
			rb_run_step(&r, "base-backup", partial, "failed", "%s", rc < 0 ? err : rb_tail_lines(out.data, 5));
			rc = rb_run_finish(&r, "failed", "pg_basebackup failed; %s left for inspection", partial);
			goto out;
		}
		text = xasprintf("%s/backup_label", data);
		free(data);
	}
	{
		char	   *lbl_text = file_read(text),
				   *mpath = xasprintf("%s/data/backup_manifest", partial),
				   *man = file_read(mpath);
		bool		ok = lbl_text && pitr_parse_backup_label(lbl_text, &b) && man && pitr_parse_manifest(man, &b);

		free(lbl_text);
		free(man);
		free(mpath);
		if (!ok)
		{
			rc = rb_run_finish(&r, "failed", "cannot read backup_label/backup_manifest in %s", partial);
			goto out;
		}
	}
	b.label = label;
	{
		char	   *json = pitr_backup_to_json(&b),
				   *cat = xasprintf("%s/backup.json", partial);
		bool		ok = rb_file_write(cat, json, false);
		char		s1[24],
					s2[24];

		free(json);
		free(cat);
		/* the catalogue entry and the rename both reach the disk before the backup counts */
		if (!ok || rename(partial, dir) != 0 || !rb_fsync_parent(dir))
		{
			rc = rb_run_finish(&r, "failed", "cannot finish %s: %s", dir, strerror(errno));
			goto out;
		}
		rb_lsn_format(b.start_lsn, s1, sizeof(s1));
		rb_lsn_format(b.stop_lsn, s2, sizeof(s2));
		rb_run_step(&r, "base-backup", dir, "ok", "lsn %s..%s timeline %u in %.2f s", s1, s2, b.timeline, took);
	}
	if (!rb_archive_flush(c, p, detail, sizeof(detail)))
	{
		rb_run_step(&r, "archive-check", p->node->name, "failed", "%s", detail);
		rc = rb_run_finish(&r, "failed", "backup %s taken, but WAL archiving does not work: PITR past its end is impossible", label);
		goto out;
	}
	rb_run_step(&r, "archive-check", p->node->name, "ok", "%s", detail);
	rc = rb_run_finish(&r, "done", "backup %s in %.2f s", label, took);
out:
	b.label = NULL;
	PQfinish(c);
	sb_free(&out);
	free(v);
	free(label);
	free(dir);
	free(partial);
	free(tool);
	free(pwenv);
	free(text);
	return rc;
}
