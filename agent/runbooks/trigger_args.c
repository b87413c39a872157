/*
 * trigger_args.c: a runbook's arguments from the alert that triggered it
 * (see trigger_args.h).
 */
#include "runbooks/trigger_args.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
rb_trigger_event_id(const char *subject, unsigned long long *id)
{
	const char *last = subject ? strrchr(subject, '/') : NULL;
	char	   *end;

	last = last ? last + 1 : subject;
	if (!last || !*last || strspn(last, "0123456789") != strlen(last))
		return false;
	errno = 0;
	*id = strtoull(last, &end, 10);
	return errno == 0 && *end == '\0' && *id > 0;
}

char *
rb_trigger_args(rb_kind kind, const char *rule, bool destructive, const char *subject,
				double watch_for_s, char *err, size_t errlen)
{
	unsigned long long id;

	if (kind == RB_KIND_PROMOTE)
		return xasprintf("--watch-for %.0fs", watch_for_s < 1 ? 1 : watch_for_s);
	if (kind != RB_KIND_PITR)
	{
		snprintf(err, errlen, "kind: this runbook is not run by trigger");
		return NULL;
	}
	if (!destructive)
	{
		snprintf(err, errlen,
				 "target: rule %s does not name a point in time; a restore target cannot be guessed "
				 "(only a destructive_event rule triggers pitr; otherwise run orguard-agent runbook pitr "
				 "with --target-time, --target-lsn or --before-event)", rule ? rule : "?");
		return NULL;
	}
	if (!rb_trigger_event_id(subject, &id))
	{
		snprintf(err, errlen, "target: subject \"%s\" does not end with a destructive event id",
				 subject ? subject : "");
		return NULL;
	}
	return xasprintf("--before-event %llu", id);
}

int
rb_args_split(const char *args, char ***argv)
{
	char	   *copy = xstrdup(args ? args : ""),
			   *save = NULL;
	int			n = 0;

	*argv = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
	{
		*argv = xrealloc(*argv, sizeof(char *) * (size_t) (n + 2));
		(*argv)[n++] = xstrdup(w);
		(*argv)[n] = NULL;
	}
	free(copy);
	return n;
}

void
rb_args_free(char **argv, int n)
{
	for (int i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
}
