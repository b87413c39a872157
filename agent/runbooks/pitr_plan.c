/*
 * pitr_plan.c: pure decisions of the point-in-time recovery runbook.
 *
 * A base backup can reach a target only when it became consistent before
 * it: its stop LSN (end of the backup's WAL range) for LSN targets, its
 * stop time for time targets.  Restoring from a later backup would
 * silently give a wrong result, so when none precedes the target the
 * runbook refuses and lists what exists.
 */
#include "runbooks/pitr_plan.h"
#include "runbooks/rbutil.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
pitr_target_parse(pitr_target_kind kind, const char *text, pitr_target *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->inclusive = true;
	switch (kind)
	{
		case PITR_TARGET_TIME:
			{
				char		why[160];

				if (!rb_time_parse_why(text, &t->time_us, why, sizeof(why)))
				{
					snprintf(err, errlen, "--target-time: \"%s\" %s; nothing was changed", text, why);
					return false;
				}
			}
			/* a commit at exactly the target time is after the point asked for */
			t->inclusive = false;
			return true;
		case PITR_TARGET_LSN:
			if (!rb_lsn_parse(text, &t->lsn))
			{
				snprintf(err, errlen, "target LSN \"%s\" is not of the form 16/B374D848", text);
				return false;
			}
			return true;
		case PITR_TARGET_EVENT:
			{
				char	   *end;
				long long	v;

				errno = 0;
				v = strtoll(text, &end, 10);
				if (errno || end == text || *end || v <= 0)
				{
					snprintf(err, errlen, "event id \"%s\" is not a positive integer", text);
					return false;
				}
				t->event_id = v;
				return true;
			}
	}
	snprintf(err, errlen, "unknown target kind");
	return false;
}

void
pitr_target_resolve_event(pitr_target *t, uint64_t lsn_before)
{
	t->lsn = lsn_before;
	t->inclusive = false;
}

void
pitr_target_describe(const pitr_target *t, char *buf, size_t len)
{
	char		v[48];

	switch (t->kind)
	{
		case PITR_TARGET_TIME:
			rb_time_format(t->time_us, v, sizeof(v));
			snprintf(buf, len, "time %s", v);
			return;
		case PITR_TARGET_LSN:
			rb_lsn_format(t->lsn, v, sizeof(v));
			snprintf(buf, len, "lsn %s", v);
			return;
		case PITR_TARGET_EVENT:
			if (t->lsn)
			{
				rb_lsn_format(t->lsn, v, sizeof(v));
				snprintf(buf, len, "before event %" PRId64 " (lsn %s)", t->event_id, v);
			}
			else
				snprintf(buf, len, "before event %" PRId64, t->event_id);
			return;
	}
	snprintf(buf, len, "?");
}

static bool
precedes(const pitr_backup *b, const pitr_target *t)
{
	if (t->kind == PITR_TARGET_TIME)
		return b->stop_us > 0 && b->stop_us <= t->time_us;
	/* LSN and resolved event targets */
	return b->stop_lsn > 0 && b->stop_lsn <= t->lsn;
}

int
pitr_choose_backup(const pitr_backup *b, int n, const pitr_target *t, uint64_t sysid)
{
	int			best = -1;

	for (int i = 0; i < n; i++)
	{
		if (sysid && b[i].sysid && b[i].sysid != sysid)
			continue;
		if (!precedes(&b[i], t))
			continue;
		if (best < 0 || b[i].stop_lsn > b[best].stop_lsn)
			best = i;
	}
	return best;
}

char *
pitr_describe_backups(const pitr_backup *b, int n)
{
	strbuf		sb;

	if (n == 0)
		return xstrdup("none");
	sb_init(&sb);
	for (int i = 0; i < n; i++)
	{
		char		s[24],
					e[24],
					tm[48];

		rb_lsn_format(b[i].start_lsn, s, sizeof(s));
		rb_lsn_format(b[i].stop_lsn, e, sizeof(e));
		if (b[i].stop_us)
			rb_time_format(b[i].stop_us, tm, sizeof(tm));
		else
			snprintf(tm, sizeof(tm), "unknown");
		sb_printf(&sb, "%s%s (timeline %u, lsn %s..%s, consistent at %s)", i ? "; " : "",
				  b[i].label, b[i].timeline, s, e, tm);
	}
	return sb_steal(&sb);
}

char *
pitr_restore_command(const char *archive_dir)
{
	/* the value goes through the shell: quote the directory, keep %f/%p */
	char	   *q = rb_shell_quote(archive_dir);
	char	   *cmd = xasprintf("cp %s/%%f \"%%p\"", q);

	free(q);
	return cmd;
}

char *
pitr_recovery_settings(const pitr_target *t, const char *restore_command,
					   const char *target_timeline, const char *run)
{
	strbuf		sb;
	char	   *q;
	char		v[48];

	sb_init(&sb);
	sb_printf(&sb, "\n# orguard-agent runbook pitr, run %s\n", run ? run : "-");
	q = rb_conf_quote(restore_command);
	sb_printf(&sb, "restore_command = %s\n", q);
	free(q);
	if (t->kind == PITR_TARGET_TIME)
	{
		rb_time_format(t->time_us, v, sizeof(v));
		sb_printf(&sb, "recovery_target_time = '%s'\n", v);
	}
	else
	{
		rb_lsn_format(t->lsn, v, sizeof(v));
		sb_printf(&sb, "recovery_target_lsn = '%s'\n", v);
	}
	sb_printf(&sb, "recovery_target_inclusive = %s\n", t->inclusive ? "on" : "off");
	sb_append(&sb, "recovery_target_action = 'promote'\n");
	q = rb_conf_quote(target_timeline && *target_timeline ? target_timeline : "latest");
	sb_printf(&sb, "recovery_target_timeline = %s\n", q);
	free(q);
	return sb_steal(&sb);
}

