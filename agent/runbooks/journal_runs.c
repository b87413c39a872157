/*
 * journal_runs.c: journal lines grouped into runs for the status page
 * (see journal_runs.h).
 */
#include "runbooks/journal_runs.h"
#include "runbooks/journal.h"
#include "common/utf8.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct run_acc
{
	char	   *id;
	json_t	   *o;				/* the run's object, steps included */
	json_t	   *steps;
	int			omitted;
	bool		proposal;
	bool		finished;
} run_acc;

static bool
eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static json_t *
text_or_null(const char *s)
{
	return s ? json_text(s) : json_null();
}

static run_acc *
find_run(run_acc *runs, int n, const char *id)
{
	/* newest first: a journal line almost always belongs to a recent run */
	for (int i = n - 1; i >= 0; i--)
		if (!strcmp(runs[i].id, id))
			return &runs[i];
	return NULL;
}

static json_t *
step_json(const journal_entry *e)
{
	json_t	   *s = json_object();

	json_object_set_new(s, "time", text_or_null(e->time));
	json_object_set_new(s, "step", json_text(e->step));
	json_object_set_new(s, "target", text_or_null(e->target));
	json_object_set_new(s, "result", json_text(e->result));
	json_object_set_new(s, "detail", text_or_null(e->detail));
	return s;
}

static void
add_step(run_acc *r, const journal_entry *e)
{
	size_t		n = json_array_size(r->steps);

	/* a long step's progress lines: only the newest is worth showing */
	if (eq(e->result, "progress") && n > 0)
	{
		json_t	   *last = json_array_get(r->steps, n - 1);

		if (eq(json_string_value(json_object_get(last, "result")), "progress") &&
			eq(json_string_value(json_object_get(last, "step")), e->step))
		{
			json_array_set_new(r->steps, n - 1, step_json(e));
			return;
		}
	}
	if (n >= JOURNAL_RUN_STEPS_KEPT)
	{
		json_array_remove(r->steps, 0);
		r->omitted++;
	}
	json_array_append_new(r->steps, step_json(e));
}

static void
apply(run_acc *r, const journal_entry *e)
{
	json_t	   *o = r->o;

	if (!json_is_string(json_object_get(o, "runbook")) && e->runbook)
		json_object_set_new(o, "runbook", json_text(e->runbook));
	if (eq(e->step, "runbook") && eq(e->result, "started"))
	{
		json_object_set_new(o, "started", text_or_null(e->time));
		json_object_set_new(o, "target", text_or_null(e->target));
		json_object_set_new(o, "params", text_or_null(e->detail));
		json_object_set_new(o, "partial", json_false());
		return;
	}
	if (eq(e->step, "runbook") && journal_result_is_final(e->result))
	{
		r->finished = true;
		json_object_set_new(o, "finished", text_or_null(e->time));
		json_object_set_new(o, "result", json_text(e->result));
		json_object_set_new(o, "detail", text_or_null(e->detail));
		if (!json_is_string(json_object_get(o, "target")))
			json_object_set_new(o, "target", text_or_null(e->target));
		return;
	}
	if (eq(e->step, "proposal"))
	{
		/* a proposal is decided, never "in progress" */
		r->proposal = true;
		json_object_set_new(o, "kind", json_string("proposal"));
		json_object_set_new(o, "result", json_text(e->result));
		json_object_set_new(o, "target", text_or_null(e->target));
		if (eq(e->result, "pending"))
		{
			json_object_set_new(o, "started", text_or_null(e->time));
			json_object_set_new(o, "params", text_or_null(e->detail));
			json_object_set_new(o, "partial", json_false());
		}
		else
			json_object_set_new(o, "finished", text_or_null(e->time));
	}
	add_step(r, e);
}

static run_acc *
new_run(run_acc **runs, int *n, const journal_entry *e)
{
	run_acc    *r;

	*runs = xrealloc(*runs, sizeof(run_acc) * (size_t) (*n + 1));
	r = &(*runs)[(*n)++];
	memset(r, 0, sizeof(*r));
	r->id = xstrdup(e->run);
	r->o = json_object();
	r->steps = json_array();
	json_object_set_new(r->o, "run", json_text(e->run));
	json_object_set_new(r->o, "runbook", text_or_null(e->runbook));
	json_object_set_new(r->o, "kind", json_string("run"));
	json_object_set_new(r->o, "target", json_null());
	json_object_set_new(r->o, "params", json_null());
	json_object_set_new(r->o, "started", json_null());
	json_object_set_new(r->o, "finished", json_null());
	json_object_set_new(r->o, "result", json_null());
	json_object_set_new(r->o, "detail", json_null());
	/* until its "started" line is seen, the run began before the text */
	json_object_set_new(r->o, "partial", json_true());
	return r;
}

json_t *
journal_runs_json(const char *text, size_t len, bool mid_file, int max_runs, int *torn)
{
	run_acc    *runs = NULL;
	int			n = 0;
	size_t		pos = 0;
	json_t	   *out = json_array();

	*torn = 0;
	if (mid_file)
	{
		const char *nl = memchr(text, '\n', len);

		pos = nl ? (size_t) (nl - text) + 1 : len;
	}
	while (pos < len)
	{
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t		linelen;
		char	   *line;
		journal_entry e;
		run_acc    *r;

		if (!nl)
		{
			/* no newline yet: a write under way, or torn by a crash */
			(*torn)++;
			break;
		}
		linelen = (size_t) (nl - start);
		pos += linelen + 1;
		if (linelen > 0 && start[linelen - 1] == '\r')
			linelen--;
		if (linelen == 0)
			continue;
		if (memchr(start, '\0', linelen))
		{
			(*torn)++;
			continue;
		}
		line = xmalloc(linelen + 1);
		memcpy(line, start, linelen);
		line[linelen] = '\0';
		if (!journal_parse_line(line, &e))
		{
			(*torn)++;
			free(line);
			continue;
		}
		free(line);
		r = find_run(runs, n, e.run);
		if (!r)
			r = new_run(&runs, &n, &e);
		apply(r, &e);
		journal_entry_free(&e);
	}
	for (int i = n - 1; i >= 0; i--)
	{
		run_acc    *r = &runs[i];

		if (n - 1 - i < max_runs)
		{
			bool		in_progress = !r->finished && !r->proposal;

			json_object_set_new(r->o, "in_progress", json_boolean(in_progress));
			if (in_progress)
				json_object_set_new(r->o, "result", json_string("in progress"));
			json_object_set_new(r->o, "steps", r->steps);
			json_object_set_new(r->o, "steps_omitted", json_integer(r->omitted));
			json_array_append_new(out, r->o);
		}
		else
		{
			json_decref(r->o);
			json_decref(r->steps);
		}
		free(r->id);
	}
	free(runs);
	return out;
}
