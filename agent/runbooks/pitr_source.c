/*
 * pitr_source.c: the source cluster of a point-in-time recovery: event
 * lookup and, for in-place restores, the stopped-source guard and the
 * move of its data directory aside; and the steps both executors share,
 * the copy into a staging directory among them.
 */
#include "runbooks/pitr_source.h"
#include "runbooks/exec.h"
#include "runbooks/pgconn.h"
#include "runbooks/pitr.h"
#include "runbooks/rbfile.h"
#include "runbooks/rbutil.h"
#include "runbooks/run.h"
#include "common/log.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
pitr_resolve_event(PGconn *src, const node_cfg *node, pitr_target *t, char *err, size_t errlen)
{
	char		qerr[512] = "";
	char	   *v = NULL,
			   *sql;
	bool		ok;

	if (!src)
	{
		snprintf(err, errlen, RB_GUARD_UNREACHABLE ": the target is an event but node %s does not answer",
				 node ? node->name : "(none configured)");
		return false;
	}
	/* the extension's view (it and its schema a superuser's), never a look-alike of the database owner */
	if (!rb_query_value(src, "SELECT COALESCE((SELECT pg_catalog.bool_and(r.rolsuper) FROM pg_catalog.pg_class c "
						"JOIN pg_catalog.pg_namespace s ON s.oid OPERATOR(pg_catalog.=) c.relnamespace "
						"JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) c.relowner "
						"OR r.oid OPERATOR(pg_catalog.=) s.nspowner "
						"WHERE s.nspname OPERATOR(pg_catalog.=) 'odoo_retail_guard' "
						"AND c.relname OPERATOR(pg_catalog.=) 'destructive_events'), false)",
						&v, qerr, sizeof(qerr)) ||
		!v || strcmp(v, "t"))
	{
		free(v);
		snprintf(err, errlen, "event: odoo_retail_guard.destructive_events is not available on the source "
				 "(or not the extension's)");
		return false;
	}
	free(v);
	v = NULL;
	sql = xasprintf("SELECT lsn_before::text FROM odoo_retail_guard.destructive_events WHERE event_id = %" PRId64,
					t->event_id);
	ok = rb_query_value(src, sql, &v, qerr, sizeof(qerr)) && v;
	free(sql);
	if (!ok)
		snprintf(err, errlen, "event: no destructive event with that id (or no lsn_before): %s", qerr);
	else if (!(ok = rb_lsn_parse(v, &t->lsn)))
		snprintf(err, errlen, "event: lsn_before is not an LSN");
	else
		pitr_target_resolve_event(t, t->lsn);
	free(v);
	return ok;
}

uint64_t
pitr_source_sysid(PGconn *src)
{
	char		err[256];
	char	   *v = NULL;
	uint64_t	id = 0;

	if (src && rb_query_value(src, "SELECT system_identifier::text FROM pg_control_system()", &v, err, sizeof(err)) && v)
		id = strtoull(v, NULL, 10);
	free(v);
	return id;
}

int
pitr_node_port(const node_cfg *node)
{
	PQconninfoOption *opts = node ? PQconninfoParse(node->conninfo, NULL) : NULL;
	int			port = 0;

	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "port") && o->val && *o->val)
			port = atoi(o->val);
	PQconninfoFree(opts);
	return port;
}

