/*
 * pitr_node.c: the restored node of a PITR run: start it, wait until it
 * has promoted at the target, and verify where it stopped.
 */
#include "runbooks/pitr_node.h"
#include "runbooks/exec.h"
#include "runbooks/pitr_owner.h"
#include "runbooks/pitr_source.h"
#include "runbooks/pgconn.h"
#include "runbooks/rbfile.h"
#include "runbooks/rbutil.h"
#include "common/files.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

char *
pitr_restored_conninfo(const node_cfg *src, const char *sock_dir, int port)
{
	const char *user = NULL,
			   *db = NULL;
	PQconninfoOption *opts = NULL;
	char	   *out,
			   *qs,
			   *qd,
			   *qu;

	if (src && (opts = PQconninfoParse(src->conninfo, NULL)) != NULL)
		for (PQconninfoOption *o = opts; o->keyword; o++)
		{
			if (!strcmp(o->keyword, "user") && o->val)
				user = o->val;
			if (!strcmp(o->keyword, "dbname") && o->val)
				db = o->val;
		}
	qs = rb_conninfo_quote(sock_dir);
	qd = rb_conninfo_quote(db ? db : "postgres");
	qu = user ? rb_conninfo_quote(user) : NULL;
	out = xasprintf("host=%s port=%d dbname=%s%s%s", qs, port, qd, qu ? " user=" : "", qu ? qu : "");
	free(qs);
	free(qd);
	free(qu);
	PQconninfoFree(opts);
	return out;
}

bool
pitr_port_busy(const char *sock_dir, int port)
{
	char	   *probe = xasprintf("host=127.0.0.1 port=%d connect_timeout=2", port);
	PGPing		ping = PQping(probe);
	char	   *sockfile = xasprintf("%s/.s.PGSQL.%d", sock_dir, port);
	bool		busy = ping != PQPING_NO_RESPONSE || access(sockfile, F_OK) == 0;

	free(probe);
	free(sockfile);
	return busy;
}

bool
pitr_side_by_side_guard(const rb_run *r, const char *step, const char *restore_dir, int port,
						const char *sock_dir, const pitr_identity *id, char *err, size_t errlen)
{
	char		why[512];
	pitr_dir_owner dest = PITR_DIR_ABSENT;

	if (!restore_dir || restore_dir[0] != '/')
		snprintf(err, errlen, "restore_dir: an absolute restore directory is required (restore_dir or --restore-dir)");
	else if (port <= 0)
		snprintf(err, errlen, "restore_port: a port for the restored node is required (restore_port or --restore-port)");
	else if ((dest = pitr_dest_owner(restore_dir, id, why, sizeof(why))) == PITR_DIR_FOREIGN)
		snprintf(err, errlen, "restore_dir: %s already exists%s%s; the runbook restores into a new directory",
				 restore_dir, r->resumed ? " and is not this run's restore: " : "", r->resumed ? why : "");
	else if (dest != PITR_DIR_OURS &&
			 (rb_run_step_done(r, step, restore_dir) || rb_run_step_started(r, "start", restore_dir)))
		snprintf(err, errlen, "restore_dir: %s is gone since the run was interrupted; close the run "
				 "(runbook abandon) and restore again", restore_dir);
	else if (pitr_staging_owner(restore_dir, id, why, sizeof(why)) == PITR_DIR_FOREIGN)
	{
		char	   *staging = pitr_staging_path(restore_dir, id->run);

		snprintf(err, errlen, "restore_dir: %s is in the way and not this run's (%s)", staging, why);
		free(staging);
	}
	else if (!rb_run_step_done(r, "start", restore_dir) && pitr_port_busy(sock_dir, port))
		snprintf(err, errlen, "restore_port: port %d is in use", port);
	else
		return true;
	return false;
}

char *
pitr_side_by_side_settings(int port, const char *sock_dir)
{
	char	   *qs = rb_conf_quote(sock_dir);
	char	   *side = xasprintf("# side by side: own port and socket, no archiving into the source's archive,\n"
								 "# no waiting for the source's synchronous standbys, no upstream\n"
								 "port = %d\nunix_socket_directories = %s\narchive_mode = off\n"
								 "synchronous_standby_names = ''\nprimary_conninfo = ''\nprimary_slot_name = ''\n",
								 port, qs);

	free(qs);
	return side;
}

bool
pitr_node_running(const pitr_node *n)
{
	char	   *tool = xasprintf("%s/pg_ctl", n->bin_dir);
	char	   *argv[] = {tool, "-D", (char *) n->data_dir, "status", NULL};
	char		err[256];
	int			rc = rb_exec(argv, NULL, 30, NULL, err, sizeof(err));

	free(tool);
	return rc == 0;
}

