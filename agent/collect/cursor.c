/*
 * cursor.c: the ring cursor file (see cursor.h).  Parsing and formatting
 * are pure; load and save are the only I/O.
 */
#include "collect/cursor.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool
cursor_parse(const char *text, cursor_store *cs)
{
	char	   *copy = xstrdup(text);
	char	   *save = NULL;
	bool		ok = true;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		char		name[256];
		unsigned long long sys,
					cur,
					inc = 0;
		long long	start;
		int			fields = sscanf(line, "%255s %llu %lld %llu %llu", name, &sys, &start, &cur, &inc);

		if (fields != 4 && fields != 5)
		{
			ok = false;
			continue;
		}
		cursor_set(cs, name, sys, start, cur);
		cursor_set_incarnation(cs, name, fields == 5 ? inc : 0);
	}
	free(copy);
	cs->dirty = false;
	return ok;
}

char *
cursor_format(const cursor_store *cs)
{
	strbuf		sb;

	sb_init(&sb);
	for (int i = 0; i < cs->n; i++)
	{
		sb_printf(&sb, "%s %llu %lld %llu", cs->v[i].node, (unsigned long long) cs->v[i].system_id,
				  (long long) cs->v[i].start_us, (unsigned long long) cs->v[i].cursor);
		/* unknown incarnations keep the four-field lines older agents read */
		if (cs->v[i].incarnation)
			sb_printf(&sb, " %llu", (unsigned long long) cs->v[i].incarnation);
		sb_printf(&sb, "\n");
	}
	return sb_steal(&sb);
}

const cursor_entry *
cursor_get(const cursor_store *cs, const char *node)
{
	for (int i = 0; i < cs->n; i++)
		if (!strcmp(cs->v[i].node, node))
			return &cs->v[i];
	return NULL;
}

void
cursor_set(cursor_store *cs, const char *node, uint64_t system_id, int64_t start_us, uint64_t cursor)
{
	cursor_entry *e = (cursor_entry *) cursor_get(cs, node);

	if (!e)
	{
		cs->v = xrealloc(cs->v, sizeof(cursor_entry) * (size_t) (cs->n + 1));
		e = &cs->v[cs->n++];
		e->node = xstrdup(node);
		e->incarnation = 0;
	}
	else if (e->system_id == system_id && e->start_us == start_us && e->cursor == cursor)
		return;
	e->system_id = system_id;
	e->start_us = start_us;
	e->cursor = cursor;
	cs->dirty = true;
}

void
cursor_set_incarnation(cursor_store *cs, const char *node, uint64_t incarnation)
{
	cursor_entry *e = (cursor_entry *) cursor_get(cs, node);

	if (!e || e->incarnation == incarnation)
		return;
	e->incarnation = incarnation;
	cs->dirty = true;
}

cursor_life
cursor_life_check(uint64_t had_sys, int64_t had_start_us, uint64_t had_incarnation,
				  uint64_t sys, int64_t start_us, uint64_t incarnation)
{
	if (had_start_us && (start_us != had_start_us || sys != had_sys))
		return CURSOR_NODE_RESTARTED;
	if (had_incarnation && incarnation && incarnation != had_incarnation)
		return CURSOR_SHMEM_RESTARTED;
	return CURSOR_SAME_LIFE;
}

void
cursor_store_free(cursor_store *cs)
{
	for (int i = 0; i < cs->n; i++)
		free(cs->v[i].node);
	free(cs->v);
	memset(cs, 0, sizeof(*cs));
}

bool
cursor_load(const char *path, cursor_store *cs, char **err)
{
	FILE	   *f = fopen(path, "r");
	strbuf		sb;
	char		buf[4096];
	size_t		n;
	bool		ok;

	if (!f)
	{
		if (errno == ENOENT)
			return true;
		*err = xasprintf("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_append_len(&sb, buf, n);
	fclose(f);
	ok = cursor_parse(sb.data, cs);
	sb_free(&sb);
	if (!ok)
		*err = xasprintf("%s: malformed lines ignored", path);
	return ok;
}

bool
cursor_save(const char *path, cursor_store *cs, char **err)
{
	char	   *tmp,
			   *text;
	int			fd;
	bool		ok;
	size_t		len;

	if (!cs->dirty)
		return true;
	tmp = xasprintf("%s.tmp", path);
	text = cursor_format(cs);
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = fd >= 0 && write(fd, text, len) == (ssize_t) len && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	ok = ok && rename(tmp, path) == 0;
	if (!ok)
	{
		*err = xasprintf("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	else
		cs->dirty = false;
	free(tmp);
	free(text);
	return ok;
}
