/*
 * exec.c: fork+exec with a deadline, captured output, a minimal
 * environment and no child outliving a killed agent.
 */
#include "runbooks/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RB_EXEC_OUT_MAX (256 * 1024)

extern char **environ;

static const char *const base_vars[] = {RB_EXEC_BASE_VARS, NULL};
static const char *const pq_vars[] = {RB_EXEC_PQ_VARS, NULL};

/* "NAME=..." names one of list */
static bool
env_named(const char *entry, const char *const list[])
{
	size_t		len = strcspn(entry, "=");

	for (int i = 0; list[i]; i++)
		if (strlen(list[i]) == len && !strncmp(entry, list[i], len))
			return true;
	return false;
}

/* extra holds an entry of the same name as entry */
static bool
env_overridden(const char *entry, char *const extra[])
{
	size_t		len = strcspn(entry, "=");

	for (int i = 0; extra && extra[i]; i++)
		if (strcspn(extra[i], "=") == len && !strncmp(entry, extra[i], len))
			return true;
	return false;
}

char	  **
rb_child_env(char *const parent[], char *const extra[], bool libpq)
{
	size_t		n = 0,
				cap = 1;
	char	  **env;

	for (int i = 0; parent && parent[i]; i++)
		cap++;
	for (int i = 0; extra && extra[i]; i++)
		cap++;
	env = xcalloc(cap, sizeof(char *));
	for (int i = 0; parent && parent[i]; i++)
	{
		const char *e = parent[i];
		bool		allowed = env_named(e, base_vars) ||
			(libpq && (env_named(e, pq_vars) || !strncmp(e, "PGBACKREST_", 11)));

		if (allowed && strchr(e, '=') && !env_overridden(e, extra))
			env[n++] = xstrdup(e);
	}
	for (int i = 0; extra && extra[i]; i++)
		if (strchr(extra[i], '='))
			env[n++] = xstrdup(extra[i]);
	env[n] = NULL;
	return env;
}

void
rb_child_env_free(char **env)
{
	for (int i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static int
exec_child(char *const argv[], char *const extra[], bool libpq, double timeout_s, strbuf *out,
		   rb_exec_tick tick, void *tick_ctx, char *err, size_t errlen)
{
	int			pfd[2];
	pid_t		pid,
				agent = getpid();
	int64_t		deadline = mono_ms() + (int64_t) (timeout_s * 1000);
	int			status = 0;
	bool		timed_out = false;
	bool		open_pipe = true;
	char	  **env;

	if (pipe2(pfd, O_CLOEXEC) != 0)
	{
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	/* built before fork: the CLI has threads, the child may not malloc */
	env = rb_child_env(environ, extra, libpq);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
	{
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		rb_child_env_free(env);
		return -1;
	}
	if (pid == 0)
	{
		int			devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);

		/*
		 * A copy must not go on writing once its agent is gone (kill -9):
		 * a resumed run, or an operator, may already be using the path.
		 * The program's own children (the postmaster that pg_ctl starts)
		 * are not affected.
		 */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != agent)
			_exit(126);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execvpe(argv[0], argv, env);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	rb_child_env_free(env);
	close(pfd[1]);
	while (open_pipe)
	{
		struct pollfd p = {pfd[0], POLLIN, 0};
		int64_t		left = deadline - mono_ms();
		char		buf[4096];
		ssize_t		n;

		if (left <= 0)
		{
			timed_out = true;
			break;
		}
		if (poll(&p, 1, (int) (left > 1000 ? 1000 : left)) <= 0)
		{
			if (tick)
				tick(tick_ctx, NULL, 0);
			continue;
		}
		n = read(pfd[0], buf, sizeof(buf));
		if (n <= 0)
		{
			if (n < 0 && errno == EINTR)
				continue;
			open_pipe = false;
			break;
		}
		if (out && out->len < RB_EXEC_OUT_MAX)
			sb_append_len(out, buf, (size_t) n);
		if (tick)
			tick(tick_ctx, buf, (size_t) n);
	}
	close(pfd[0]);
	if (timed_out)
	{
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	else
	{
		/* output closed: wait for the exit, still within the deadline */
		for (;;)
		{
			pid_t		w = waitpid(pid, &status, WNOHANG);

			if (w == pid)
				break;
			if (mono_ms() >= deadline)
			{
				timed_out = true;
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				break;
			}
			usleep(20000);
		}
		if (!timed_out)
			goto done;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
done:
	if (timed_out)
	{
		snprintf(err, errlen, "%s timed out after %.0f s", argv[0], timeout_s);
		return -1;
	}
	if (WIFSIGNALED(status))
	{
		snprintf(err, errlen, "%s killed by signal %d", argv[0], WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
}

int
rb_exec(char *const argv[], char *const env[], double timeout_s, strbuf *out, char *err, size_t errlen)
{
	return exec_child(argv, env, false, timeout_s, out, NULL, NULL, err, errlen);
}

int
rb_exec_pq(char *const argv[], char *const env[], double timeout_s, strbuf *out, char *err, size_t errlen)
{
	return exec_child(argv, env, true, timeout_s, out, NULL, NULL, err, errlen);
}

int
rb_exec_watched(char *const argv[], char *const env[], bool libpq, double timeout_s, strbuf *out,
				rb_exec_tick tick, void *ctx, char *err, size_t errlen)
{
	return exec_child(argv, env, libpq, timeout_s, out, tick, ctx, err, errlen);
}

int
rb_shell(const char *cmd, char *const env[], double timeout_s, strbuf *out, char *err, size_t errlen)
{
	char	   *argv[] = {"/bin/sh", "-c", (char *) cmd, NULL};

	return rb_exec(argv, env, timeout_s, out, err, errlen);
}

const char *
rb_tail_lines(const char *s, int n)
{
	const char *p;

	if (!s || !*s)
		return "";
	p = s + strlen(s) - 1;
	while (p > s && *p == '\n')
		p--;
	for (; p > s; p--)
		if (*p == '\n' && --n == 0)
			return p + 1;
	return s;
}