bool
pitr_source_stopped(const char *bin_dir, const char *data_dir, const node_cfg *node, bool dir_may_be_missing,
					char *err, size_t errlen)
{
	char	   *tool = xasprintf("%s/pg_ctl", bin_dir);
	char	   *argv[] = {tool, "-D", (char *) data_dir, "status", NULL};
	char		xerr[256];
	strbuf		out;
	int			rc;

	sb_init(&out);
	rc = rb_exec(argv, NULL, 30, &out, xerr, sizeof(xerr));
	free(tool);
	sb_free(&out);
	/* pg_ctl status: 0 running, 3 not running, 4 no data directory */
	if (rc == 0)
	{
		snprintf(err, errlen, "source_stopped: a server runs on %s; stop it first (pg_ctl -D %s stop), "
				 "the restore replaces its files", data_dir, data_dir);
		return false;
	}
	if (rc != 3 && !(rc == 4 && dir_may_be_missing && access(data_dir, F_OK) != 0))
	{
		snprintf(err, errlen, "source_stopped: %s is not a data directory pg_ctl can read (pg_ctl status %d)",
				 data_dir, rc);
		return false;
	}
	if (node)
	{
		PQconninfoOption *opts = PQconninfoParse(node->conninfo, NULL);
		const char *keys[8],
				   *vals[8];
		int			n = 0;
		PGPing		ping;

		for (PQconninfoOption *o = opts; o && o->keyword && n < 6; o++)
			if ((!strcmp(o->keyword, "host") || !strcmp(o->keyword, "hostaddr") || !strcmp(o->keyword, "port")) &&
				o->val)
			{
				keys[n] = o->keyword;
				vals[n++] = o->val;
			}
		keys[n] = "connect_timeout";
		vals[n++] = "3";
		keys[n] = NULL;
		vals[n] = NULL;
		ping = PQpingParams(keys, vals, 0);
		PQconninfoFree(opts);
		if (ping != PQPING_NO_RESPONSE && ping != PQPING_NO_ATTEMPT)
		{
			snprintf(err, errlen, "source_stopped: node %s still answers; stop it first", node->name);
			return false;
		}
	}
	return true;
}

bool
pitr_in_place_config_guard(const rb_settings *s, const pitr_target *t, char *err, size_t errlen)
{
	if (!s->pitr.data_dir)
	{
		snprintf(err, errlen, "data_dir: --in-place needs data_dir (the source's data directory)");
		return false;
	}
	if (!s->pitr.node)
	{
		snprintf(err, errlen, "node: --in-place needs node (how to reach the restored cluster)");
		return false;
	}
	if (t->kind == PITR_TARGET_EVENT)
	{
		snprintf(err, errlen, "event: --before-event reads the event from the running source, but --in-place "
				 "needs it stopped; resolve it first (--before-event ID --dry-run while it runs) and restore "
				 "to that LSN");
		return false;
	}
	return true;
}

bool
pitr_in_place_guard(const rb_settings *s, const rb_run *r, const pitr_target *t, const char *aside,
					const char *copy_step, const pitr_identity *id, char *err, size_t errlen)
{
	const char *data_dir = s->pitr.data_dir;
	char		why[512];
	pitr_dir_owner dest;
	bool		started,
				restored;

	if (!pitr_in_place_config_guard(s, t, err, errlen))
		return false;
	dest = pitr_dest_owner(data_dir, id, why, sizeof(why));
	started = rb_run_step_started(r, "start", data_dir);
	restored = rb_run_step_done(r, copy_step, data_dir);
	if (started || restored)
	{
		/* the files at data_dir are about to be started, or already run: they must be ours */
		if (dest != PITR_DIR_OURS)
		{
			snprintf(err, errlen, "data_dir: %s is not the restore of run %s (%s): something was put in its "
					 "place after the run was interrupted; nothing is changed (close the run with runbook abandon)",
					 data_dir, r->run, why);
			return false;
		}
		return started || pitr_source_stopped(s->bin_dir, data_dir, s->pitr.node, false, err, errlen);
	}
	/* before the restore: whatever is at data_dir now must be down, and the node silent */
	if (dest == PITR_DIR_ABSENT && !rb_run_step_done(r, "move-aside", data_dir))
	{
		snprintf(err, errlen, "data_dir: %s does not exist", data_dir);
		return false;
	}
	if (!pitr_source_stopped(s->bin_dir, data_dir, s->pitr.node, dest == PITR_DIR_ABSENT, err, errlen))
		return false;
	if (dest == PITR_DIR_FOREIGN && aside && access(aside, F_OK) == 0)
	{
		snprintf(err, errlen, "data_dir: %s already exists, and %s would be moved there", aside, data_dir);
		return false;
	}
	if (pitr_staging_owner(data_dir, id, why, sizeof(why)) == PITR_DIR_FOREIGN)
	{
		char	   *staging = pitr_staging_path(data_dir, id->run);

		snprintf(err, errlen, "data_dir: %s is in the way and not this run's (%s)", staging, why);
		free(staging);
		return false;
	}
	return true;
}

