/*
 * rbfile.c: whole-file read, fsynced append and touch (see rbfile.h).
 */
#include "runbooks/rbfile.h"

#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

char *
rb_file_read(const char *path)
{
	FILE	   *f = fopen(path, "r");
	strbuf		sb;
	char		buf[8192];
	size_t		n;

	if (!f)
		return NULL;
	sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_append_len(&sb, buf, n);
	fclose(f);
	return sb_steal(&sb);
}

bool
rb_file_append(const char *path, const char *text)
{
	int			fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	size_t		len = strlen(text);
	bool		ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, len) == (ssize_t) len && fsync(fd) == 0;
	return close(fd) == 0 && ok;
}

bool
rb_file_touch(const char *path)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	bool		ok = fd >= 0 && fsync(fd) == 0;

	if (fd >= 0 && close(fd) != 0)
		ok = false;
	return ok;
}
