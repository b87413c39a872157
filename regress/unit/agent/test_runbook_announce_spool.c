/*
 * test_runbook_announce_spool.c
 *	  The CLI's runbook announcements against a pager that refuses every
 *	  connection: nothing is lost when the process ends undelivered, the
 *	  next run moves what an earlier run left into its own spool ahead of
 *	  its own events, a directory the daemon holds is left alone, and
 *	  without pagers nothing is spooled.  Works in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/config.h"
#include "common/http.h"
#include "runbooks/announce_spool.h"
#include "common/util.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fixture
{
	char	   *dir;
	agent_cfg	cfg;
} fixture;

/* a receiver on loopback port 1: connection refused, at once */
#define CONF \
	"[agent]\nspool_dir = %s\nlisten = off\n" \
	"[node src]\nconninfo = host=/nonexistent port=1 user=postgres\ncluster = shop\n" \
	"%s"
#define PAGER \
	"[pager hook]\ntype = webhook\nurl = http://127.0.0.1:1/hook\ntimeout = 1s\n" \
	"backoff_initial = 50ms\nbackoff_max = 100ms\n"

static void
rm_rf(const char *path)
{
	DIR		   *d = opendir(path);
	struct dirent *de;

	if (!d)
	{
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL)
	{
		char	   *p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", path, de->d_name);
		rm_rf(p);
		free(p);
	}
	closedir(d);
	rmdir(path);
}

static int
setup_with(void **state, const char *pagers)
{
	fixture    *f = xcalloc(1, sizeof(*f));
	config_errors errs = {0};
	char	   *text;

	f->dir = xstrdup("/tmp/orguard-announce-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	text = xasprintf(CONF, f->dir, pagers);
	if (!config_parse("/etc/agent.conf", text, &f->cfg, &errs))
	{
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		return -1;
	}
	config_errors_free(&errs);
	free(text);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, PAGER);
}

static int
setup_no_pagers(void **state)
{
	return setup_with(state, "");
}

static int
teardown(void **state)
{
	fixture    *f = *state;

	rm_rf(f->dir);
	free(f->dir);
	config_free(&f->cfg);
	free(f);
	return 0;
}

static void
announce(const char *run, const char *step, const char *result, bool final)
{
	rb_announcement a = {
		.cluster = "shop", .node = "src", .runbook = "pitr", .run = run, .step = step,
		.target = "shop", .result = result, .final = final, .now_us = now_us(),
	};

	rb_announcer_send(&a, 0.2);
}

/* the names of the directories of cluster shop, sorted; returns the count */
static int
shop_dirs(const fixture *f, char ***out)
{
	char	   *base = xasprintf("%s/runbooks/shop", f->dir);
	DIR		   *d = opendir(base);
	struct dirent *de;
	int			n = 0;

	*out = NULL;
	while (d && (de = readdir(d)))
	{
		if (de->d_name[0] == '.')
			continue;
		*out = xrealloc(*out, sizeof(char *) * (size_t) (n + 1));
		(*out)[n++] = xasprintf("%s/%s", base, de->d_name);
	}
	if (d)
		closedir(d);
	free(base);
	return n;
}

static void
free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* the subjects of the entries of dir/hook, in spool order, joined by "," */
static char *
subjects(const char *dir)
{
	strbuf		sb;

	sb_init(&sb);
	for (int seq = 1; seq < 100; seq++)
	{
		char	   *p = xasprintf("%s/hook/%020d.json", dir, seq);
		json_t	   *o = json_load_file(p, 0, NULL);

		free(p);
		if (!o)
			continue;
		sb_printf(&sb, "%s%s", sb.len ? "," : "", json_string_value(json_object_get(o, "subject")));
		json_decref(o);
	}
	return sb_steal(&sb);
}

static void
test_undelivered_stays_and_the_next_run_sends_it_first(void **state)
{
	fixture    *f = *state;
	char	  **dirs;
	char	   *s;
	int			n;

	rb_announcer_init(&f->cfg);
	announce("r1", "copy-backup", "ok", false);
	announce("r1", "runbook", "done", true);
	assert_int_equal(rb_announcer_finish(), 2);
	n = shop_dirs(f, &dirs);
	assert_int_equal(n, 1);
	s = subjects(dirs[0]);
	assert_string_equal(s, "r1,r1");
	free(s);
	free_names(dirs, n);

	/* the next run: the earlier run's pages go first, its directory goes */
	rb_announcer_init(&f->cfg);
	announce("r2", "runbook", "started", false);
	assert_int_equal(rb_announcer_finish(), 3);
	n = shop_dirs(f, &dirs);
	assert_int_equal(n, 1);
	s = subjects(dirs[0]);
	assert_string_equal(s, "r1,r1,r2");
	free(s);
	free_names(dirs, n);
}

static void
test_a_directory_the_daemon_holds_is_left_alone(void **state)
{
	fixture    *f = *state;
	rb_orphans *o;
	char	  **dirs;
	char	   *s;
	int			n;

	rb_announcer_init(&f->cfg);
	announce("r1", "runbook", "done", true);
	assert_int_equal(rb_announcer_finish(), 1);

	o = rb_orphans_new();
	rb_orphans_poll(o, &f->cfg);	/* adopts r1's directory: it cannot deliver either */
	rb_announcer_init(&f->cfg);
	announce("r2", "runbook", "done", true);
	assert_int_equal(rb_announcer_finish(), 1);	/* only its own */
	n = shop_dirs(f, &dirs);
	assert_int_equal(n, 2);
	free_names(dirs, n);
	rb_orphans_poll(o, &f->cfg);	/* adopts r2's directory too */
	rb_orphans_free(o);

	/* nothing was lost: both are still spooled, one directory each */
	n = shop_dirs(f, &dirs);
	assert_int_equal(n, 2);
	s = subjects(dirs[0]);
	assert_true(!strcmp(s, "r1") || !strcmp(s, "r2"));
	free(s);
	free_names(dirs, n);
}

static void
test_no_pagers_no_spool(void **state)
{
	fixture    *f = *state;
	char	   *base = xasprintf("%s/runbooks", f->dir);
	struct stat st;

	rb_announcer_init(&f->cfg);
	announce("r1", "runbook", "done", true);
	assert_int_equal(rb_announcer_finish(), 0);
	assert_int_not_equal(stat(base, &st), 0);
	free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_undelivered_stays_and_the_next_run_sends_it_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_directory_the_daemon_holds_is_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_pagers_no_spool, setup_no_pagers, teardown),
	};
	int			rc;

	http_global_init();
	log_configure(LOG_FORMAT_TEXT, LOG_ERROR);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	http_global_cleanup();
	return rc;
}
