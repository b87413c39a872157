/*
 * spool.c: the on-disk outbox (see spool.h for the layout and guarantees).
 * Writes are tmp + fsync + rename + fsync(dir), the classic recipe for a
 * file that is either wholly there or not at all after a crash.
 */
#include "deliver/spool.h"
#include "common/files.h"
#include "common/log.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
fsync_dir(const char *dir)
{
	int			fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd >= 0)
	{
		fsync(fd);
		close(fd);
	}
}

bool
spool_parse_name(const char *name, uint64_t *seq)
{
	uint64_t	v = 0;

	/* exactly the form spool_put writes: what else is found is not ours */
	for (int i = 0; i < SPOOL_SEQ_DIGITS; i++)
	{
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t) (name[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t) (name[i] - '0');
	}
	if (strcmp(name + SPOOL_SEQ_DIGITS, ".json") != 0 || v == 0)
		return false;
	*seq = v;
	return true;
}

/* names the spool writes itself: "." and "..", and .tmp-<seq> while a write is under way */
static bool
own_name(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..") || !strncmp(name, ".tmp-", 5);
}

spool *
spool_open(const char *root, const char *pager, char **err)
{
	spool	   *s = xcalloc(1, sizeof(spool));
	DIR		   *d;
	struct dirent *de;

	s->dir = xasprintf("%s/%s", root, pager);
	s->dead_dir = xasprintf("%s/dead-letter", root);
	s->pager = xstrdup(pager);
	s->next_seq = 1;
	pthread_mutex_init(&s->lock, NULL);
	if (!mkdir_p(s->dir) || !mkdir_p(s->dead_dir))
	{
		*err = xasprintf("cannot create spool directory %s: %s", s->dir, strerror(errno));
		spool_close(s);
		return NULL;
	}
	d = opendir(s->dir);
	if (!d)
	{
		*err = xasprintf("cannot read spool directory %s: %s", s->dir, strerror(errno));
		spool_close(s);
		return NULL;
	}
	while ((de = readdir(d)) != NULL)
	{
		uint64_t	seq;

		if (spool_parse_name(de->d_name, &seq))
		{
			if (seq >= s->next_seq)
				s->next_seq = seq + 1;
		}
		else if (strncmp(de->d_name, ".tmp-", 5) == 0)
		{
			char	   *p = xasprintf("%s/%s", s->dir, de->d_name);

			unlink(p);
			free(p);
		}
	}
	closedir(d);
	return s;
}

void
spool_close(spool *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->dir);
	free(s->dead_dir);
	free(s->pager);
	free(s);
}

static bool
write_all(int fd, const char *data, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, data, len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return false;
		}
		data += n;
		len -= (size_t) n;
	}
	return true;
}

