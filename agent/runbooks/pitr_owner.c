/*
 * pitr_owner.c: staging, marking and proving a PITR run's restore
 * directory (see pitr_owner.h).
 */
#include "runbooks/pitr_owner.h"
#include "runbooks/rbfile.h"
#include "common/files.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PostgreSQL's PG_CONTROL_FILE_SIZE: pg_control is always written whole at this size */
#define PG_CONTROL_SIZE 8192

pitr_dir_owner
pitr_dir_owner_decide(const pitr_dir_facts *f, const pitr_identity *id, bool partial, char *why, size_t len)
{
	if (!f->exists)
	{
		snprintf(why, len, "absent");
		return PITR_DIR_ABSENT;
	}
	if (!f->has_marker)
	{
		snprintf(why, len, "it holds no %s: this run did not create it", PITR_MARKER);
		return PITR_DIR_FOREIGN;
	}
	if (!id->run || strcmp(f->marker_run, id->run) != 0)
	{
		snprintf(why, len, "its %s names run %s, not %s", PITR_MARKER, f->marker_run, id->run ? id->run : "?");
		return PITR_DIR_FOREIGN;
	}
	if (f->has_pg_version && id->pg_version && *id->pg_version && strcmp(f->pg_version, id->pg_version) != 0)
	{
		snprintf(why, len, "its PG_VERSION %s is not the backup's %s", f->pg_version, id->pg_version);
		return PITR_DIR_FOREIGN;
	}
	if (f->has_control && id->sysid && f->sysid != id->sysid)
	{
		snprintf(why, len, "its system identifier %" PRIu64 " is not the backup's %" PRIu64, f->sysid, id->sysid);
		return PITR_DIR_FOREIGN;
	}
	if (!partial && (!f->has_pg_version || !f->has_control))
	{
		snprintf(why, len, "it lacks %s", !f->has_pg_version ? "PG_VERSION" : "a whole global/pg_control");
		return PITR_DIR_FOREIGN;
	}
	if (!partial && (!id->sysid || !id->pg_version || !*id->pg_version))
	{
		snprintf(why, len, "the backup's %s is unknown, so it cannot be proven",
				 !id->sysid ? "system identifier" : "PG_VERSION");
		return PITR_DIR_FOREIGN;
	}
	snprintf(why, len, "marked by run %s%s", id->run, partial ? " (a copy cut short)" : ", the backup's cluster");
	return PITR_DIR_OURS;
}

/* the first line of a small file, without its newline; false when unreadable */
static bool
first_line(const char *path, char *buf, size_t len)
{
	char	   *text = file_read(path);

	if (!text)
		return false;
	text[strcspn(text, "\r\n")] = '\0';
	snprintf(buf, len, "%s", text);
	free(text);
	return true;
}

