/*
 * journal.c: the append-only JSON-lines audit journal of the runbooks.
 * Formatting and parsing are pure; journal_write() is the only place that
 * touches the file, with one write() and one fsync() per entry.
 */
#include "runbooks/journal.h"
#include "common/util.h"
#include "common/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const final_results[] = {"done", "failed", "refused", "abandoned", NULL};

bool
journal_result_is_final(const char *result)
{
	for (int i = 0; final_results[i]; i++)
		if (result && !strcmp(result, final_results[i]))
			return true;
	return false;
}

char *
journal_format(const journal_entry *e)
{
	json_t	   *o = json_object();
	char	   *s,
			   *out;

	json_object_set_new(o, "time", json_text(e->time));
	json_object_set_new(o, "run", json_text(e->run));
	json_object_set_new(o, "runbook", json_text(e->runbook));
	json_object_set_new(o, "step", json_text(e->step));
	json_object_set_new(o, "target", json_text(e->target));
	json_object_set_new(o, "result", json_text(e->result));
	json_object_set_new(o, "detail", json_text(e->detail));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	out = xstrdup(s);
	free(s);
	return out;
}

static char *
dup_member(json_t *o, const char *name)
{
	json_t	   *v = json_object_get(o, name);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

bool
journal_parse_line(const char *line, journal_entry *e)
{
	json_error_t jerr;
	json_t	   *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);

	memset(e, 0, sizeof(*e));
	if (!o || !json_is_object(o) || !json_is_string(json_object_get(o, "run")) ||
		!json_is_string(json_object_get(o, "step")) || !json_is_string(json_object_get(o, "result")))
	{
		json_decref(o);
		return false;
	}
	e->time = dup_member(o, "time");
	e->run = dup_member(o, "run");
	e->runbook = dup_member(o, "runbook");
	e->step = dup_member(o, "step");
	e->target = dup_member(o, "target");
	e->result = dup_member(o, "result");
	e->detail = dup_member(o, "detail");
	json_decref(o);
	return true;
}

void
journal_entry_free(journal_entry *e)
{
	free(e->time);
	free(e->run);
	free(e->runbook);
	free(e->step);
	free(e->target);
	free(e->result);
	free(e->detail);
	memset(e, 0, sizeof(*e));
}

bool
journal_read(const char *path, journal_entries *out, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;

	memset(out, 0, sizeof(*out));
	if (!f)
	{
		if (errno == ENOENT)
			return true;
		snprintf(err, errlen, "cannot read journal %s: %s", path, strerror(errno));
		return false;
	}
	while ((len = getline(&line, &cap, f)) != -1)
	{
		journal_entry e;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (!journal_parse_line(line, &e))
		{
			out->torn++;
			continue;
		}
		out->v = xrealloc(out->v, sizeof(journal_entry) * (size_t) (out->n + 1));
		out->v[out->n++] = e;
	}
	free(line);
	fclose(f);
	return true;
}

void
journal_entries_free(journal_entries *es)
{
	for (int i = 0; i < es->n; i++)
		journal_entry_free(&es->v[i]);
	free(es->v);
	memset(es, 0, sizeof(*es));
}

static bool
eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

const char *
journal_unfinished_run(const journal_entries *es, const char *runbook, const char **params)
{
	/*
	 * The newest run of runbook that was started and never closed; runs
	 * refused at once (e.g. while this one waits to be resumed) do not hide
	 * it.
	 */
	for (int i = es->n - 1; i >= 0; i--)
	{
		const journal_entry *e = &es->v[i];
		bool		closed = false;

		if (!eq(e->runbook, runbook) || !eq(e->step, "runbook") || !eq(e->result, "started"))
			continue;
		for (int k = i + 1; k < es->n && !closed; k++)
			closed = eq(es->v[k].run, e->run) && eq(es->v[k].step, "runbook") &&
				journal_result_is_final(es->v[k].result);
		if (closed)
			continue;
		if (params)
			*params = e->detail ? e->detail : "";
		return e->run;
	}
	return NULL;
}

bool
journal_step_done(const journal_entries *es, const char *run, const char *step, const char *target)
{
	for (int i = 0; i < es->n; i++)
		if (eq(es->v[i].run, run) && eq(es->v[i].step, step) && eq(es->v[i].result, "ok") &&
			(!target || eq(es->v[i].target, target)))
			return true;
	return false;
}

const char *
journal_step_detail(const journal_entries *es, const char *run, const char *step)
{
	const char *found = NULL;

	for (int i = 0; i < es->n; i++)
		if (eq(es->v[i].run, run) && eq(es->v[i].step, step) && eq(es->v[i].result, "ok"))
			found = es->v[i].detail;
	return found;
}

char *
journal_new_run_id(int64_t now, int pid)
{
	time_t		t = (time_t) (now / 1000000);
	struct tm	tm;
	char		base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y%m%dT%H%M%SZ", &tm);
	return xasprintf("%s-%d", base, pid);
}

/*
 * A crash in the middle of a write leaves a last line without its newline;
 * end it so the next entry starts on a line of its own (the torn line is
 * then skipped by readers).
 */
static bool
end_torn_line(int fd)
{
	struct stat st;
	char		c;

	if (fstat(fd, &st) != 0)
		return false;
	if (st.st_size == 0)
		return true;
	if (pread(fd, &c, 1, st.st_size - 1) != 1)
		return false;
	if (c == '\n')
		return true;
	return write(fd, "\n", 1) == 1 && fsync(fd) == 0;
}

bool
journal_open(rb_journal *j, const char *path, const char *runbook, const char *run,
			 char *err, size_t errlen)
{
	memset(j, 0, sizeof(*j));
	j->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (j->fd < 0)
	{
		snprintf(err, errlen, "cannot open journal %s: %s", path, strerror(errno));
		return false;
	}
	if (!end_torn_line(j->fd))
	{
		snprintf(err, errlen, "cannot repair the last line of journal %s: %s", path, strerror(errno));
		close(j->fd);
		j->fd = -1;
		return false;
	}
	j->path = xstrdup(path);
	j->runbook = xstrdup(runbook);
	j->run = xstrdup(run);
	return true;
}

bool
journal_write(rb_journal *j, const char *step, const char *target, const char *result,
			  const char *fmt,...)
{
	journal_entry e = {0};
	char		ts[40];
	char	   *line,
			   *detail = NULL;
	size_t		len,
				off = 0;
	bool		ok = true;

	if (fmt)
	{
		va_list		ap;
		strbuf		sb;

		sb_init(&sb);
		va_start(ap, fmt);
		sb_vprintf(&sb, fmt, ap);
		va_end(ap);
		detail = sb_steal(&sb);
	}
	format_iso8601(now_us(), ts, sizeof(ts));
	e.time = ts;
	e.run = j->run;
	e.runbook = j->runbook;
	e.step = (char *) step;
	e.target = (char *) target;
	e.result = (char *) result;
	e.detail = detail;
	line = journal_format(&e);
	len = strlen(line);
	line = xrealloc(line, len + 2);
	line[len++] = '\n';
	line[len] = '\0';
	/* O_APPEND: one write() per line keeps concurrent lines whole */
	while (off < len)
	{
		ssize_t		w = write(j->fd, line + off, len - off);

		if (w < 0)
		{
			if (errno == EINTR)
				continue;
			ok = false;
			break;
		}
		off += (size_t) w;
	}
	if (ok && fsync(j->fd) != 0)
		ok = false;
	free(line);
	free(detail);
	return ok;
}

void
journal_close(rb_journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j->run);
	free(j->runbook);
	memset(j, 0, sizeof(*j));
	j->fd = -1;
}
