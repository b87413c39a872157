/*
 * journal_view.c: reads the tails of the runbook journals for the status
 * page (see journal_view.h); the parsing is runbooks/journal_runs.c.
 */
#include "export/journal_view.h"
#include "runbooks/journal_runs.h"
#include "runbooks/settings.h"
#include "common/utf8.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct journal_cache
{
	char	   *path;
	bool		seen;			/* named by the configuration this poll */
	bool		stat_ok;
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	size_t		budget;			/* the tail size the cached doc was read with */
	json_t	   *doc;
} journal_cache;

struct journal_view
{
	journal_cache *c;
	int			n;
};

journal_view *
journal_view_new(void)
{
	return xcalloc(1, sizeof(journal_view));
}

void
journal_view_free(journal_view *v)
{
	if (!v)
		return;
	for (int i = 0; i < v->n; i++)
	{
		free(v->c[i].path);
		json_decref(v->c[i].doc);
	}
	free(v->c);
	free(v);
}

static json_t *
doc_new(const char *path, const char *state, const char *error)
{
	json_t	   *o = json_object();

	json_object_set_new(o, "path", json_text(path));
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "error", error ? json_string(error) : json_null());
	json_object_set_new(o, "torn", json_integer(0));
	json_object_set_new(o, "runs", json_array());
	return o;
}

static bool
unchanged(const journal_cache *c, const struct stat *st, size_t budget)
{
	return c->doc && c->stat_ok && c->dev == st->st_dev && c->ino == st->st_ino &&
		c->size == st->st_size && c->mtime.tv_sec == st->st_mtim.tv_sec &&
		c->mtime.tv_nsec == st->st_mtim.tv_nsec && c->budget == budget;
}

static void
refresh(journal_cache *c, size_t budget)
{
	/* O_NONBLOCK: a FIFO put where the journal should be must not hang the loop */
	int			fd = open(c->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st = {0};
	char	   *buf;
	off_t		from;
	size_t		want,
				got = 0;
	int			torn;
	char		err[512];

	if (fd < 0)
	{
		int			e = errno;

		c->stat_ok = false;
		json_decref(c->doc);
		snprintf(err, sizeof(err), "%s", strerror(e));
		c->doc = doc_new(c->path, e == ENOENT ? "missing" : "unreadable", e == ENOENT ? NULL : err);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		/* errno is fstat()'s when it failed */
		snprintf(err, sizeof(err), "%s", S_ISREG(st.st_mode) ? strerror(errno) : "not a regular file");
		close(fd);
		c->stat_ok = false;
		json_decref(c->doc);
		c->doc = doc_new(c->path, "unreadable", err);
		return;
	}
	if (unchanged(c, &st, budget))
	{
		close(fd);
		return;
	}
	from = st.st_size > (off_t) budget ? st.st_size - (off_t) budget : 0;
	want = (size_t) (st.st_size - from);
	buf = xmalloc(want + 1);
	while (got < want)
	{
		ssize_t		r = pread(fd, buf + got, want - got, from + (off_t) got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t) r;
	}
	close(fd);
	json_decref(c->doc);
	c->doc = doc_new(c->path, "ok", NULL);
	json_object_set_new(c->doc, "runs", journal_runs_json(buf, got, from > 0, JOURNAL_VIEW_RUNS, &torn));
	json_object_set_new(c->doc, "torn", json_integer(torn));
	free(buf);
	c->stat_ok = true;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->size = st.st_size;
	c->mtime = st.st_mtim;
	c->budget = budget;
}

static journal_cache *
cache_for(journal_view *v, const char *path)
{
	for (int i = 0; i < v->n; i++)
		if (!strcmp(v->c[i].path, path))
			return &v->c[i];
	v->c = xrealloc(v->c, sizeof(journal_cache) * (size_t) (v->n + 1));
	memset(&v->c[v->n], 0, sizeof(journal_cache));
	v->c[v->n].path = xstrdup(path);
	return &v->c[v->n++];
}

json_t *
journal_view_json(journal_view *v, const agent_cfg *cfg)
{
	json_t	   *out = json_array();
	int			kept = 0,
				n_paths = 0;
	size_t		budget;

	for (int i = 0; i < v->n; i++)
		v->c[i].seen = false;
	for (int i = 0; i < cfg->n_runbooks; i++)
	{
		const char *p = labels_get(&cfg->runbooks[i].settings, "journal");
		journal_cache *c;

		/* the runbooks' own rule: a journal path is absolute */
		if (!p || p[0] != '/')
			p = RB_DEFAULT_JOURNAL;
		c = cache_for(v, p);
		if (!c->seen)
			n_paths++;
		c->seen = true;
	}
	/* journals no longer configured leave the page */
	for (int i = 0; i < v->n; i++)
	{
		if (v->c[i].seen)
		{
			v->c[kept++] = v->c[i];
			continue;
		}
		free(v->c[i].path);
		json_decref(v->c[i].doc);
	}
	v->n = kept;
	budget = n_paths ? JOURNAL_VIEW_BUDGET / (size_t) n_paths : JOURNAL_VIEW_BUDGET;
	for (int i = 0; i < v->n; i++)
	{
		refresh(&v->c[i], budget);
		json_array_append(out, v->c[i].doc);
	}
	return out;
}