bool
spool_put(spool *s, const char *data, uint64_t *seq_out, char **err)
{
	uint64_t	seq;
	char	   *tmp,
			   *final;
	int			fd;
	bool		ok;

	pthread_mutex_lock(&s->lock);
	seq = s->next_seq++;
	pthread_mutex_unlock(&s->lock);
	tmp = xasprintf("%s/.tmp-%020llu", s->dir, (unsigned long long) seq);
	final = xasprintf("%s/%020llu.json", s->dir, (unsigned long long) seq);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = fd >= 0 && write_all(fd, data, strlen(data)) && fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (ok)
		ok = rename(tmp, final) == 0;
	if (!ok)
	{
		*err = xasprintf("cannot write spool file %s: %s", final, strerror(errno));
		unlink(tmp);
	}
	else
	{
		fsync_dir(s->dir);
		if (seq_out)
			*seq_out = seq;
	}
	free(tmp);
	free(final);
	return ok;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a,
				y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/*
 * Anything else in a pager's directory (a file copied in by hand, a name
 * with too few or too many digits) would never be sent nor acknowledged:
 * it goes to dead-letter/ with a log line.
 */
static void
quarantine(spool *s, const char *name)
{
	char	   *from = xasprintf("%s/%s", s->dir, name);
	char	   *to = xasprintf("%s/%s-stray-%lld-%.100s", s->dead_dir, s->pager, (long long) now_us(),
							   name);

	if (rename(from, to) == 0)
	{
		log_warn("pager %s: unexpected file \"%s\" in %s moved to %s", s->pager, name, s->dir, to);
		fsync_dir(s->dead_dir);
		fsync_dir(s->dir);
	}
	else
		log_error("pager %s: unexpected file \"%s\" in %s could not be moved to %s: %s", s->pager,
				  name, s->dir, s->dead_dir, strerror(errno));
	free(from);
	free(to);
}

int
spool_list(spool *s, uint64_t **seqs)
{
	DIR		   *d = opendir(s->dir);
	struct dirent *de;
	int			n = 0,
				cap = 16;

	*seqs = xmalloc(sizeof(uint64_t) * (size_t) cap);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
	{
		uint64_t	seq;

		if (!spool_parse_name(de->d_name, &seq))
		{
			if (!own_name(de->d_name))
				quarantine(s, de->d_name);
			continue;
		}
		if (n == cap)
		{
			cap *= 2;
			*seqs = xrealloc(*seqs, sizeof(uint64_t) * (size_t) cap);
		}
		(*seqs)[n++] = seq;
	}
	closedir(d);
	qsort(*seqs, (size_t) n, sizeof(uint64_t), cmp_u64);
	return n;
}

char *
spool_read(spool *s, uint64_t seq)
{
	char	   *path = xasprintf("%s/%020llu.json", s->dir, (unsigned long long) seq);
	char	   *text = file_read(path);

	free(path);
	return text;
}

bool
spool_ack(spool *s, uint64_t seq)
{
	char	   *path = xasprintf("%s/%020llu.json", s->dir, (unsigned long long) seq);
	bool		ok = unlink(path) == 0 || errno == ENOENT;

	free(path);
	fsync_dir(s->dir);
	return ok;
}

bool
spool_dead_letter(spool *s, uint64_t seq)
{
	char	   *from = xasprintf("%s/%020llu.json", s->dir, (unsigned long long) seq);
	char	   *to = xasprintf("%s/%s-%020llu-%lld.json", s->dead_dir, s->pager,
							   (unsigned long long) seq, (long long) now_us());
	bool		ok = rename(from, to) == 0;

	fsync_dir(s->dead_dir);
	fsync_dir(s->dir);
	free(from);
	free(to);
	return ok;
}

/* DIR/NAME written whole or not at all: tmp file, fsync, rename, fsync of DIR */
static bool
write_atomic(const char *root, const char *name, const char *data, char **err)
{
	char	   *tmp = xasprintf("%s/.tmp-%s", root, name);
	char	   *path = xasprintf("%s/%s", root, name);
	int			fd;
	bool		ok;

	if (!mkdir_p(root))
	{
		*err = xasprintf("cannot create spool directory %s: %s", root, strerror(errno));
		free(tmp);
		free(path);
		return false;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = fd >= 0 && write_all(fd, data, strlen(data)) && fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	ok = ok && rename(tmp, path) == 0;
	if (!ok)
	{
		*err = xasprintf("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	else
		fsync_dir(root);
	free(tmp);
	free(path);
	return ok;
}

bool
spool_intent_write(const char *root, const char *json, char **err)
{
	return write_atomic(root, "fanout.json", json, err);
}

bool
spool_state_write(const char *root, const char *json, char **err)
{
	return write_atomic(root, SPOOL_STATE_FILE, json, err);
}

char *
spool_state_read(const char *root)
{
	char	   *path = xasprintf("%s/%s", root, SPOOL_STATE_FILE);
	char	   *text = file_read(path);

	free(path);
	return text;
}

char *
spool_intent_read(const char *root)
{
	char	   *path = xasprintf("%s/fanout.json", root);
	char	   *text = file_read(path);

	free(path);
	return text;
}

void
spool_intent_clear(const char *root)
{
	char	   *path = xasprintf("%s/fanout.json", root);

	unlink(path);
	fsync_dir(root);
	free(path);
}

bool
spool_exists(spool *s, uint64_t seq)
{
	char	   *path = xasprintf("%s/%020llu.json", s->dir, (unsigned long long) seq);
	struct stat st;
	bool		there = lstat(path, &st) == 0;

	free(path);
	return there;
}