bool
pitr_parse_backup_label(const char *text, pitr_backup *b)
{
	const char *v;
	char		lsn[32],
				tm[64];
	int			i = 0;

	if (!(v = rb_line_value(text, "START WAL LOCATION")))
		return false;
	while (v[i] && v[i] != ' ' && v[i] != '\n' && i < (int) sizeof(lsn) - 1)
	{
		lsn[i] = v[i];
		i++;
	}
	lsn[i] = '\0';
	if (!rb_lsn_parse(lsn, &b->start_lsn))
		return false;
	if ((v = rb_line_value(text, "START TIMELINE")))
		b->timeline = (uint32_t) strtoul(v, NULL, 10);
	if ((v = rb_line_value(text, "START TIME")))
	{
		const char *nl = strchr(v, '\n');
		size_t		n = nl ? (size_t) (nl - v) : strlen(v);

		if (n < sizeof(tm))
		{
			memcpy(tm, v, n);
			tm[n] = '\0';
			/* "2026-11-23 10:04:05 UTC" */
			if (!rb_time_parse(tm, &b->start_us))
				b->start_us = 0;
		}
	}
	return true;
}

bool
pitr_parse_manifest(const char *json, pitr_backup *b)
{
	json_error_t jerr;
	json_t	   *o = json_loads(json, 0, &jerr);
	json_t	   *ranges,
			   *last;
	bool		ok = false;

	if (!o)
		return false;
	ranges = json_object_get(o, "WAL-Ranges");
	if (json_is_array(ranges) && json_array_size(ranges) > 0)
	{
		json_t	   *first = json_array_get(ranges, 0);

		last = json_array_get(ranges, json_array_size(ranges) - 1);
		if (json_is_string(json_object_get(last, "End-LSN")) &&
			rb_lsn_parse(json_string_value(json_object_get(last, "End-LSN")), &b->stop_lsn))
			ok = true;
		if (json_is_string(json_object_get(first, "Start-LSN")))
			rb_lsn_parse(json_string_value(json_object_get(first, "Start-LSN")), &b->start_lsn);
		if (json_is_integer(json_object_get(last, "Timeline")))
			b->timeline = (uint32_t) json_integer_value(json_object_get(last, "Timeline"));
	}
	json_decref(o);
	return ok;
}

char *
pitr_backup_to_json(const pitr_backup *b)
{
	json_t	   *o = json_object();
	char		s[24],
				e[24],
				ts[48],
				te[48],
				id[24];
	char	   *txt,
			   *out;

	rb_lsn_format(b->start_lsn, s, sizeof(s));
	rb_lsn_format(b->stop_lsn, e, sizeof(e));
	rb_time_format(b->start_us, ts, sizeof(ts));
	rb_time_format(b->stop_us, te, sizeof(te));
	snprintf(id, sizeof(id), "%" PRIu64, b->sysid);
	json_object_set_new(o, "label", json_string(b->label ? b->label : ""));
	json_object_set_new(o, "system_identifier", json_string(id));
	json_object_set_new(o, "timeline", json_integer(b->timeline));
	json_object_set_new(o, "start_lsn", json_string(s));
	json_object_set_new(o, "stop_lsn", json_string(e));
	json_object_set_new(o, "start_time", json_string(ts));
	json_object_set_new(o, "stop_time", json_string(te));
	txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	out = xasprintf("%s\n", txt);
	free(txt);
	return out;
}

bool
pitr_backup_from_json(const char *json, pitr_backup *b)
{
	json_error_t jerr;
	json_t	   *o = json_loads(json, 0, &jerr);
	const char *s;
	bool		ok;

	memset(b, 0, sizeof(*b));
	if (!o)
		return false;
	ok = json_is_string(json_object_get(o, "label")) &&
		json_is_string(json_object_get(o, "start_lsn")) &&
		json_is_string(json_object_get(o, "stop_lsn")) &&
		rb_lsn_parse(json_string_value(json_object_get(o, "start_lsn")), &b->start_lsn) &&
		rb_lsn_parse(json_string_value(json_object_get(o, "stop_lsn")), &b->stop_lsn);
	if (ok)
	{
		b->label = xstrdup(json_string_value(json_object_get(o, "label")));
		if ((s = json_string_value(json_object_get(o, "system_identifier"))))
			b->sysid = strtoull(s, NULL, 10);
		b->timeline = (uint32_t) json_integer_value(json_object_get(o, "timeline"));
		if ((s = json_string_value(json_object_get(o, "start_time"))) && !rb_time_parse(s, &b->start_us))
			b->start_us = 0;
		if ((s = json_string_value(json_object_get(o, "stop_time"))) && !rb_time_parse(s, &b->stop_us))
			b->stop_us = 0;
	}
	json_decref(o);
	return ok;
}

void
pitr_backup_free(pitr_backup *b)
{
	free(b->label);
	b->label = NULL;
}
