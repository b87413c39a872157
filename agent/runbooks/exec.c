/*
 * exec.c: fork+exec with a deadline and captured output.
 */
#include "runbooks/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RB_EXEC_OUT_MAX (256 * 1024)

extern char **environ;

int
rb_exec(char *const argv[], char *const env[], double timeout_s, strbuf *out, char *err, size_t errlen)
{
	int			pfd[2];
	pid_t		pid;
	int64_t		deadline = mono_ms() + (int64_t) (timeout_s * 1000);
	int			status = 0;
	bool		timed_out = false;
	bool		open_pipe = true;

	if (pipe2(pfd, O_CLOEXEC) != 0)
	{
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
	{
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0)
	{
		int			devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
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
			continue;
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
