/*
 * list_json.c: list-backups and proposals as JSON (list_json.h).
 */
#include "runbooks/list_json.h"
#include "runbooks/rbutil.h"
#include "common/utf8.h"
#include "common/util.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static json_t *
time_or_null(int64_t us)
{
	char		buf[64];

	if (us == 0)
		return json_null();
	format_iso8601(us, buf, sizeof(buf));
	return json_text(buf);
}

static char *
dump(json_t *v)
{
	char	   *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(v);
	return s ? s : xstrdup("null");
}

char *
rb_backups_json(const pitr_backup *b, const char *const *types, int n)
{
	json_t	   *arr = json_array();

	for (int i = 0; i < n; i++)
	{
		json_t	   *o = json_object();
		char		lsn[24],
					sysid[24];

		json_object_set_new(o, "label", json_text(b[i].label));
		if (types)
			json_object_set_new(o, "type", json_text(types[i]));
		if (b[i].sysid)
		{
			snprintf(sysid, sizeof(sysid), "%" PRIu64, b[i].sysid);
			json_object_set_new(o, "system_identifier", json_text(sysid));
		}
		else
			json_object_set_new(o, "system_identifier", json_null());
		json_object_set_new(o, "timeline", json_integer(b[i].timeline));
		rb_lsn_format(b[i].start_lsn, lsn, sizeof(lsn));
		json_object_set_new(o, "start_lsn", json_text(lsn));
		rb_lsn_format(b[i].stop_lsn, lsn, sizeof(lsn));
		json_object_set_new(o, "stop_lsn", json_text(lsn));
		json_object_set_new(o, "start_time", time_or_null(b[i].start_us));
		json_object_set_new(o, "stop_time", time_or_null(b[i].stop_us));
		json_array_append_new(arr, o);
	}
	return dump(arr);
}

char *
rb_proposals_json(const rb_proposal_row *rows, int n, int64_t now_us)
{
	json_t	   *arr = json_array();

	for (int i = 0; i < n; i++)
	{
		json_t	   *o = json_object();
		const rb_proposal_row *r = &rows[i];

		json_object_set_new(o, "id", json_text(r->id));
		json_object_set_new(o, "runbook", json_text(r->runbook));
		json_object_set_new(o, "params", json_text(r->params));
		json_object_set_new(o, "node", r->node ? json_text(r->node) : json_null());
		json_object_set_new(o, "proposed_at", time_or_null(r->proposed_us));
		json_object_set_new(o, "expires_at", time_or_null(r->expires_us));
		json_object_set_new(o, "age_seconds", json_integer((json_int_t) ((now_us - r->proposed_us) / 1000000)));
		json_object_set_new(o, "expires_in_seconds",
							json_integer((json_int_t) ((r->expires_us - now_us) / 1000000)));
		json_array_append_new(arr, o);
	}
	return dump(arr);
}