bool
pitr_node_start(pitr_node *n, char *err, size_t errlen)
{
	char	   *tool = xasprintf("%s/pg_ctl", n->bin_dir);
	char		tmo[16];
	char	   *argv[] = {tool, "-D", (char *) n->data_dir, "-l", (char *) n->logfile, "-w", "-t", tmo, "start", NULL};
	strbuf		out;
	int			rc;
	int64_t		t0 = mono_ms();

	snprintf(tmo, sizeof(tmo), "%d", (int) (n->start_timeout_s + 0.5));
	sb_init(&out);
	rc = rb_exec(argv, NULL, n->start_timeout_s + 10, &out, err, errlen);
	n->t_start = (double) (mono_ms() - t0) / 1000.0;
	if (rc != 0)
	{
		char	   *log = file_read(n->logfile);

		snprintf(err, errlen, "pg_ctl start failed: %s", rb_tail_lines(log ? log : out.data, 4));
		free(log);
	}
	free(tool);
	sb_free(&out);
	return rc == 0;
}

bool
pitr_node_wait_promoted(pitr_node *n, rb_run *r, char *err, size_t errlen)
{
	int64_t		t0 = mono_ms();
	int64_t		deadline = t0 + (int64_t) (n->recovery_timeout_s * 1000);
	rb_progress progress;

	rb_progress_init(&progress, "recovery replay", RB_PROGRESS_LSN, n->replay_from, n->replay_to,
					 rb_run_progress_tty(), t0);
	for (;;)
	{
		PGconn	   *c = rb_connect(n->conninfo, n->password, 5, err, errlen);
		char	   *v = NULL;
		bool		done = false;
		uint64_t	replayed = 0;

		/* in recovery, and the WAL position replay has reached */
		if (c && rb_query_value(c, "SELECT pg_catalog.pg_is_in_recovery()::text || ' ' || "
								"COALESCE(pg_catalog.pg_last_wal_replay_lsn()::text, '')", &v, err, errlen) && v)
		{
			done = !strncmp(v, "false", 5);
			if (!done && strchr(v, ' ') && rb_lsn_parse(strchr(v, ' ') + 1, &replayed))
				rb_run_progress(r, &progress, "recovery", n->data_dir, replayed);
		}
		free(v);
		PQfinish(c);
		if (done)
		{
			rb_run_progress_end(&progress);
			n->t_recovery = (double) (mono_ms() - t0) / 1000.0;
			return true;
		}
		if (!pitr_node_running(n))
		{
			char	   *log = file_read(n->logfile);

			rb_run_progress_end(&progress);
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
			rb_run_progress_end(&progress);
			snprintf(err, errlen, "still in recovery after %.0f s", n->recovery_timeout_s);
			return false;
		}
		usleep(100000);
	}
}

bool
pitr_node_verify(const pitr_node *n, uint32_t backup_timeline, const char *check_query, char *detail, size_t len)
{
	char	   *log = file_read(n->logfile);
	char		stop[512] = "";
	char		err[512];
	PGconn	   *c = rb_connect(n->conninfo, n->password, 5, err, sizeof(err));
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
	if (!c || !rb_query_value(c, "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)", &tli, err, sizeof(err)) || !tli)
	{
		sb_printf(&sb, "cannot read the timeline: %s; ", err);
		ok = false;
	}
	else
	{
		new_tl = (unsigned) strtoul(tli, NULL, 16);
		if (new_tl <= backup_timeline)
		{
			sb_printf(&sb, "timeline %u is not above the backup's %u; ", new_tl, backup_timeline);
			ok = false;
		}
	}
	if (c && check_query)
	{
		if (!rb_query_operator_value(c, check_query, &chk, err, sizeof(err)))
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
				  new_tl, backup_timeline, check_query ? (ok ? "; check_query true" : "") : "");
	}
	snprintf(detail, len, "%s", sb.data);
	sb_free(&sb);
	free(tli);
	free(chk);
	free(log);
	PQfinish(c);
	return ok;
}

