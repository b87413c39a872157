/*
 * plan.c: a dry run's plan as data (plan.h).
 */
#include "runbooks/plan.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

bool
rb_format_parse(const char *s, rb_format *out)
{
	if (!strcmp(s, "table") || !strcmp(s, "text"))
		*out = RB_FORMAT_TEXT;
	else if (!strcmp(s, "json"))
		*out = RB_FORMAT_JSON;
	else
		return false;
	return true;
}

void
rb_plan_init(rb_plan *p, const char *runbook, const char *cluster)
{
	memset(p, 0, sizeof(*p));
	p->runbook = xstrdup(runbook ? runbook : "");
	p->cluster = xstrdup(cluster ? cluster : "");
}

void
rb_plan_add_text(rb_plan *p, const char *text)
{
	char	   *joined = xasprintf("%s%s", p->text ? p->text : "", text);

	free(p->text);
	p->text = joined;
}

void
rb_plan_add_output(rb_plan *p, const char *text)
{
	char	   *joined = xasprintf("%s%s", p->output ? p->output : "", text);

	free(p->output);
	p->output = joined;
}

void
rb_plan_add_note(rb_plan *p, const char *note)
{
	p->notes = xrealloc(p->notes, sizeof(char *) * (size_t) (p->n_notes + 1));
	p->notes[p->n_notes++] = xstrdup(note);
}

void
rb_plan_add_step(rb_plan *p, const char *step, const char *target, const char *result, const char *detail)
{
	rb_plan_step *s;

	p->steps = xrealloc(p->steps, sizeof(rb_plan_step) * (size_t) (p->n_steps + 1));
	s = &p->steps[p->n_steps++];
	s->step = xstrdup(step);
	s->target = xstrdup(target ? target : "");
	s->result = xstrdup(result);
	s->detail = xstrdup(detail ? detail : "");
}

void
rb_plan_finish(rb_plan *p, const char *result, const char *detail, int exit_status)
{
	free(p->result);
	free(p->detail);
	p->result = xstrdup(result);
	p->detail = xstrdup(detail ? detail : "");
	p->exit_status = exit_status;
}

void
rb_plan_free(rb_plan *p)
{
	free(p->runbook);
	free(p->cluster);
	free(p->text);
	free(p->output);
	for (int i = 0; i < p->n_notes; i++)
		free(p->notes[i]);
	free(p->notes);
	for (int i = 0; i < p->n_steps; i++)
	{
		free(p->steps[i].step);
		free(p->steps[i].target);
		free(p->steps[i].result);
		free(p->steps[i].detail);
	}
	free(p->steps);
	free(p->result);
	free(p->detail);
	memset(p, 0, sizeof(*p));
}
