/*
 * test_runbook_exec.c
 *	  Unit tests for the runbooks' child processes (exec.c), with real
 *	  programs: a child sees only the minimal environment (never a secret
 *	  of the agent's), and no child outlives an agent killed with SIGKILL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "runbooks/exec.h"
#include "common/files.h"
#include "common/util.h"

static bool
has_line(const char *text, const char *line)
{
	size_t		len = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, line, len) && (p[len] == '\n' || p[len] == '\0'))
			return true;
	return false;
}

static void
test_child_env_is_minimal(void **state)
{
	char	   *parent[] = {"PATH=/usr/bin:/bin", "HOME=/var/lib/postgresql", "LANG=C.UTF-8",
		"AWS_SECRET_ACCESS_KEY=s3cr3t", "PGPASSWORD=agent-own", "PGSSLMODE=verify-full",
		"ORGUARD_TOKEN=x", "PGBACKREST_REPO1_CIPHER_PASS=c", "TZ=UTC", "NOEQUALS", NULL};
	char	   *extra[] = {"ORGUARD_RUN=r1", "PGPASSWORD=node-pw", NULL};
	char	  **plain = rb_child_env(parent, extra, false);
	char	  **pq = rb_child_env(parent, extra, true);
	strbuf		sb;

	(void) state;
	sb_init(&sb);
	for (int i = 0; plain[i]; i++)
		sb_printf(&sb, "%s\n", plain[i]);
	assert_string_equal(sb.data, "PATH=/usr/bin:/bin\nHOME=/var/lib/postgresql\nLANG=C.UTF-8\nTZ=UTC\n"
						"ORGUARD_RUN=r1\nPGPASSWORD=node-pw\n");
	sb_reset(&sb);
	for (int i = 0; pq[i]; i++)
		sb_printf(&sb, "%s\n", pq[i]);
	/* libpq and pgBackRest settings, still not the agent's own password */
	assert_true(has_line(sb.data, "PGSSLMODE=verify-full"));
	assert_true(has_line(sb.data, "PGBACKREST_REPO1_CIPHER_PASS=c"));
	assert_true(has_line(sb.data, "PGPASSWORD=node-pw"));
	assert_false(has_line(sb.data, "PGPASSWORD=agent-own"));
	assert_null(strstr(sb.data, "AWS_SECRET"));
	assert_null(strstr(sb.data, "ORGUARD_TOKEN"));
	sb_free(&sb);
	rb_child_env_free(plain);
	rb_child_env_free(pq);
}

/* a hook (/bin/sh -c) does not see a secret of the agent's environment */
static void
test_hook_sees_no_secret(void **state)
{
	char	   *extra[] = {"ORGUARD_NEW_PRIMARY=s1", NULL};
	strbuf		out;
	char		err[256];
	int			rc;

	(void) state;
	setenv("ORGUARD_TEST_SECRET", "hunter2", 1);
	setenv("PGPASSWORD", "agent-own", 1);
	sb_init(&out);
	rc = rb_shell("env", extra, 10, &out, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_null(strstr(out.data, "hunter2"));
	assert_null(strstr(out.data, "agent-own"));
	assert_true(has_line(out.data, "ORGUARD_NEW_PRIMARY=s1"));
	assert_non_null(strstr(out.data, "PATH="));
	sb_reset(&out);
	/* a libpq child neither */
	{
		char	   *argv[] = {"env", NULL};

		rc = rb_exec_pq(argv, NULL, 10, &out, err, sizeof(err));
	}
	assert_int_equal(rc, 0);
	assert_null(strstr(out.data, "hunter2"));
	assert_null(strstr(out.data, "agent-own"));
	unsetenv("ORGUARD_TEST_SECRET");
	unsetenv("PGPASSWORD");
	sb_free(&out);
}

static bool
gone(pid_t pid)
{
	return kill(pid, 0) != 0 && errno == ESRCH;
}

/* an agent killed with SIGKILL takes its running child with it */
static void
test_child_dies_with_agent(void **state)
{
	char		path[] = "/tmp/orguard-exec.XXXXXX";
	int			fd = mkstemp(path);
	pid_t		agent,
				child = 0;
	int64_t		deadline;
	int			status;

	(void) state;
	assert_true(fd >= 0);
	close(fd);
	agent = fork();
	assert_true(agent >= 0);
	if (agent == 0)
	{
		char	   *cmd = xasprintf("echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 60", path, path, path);
		strbuf		out;
		char		err[256];

		sb_init(&out);
		rb_shell(cmd, NULL, 120, &out, err, sizeof(err));
		_exit(0);
	}
	deadline = mono_ms() + 20000;
	while (mono_ms() < deadline)
	{
		char	   *text = file_read(path);

		child = text ? (pid_t) atoi(text) : 0;
		free(text);
		if (child > 0)
			break;
		usleep(20000);
	}
	assert_true(child > 0);
	assert_false(gone(child));
	kill(agent, SIGKILL);
	waitpid(agent, &status, 0);
	deadline = mono_ms() + 10000;
	while (!gone(child) && mono_ms() < deadline)
		usleep(20000);
	if (!gone(child))
		kill(child, SIGKILL);
	unlink(path);
	assert_true(gone(child));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_env_is_minimal),
		cmocka_unit_test(test_hook_sees_no_secret),
		cmocka_unit_test(test_child_dies_with_agent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
