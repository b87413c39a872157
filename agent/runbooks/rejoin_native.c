/*
 * rejoin_native.c: "orguard-agent runbook rejoin NODE": an old primary,
 * fenced after a failover, becomes a standby of the new primary with
 * pg_rewind, or the runbook refuses and says a re-clone is needed.
 *
 * Never two primaries: the runbook refuses while NODE runs, when no node or
 * more than one node answers as primary, when NODE belongs to another
 * cluster, and when pg_rewind cannot work (no wal_log_hints and no data
 * checksums).  pg_rewind copies the source's configuration files, so the
 * node's own (postgresql.conf, postgresql.auto.conf, pg_hba.conf,
 * pg_ident.conf) are saved beside the journal first and put back after.
 *
 * A crashed old primary is first started as a standby of the new primary
 * (standby.signal, primary_conninfo): its crash recovery then writes
 * nothing, and when it had no WAL past the new timeline's switch point it
 * simply follows.  Only when it does not (the log says the new timeline
 * forked off before its recovery point, or the start fails because an
 * earlier start in recovery, by an operator after the fence, replayed the
 * node's WAL past the switch point) is it stopped, which leaves it
 * cleanly shut down in recovery, rewound with pg_rewind (after a CHECKPOINT
 * on the new primary, whose control file names its new timeline only from
 * then on), configured again and started.  Letting pg_rewind run crash recovery itself would write a
 * shutdown checkpoint past the switch point and strand the node.
 *
 * Steps: check, save-config, configure, start, follow; when needed stop,
 * checkpoint, rewind, configure, start, follow again.
 */
#include "runbooks/exec.h"
#include "runbooks/pgconn.h"
#include "runbooks/promote.h"
#include "runbooks/promote_plan.h"
#include "runbooks/rbfile.h"
#include "runbooks/rbutil.h"
#include "runbooks/run.h"
#include "common/files.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const conf_files[] = {
	"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf", NULL
};

/* copies the node's own configuration files from one directory to another */
static bool
copy_conf(const char *from, const char *to, char *err, size_t errlen)
{
	for (int i = 0; conf_files[i]; i++)
	{
		char	   *src = xasprintf("%s/%s", from, conf_files[i]);
		char	   *dst = xasprintf("%s/%s", to, conf_files[i]);
		char	   *text = file_read(src);
		bool		ok = !text || rb_file_write(dst, text, false);

		if (!ok)
			snprintf(err, errlen, "cannot write %s: %s", dst, strerror(errno));
		free(text);
		free(src);
		free(dst);
		if (!ok)
			return false;
	}
	return true;
}

static const node_cfg *
find_member(const rb_promote_settings *p, const char *name)
{
	if (!strcmp(p->primary->name, name))
		return p->primary;
	for (int i = 0; i < p->n_standbys; i++)
		if (!strcmp(p->standbys[i]->name, name))
			return p->standbys[i];
	return NULL;
}

static bool
node_running(const rb_settings *s, const char *dir)
{
	char	   *tool = xasprintf("%s/pg_ctl", s->bin_dir);
	char	   *argv[] = {tool, "-D", (char *) dir, "status", NULL};
	char		err[256];
	int			rc = rb_exec(argv, NULL, 30, NULL, err, sizeof(err));

	free(tool);
	return rc == 0;
}

/*
 * A resumed run finds the node running: only the standby this run started
 * (its start journaled ok) that still answers in recovery may go on
 */
static bool
own_standby(const rb_settings *s, const rb_run *r, const node_cfg *node)
{
	char		err[256];
	char	   *v = NULL;
	PGconn	   *c;
	bool		standby;

	if (!rb_run_step_done(r, "start", node->name))
		return false;
	c = rb_connect_node(node, s->promote.probe_timeout_s, err, sizeof(err));
	standby = c && rb_query_value(c, "SELECT pg_is_in_recovery()", &v, err, sizeof(err)) && v && !strcmp(v, "t");
	free(v);
	PQfinish(c);
	return standby;
}

