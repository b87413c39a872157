/*
 * rbfile.c: atomic, fsynced whole-file writes (see rbfile.h).
 */
#include "runbooks/rbfile.h"
#include "common/util.h"

#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
rb_fsync_parent(const char *path)
{
	char	   *copy = xstrdup(path);
	int			fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool		ok = fd >= 0 && fsync(fd) == 0;
	int			saved = errno;

	if (fd >= 0)
		close(fd);
	free(copy);
	errno = saved;
	return ok;
}

static bool
write_all(int fd, const char *p, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			if (n == 0)
				errno = ENOSPC;
			return false;
		}
		p += n;
		len -= (size_t) n;
	}
	return true;
}

/* the whole file, NULL with errno set (ENOENT: there is none) */
static char *
read_all(const char *path)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	strbuf		sb;
	char		buf[8192];
	ssize_t		n;

	if (fd < 0)
		return NULL;
	sb_init(&sb);
	while ((n = read(fd, buf, sizeof(buf))) != 0)
	{
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			int			saved = errno;

			sb_free(&sb);
			close(fd);
			errno = saved;
			return NULL;
		}
		sb_append_len(&sb, buf, (size_t) n);
	}
	close(fd);
	return sb_steal(&sb);
}

static bool
replace_file(const char *path, const char *text, bool append)
{
	struct stat st;
	mode_t		mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0600;
	char	   *old = NULL;
	char	   *tmp;
	int			fd,
				saved;
	bool		ok;

	if (append && (old = read_all(path)) == NULL && errno != ENOENT)
		return false;
	tmp = xasprintf("%s.orguard-tmp", path);
	/* a crash may have left one: it was never renamed, so it is garbage */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
	{
		saved = errno;
		free(tmp);
		free(old);
		errno = saved;
		return false;
	}
	ok = fchmod(fd, mode) == 0 &&
		(!old || write_all(fd, old, strlen(old))) &&
		write_all(fd, text, strlen(text)) &&
		fsync(fd) == 0;
	saved = errno;
	ok = close(fd) == 0 && ok;
	if (ok)
	{
		ok = rename(tmp, path) == 0;
		saved = errno;
	}
	if (!ok)
		unlink(tmp);
	else if (!rb_fsync_parent(path))
	{
		ok = false;
		saved = errno;
	}
	free(tmp);
	free(old);
	errno = saved;
	return ok;
}

bool
rb_file_write(const char *path, const char *text, bool append)
{
	struct stat st;
	char	   *target;
	bool		ok;
	int			saved;

	/* a symlinked configuration file stays a symlink: write where it points */
	if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
		return replace_file(path, text, append);
	if ((target = realpath(path, NULL)) == NULL)
		return false;
	ok = replace_file(target, text, append);
	saved = errno;
	free(target);
	errno = saved;
	return ok;
}

bool
rb_file_touch(const char *path)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	bool		ok = fd >= 0 && fsync(fd) == 0;

	if (fd >= 0 && close(fd) != 0)
		ok = false;
	return ok && rb_fsync_parent(path);
}

static uint64_t tree_bytes_sum;

static int
tree_bytes_add(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void) path;
	(void) ftw;
	if (type == FTW_F && S_ISREG(st->st_mode))
		tree_bytes_sum += (uint64_t) st->st_size;
	return 0;
}

uint64_t
rb_tree_bytes(const char *path)
{
	/* nftw has no context argument; runbooks run one step at a time */
	tree_bytes_sum = 0;
	nftw(path, tree_bytes_add, 32, FTW_PHYS);
	return tree_bytes_sum;
}
