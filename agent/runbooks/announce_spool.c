/*
 * announce_spool.c: per-process spool directories for runbook
 * announcements, their adoption when orphaned (see announce_spool.h).
 *
 * Locking: a directory is written and drained only by the holder of the
 * flock() on its owner.lock.  A new directory is created under a hidden
 * name, locked, then renamed into place, so no scanner can take it in
 * between.  Removal happens under the lock, lock file last.
 */
#include "runbooks/announce_spool.h"
#include "common/files.h"
#include "common/log.h"
#include "deliver/pager.h"
#include "deliver/spool.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_NAME "owner.lock"

typedef struct ann_root
{
	char	   *path;
	char	   *cluster;
	int			lock_fd;
	pager	  **pagers;
	int			n_pagers;
} ann_root;

/* spooled entries of one pager directory */
static int
count_entries(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			n = 0;
	uint64_t	seq;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (spool_parse_name(de->d_name, &seq))
			n++;
	closedir(d);
	return n;
}

/* spooled entries of a root, dead letters excepted */
static int
root_pending(const char *root)
{
	DIR		   *d = opendir(root);
	struct dirent *de;
	int			n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
	{
		char	   *sub;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "dead-letter") || !strcmp(de->d_name, LOCK_NAME))
			continue;
		sub = xasprintf("%s/%s", root, de->d_name);
		n += count_entries(sub);
		free(sub);
	}
	closedir(d);
	return n;
}

static int
lock_dir(const char *path)
{
	char	   *lp = xasprintf("%s/%s", path, LOCK_NAME);
	int			fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	free(lp);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		close(fd);
		return -1;
	}
	return fd;
}

/* starts the pagers of cfg on root (only those with entries when drain_only) */
static void
root_start_pagers(ann_root *r, const agent_cfg *cfg, bool drain_only)
{
	r->pagers = xcalloc((size_t) (cfg->n_pagers ? cfg->n_pagers : 1), sizeof(pager *));
	for (int i = 0; i < cfg->n_pagers; i++)
	{
		char	   *dir = xasprintf("%s/%s", r->path, cfg->pagers[i].name);
		char	   *err = NULL;
		int			n = count_entries(dir);

		free(dir);
		if (drain_only && n == 0)
			continue;
		if (!(r->pagers[r->n_pagers] = pager_start(&cfg->pagers[i], r->path, &err)))
		{
			log_error("runbook announcements: pager %s on %s: %s", cfg->pagers[i].name, r->path, err);
			free(err);
			continue;
		}
		r->n_pagers++;
	}
}

/* rmdir of the empty subdirectories and the root; leaves anything not empty */
static void
remove_if_empty(const char *root)
{
	DIR		   *d = opendir(root);
	struct dirent *de;
	char	   *lp;

	if (!d)
		return;
	while ((de = readdir(d)))
	{
		char	   *sub;

		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (!strcmp(de->d_name, LOCK_NAME))
			continue;
		sub = xasprintf("%s/%s", root, de->d_name);
		(void) rmdir(sub);
		free(sub);
	}
	closedir(d);
	lp = xasprintf("%s/%s", root, LOCK_NAME);
	unlink(lp);
	if (rmdir(root) != 0)
	{
		/* something stays (dead letters): keep the lock file for the next owner */
		int			fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
	}
	free(lp);
}

/* stops the pagers, removes the directory when drained, drops the lock */
static int
root_release(ann_root *r)
{
	int			left;

	for (int i = 0; i < r->n_pagers; i++)
		pager_stop(r->pagers[i]);
	free(r->pagers);
	r->pagers = NULL;
	r->n_pagers = 0;
	left = root_pending(r->path);
	if (left == 0)
		remove_if_empty(r->path);
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	r->lock_fd = -1;
	return left;
}

static void
root_free(ann_root *r)
{
	free(r->path);
	free(r->cluster);
	free(r);
}

static char *
cluster_dir(const agent_cfg *cfg, const char *cluster)
{
	return xasprintf("%s/runbooks/%s", cfg->spool_dir, cluster);
}

/*
 * UTC time to the microsecond, then the pid: unique, and names sort by
 * age (the order in which orphans are sent)
 */
static char *
root_id(void)
{
	int64_t		us = now_us();
	time_t		t = (time_t) (us / 1000000);
	struct tm	tm;
	char		base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y%m%dT%H%M%S", &tm);
	return xasprintf("%s.%06dZ-%d", base, (int) (us % 1000000), (int) getpid());
}

