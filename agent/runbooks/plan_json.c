/*
 * plan_json.c: a dry run's plan as JSON (plan.h).  Pure: no I/O.
 */
#include "runbooks/plan.h"
#include "common/utf8.h"
#include "common/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* the text without the "plan: " the terminal shows and without its final newline */
static json_t *
plan_text(const char *text)
{
	char	   *t;
	size_t		n;
	json_t	   *v;

	if (!text)
		return json_null();
	if (!strncmp(text, "plan: ", 6))
		text += 6;
	t = xstrdup(text);
	n = strlen(t);
	while (n > 0 && t[n - 1] == '\n')
		t[--n] = '\0';
	v = json_text(t);
	free(t);
	return v;
}

char *
rb_plan_json(const rb_plan *p)
{
	json_t	   *o = json_object();
	json_t	   *notes = json_array();
	json_t	   *steps = json_array();
	char	   *out;

	json_object_set_new(o, "runbook", json_text(p->runbook));
	json_object_set_new(o, "cluster", json_text(p->cluster));
	json_object_set_new(o, "dry_run", json_true());
	json_object_set_new(o, "result", p->result ? json_text(p->result) : json_null());
	json_object_set_new(o, "detail", p->detail ? json_text(p->detail) : json_null());
	json_object_set_new(o, "exit_status", json_integer(p->exit_status));
	json_object_set_new(o, "plan", plan_text(p->text));
	for (int i = 0; i < p->n_notes; i++)
		json_array_append_new(notes, json_text(p->notes[i]));
	json_object_set_new(o, "notes", notes);
	for (int i = 0; i < p->n_steps; i++)
	{
		json_t	   *s = json_object();

		json_object_set_new(s, "step", json_text(p->steps[i].step));
		json_object_set_new(s, "target", json_text(p->steps[i].target));
		json_object_set_new(s, "result", json_text(p->steps[i].result));
		json_object_set_new(s, "detail", json_text(p->steps[i].detail));
		json_array_append_new(steps, s);
	}
	json_object_set_new(o, "steps", steps);
	out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return out;
}