bool
pitr_settings_appended(const char *auto_conf_text, const char *run)
{
	char	   *header = xasprintf("# orguard-agent runbook pitr, run %s", run);
	bool		found = auto_conf_text && strstr(auto_conf_text, header) != NULL;

	free(header);
	return found;
}

void
pitr_refused_resume_cleanup(const rb_run *r, const char *dest, const pitr_identity *id)
{
	char		err[1024];

	if (r->resumed && dest && !pitr_staging_remove(dest, id, err, sizeof(err)))
		log_warn("runbook %s run %s: %s", r->runbook, r->run, err);
}

char *
pitr_aside_path(const char *data_dir, const char *run)
{
	size_t		len = strlen(data_dir);

	while (len > 1 && data_dir[len - 1] == '/')
		len--;
	return xasprintf("%.*s.before-pitr-%s", (int) len, data_dir, run);
}

bool
pitr_move_aside(const char *data_dir, const char *aside, char *err, size_t errlen)
{
	return pitr_rename_noreplace(data_dir, aside, err, errlen);
}

/* dst exists with src's size (a segment the restore has, or copied whole before) */
static bool
same_size(const char *src, const char *dst)
{
	struct stat a,
				b;

	return stat(src, &a) == 0 && stat(dst, &b) == 0 && a.st_size == b.st_size;
}

static bool
is_segment_name(const char *n)
{
	return strlen(n) == 24 && strspn(n, "0123456789ABCDEF") == 24;
}

bool
pitr_keep_unarchived_wal(const char *aside, const char *data_dir, int *copied, char *err, size_t errlen)
{
	char	   *from = xasprintf("%s/pg_wal", aside);
	DIR		   *d = opendir(from);
	struct dirent *de;
	bool		ok = true;

	*copied = 0;
	if (!d)
	{
		snprintf(err, errlen, "cannot read %s: %s", from, strerror(errno));
		free(from);
		return false;
	}
	while (ok && (de = readdir(d)) != NULL)
	{
		char	   *src,
				   *dst;

		if (!is_segment_name(de->d_name))
			continue;
		src = xasprintf("%s/%s", from, de->d_name);
		dst = xasprintf("%s/pg_wal/%s", data_dir, de->d_name);
		if (!same_size(src, dst))
		{
			/* through a temporary name: a copy cut short never looks like a segment */
			char	   *tmp = xasprintf("%s.orguard-tmp", dst);
			char	   *argv[] = {"cp", "-p", src, tmp, NULL};
			strbuf		out;

			sb_init(&out);
			if (rb_exec(argv, NULL, 600, &out, err, errlen) != 0)
			{
				snprintf(err, errlen, "cannot copy %s: %s", src, rb_tail_lines(out.data, 2));
				ok = false;
			}
			else if (rename(tmp, dst) != 0)
			{
				snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
				ok = false;
			}
			else
				(*copied)++;
			if (!ok)
				unlink(tmp);
			sb_free(&out);
			free(tmp);
		}
		free(src);
		free(dst);
	}
	closedir(d);
	free(from);
	if (ok)
	{
		char	   *wal = xasprintf("%s/pg_wal/x", data_dir);

		rb_fsync_parent(wal);
		free(wal);
	}
	return ok;
}

void
pitr_step_archive_flush(rb_run *r, PGconn *src, const rb_pitr_settings *p)
{
	char		err[512],
				detail[1024];
	char	   *v = NULL;

	if (src && rb_query_value(src, "SELECT pg_is_in_recovery()", &v, err, sizeof(err)) && v && !strcmp(v, "f"))
	{
		if (rb_archive_flush(src, p, detail, sizeof(detail)))
			rb_run_step(r, "archive-flush", p->node->name, "ok", "%s", detail);
		else
			rb_run_step(r, "archive-flush", p->node->name, "failed", "%s; recovery may stop short", detail);
	}
	free(v);
}

