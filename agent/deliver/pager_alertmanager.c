/*
 * pager_alertmanager.c: Alertmanager API v2 payloads (pure).
 * A firing alert is posted with endsAt = now + alert_ttl, so that it
 * expires by itself if the agent dies; re-notification refreshes it.  A
 * resolved alert is posted with endsAt = the time it resolved.  Label names
 * are the event's labels, which config and facts keep valid.
 */
#include "deliver/pager.h"
#include "common/utf8.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

char *
alertmanager_url(const char *base)
{
	size_t		n = strlen(base);

	if (strstr(base, "/api/v2/alerts"))
		return xstrdup(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s/api/v2/alerts", (int) n, base);
}

char *
alertmanager_payload(const pager_cfg *p, const alert_event *ev, int64_t now)
{
	json_t	   *arr = json_array();
	json_t	   *a = json_object();
	json_t	   *labels = json_object();
	json_t	   *ann = json_object();
	char		ts[40],
				val[64];
	int64_t		ends;
	char	   *s,
			   *r;

	for (int i = 0; i < ev->labels.n; i++)
		if (valid_label_name(ev->labels.v[i].name) && *ev->labels.v[i].value)
			json_set_text(labels, ev->labels.v[i].name, ev->labels.v[i].value);
	json_object_set_new(a, "labels", labels);
	/* the values (summary, description, runbook_url, the facts): not identity */
	for (int i = 0; i < ev->annotations.n; i++)
		if (valid_label_name(ev->annotations.v[i].name))
			json_set_text(ann, ev->annotations.v[i].name, ev->annotations.v[i].value);
	json_object_set_new(ann, "summary", json_text(ev->summary));
	snprintf(val, sizeof(val), "%.15g", ev->value);
	json_object_set_new(ann, "value", json_string(val));
	json_object_set_new(ann, "dedup_key", json_text(ev->dedup_key));
	json_object_set_new(a, "annotations", ann);
	format_iso8601(ev->starts_at_us ? ev->starts_at_us : ev->event_at_us, ts, sizeof(ts));
	json_object_set_new(a, "startsAt", json_string(ts));
	if (ev->status == ALERT_RESOLVED)
		ends = ev->ends_at_us;
	else
		ends = now + (int64_t) (p->alert_ttl_s * 1e6);
	if (ends < ev->starts_at_us)
		ends = ev->starts_at_us;
	format_iso8601(ends, ts, sizeof(ts));
	json_object_set_new(a, "endsAt", json_string(ts));
	json_array_append_new(arr, a);
	s = json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS);
	r = xstrdup(s ? s : "[]");
	free(s);
	json_decref(arr);
	return r;
}
