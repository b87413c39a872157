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
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
	char	   *q = conf_quote(ci);
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

int
rb_rejoin_native(const rb_settings *s, const char *name, bool dry_run)
{
	const rb_promote_settings *p = &s->promote;
	const node_cfg *node = find_member(p, name);
	const char *dir;
	const node_cfg *primary = NULL;
	uint64_t	primary_sysid = 0;
	unsigned	primary_tl = 0;
	strbuf		primaries;
	rb_run		r;
	char		err[1024],
				why[512];
	char	   *params,
			   *save_dir = NULL,
			   *log = NULL,
			   *pwenv = NULL;
	controldata cd;
	const char *guard;
	bool		rewindable = true,
				forked = false,
				stopped = false;
	int			rc,
				n_primaries = 0;
	off_t		offset;
	int64_t		t0 = mono_ms(),
				t_rewind = -1;

	if (!node)
	{
		fprintf(stderr, "orguard-agent: %s is not the primary or a standby of [runbook %s]\n", name, s->name);
		return RB_EXIT_USAGE;
	}
	params = xasprintf("rejoin %s", name);
	rc = rb_run_begin(&r, s, params, dry_run, err, sizeof(err));
	free(params);
	if (rc != RB_EXIT_DONE)
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return rc;
	}
	sb_init(&primaries);
	if (!(dir = labels_get(&p->data_dirs, name)))
	{
		rc = rb_run_finish(&r, "refused", "data_dir: no data_dir.%s in [runbook %s]; rejoin works on a local data directory",
						   name, s->name);
		goto out;
	}
	log = xasprintf("%s/orguard-rejoin.log", dir);

	/* exactly one other node answers as primary */
	for (int i = -1; i < p->n_standbys; i++)
	{
		const node_cfg *n = i < 0 ? p->primary : p->standbys[i];
		PGconn	   *c;
		char	   *v = NULL;

		if (n == node || !(c = rb_connect_node(n, p->probe_timeout_s, err, sizeof(err))))
			continue;
		if (rb_query_value(c, "SELECT (SELECT system_identifier FROM pg_control_system())::text || ' ' || "
						   "substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) WHERE NOT pg_is_in_recovery()",
						   &v, err, sizeof(err)) && v)
		{
			char		tl[16] = "";

			n_primaries++;
			primary = n;
			sscanf(v, "%" SCNu64 " %15s", &primary_sysid, tl);
			primary_tl = (unsigned) strtoul(tl, NULL, 16);
			sb_printf(&primaries, "%s%s", primaries.len ? ", " : "", n->name);
		}
		free(v);
		PQfinish(c);
	}
	if (n_primaries != 1)
	{
		rc = rb_run_finish(&r, "refused", n_primaries ? "primary: more than one node answers as primary (%s): resolve that first"
						   : "primary: no other node answers as primary%s", primaries.data);
		goto out;
	}
	rb_run_step(&r, "primary", primary->name, "ok", "system identifier %" PRIu64 ", timeline %u", primary_sysid, primary_tl);

	/*
	 * The node must be stopped (fenced) and of this cluster.  A resumed run
	 * checks again: between the two runs the node may have been started as
	 * a primary, or its directory replaced by another cluster's.
	 */
	{
		char	   *tool = xasprintf("%s/pg_controldata", s->bin_dir);
		char	   *argv[] = {tool, "-D", (char *) dir, NULL};
		strbuf		out;
		bool		read_ok;

		sb_init(&out);
		read_ok = rb_exec(argv, NULL, 30, &out, err, sizeof(err)) == 0 && controldata_parse(out.data, &cd);
		free(tool);
		if (!read_ok)
		{
			rc = rb_run_finish(&r, "refused", "data_dir: cannot read the control file of %s: %s", dir,
							   rb_tail_lines(out.data, 2));
			sb_free(&out);
			goto out;
		}
		sb_free(&out);
		guard = rejoin_guard(&cd, node_running(s, dir) && !own_standby(s, &r, node), primary_sysid, why, sizeof(why));
		if (guard && !strcmp(guard, "rewindable"))
			rewindable = false;
		else if (guard)
		{
			rc = rb_run_finish(&r, "refused", "%s: %s", guard, why);
			goto out;
		}
		rb_run_step(&r, "check", name, "ok", "%s (%s), timeline %u, %s",
					node_running(s, dir) ? "running as the standby this run started" : "stopped", cd.state, cd.timeline,
					rewindable ? "rewindable" : "not rewindable (no wal_log_hints, no checksums)");
	}
	if (dry_run)
	{
		rb_plan_text(&r, "plan: save the configuration of %s, start it as a standby of %s and wait until it streams timeline %u; "
			   "if its WAL went past the switch point: stop it, pg_rewind --target-pgdata=%s --source-server=<%s>%s, "
			   "configure and start it again\n", name, primary->name, primary_tl, dir, primary->name,
			   rewindable ? "" : " (impossible here: a re-clone would be needed)");
		rc = rb_run_finish(&r, "done", "nothing changed");
		goto out;
	}

	/* per run: a later run must not overwrite the node's own files with what pg_rewind left */
	save_dir = xasprintf("%s.rejoin.%s.%s", s->journal, name, r.run);
	if (!rb_run_step_done(&r, "save-config", name))
	{
		errno = 0;
		if ((mkdir(save_dir, 0700) != 0 && errno != EEXIST) || !copy_conf(dir, save_dir, err, sizeof(err)))
		{
			rb_run_step(&r, "save-config", name, "failed", "%s", err[0] ? err : strerror(errno));
			rc = rb_run_finish(&r, "failed", "cannot save the configuration of %s; nothing changed", name);
			goto out;
		}
		rb_run_step(&r, "save-config", name, "ok", "into %s", save_dir);
	}
	if (!rb_run_step_done(&r, "rewind", name))
	{
		/* first try: recover as a standby, which writes no WAL of its own */
		if (!node_running(s, dir))
		{
			if (!configure_standby(&r, dir, save_dir, primary, name, err, sizeof(err)))
			{
				rb_run_step(&r, "configure", name, "failed", "%s", err);
				rc = rb_run_finish(&r, "failed", "cannot configure %s as a standby", name);
				goto out;
			}
			rb_run_step(&r, "configure", name, "ok", "own configuration, primary_conninfo to %s, standby.signal", primary->name);
			offset = file_size(log);
			if (!pg_ctl(s, dir, "start", log, err, sizeof(err)))
			{
				rb_run_step(&r, "start", name, "failed", "%s", err);

				/*
				 * A start in recovery after the fence (an operator, a crash
				 * loop) replayed the node's own WAL past the switch point:
				 * its minimum recovery point is not on the new timeline.
				 * It stopped shut down in recovery, as pg_rewind needs.
				 */
				if (!log_says(log, offset, "does not contain minimum recovery point"))
				{
					rc = rb_run_finish(&r, "failed", "%s did not start as a standby", name);
					goto out;
				}
				forked = stopped = true;
			}
			else
				rb_run_step(&r, "start", name, "ok", "as a standby");
		}
		else
			offset = 0;
		if (!stopped && wait_follow(s, node, primary_tl, log, offset, p->catchup_timeout_s, &forked))
		{
			rb_run_step(&r, "follow", name, "ok", "streams timeline %u from %s; no rewind was needed", primary_tl, primary->name);
			rc = rb_run_finish(&r, "done", "%s rejoined as a standby of %s in %.2f s without a rewind",
							   name, primary->name, (double) (mono_ms() - t0) / 1000.0);
			goto out;
		}
		rb_run_step(&r, "follow", name, "failed", "%s", forked ? "its WAL went past the new timeline's switch point"
					: "does not stream the new timeline");
		if (!rewindable)
		{
			pg_ctl(s, dir, "stop", NULL, err, sizeof(err));
			rc = rb_run_finish(&r, "failed", "rewindable: it needs a rewind, and pg_rewind needs wal_log_hints = on or "
							   "data checksums: %s is stopped; a re-clone (pg_basebackup) is needed", name);
			goto out;
		}
		if (!stopped && !pg_ctl(s, dir, "stop", NULL, err, sizeof(err)))
		{
			rb_run_step(&r, "stop", name, "failed", "%s", err);
			rc = rb_run_finish(&r, "failed", "cannot stop %s for the rewind", name);
			goto out;
		}
		rb_run_step(&r, "stop", name, "ok", "shut down in recovery, ready for pg_rewind");
		{
			/*
			 * A just-promoted primary's control file still names its old
			 * timeline until its first checkpoint, and pg_rewind reads it
			 */
			PGconn	   *c = rb_connect_node(primary, p->probe_timeout_s, err, sizeof(err));
			bool		ok = c && rb_exec_sql(c, "CHECKPOINT", err, sizeof(err));

			PQfinish(c);
			if (!ok)
			{
				rb_run_step(&r, "checkpoint", primary->name, "failed", "%s", err);
				rc = rb_run_finish(&r, "failed", "no checkpoint on %s: pg_rewind would read a stale timeline; %s stays down",
								   primary->name, name);
				goto out;
			}
			rb_run_step(&r, "checkpoint", primary->name, "ok", "control file up to date for pg_rewind");
		}
		{
			char	   *src = xasprintf("%s application_name=%s", primary->conninfo, name);
			char	   *target = xasprintf("--target-pgdata=%s", dir);
			char	   *source = xasprintf("--source-server=%s", src);
			char	   *tool = xasprintf("%s/pg_rewind", s->bin_dir);
			char	   *argv[] = {tool, target, source, NULL};
			char	   *env[] = {NULL, NULL};
			strbuf		out;
			int			x;
			int64_t		t = mono_ms();

			pwenv = rb_password_env(primary);
			env[0] = pwenv;
			sb_init(&out);
			rb_run_step(&r, "rewind", name, "started", "from %s", primary->name);
			x = rb_exec_pq(argv, env, p->rewind_timeout_s, &out, err, sizeof(err));
			t_rewind = mono_ms() - t;
			free(src);
			free(target);
			free(source);
			free(tool);
			if (x != 0)
			{
				rb_run_step(&r, "rewind", name, "failed", "%s", x < 0 ? err : rb_tail_lines(out.data, 2));
				sb_free(&out);
				copy_conf(save_dir, dir, err, sizeof(err));
				rc = rb_run_finish(&r, "failed", "pg_rewind failed: %s stays down; a re-clone (pg_basebackup) is needed", name);
				goto out;
			}
			rb_run_step(&r, "rewind", name, "ok", "in %.2f s", (double) t_rewind / 1000.0);
			sb_free(&out);
		}
	}
	/* after the rewind: the source's configuration files are in place of the node's */
	if (!node_running(s, dir))
	{
		if (!configure_standby(&r, dir, save_dir, primary, name, err, sizeof(err)))
		{
			rb_run_step(&r, "configure", name, "failed", "%s", err);
			rc = rb_run_finish(&r, "failed", "cannot configure %s as a standby", name);
			goto out;
		}
		rb_run_step(&r, "configure", name, "ok", "own configuration back, primary_conninfo to %s, standby.signal", primary->name);
		if (!pg_ctl(s, dir, "start", log, err, sizeof(err)))
		{
			rb_run_step(&r, "start", name, "failed", "%s", err);
			rc = rb_run_finish(&r, "failed", "%s did not start as a standby after the rewind", name);
			goto out;
		}
		rb_run_step(&r, "start", name, "ok", "as a standby");
	}
	if (!wait_follow(s, node, primary_tl, log, file_size(log), p->command_timeout_s, &forked))
	{
		rb_run_step(&r, "follow", name, "failed", "not streaming timeline %u from %s within %.0f s",
					primary_tl, primary->name, p->command_timeout_s);
		rc = rb_run_finish(&r, "failed", "%s runs as a standby but does not follow %s", name, primary->name);
		goto out;
	}
	rb_run_step(&r, "follow", name, "ok", "streams timeline %u from %s", primary_tl, primary->name);
	rc = rb_run_finish(&r, "done", "%s rejoined as a standby of %s in %.2f s (pg_rewind %.2f s)",
					   name, primary->name, (double) (mono_ms() - t0) / 1000.0, (double) t_rewind / 1000.0);
out:
	sb_free(&primaries);
	free(save_dir);
	free(log);
	free(pwenv);
	return rc;
}
