/*
 * files.c: whole files read into memory and directories made with their
 * parents (see files.h).
 */
#include "common/files.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

bool
mkdir_p(const char *path)
{
	char	   *copy = xstrdup(path);

	for (char *p = copy + 1; *p; p++)
		if (*p == '/')
		{
			*p = '\0';
			if (mkdir(copy, 0700) != 0 && errno != EEXIST)
			{
				free(copy);
				return false;
			}
			*p = '/';
		}
	free(copy);
	return mkdir(path, 0700) == 0 || errno == EEXIST;
}

char *
file_read_len(const char *path, size_t *len)
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
	/* a read error must not pass for a shorter file */
	if (ferror(f))
	{
		int			saved = errno;

		fclose(f);
		free(sb_steal(&sb));
		errno = saved;
		return NULL;
	}
	fclose(f);
	if (len)
		*len = sb.len;
	return sb_steal(&sb);
}

char *
file_read(const char *path)
{
	return file_read_len(path, NULL);
}