void
pitr_job_paths(const rb_settings *s, const rb_run *r, const char *restore_dir, bool in_place, int port,
			   char **sock_dir, char **logfile, char **aside, char **conninfo)
{
	const node_cfg *node = s->pitr.node;

	*sock_dir = *logfile = *aside = *conninfo = NULL;
	if (in_place)
	{
		const char *run = r->dry_run ? "RUN" : r->run;

		*sock_dir = xstrdup("");
		if (restore_dir)
		{
			*logfile = xasprintf("%s.pitr-%s.log", restore_dir, run);
			*aside = pitr_aside_path(restore_dir, run);
		}
		if (node && port > 0 && port != pitr_node_port(node))
			*conninfo = xasprintf("%s port=%d", node->conninfo, port);	/* the last port= wins */
		else
			*conninfo = xstrdup(node ? node->conninfo : "");
		return;
	}
	if (restore_dir && restore_dir[0] == '/')
	{
		char	   *copy = xstrdup(restore_dir);

		*sock_dir = s->pitr.restore_socket_dir ? xstrdup(s->pitr.restore_socket_dir) : xstrdup(dirname(copy));
		free(copy);
		*logfile = xasprintf("%s.log", restore_dir);
	}
	else
		*sock_dir = xstrdup("/tmp");
	*conninfo = pitr_restored_conninfo(node, *sock_dir, port);
}

int
pitr_bring_up(rb_run *r, pitr_node *n, uint32_t backup_timeline, const char *check_query,
			  const char *target_text, int port, double t_restore)
{
	char		err[2048],
				detail[2048];
	int			rc;

	if (!pitr_node_running(n))
	{
		rb_run_step(r, "start", n->data_dir, "started", "port %d", port);
		if (!pitr_node_start(n, err, sizeof(err)))
		{
			rb_run_step(r, "start", n->data_dir, "failed", "%s", err);
			return rb_run_finish(r, "failed", "the restored node did not start; see %s", n->logfile);
		}
		rb_run_step(r, "start", n->data_dir, "ok", "accepting connections after %.2f s", n->t_start);
	}
	if (!pitr_node_wait_promoted(n, r, err, sizeof(err)))
	{
		rb_run_step(r, "recovery", n->data_dir, "failed", "%s", err);
		return rb_run_finish(r, "failed", "recovery did not reach the target; see %s", n->logfile);
	}
	rb_run_step(r, "recovery", n->data_dir, "ok", "promoted %.2f s after start", n->t_recovery);
	if (!pitr_node_verify(n, backup_timeline, check_query, detail, sizeof(detail)))
	{
		rb_run_step(r, "verify", n->data_dir, "failed", "%s", detail);
		return rb_run_finish(r, "failed", "the restored node is up on port %d but did not verify", port);
	}
	rb_run_step(r, "verify", n->data_dir, "ok", "%s", detail);
	rc = rb_run_finish(r, "done", "restored to %s on port %d in %.2f s (copy %.2f s, start %.2f s, recovery %.2f s)",
					   target_text, port, rb_run_elapsed(r), t_restore, n->t_start, n->t_recovery);
	/* only a resumed run of this id needed the proof, and the run is closed */
	pitr_marker_remove(n->data_dir);
	return rc;
}

int
pitr_dest_open(pitr_dest *d, const rb_settings *s, const pitr_target *target,
			   const char *req_restore_dir, int req_restore_port, bool in_place,
			   bool dry_run, const char *what_else, PGconn **src)
{
	char		err[2048];
	char	   *params;
	int			rc;

	*src = NULL;
	d->target = *target;
	d->in_place = in_place;
	pitr_target_describe(&d->target, d->target_text, sizeof(d->target_text));
	params = pitr_request_destination(s, d->in_place, req_restore_dir, req_restore_port, d->target_text,
									  &d->restore_dir, &d->port);
	rc = rb_run_begin(&d->r, s, params, dry_run, err, sizeof(err));
	free(params);
	if (rc != RB_EXIT_DONE)
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return rc;
	}
	pitr_job_paths(s, &d->r, d->restore_dir, d->in_place, d->port, &d->sock_dir, &d->logfile, &d->aside,
				   &d->conninfo);
	d->node = (pitr_node)
	{
		s->bin_dir, d->restore_dir, d->logfile, d->conninfo, d->in_place && s->pitr.node ? s->pitr.node->password : NULL,
			s->pitr.start_timeout_s, s->pitr.recovery_timeout_s, 0, 0, 0, 0
	};
	if (s->pitr.node && !(*src = rb_connect_node(s->pitr.node, 5, err, sizeof(err))))
		rb_run_step(&d->r, "source", s->pitr.node->name, "skipped", "does not answer (%s); restoring from %s as it is",
					err, what_else);
	return RB_EXIT_DONE;
}

void
pitr_dest_close(pitr_dest *d)
{
	free(d->sock_dir);
	free(d->logfile);
	free(d->conninfo);
	free(d->aside);
	d->sock_dir = d->logfile = d->conninfo = d->aside = NULL;
}
