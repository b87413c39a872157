/*
 * pgbackrest_plan.c: the pgBackRest backend's catalogue and command lines,
 * pure (no I/O) so that they are unit-tested against captured output of
 * pgBackRest 2.45.
 */
#include "runbooks/pgbackrest_plan.h"
#include "runbooks/rbutil.h"
#include "common/util.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
backup_type(const char *t)
{
	static const char *const known[] = {"full", "diff", "incr", NULL};

	for (int i = 0; known[i]; i++)
		if (t && !strcmp(t, known[i]))
			return known[i];
	return "unknown";
}

/* the system identifier of the db entry with this id ("database"."id") */
static uint64_t
db_sysid(json_t *dbs, json_int_t id)
{
	size_t		i;
	json_t	   *db;

	json_array_foreach(dbs, i, db)
	{
		json_t	   *sid = json_object_get(db, "system-id");

		if (json_integer_value(json_object_get(db, "id")) == id && json_is_integer(sid))
			return (uint64_t) json_integer_value(sid);
	}
	return 0;
}

/* Unix seconds from 1970 to 9999: anything else would overflow microseconds */
static bool
epoch_seconds_ok(json_int_t s)
{
	return s >= 0 && s <= 253402300799LL;
}

static bool
parse_backup(json_t *o, json_t *dbs, pitr_backup *b, const char **type)
{
	json_t	   *lsn = json_object_get(o, "lsn"),
			   *ts = json_object_get(o, "timestamp"),
			   *arch = json_object_get(o, "archive");
	const char *label = json_string_value(json_object_get(o, "label"));
	const char *seg = json_string_value(json_object_get(arch, "start"));
	char		tli[9];

	memset(b, 0, sizeof(*b));
	if (!label || !seg || strlen(seg) != 24 ||
		!json_is_string(json_object_get(lsn, "start")) || !json_is_string(json_object_get(lsn, "stop")) ||
		!rb_lsn_parse(json_string_value(json_object_get(lsn, "start")), &b->start_lsn) ||
		!rb_lsn_parse(json_string_value(json_object_get(lsn, "stop")), &b->stop_lsn) ||
		!json_is_integer(json_object_get(ts, "start")) || !json_is_integer(json_object_get(ts, "stop")) ||
		!epoch_seconds_ok(json_integer_value(json_object_get(ts, "start"))) ||
		!epoch_seconds_ok(json_integer_value(json_object_get(ts, "stop"))))
		return false;
	/* the timeline is the first 8 hex digits of a WAL segment's name */
	memcpy(tli, seg, 8);
	tli[8] = '\0';
	b->timeline = (uint32_t) strtoul(tli, NULL, 16);
	b->start_us = (int64_t) json_integer_value(json_object_get(ts, "start")) * 1000000;
	/*
	 * pgBackRest records whole seconds after the backup stopped: the next
	 * second is the earliest time target the backup surely reaches
	 */
	b->stop_us = ((int64_t) json_integer_value(json_object_get(ts, "stop")) + 1) * 1000000;
	b->sysid = db_sysid(dbs, json_integer_value(json_object_get(json_object_get(o, "database"), "id")));
	b->label = xstrdup(label);
	*type = backup_type(json_string_value(json_object_get(o, "type")));
	return true;
}

bool
pgbr_parse_info(const char *json, const char *stanza, pgbr_backups *out, char *err, size_t errlen)
{
	json_error_t jerr;
	/*
	 * system-id is a bare integer: jansson reads it as long long, which
	 * holds every identifier PostgreSQL makes before 2038
	 */
	json_t	   *root = json_loads(json ? json : "", 0, &jerr);
	json_t	   *st = NULL,
			   *backups,
			   *one;
	size_t		i;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(root))
	{
		snprintf(err, errlen, "pgbackrest info: not a JSON array%s%s", root ? "" : ": ", root ? "" : jerr.text);
		json_decref(root);
		return false;
	}
	json_array_foreach(root, i, one)
		if (!strcmp(json_string_value(json_object_get(one, "name")) ? json_string_value(json_object_get(one, "name")) : "",
					stanza))
		st = one;
	if (!st)
	{
		snprintf(err, errlen, "pgbackrest info: no stanza %s", stanza);
		json_decref(root);
		return false;
	}
	backups = json_object_get(st, "backup");
	if (!json_is_array(backups))
	{
		snprintf(err, errlen, "pgbackrest info: stanza %s has no backup list", stanza);
		json_decref(root);
		return false;
	}
	json_array_foreach(backups, i, one)
	{
		pitr_backup b;
		const char *type;

		if (json_is_true(json_object_get(one, "error")))
			continue;
		if (!parse_backup(one, json_object_get(st, "db"), &b, &type))
		{
			snprintf(err, errlen, "pgbackrest info: backup %zu of stanza %s lacks its label, LSNs, times or WAL range",
					 i + 1, stanza);
			pitr_backup_free(&b);
			pgbr_backups_free(out);
			json_decref(root);
			return false;
		}
		out->v = xrealloc(out->v, sizeof(*out->v) * (size_t) (out->n + 1));
		out->type = xrealloc(out->type, sizeof(*out->type) * (size_t) (out->n + 1));
		out->v[out->n] = b;
		out->type[out->n++] = type;
	}
	/* pgBackRest lists by label (time); the choice wants stop LSN order */
	for (int a = 1; a < out->n; a++)
		for (int k = a; k > 0 && out->v[k - 1].stop_lsn > out->v[k].stop_lsn; k--)
		{
			pitr_backup tb = out->v[k];
			const char *tt = out->type[k];

			out->v[k] = out->v[k - 1];
			out->type[k] = out->type[k - 1];
			out->v[k - 1] = tb;
			out->type[k - 1] = tt;
		}
	json_decref(root);
	return true;
}

