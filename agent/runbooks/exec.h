/*
 * exec.h: running external programs for the runbooks (pg_basebackup,
 * pg_ctl, cp, fence and traffic hooks) with fork+exec, a deadline and the
 * output captured; a program that outlives its deadline is killed with its
 * whole process group.
 */
#ifndef ORGUARD_RB_EXEC_H
#define ORGUARD_RB_EXEC_H

#include "util.h"

/*
 * Runs argv[0] (looked up in PATH) with extra environment entries
 * ("NAME=value", NULL-terminated, may be NULL).  Returns the exit status,
 * or -1 when it could not run, was killed by a signal, or timed out (err
 * says which).  out (may be NULL) receives stdout and stderr, capped.
 */
int			rb_exec(char *const argv[], char *const env[], double timeout_s, strbuf *out,
					char *err, size_t errlen);
/* /bin/sh -c cmd */
int			rb_shell(const char *cmd, char *const env[], double timeout_s, strbuf *out,
					 char *err, size_t errlen);
/* the last n lines of s (for error messages) */
const char *rb_tail_lines(const char *s, int n);

#endif
