/*
 * exec.h: running external programs for the runbooks (pg_basebackup,
 * pg_ctl, cp, fence and traffic hooks) with fork+exec, a deadline and the
 * output captured; a program that outlives its deadline is killed with its
 * whole process group, and one whose agent dies (kill -9) is killed too,
 * so that no copy goes on writing behind a resumed run.
 *
 * Children never inherit the agent's environment, which holds the
 * service's secrets: they get PATH, HOME, LANG, LC_ALL and TZ from it,
 * the entries the caller passes (ORGUARD_* for hooks, PGPASSWORD from a
 * node's password_file), and with rb_exec_pq the client settings libpq
 * and pgBackRest read (RB_EXEC_PQ_VARS, PGBACKREST_*).
 */
#ifndef ORGUARD_RB_EXEC_H
#define ORGUARD_RB_EXEC_H

#include "common/util.h"

#include <stdbool.h>

/* the variables every child gets from the agent's environment */
#define RB_EXEC_BASE_VARS "PATH", "HOME", "LANG", "LC_ALL", "TZ"
/* and libpq / pgBackRest children: client settings, never a password */
#define RB_EXEC_PQ_VARS "PGPASSFILE", "PGSERVICEFILE", "PGSYSCONFDIR", "PGSSLMODE", "PGSSLROOTCERT", \
	"PGSSLCERT", "PGSSLKEY", "PGSSLCRL", "PGSSLCRLDIR", "PGSSLSNI", "PGREQUIRESSL", "PGGSSENCMODE", \
	"PGKRBSRVNAME", "PGGSSLIB", "PGCONNECT_TIMEOUT", "PGTARGETSESSIONATTRS"

/*
 * The environment of a child: the allowed variables of parent (with
 * libpq, also RB_EXEC_PQ_VARS and PGBACKREST_*), then extra
 * ("NAME=value", NULL-terminated, may be NULL), which wins over a
 * variable of the same name.  Malloc'd strings in a malloc'd
 * NULL-terminated array; free with rb_child_env_free.  Pure.
 */
char	  **rb_child_env(char *const parent[], char *const extra[], bool libpq);
void		rb_child_env_free(char **env);

/*
 * Runs argv[0] (looked up in PATH) with the environment rb_child_env
 * builds from the agent's and env.  Returns the exit status, or -1 when
 * it could not run, was killed by a signal, or timed out (err says
 * which).  out (may be NULL) receives stdout and stderr, capped.
 */
int			rb_exec(char *const argv[], char *const env[], double timeout_s, strbuf *out,
					char *err, size_t errlen);
/* the same for a libpq or pgBackRest client (pg_basebackup, pg_rewind, pgbackrest) */
int			rb_exec_pq(char *const argv[], char *const env[], double timeout_s, strbuf *out,
					   char *err, size_t errlen);
/*
 * Called with each chunk of the child's output as it is read, and with
 * chunk NULL at least once a second while the child runs: the runbooks
 * report progress from it (progress.h).
 */
typedef void (*rb_exec_tick) (void *ctx, const char *chunk, size_t n);

/* rb_exec or (libpq) rb_exec_pq, calling tick as the child runs */
int			rb_exec_watched(char *const argv[], char *const env[], bool libpq, double timeout_s,
							strbuf *out, rb_exec_tick tick, void *ctx, char *err, size_t errlen);
/* /bin/sh -c cmd */
int			rb_shell(const char *cmd, char *const env[], double timeout_s, strbuf *out,
					 char *err, size_t errlen);
/* the last n lines of s (for error messages) */
const char *rb_tail_lines(const char *s, int n);

#endif
