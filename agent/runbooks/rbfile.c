/*
 * rbfile.c: fsynced whole-file writes and touch (see rbfile.h).
 */
#include "runbooks/rbfile.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

bool
rb_file_write(const char *path, const char *text, bool append)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600);
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