bool
pitr_step_move_aside(rb_run *r, const char *data_dir, const char *aside, const pitr_identity *id, int *rc)
{
	char		err[1024],
				why[512];
	bool		again = rb_run_step_done(r, "move-aside", data_dir);

	/* this run's restore stays; an absent data_dir was moved already */
	if (pitr_dest_owner(data_dir, id, why, sizeof(why)) != PITR_DIR_FOREIGN)
		return true;
	if (!pitr_move_aside(data_dir, aside, err, sizeof(err)))
	{
		rb_run_step(r, "move-aside", data_dir, "failed", "%s", err);
		*rc = rb_run_finish(r, "failed", "the source's data directory could not be moved aside");
		return false;
	}
	rb_run_step(r, "move-aside", data_dir, "ok", "kept as %s%s", aside,
				again ? " (again: a data directory was back in its place, and stopped)" : "");
	return true;
}

bool
pitr_step_keep_wal(rb_run *r, const char *data_dir, const char *aside, int *rc)
{
	char		err[1024];
	int			copied;

	if (rb_run_step_done(r, "keep-wal", data_dir))
		return true;
	if (!pitr_keep_unarchived_wal(aside, data_dir, &copied, err, sizeof(err)))
	{
		rb_run_step(r, "keep-wal", data_dir, "failed", "%s", err);
		*rc = rb_run_finish(r, "failed", "cannot copy the old pg_wal's segments");
		return false;
	}
	rb_run_step(r, "keep-wal", data_dir, "ok", "%d segment%s of %s/pg_wal the restore lacks", copied,
				copied == 1 ? "" : "s", aside);
	return true;
}

bool
pitr_step_restore_files(rb_run *r, const char *step, const char *dest, const pitr_identity *id,
						pitr_fill_fn fill, void *ctx, const char *detail, double *took, int *rc)
{
	char		err[2048],
				why[512];
	char	   *staging;
	int64_t		t0;

	if (rb_run_step_done(r, step, dest))
		return true;
	switch (pitr_dest_owner(dest, id, why, sizeof(why)))
	{
		case PITR_DIR_OURS:
			/* the interrupted run renamed its complete copy into place */
			pitr_staging_remove(dest, id, err, sizeof(err));
			rb_run_step(r, step, dest, "ok", "complete before the interruption (%s)", why);
			return true;
		case PITR_DIR_FOREIGN:
			rb_run_step(r, step, dest, "failed", "%s exists and is not this run's restore: %s", dest, why);
			*rc = rb_run_finish(r, "failed", "%s is in the way; nothing in it was changed", dest);
			return false;
		case PITR_DIR_ABSENT:
			break;
	}
	rb_run_step(r, step, dest, "started", "%s", detail);
	staging = pitr_staging_data(dest, id->run);
	t0 = mono_ms();
	if (!pitr_staging_begin(dest, id, err, sizeof(err)) || !fill(ctx, staging, err, sizeof(err)) ||
		!pitr_staging_commit(dest, id, err, sizeof(err)))
	{
		free(staging);
		rb_run_step(r, step, dest, "failed", "%s", err);
		*rc = rb_run_finish(r, "failed", "%s of the base backup failed", step);
		return false;
	}
	free(staging);
	*took = (double) (mono_ms() - t0) / 1000.0;
	rb_run_step(r, step, dest, "ok", "in %.2f s", *took);
	return true;
}

char *
pitr_request_destination(const rb_settings *s, bool in_place, const char *req_dir, int req_port,
						 const char *target_text, const char **restore_dir, int *port)
{
	if (in_place)
	{
		*restore_dir = s->pitr.data_dir;
		*port = req_port ? req_port : pitr_node_port(s->pitr.node);
		return xasprintf("pitr to %s in place of %s", target_text, *restore_dir ? *restore_dir : "?");
	}
	*restore_dir = req_dir ? req_dir : s->pitr.restore_dir;
	*port = req_port ? req_port : s->pitr.restore_port;
	return xasprintf("pitr to %s into %s port %d", target_text, *restore_dir ? *restore_dir : "?", *port);
}