/* a fresh directory of this process, locked */
static ann_root *
root_create(const agent_cfg *cfg, const char *cluster)
{
	char	   *base = cluster_dir(cfg, cluster);
	char	   *id = root_id();
	char	   *hidden = xasprintf("%s/.new-%s", base, id);
	char	   *path = xasprintf("%s/%s", base, id);
	ann_root   *r = NULL;
	int			fd = -1;

	if (!mkdir_p(hidden) || (fd = lock_dir(hidden)) < 0 || rename(hidden, path) != 0)
	{
		fprintf(stderr, "orguard-agent: runbook announcements are off: cannot create %s: %s\n", path,
				strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	else
	{
		r = xcalloc(1, sizeof(*r));
		r->path = path;
		path = NULL;
		r->cluster = xstrdup(cluster);
		r->lock_fd = fd;
	}
	free(base);
	free(id);
	free(hidden);
	free(path);
	return r;
}

/*
 * The orphans of one cluster directory: free directories (not hidden),
 * locked for the caller; has(path) skips those already held.
 */
typedef bool (*held_fn) (void *arg, const char *path);

static int
adopt_orphans(const char *base, const char *cluster, held_fn held, void *arg, ann_root ***out)
{
	DIR		   *d = opendir(base);
	struct dirent *de;
	int			n = 0;

	*out = NULL;
	if (!d)
		return 0;
	while ((de = readdir(d)))
	{
		char	   *path;
		int			fd;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", base, de->d_name);
		if ((held && held(arg, path)) || (fd = lock_dir(path)) < 0)
		{
			free(path);
			continue;
		}
		*out = xrealloc(*out, sizeof(ann_root *) * (size_t) (n + 1));
		(*out)[n] = xcalloc(1, sizeof(ann_root));
		(*out)[n]->path = path;
		(*out)[n]->cluster = xstrdup(cluster);
		(*out)[n]->lock_fd = fd;
		n++;
	}
	closedir(d);
	return n;
}

/* ---- the CLI's announcer ---- */

static struct
{
	const agent_cfg *cfg;
	ann_root  **roots;
	int			n_roots;
	double		timeout_s;
} ann;

void
rb_announcer_init(const agent_cfg *cfg)
{
	memset(&ann, 0, sizeof(ann));
	ann.cfg = cfg;
}

/*
 * Moves what an orphan holds into this process's spools, oldest first and
 * before anything of our own: one delivery thread per pager then sends a
 * resumed run's earlier steps before its later ones.  An entry leaves the
 * orphan only once it is durable in ours (a crash in between duplicates,
 * which receivers absorb).  Entries of pagers no longer configured stay.
 */
static int
absorb(ann_root *own, ann_root *orphan)
{
	int			moved = 0;

	for (int i = 0; i < own->n_pagers; i++)
	{
		char	   *err = NULL;
		spool	   *sp = spool_open(orphan->path, pager_name(own->pagers[i]), &err);
		uint64_t   *seqs;
		int			n;

		if (!sp)
		{
			free(err);
			continue;
		}
		n = spool_list(sp, &seqs);
		for (int k = 0; k < n; k++)
		{
			char	   *data = spool_read(sp, seqs[k]);
			alert_event ev;

			if (!data)
				continue;
			if (!alert_from_json(data, &ev))
				spool_dead_letter(sp, seqs[k]);
			else
			{
				if (pager_enqueue(own->pagers[i], &ev))
				{
					spool_ack(sp, seqs[k]);
					moved++;
				}
				alert_free(&ev);
			}
			free(data);
		}
		free(seqs);
		spool_close(sp);
	}
	return moved;
}

static int
by_path(const void *a, const void *b)
{
	return strcmp((*(ann_root *const *) a)->path, (*(ann_root *const *) b)->path);
}

static ann_root *
own_root(const char *cluster)
{
	ann_root  **orphans;
	ann_root   *r;
	char	   *base;
	int			n;

	for (int i = 0; i < ann.n_roots; i++)
		if (!strcmp(ann.roots[i]->cluster, cluster))
			return ann.roots[i];
	if (!(r = root_create(ann.cfg, cluster)))
		return NULL;
	root_start_pagers(r, ann.cfg, false);
	ann.roots = xrealloc(ann.roots, sizeof(ann_root *) * (size_t) (ann.n_roots + 1));
	ann.roots[ann.n_roots++] = r;

	/* what earlier runs on this cluster left undelivered goes out first */
	base = cluster_dir(ann.cfg, cluster);
	n = adopt_orphans(base, cluster, NULL, NULL, &orphans);
	if (n > 1)
		qsort(orphans, (size_t) n, sizeof(*orphans), by_path);	/* ids sort by time */
	for (int i = 0; i < n; i++)
	{
		int			moved = absorb(r, orphans[i]);

		if (moved > 0)
			log_info("runbook announcements: %d left by an earlier run in %s are sent now", moved,
					 orphans[i]->path);
		root_release(orphans[i]);
		root_free(orphans[i]);
	}
	free(orphans);
	free(base);
	return r;
}

void
rb_announcer_send(const rb_announcement *a, double announce_timeout_s)
{
	alert_event ev;
	ann_root   *r;

	if (!ann.cfg || ann.cfg->n_pagers == 0 || !a->cluster)
		return;
	if (announce_timeout_s > ann.timeout_s)
		ann.timeout_s = announce_timeout_s;
	if (!(r = own_root(a->cluster)))
		return;
	rb_announce_event(a, &ev);
	for (int i = 0; i < r->n_pagers; i++)
		if (pager_accepts(r->pagers[i], &ev))
			pager_enqueue(r->pagers[i], &ev);
	alert_free(&ev);
}

/* the node a runbook acts from: its source (pitr) or primary (promote) */
static const char *
runbook_node(const rb_settings *s)
{
	const node_cfg *n = s->kind == RB_KIND_PITR ? s->pitr.node : s->promote.primary;

	return n ? n->name : NULL;
}

void
rb_announcer_run_line(const rb_run_line *l)
{
	rb_announcement a = {
		.cluster = l->s->cluster,
		.node = runbook_node(l->s),
		.runbook = l->s->name,
		.run = l->run,
		.step = l->step,
		.target = l->target,
		.result = l->result,
		.detail = l->detail,
		.final = l->final,
		.started_us = l->started_us,
		.now_us = now_us(),
	};

	rb_announcer_send(&a, l->s->announce_timeout_s);
}

static int
pending_all(void)
{
	int			n = 0;

	for (int i = 0; i < ann.n_roots; i++)
		n += root_pending(ann.roots[i]->path);
	return n;
}

int
rb_announcer_finish(void)
{
	int64_t		deadline = mono_ms() + (int64_t) (ann.timeout_s * 1000);
	int			left = 0;

	while (ann.n_roots > 0 && pending_all() > 0 && mono_ms() < deadline)
	{
		struct timespec ts = {0, 50 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < ann.n_roots; i++)
	{
		int			n = root_release(ann.roots[i]);

		if (n > 0)
			fprintf(stderr, "orguard-agent: %d runbook announcement%s not delivered yet; "
					"kept in %s and sent later\n", n, n == 1 ? "" : "s", ann.roots[i]->path);
		left += n;
		root_free(ann.roots[i]);
	}
	free(ann.roots);
	memset(&ann, 0, sizeof(ann));
	return left;
}

/* ---- the daemon's adoption of orphans ---- */

struct rb_orphans
{
	ann_root  **roots;
	int			n;
};

rb_orphans *
rb_orphans_new(void)
{
	return xcalloc(1, sizeof(rb_orphans));
}

static bool
held_by(void *arg, const char *path)
{
	rb_orphans *o = arg;

	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->roots[i]->path, path))
			return true;
	return false;
}

void
rb_orphans_poll(rb_orphans *o, const agent_cfg *cfg)
{
	char	   *top = xasprintf("%s/runbooks", cfg->spool_dir);
	DIR		   *d;
	struct dirent *de;

	/* drained: release */
	for (int i = 0; i < o->n;)
	{
		if (root_pending(o->roots[i]->path) > 0)
		{
			i++;
			continue;
		}
		log_info("runbook announcements of %s delivered", o->roots[i]->path);
		root_release(o->roots[i]);
		root_free(o->roots[i]);
		o->roots[i] = o->roots[--o->n];
	}
	if (!(d = opendir(top)))
	{
		free(top);
		return;
	}
	while ((de = readdir(d)))
	{
		ann_root  **found;
		char	   *base;
		int			n;

		if (de->d_name[0] == '.')
			continue;
		base = xasprintf("%s/%s", top, de->d_name);
		n = adopt_orphans(base, de->d_name, held_by, o, &found);
		for (int i = 0; i < n; i++)
		{
			if (root_pending(found[i]->path) == 0)
			{
				root_release(found[i]);	/* an empty leftover: tidy it */
				root_free(found[i]);
				continue;
			}
			log_info("runbook announcements left in %s: delivering", found[i]->path);
			root_start_pagers(found[i], cfg, true);
			o->roots = xrealloc(o->roots, sizeof(ann_root *) * (size_t) (o->n + 1));
			o->roots[o->n++] = found[i];
		}
		free(found);
		free(base);
	}
	closedir(d);
	free(top);
}

void
rb_orphans_free(rb_orphans *o)
{
	if (!o)
		return;
	for (int i = 0; i < o->n; i++)
	{
		root_release(o->roots[i]);
		root_free(o->roots[i]);
	}
	free(o->roots);
	free(o);
}