void
pitr_dir_facts_read(const char *marker_dir, const char *data_dir, pitr_dir_facts *f)
{
	struct stat st;
	char	   *path;
	char		line[128];
	int			fd;

	memset(f, 0, sizeof(*f));
	f->exists = lstat(marker_dir, &st) == 0;
	if (!f->exists)
		return;
	path = xasprintf("%s/%s", marker_dir, PITR_MARKER);
	if (first_line(path, line, sizeof(line)) && !strncmp(line, "run ", 4))
	{
		f->has_marker = true;
		snprintf(f->marker_run, sizeof(f->marker_run), "%.63s", line + 4);
	}
	free(path);
	path = xasprintf("%s/PG_VERSION", data_dir);
	f->has_pg_version = first_line(path, f->pg_version, sizeof(f->pg_version));
	free(path);
	path = xasprintf("%s/global/pg_control", data_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
	{
		uint64_t	id;

		/* system_identifier is the first field of ControlFileData */
		if (fstat(fd, &st) == 0 && st.st_size == PG_CONTROL_SIZE && pread(fd, &id, sizeof(id), 0) == sizeof(id))
		{
			f->has_control = true;
			f->sysid = id;
		}
		close(fd);
	}
	free(path);
}

pitr_dir_owner
pitr_dest_owner(const char *dest, const pitr_identity *id, char *why, size_t len)
{
	pitr_dir_facts f;

	pitr_dir_facts_read(dest, dest, &f);
	return pitr_dir_owner_decide(&f, id, false, why, len);
}

char *
pitr_staging_path(const char *dest, const char *run)
{
	size_t		len = strlen(dest);

	while (len > 1 && dest[len - 1] == '/')
		len--;
	return xasprintf("%.*s.pitr-%s.partial", (int) len, dest, run);
}

char *
pitr_staging_data(const char *dest, const char *run)
{
	char	   *staging = pitr_staging_path(dest, run);
	char	   *data = xasprintf("%s/data", staging);

	free(staging);
	return data;
}

pitr_dir_owner
pitr_staging_owner(const char *dest, const pitr_identity *id, char *why, size_t len)
{
	char	   *staging = pitr_staging_path(dest, id->run);
	char	   *data = pitr_staging_data(dest, id->run);
	pitr_dir_facts f;

	pitr_dir_facts_read(staging, data, &f);
	free(staging);
	free(data);
	return pitr_dir_owner_decide(&f, id, true, why, len);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

static bool
write_marker(const char *dir, const char *run, char *err, size_t errlen)
{
	char	   *path = xasprintf("%s/%s", dir, PITR_MARKER);
	char	   *text = xasprintf("run %s\n", run);
	bool		ok = rb_file_write(path, text, false);

	if (!ok)
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	free(path);
	free(text);
	return ok;
}

bool
pitr_staging_remove(const char *dest, const pitr_identity *id, char *err, size_t errlen)
{
	char	   *staging = pitr_staging_path(dest, id->run);
	char		why[512];
	bool		ok = true;

	switch (pitr_staging_owner(dest, id, why, sizeof(why)))
	{
		case PITR_DIR_FOREIGN:
			snprintf(err, errlen, "%s is not this run's copy (%s); move it away by hand", staging, why);
			ok = false;
			break;
		case PITR_DIR_OURS:
			/* FTW_PHYS: a symlink in the copy is removed, never followed */
			if (nftw(staging, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 || !rb_fsync_parent(staging))
			{
				snprintf(err, errlen, "cannot remove the interrupted copy %s: %s", staging, strerror(errno));
				ok = false;
			}
			break;
		case PITR_DIR_ABSENT:
			break;
	}
	free(staging);
	return ok;
}

bool
pitr_staging_begin(const char *dest, const pitr_identity *id, char *err, size_t errlen)
{
	char	   *staging = pitr_staging_path(dest, id->run);
	bool		ok = false;

	*err = '\0';
	if (!pitr_staging_remove(dest, id, err, errlen))
		goto out;
	if (mkdir(staging, 0700) != 0)
	{
		snprintf(err, errlen, "cannot create %s: %s", staging, strerror(errno));
		goto out;
	}
	ok = write_marker(staging, id->run, err, errlen) && rb_fsync_parent(staging);
	if (!ok && !*err)
		snprintf(err, errlen, "cannot fsync the parent of %s: %s", staging, strerror(errno));
out:
	free(staging);
	return ok;
}

bool
pitr_rename_noreplace(const char *from, const char *to, char *err, size_t errlen)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) != 0)
	{
		snprintf(err, errlen, "cannot rename %s to %s: %s", from, to, strerror(errno));
		return false;
	}
	if (!rb_fsync_parent(to))
	{
		snprintf(err, errlen, "cannot fsync the parent of %s: %s", to, strerror(errno));
		return false;
	}
	return true;
}

bool
pitr_staging_commit(const char *dest, const pitr_identity *id, char *err, size_t errlen)
{
	char	   *data = pitr_staging_data(dest, id->run);
	bool		ok;
	char		ignored[256];

	*err = '\0';
	ok = write_marker(data, id->run, err, errlen) && pitr_rename_noreplace(data, dest, err, errlen);
	/* what is left is the staging directory with its marker: ours, removable */
	if (ok)
		pitr_staging_remove(dest, id, ignored, sizeof(ignored));
	free(data);
	return ok;
}

void
pitr_marker_remove(const char *dest)
{
	char	   *marker = xasprintf("%s/%s", dest, PITR_MARKER);

	if (unlink(marker) == 0)
		rb_fsync_parent(marker);
	free(marker);
}
