/*
 * pitr_source.c: the source cluster of a point-in-time recovery: event
 * lookup and, for in-place restores, the stopped-source guard and the
 * move of its data directory aside.
 */
#include "runbooks/pitr_source.h"
#include "runbooks/exec.h"
#include "runbooks/pgconn.h"
#include "runbooks/pitr.h"
#include "runbooks/rbutil.h"
#include "util.h"

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
		snprintf(err, errlen, "event: the target is an event but node %s does not answer",
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
	else if (!(ok = lsn_parse(v, &t->lsn)))
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
pitr_source_stopped(const char *bin_dir, const char *data_dir, const node_cfg *node, char *err, size_t errlen)
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
	if (rc != 3)
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
pitr_in_place_guard(const rb_settings *s, const rb_run *r, const pitr_target *t, const char *aside,
					char *err, size_t errlen)
{
	const char *data_dir = s->pitr.data_dir;

	if (!data_dir)
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
	/* a resumed run has moved the source aside already */
	if (rb_run_step_done(r, "move-aside", data_dir))
		return true;
	if (!pitr_source_stopped(s->bin_dir, data_dir, s->pitr.node, err, errlen))
		return false;
	if (aside && access(aside, F_OK) == 0)
	{
		snprintf(err, errlen, "data_dir: %s already exists", aside);
		return false;
	}
	return true;
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
	if (access(aside, F_OK) == 0)
	{
		snprintf(err, errlen, "%s already exists", aside);
		return false;
	}
	if (rename(data_dir, aside) != 0)
	{
		snprintf(err, errlen, "cannot rename %s to %s: %s", data_dir, aside, strerror(errno));
		return false;
	}
	return true;
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
		if (access(dst, F_OK) != 0)
		{
			char	   *argv[] = {"cp", "-p", src, dst, NULL};
			strbuf		out;

			sb_init(&out);
			if (rb_exec(argv, NULL, 600, &out, err, errlen) != 0)
			{
				snprintf(err, errlen, "cannot copy %s: %s", src, rb_tail_lines(out.data, 2));
				ok = false;
			}
			else
				(*copied)++;
			sb_free(&out);
		}
		free(src);
		free(dst);
	}
	closedir(d);
	free(from);
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
pitr_step_move_aside(rb_run *r, const char *data_dir, const char *aside, int *rc)
{
	char		err[1024];

	if (rb_run_step_done(r, "move-aside", data_dir))
		return true;
	if (!pitr_move_aside(data_dir, aside, err, sizeof(err)))
	{
		rb_run_step(r, "move-aside", data_dir, "failed", "%s", err);
		*rc = rb_run_finish(r, "failed", "the source's data directory could not be moved aside");
		return false;
	}
	rb_run_step(r, "move-aside", data_dir, "ok", "kept as %s", aside);
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