void
pgbr_backups_free(pgbr_backups *b)
{
	for (int i = 0; i < b->n; i++)
		pitr_backup_free(&b->v[i]);
	free(b->v);
	free(b->type);
	memset(b, 0, sizeof(*b));
}

char *
pgbr_describe_backups(const pgbr_backups *b)
{
	strbuf		sb;

	if (b->n == 0)
		return xstrdup("none");
	sb_init(&sb);
	for (int i = 0; i < b->n; i++)
	{
		char		s[24],
					e[24],
					ts[48],
					te[48];

		rb_lsn_format(b->v[i].start_lsn, s, sizeof(s));
		rb_lsn_format(b->v[i].stop_lsn, e, sizeof(e));
		rb_time_format(b->v[i].start_us, ts, sizeof(ts));
		rb_time_format(b->v[i].stop_us, te, sizeof(te));
		sb_printf(&sb, "%s%s (%s, timeline %u, lsn %s..%s, started %s, consistent by %s)", i ? "\n" : "",
				  b->v[i].label, b->type[i], b->v[i].timeline, s, e, ts, te);
	}
	return sb_steal(&sb);
}

static void
add(pgbr_argv *a, char *word)
{
	a->v = xrealloc(a->v, sizeof(char *) * (size_t) (a->n + 2));
	a->v[a->n++] = word;
	a->v[a->n] = NULL;
}

/* program, --config and --stanza: what every command starts with */
static pgbr_argv
base_argv(const pgbr_cmd *c)
{
	pgbr_argv	a = {0};

	add(&a, xstrdup(c->bin ? c->bin : "pgbackrest"));
	if (c->config)
		add(&a, xasprintf("--config=%s", c->config));
	add(&a, xasprintf("--stanza=%s", c->stanza));
	return a;
}

void
pgbr_argv_free(pgbr_argv *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

char *
pgbr_argv_describe(const pgbr_argv *a)
{
	strbuf		sb;

	sb_init(&sb);
	for (int i = 0; i < a->n; i++)
	{
		bool		plain = strspn(a->v[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,+@%")
			== strlen(a->v[i]);
		char	   *q = plain ? NULL : rb_shell_quote(a->v[i]);

		sb_printf(&sb, "%s%s", i ? " " : "", plain ? a->v[i] : q);
		free(q);
	}
	return sb_steal(&sb);
}

pgbr_argv
pgbr_backup_argv(const pgbr_cmd *c)
{
	pgbr_argv	a = base_argv(c);

	add(&a, xstrdup("--type=full"));
	add(&a, xstrdup("--start-fast"));
	add(&a, xstrdup("backup"));
	return a;
}

pgbr_argv
pgbr_check_argv(const pgbr_cmd *c)
{
	pgbr_argv	a = base_argv(c);

	add(&a, xstrdup("check"));
	return a;
}

pgbr_argv
pgbr_info_argv(const pgbr_cmd *c)
{
	pgbr_argv	a = base_argv(c);

	add(&a, xstrdup("--output=json"));
	add(&a, xstrdup("info"));
	return a;
}

pgbr_argv
pgbr_restore_argv(const pgbr_cmd *c, const char *pg_path, const char *label, const pitr_target *t,
				  const char *target_timeline)
{
	pgbr_argv	a = base_argv(c);
	char		v[64];

	add(&a, xasprintf("--pg1-path=%s", pg_path));
	add(&a, xasprintf("--set=%s", label));
	if (t->kind == PITR_TARGET_TIME)
	{
		rb_time_format(t->time_us, v, sizeof(v));
		add(&a, xstrdup("--type=time"));
	}
	else
	{
		rb_lsn_format(t->lsn, v, sizeof(v));
		add(&a, xstrdup("--type=lsn"));
	}
	add(&a, xasprintf("--target=%s", v));
	if (!t->inclusive)
		add(&a, xstrdup("--target-exclusive"));
	add(&a, xstrdup("--target-action=promote"));
	if (target_timeline)
		add(&a, xasprintf("--target-timeline=%s", target_timeline));
	add(&a, xstrdup("restore"));
	return a;
}
