/*
 * pager_pagerduty.c: PagerDuty Events API v2 payloads (pure).
 * trigger carries the summary (at most 1024 characters), source, severity,
 * timestamp, component/group/class and the labels as custom details;
 * resolve needs only the routing key and the dedup key.
 */
#include "deliver/pager.h"
#include "common/utf8.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define PD_SUMMARY_MAX 1024

const char *
pagerduty_severity(severity s)
{
	switch (s)
	{
		case SEV_CRITICAL:
			return "critical";
		case SEV_ERROR:
			return "error";
		case SEV_WARNING:
			return "warning";
		default:
			return "info";
	}
}

static char *
dump(json_t *o)
{
	char	   *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	char	   *r = xstrdup(s ? s : "{}");

	free(s);
	json_decref(o);
	return r;
}

char *
pagerduty_payload(const pager_cfg *p, const alert_event *ev)
{
	json_t	   *o = json_object();

	json_object_set_new(o, "routing_key", json_string(p->secret ? p->secret : ""));
	json_object_set_new(o, "dedup_key", json_text(ev->dedup_key));
	if (ev->status == ALERT_RESOLVED)
		json_object_set_new(o, "event_action", json_string("resolve"));
	else
	{
		json_t	   *pl = json_object();
		json_t	   *details = json_object();
		char		ts[40];
		char	   *summary = utf8_clean(ev->summary, PD_SUMMARY_MAX);

		json_object_set_new(o, "event_action", json_string("trigger"));
		format_iso8601(ev->event_at_us, ts, sizeof(ts));
		json_object_set_new(pl, "summary", json_text(summary));
		free(summary);
		json_object_set_new(pl, "source", json_text(ev->node));
		json_object_set_new(pl, "severity", json_string(pagerduty_severity(ev->sev)));
		json_object_set_new(pl, "timestamp", json_string(ts));
		json_object_set_new(pl, "component", json_string("postgresql"));
		json_object_set_new(pl, "group", json_text(ev->cluster));
		json_object_set_new(pl, "class", json_text(ev->rule));
		for (int i = 0; i < ev->labels.n; i++)
			json_set_text(details, ev->labels.v[i].name, ev->labels.v[i].value);
		json_object_set_new(details, "value", json_real(ev->value));
		{
			json_t	   *ann = json_object();

			for (int i = 0; i < ev->annotations.n; i++)
				json_set_text(ann, ev->annotations.v[i].name, ev->annotations.v[i].value);
			json_object_set_new(details, "annotations", ann);
		}
		json_object_set_new(pl, "custom_details", details);
		json_object_set_new(o, "payload", pl);
		json_object_set_new(o, "client", json_string("orguard-agent"));
	}
	return dump(o);
}