/* own configuration back, then follow primary as a standby */
static bool
configure_standby(const rb_run *r, const char *dir, const char *save_dir, const node_cfg *primary,
				  const char *name, char *err, size_t errlen)
{
	char	   *ci = xasprintf("%s application_name=%s", primary->conninfo, name);
	char	   *q = rb_conf_quote(ci);
	char	   *add = xasprintf("\n# orguard-agent runbook rejoin, run %s: follow %s\nprimary_conninfo = %s\n",
								r->run, primary->name, q);
	char	   *auto_conf = xasprintf("%s/postgresql.auto.conf", dir);
	char	   *signal = xasprintf("%s/standby.signal", dir);
	bool		ok;

	err[0] = '\0';
	ok = copy_conf(save_dir, dir, err, errlen) && rb_file_write(auto_conf, add, true) && rb_file_write(signal, "", false);
	if (!ok && !err[0])
		snprintf(err, errlen, "%s", strerror(errno));
	free(ci);
	free(q);
	free(add);
	free(auto_conf);
	free(signal);
	return ok;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

static bool
pg_ctl(const rb_settings *s, const char *dir, const char *action, const char *log, char *err, size_t errlen)
{
	char	   *tool = xasprintf("%s/pg_ctl", s->bin_dir);
	char		tmo[16];
	char	   *argv[12];
	int			i = 0,
				rc;
	strbuf		out;

	snprintf(tmo, sizeof(tmo), "%d", (int) (s->promote.promote_timeout_s + 0.5));
	argv[i++] = tool;
	argv[i++] = "-D";
	argv[i++] = (char *) dir;
	if (log)
	{
		argv[i++] = "-l";
		argv[i++] = (char *) log;
	}
	if (!strcmp(action, "stop"))
	{
		argv[i++] = "-m";
		argv[i++] = "fast";
	}
	argv[i++] = "-w";
	argv[i++] = "-t";
	argv[i++] = tmo;
	argv[i++] = (char *) action;
	argv[i] = NULL;
	sb_init(&out);
	rc = rb_exec(argv, NULL, s->promote.promote_timeout_s + 10, &out, err, errlen);
	if (rc > 0)
	{
		char	   *text = log ? file_read(log) : NULL;

		snprintf(err, errlen, "pg_ctl %s: %s", action, rb_tail_lines(text ? text : out.data, 2));
		free(text);
	}
	sb_free(&out);
	free(tool);
	return rc == 0;
}

/* true when the node's log, from offset on, holds needle */
static bool
log_says(const char *log, off_t offset, const char *needle)
{
	char	   *text = file_read(log);
	bool		found = text && (size_t) offset < strlen(text) && strstr(text + offset, needle) != NULL;

	free(text);
	return found;
}

/*
 * Waits until node streams timeline tl; false early when its log (from
 * offset on) says it cannot follow without a rewind.
 */
static bool
wait_follow(const rb_settings *s, const node_cfg *node, unsigned tl, const char *log, off_t offset,
			double timeout_s, bool *forked)
{
	int64_t		deadline = mono_ms() + (int64_t) (timeout_s * 1000);
	char		err[512];

	*forked = false;
	while (mono_ms() < deadline)
	{
		PGconn	   *c = rb_connect_node(node, s->promote.probe_timeout_s, err, sizeof(err));
		char	   *v = NULL;
		bool		follows = c && rb_query_value(c, "SELECT received_tli FROM pg_stat_wal_receiver WHERE status = 'streaming'",
												  &v, err, sizeof(err)) && v && strtoul(v, NULL, 10) >= tl;
		char	   *text;

		free(v);
		PQfinish(c);
		if (follows)
			return true;
		if ((text = file_read(log)) != NULL)
		{
			size_t		len = strlen(text);

			*forked = (size_t) offset < len && strstr(text + offset, "forked off current database system timeline") != NULL;
			free(text);
			if (*forked)
				return false;
		}
		usleep(200000);
	}
	return false;
}

/* ---------- the run: one context, one function per step ---------- */

typedef struct rejoin_ctx
{
	const rb_settings *s;
	const rb_promote_settings *p;
	const char *name;
	const node_cfg *node;
	bool		dry_run;
	rb_run		r;
	const char *dir;
	char	   *log;
	char	   *save_dir;
	char	   *pwenv;
	const node_cfg *primary;
	uint64_t	primary_sysid;
	unsigned	primary_tl;
	bool		rewindable;
	bool		forked;
	bool		stopped;		/* shut down in recovery by a failed start */
	int			rc;				/* the exit code once a step ends the run */
	char		err[1024];
	int64_t		t0,
				t_rewind;
} rejoin_ctx;

/* ends the run with result and a detail; returns false to stop the steps */
static bool
finish(rejoin_ctx *c, const char *result, const char *fmt,...) __attribute__((format(printf, 3, 4)));

static bool
finish(rejoin_ctx *c, const char *result, const char *fmt,...)
{
	strbuf		why;
	va_list		ap;

	sb_init(&why);
	va_start(ap, fmt);
	sb_vprintf(&why, fmt, ap);
	va_end(ap);
	c->rc = rb_run_finish(&c->r, result, "%s", why.data);
	sb_free(&why);
	return false;
}

/* the lock and the journal, and a local data directory to work on */
static bool
step_begin(rejoin_ctx *c)
{
	char	   *params = xasprintf("rejoin %s", c->name);

	c->rc = rb_run_begin(&c->r, c->s, params, c->dry_run, c->err, sizeof(c->err));
	free(params);
	if (c->rc != RB_EXIT_DONE)
	{
		fprintf(stderr, "orguard-agent: %s\n", c->err);
		return false;
	}
	if (!(c->dir = labels_get(&c->p->data_dirs, c->name)))
		return finish(c, "refused", "data_dir: no data_dir.%s in [runbook %s]; rejoin works on a local data directory",
					  c->name, c->s->name);
	c->log = xasprintf("%s/orguard-rejoin.log", c->dir);
	return true;
}

/* exactly one other node answers as primary */
static bool
step_primary(rejoin_ctx *c)
{
	const rb_promote_settings *p = c->p;
	strbuf		primaries;
	int			n_primaries = 0;

	sb_init(&primaries);
	for (int i = -1; i < p->n_standbys; i++)
	{
		const node_cfg *n = i < 0 ? p->primary : p->standbys[i];
		PGconn	   *conn;
		char	   *v = NULL;

		if (n == c->node || !(conn = rb_connect_node(n, p->probe_timeout_s, c->err, sizeof(c->err))))
			continue;
		if (rb_query_value(conn, "SELECT (SELECT system_identifier FROM pg_control_system())::text || ' ' || "
						   "substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) WHERE NOT pg_is_in_recovery()",
						   &v, c->err, sizeof(c->err)) && v)
		{
			char		tl[16] = "";

			n_primaries++;
			c->primary = n;
			sscanf(v, "%" SCNu64 " %15s", &c->primary_sysid, tl);
			c->primary_tl = (unsigned) strtoul(tl, NULL, 16);
			sb_printf(&primaries, "%s%s", primaries.len ? ", " : "", n->name);
		}
		free(v);
		PQfinish(conn);
	}
	if (n_primaries != 1)
	{
		if (n_primaries)
			finish(c, "refused", "primary: more than one node answers as primary (%s): resolve that first",
				   primaries.data);
		else
			finish(c, "refused", "primary: no other node answers as primary%s", primaries.data);
		sb_free(&primaries);
		return false;
	}
	sb_free(&primaries);
	rb_run_step(&c->r, "primary", c->primary->name, "ok", "system identifier %" PRIu64 ", timeline %u",
				c->primary_sysid, c->primary_tl);
	return true;
}

/*
 * The node must be stopped (fenced) and of this cluster.  A resumed run
 * checks again: between the two runs the node may have been started as
 * a primary, or its directory replaced by another cluster's.
 */
static bool
step_check(rejoin_ctx *c)
{
	const rb_settings *s = c->s;
	char	   *tool = xasprintf("%s/pg_controldata", s->bin_dir);
	char	   *argv[] = {tool, "-D", (char *) c->dir, NULL};
	strbuf		out;
	bool		read_ok;
	controldata cd;
	const char *guard;
	char		why[512];

	sb_init(&out);
	read_ok = rb_exec(argv, NULL, 30, &out, c->err, sizeof(c->err)) == 0 && controldata_parse(out.data, &cd);
	free(tool);
	if (!read_ok)
	{
		finish(c, "refused", "data_dir: cannot read the control file of %s: %s", c->dir,
			   rb_tail_lines(out.data, 2));
		sb_free(&out);
		return false;
	}
	sb_free(&out);
	guard = rejoin_guard(&cd, node_running(s, c->dir) && !own_standby(s, &c->r, c->node), c->primary_sysid,
						 why, sizeof(why));
	if (guard && !strcmp(guard, "rewindable"))
		c->rewindable = false;
	else if (guard)
		return finish(c, "refused", "%s: %s", guard, why);
	rb_run_step(&c->r, "check", c->name, "ok", "%s (%s), timeline %u, %s",
				node_running(s, c->dir) ? "running as the standby this run started" : "stopped", cd.state, cd.timeline,
				c->rewindable ? "rewindable" : "not rewindable (no wal_log_hints, no checksums)");
	return true;
}

/* a dry run stops after the checks and prints the plan */
static void
print_plan(rejoin_ctx *c)
{
	rb_plan_text(&c->r, "plan: save the configuration of %s, start it as a standby of %s and wait until it streams timeline %u; "
		   "if its WAL went past the switch point: stop it, pg_rewind --target-pgdata=%s --source-server=<%s>%s, "
		   "configure and start it again\n", c->name, c->primary->name, c->primary_tl, c->dir, c->primary->name,
		   c->rewindable ? "" : " (impossible here: a re-clone would be needed)");
	finish(c, "done", "nothing changed");
}

/* per run: a later run must not overwrite the node's own files with what pg_rewind left */
static bool
step_save_config(rejoin_ctx *c)
{
	c->save_dir = xasprintf("%s.rejoin.%s.%s", c->s->journal, c->name, c->r.run);
	if (rb_run_step_done(&c->r, "save-config", c->name))
		return true;
	errno = 0;
	if ((mkdir(c->save_dir, 0700) != 0 && errno != EEXIST) || !copy_conf(c->dir, c->save_dir, c->err, sizeof(c->err)))
	{
		rb_run_step(&c->r, "save-config", c->name, "failed", "%s", c->err[0] ? c->err : strerror(errno));
		return finish(c, "failed", "cannot save the configuration of %s; nothing changed", c->name);
	}
	rb_run_step(&c->r, "save-config", c->name, "ok", "into %s", c->save_dir);
	return true;
}

/*
 * First try: recover as a standby, which writes no WAL of its own.  Ends
 * the run (done) when the node simply follows.
 */
static bool
step_try_follow(rejoin_ctx *c)
{
	const rb_settings *s = c->s;
	const char *name = c->name;
	off_t		offset;

	if (!node_running(s, c->dir))
	{
		if (!configure_standby(&c->r, c->dir, c->save_dir, c->primary, name, c->err, sizeof(c->err)))
		{
			rb_run_step(&c->r, "configure", name, "failed", "%s", c->err);
			return finish(c, "failed", "cannot configure %s as a standby", name);
		}
		rb_run_step(&c->r, "configure", name, "ok", "own configuration, primary_conninfo to %s, standby.signal",
					c->primary->name);
		offset = file_size(c->log);
		if (!pg_ctl(s, c->dir, "start", c->log, c->err, sizeof(c->err)))
		{
			rb_run_step(&c->r, "start", name, "failed", "%s", c->err);

			/*
			 * A start in recovery after the fence (an operator, a crash
			 * loop) replayed the node's own WAL past the switch point: its
			 * minimum recovery point is not on the new timeline.  It
			 * stopped shut down in recovery, as pg_rewind needs.
			 */
			if (!log_says(c->log, offset, "does not contain minimum recovery point"))
				return finish(c, "failed", "%s did not start as a standby", name);
			c->forked = c->stopped = true;
		}
		else
			rb_run_step(&c->r, "start", name, "ok", "as a standby");
	}
	else
		offset = 0;
	if (!c->stopped && wait_follow(s, c->node, c->primary_tl, c->log, offset, c->p->catchup_timeout_s, &c->forked))
	{
		rb_run_step(&c->r, "follow", name, "ok", "streams timeline %u from %s; no rewind was needed", c->primary_tl,
					c->primary->name);
		return finish(c, "done", "%s rejoined as a standby of %s in %.2f s without a rewind",
					  name, c->primary->name, (double) (mono_ms() - c->t0) / 1000.0);
	}
	rb_run_step(&c->r, "follow", name, "failed", "%s", c->forked ? "its WAL went past the new timeline's switch point"
				: "does not stream the new timeline");
	return true;
}

/* stopped cleanly in recovery, ready for pg_rewind (when it can work) */
static bool
step_stop(rejoin_ctx *c)
{
	if (!c->rewindable)
	{
		pg_ctl(c->s, c->dir, "stop", NULL, c->err, sizeof(c->err));
		return finish(c, "failed", "rewindable: it needs a rewind, and pg_rewind needs wal_log_hints = on or "
					  "data checksums: %s is stopped; a re-clone (pg_basebackup) is needed", c->name);
	}
	if (!c->stopped && !pg_ctl(c->s, c->dir, "stop", NULL, c->err, sizeof(c->err)))
	{
		rb_run_step(&c->r, "stop", c->name, "failed", "%s", c->err);
		return finish(c, "failed", "cannot stop %s for the rewind", c->name);
	}
	rb_run_step(&c->r, "stop", c->name, "ok", "shut down in recovery, ready for pg_rewind");
	return true;
}

/*
 * A just-promoted primary's control file still names its old timeline until
 * its first checkpoint, and pg_rewind reads it
 */
static bool
step_checkpoint(rejoin_ctx *c)
{
	PGconn	   *conn = rb_connect_node(c->primary, c->p->probe_timeout_s, c->err, sizeof(c->err));
	bool		ok = conn && rb_exec_sql(conn, "CHECKPOINT", c->err, sizeof(c->err));

	PQfinish(conn);
	if (!ok)
	{
		rb_run_step(&c->r, "checkpoint", c->primary->name, "failed", "%s", c->err);
		return finish(c, "failed", "no checkpoint on %s: pg_rewind would read a stale timeline; %s stays down",
					  c->primary->name, c->name);
	}
	rb_run_step(&c->r, "checkpoint", c->primary->name, "ok", "control file up to date for pg_rewind");
	return true;
}

static bool
step_rewind(rejoin_ctx *c)
{
	const node_cfg *primary = c->primary;
	char	   *src = xasprintf("%s application_name=%s", primary->conninfo, c->name);
	char	   *target = xasprintf("--target-pgdata=%s", c->dir);
	char	   *source = xasprintf("--source-server=%s", src);
	char	   *tool = xasprintf("%s/pg_rewind", c->s->bin_dir);
	char	   *argv[] = {tool, target, source, NULL};
	char	   *env[] = {NULL, NULL};
	strbuf		out;
	int			x;
	int64_t		t = mono_ms();

	c->pwenv = rb_password_env(primary);
	env[0] = c->pwenv;
	sb_init(&out);
	rb_run_step(&c->r, "rewind", c->name, "started", "from %s", primary->name);
	x = rb_exec_pq(argv, env, c->p->rewind_timeout_s, &out, c->err, sizeof(c->err));
	c->t_rewind = mono_ms() - t;
	free(src);
	free(target);
	free(source);
	free(tool);
	if (x != 0)
	{
		rb_run_step(&c->r, "rewind", c->name, "failed", "%s", x < 0 ? c->err : rb_tail_lines(out.data, 2));
		sb_free(&out);
		copy_conf(c->save_dir, c->dir, c->err, sizeof(c->err));
		return finish(c, "failed", "pg_rewind failed: %s stays down; a re-clone (pg_basebackup) is needed", c->name);
	}
	rb_run_step(&c->r, "rewind", c->name, "ok", "in %.2f s", (double) c->t_rewind / 1000.0);
	sb_free(&out);
	return true;
}

/* after the rewind: the source's configuration files are in place of the node's */
static bool
step_restart(rejoin_ctx *c)
{
	const char *name = c->name;

	if (node_running(c->s, c->dir))
		return true;
	if (!configure_standby(&c->r, c->dir, c->save_dir, c->primary, name, c->err, sizeof(c->err)))
	{
		rb_run_step(&c->r, "configure", name, "failed", "%s", c->err);
		return finish(c, "failed", "cannot configure %s as a standby", name);
	}
	rb_run_step(&c->r, "configure", name, "ok", "own configuration back, primary_conninfo to %s, standby.signal",
				c->primary->name);
	if (!pg_ctl(c->s, c->dir, "start", c->log, c->err, sizeof(c->err)))
	{
		rb_run_step(&c->r, "start", name, "failed", "%s", c->err);
		return finish(c, "failed", "%s did not start as a standby after the rewind", name);
	}
	rb_run_step(&c->r, "start", name, "ok", "as a standby");
	return true;
}

static bool
step_follow(rejoin_ctx *c)
{
	if (!wait_follow(c->s, c->node, c->primary_tl, c->log, file_size(c->log), c->p->command_timeout_s, &c->forked))
	{
		rb_run_step(&c->r, "follow", c->name, "failed", "not streaming timeline %u from %s within %.0f s",
					c->primary_tl, c->primary->name, c->p->command_timeout_s);
		return finish(c, "failed", "%s runs as a standby but does not follow %s", c->name, c->primary->name);
	}
	rb_run_step(&c->r, "follow", c->name, "ok", "streams timeline %u from %s", c->primary_tl, c->primary->name);
	return true;
}

int
rb_rejoin_native(const rb_settings *s, const char *name, bool dry_run)
{
	rejoin_ctx	c = {
		.s = s,
		.p = &s->promote,
		.name = name,
		.node = find_member(&s->promote, name),
		.dry_run = dry_run,
		.rewindable = true,
		.t0 = mono_ms(),
		.t_rewind = -1,
	};

	if (!c.node)
	{
		fprintf(stderr, "orguard-agent: %s is not the primary or a standby of [runbook %s]\n", name, s->name);
		return RB_EXIT_USAGE;
	}
	if (step_begin(&c) && step_primary(&c) && step_check(&c))
	{
		if (dry_run)
			print_plan(&c);
		else if (step_save_config(&c) &&
				 (rb_run_step_done(&c.r, "rewind", name) ||
				  (step_try_follow(&c) && step_stop(&c) && step_checkpoint(&c) && step_rewind(&c))) &&
				 step_restart(&c) && step_follow(&c))
			finish(&c, "done", "%s rejoined as a standby of %s in %.2f s (pg_rewind %.2f s)",
				   name, c.primary->name, (double) (mono_ms() - c.t0) / 1000.0, (double) c.t_rewind / 1000.0);
	}
	free(c.save_dir);
	free(c.log);
	free(c.pwenv);
	return c.rc;
}
