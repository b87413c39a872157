/*
 * alert.c: alert events, their deduplication key and their JSON form (the
 * spool's on-disk format).  Pure: no I/O.
 */
#include "alert/alert.h"
#include "common/utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a 64: the tail that keeps a shortened key unique */
static uint64_t
hash64(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s; s++)
	{
		h ^= (unsigned char) *s;
		h *= 1099511628211ULL;
	}
	return h;
}

char *
alert_dedup_key(const char *cluster, const char *node, const char *rule, const char *subject)
{
	char	   *raw = xasprintf("%s/%s/%s/%s", cluster, node, rule, subject);
	char	   *key = utf8_clean(raw, 0);

	if (strlen(key) > DEDUP_KEY_MAX)
	{
		/*
		 * keep a readable prefix cut at a character boundary (receivers
		 * refuse invalid UTF-8), make the tail unique
		 */
		char		tail[24];
		size_t		keep;

		snprintf(tail, sizeof(tail), "#%016llx", (unsigned long long) hash64(raw));
		keep = utf8_prefix_len(key, DEDUP_KEY_MAX - strlen(tail));
		memcpy(key + keep, tail, strlen(tail) + 1);
	}
	free(raw);
	return key;
}

char *
alert_to_json(const alert_event *ev)
{
	json_t	   *o = json_object();
	json_t	   *labels = json_object();
	json_t	   *annotations = json_object();
	char	   *s;

	json_object_set_new(o, "status", json_string(ev->status == ALERT_FIRING ? "firing" : "resolved"));
	json_object_set_new(o, "dedup_key", json_text(ev->dedup_key));
	json_object_set_new(o, "rule", json_text(ev->rule));
	json_object_set_new(o, "cluster", json_text(ev->cluster));
	json_object_set_new(o, "node", json_text(ev->node));
	json_object_set_new(o, "subject", json_text(ev->subject));
	json_object_set_new(o, "summary", json_text(ev->summary));
	json_object_set_new(o, "severity", json_string(severity_name(ev->sev)));
	json_object_set_new(o, "value", json_real(ev->value));
	for (int i = 0; i < ev->labels.n; i++)
		json_set_text(labels, ev->labels.v[i].name, ev->labels.v[i].value);
	json_object_set_new(o, "labels", labels);
	for (int i = 0; i < ev->annotations.n; i++)
		json_set_text(annotations, ev->annotations.v[i].name, ev->annotations.v[i].value);
	json_object_set_new(o, "annotations", annotations);
	json_object_set_new(o, "starts_at_us", json_integer(ev->starts_at_us));
	json_object_set_new(o, "ends_at_us", json_integer(ev->ends_at_us));
	json_object_set_new(o, "event_at_us", json_integer(ev->event_at_us));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!s)
		return xstrdup("{}");
	{
		char	   *r = xstrdup(s);

		free(s);
		return r;
	}
}

static char *
str_field(json_t *o, const char *k, bool *ok)
{
	json_t	   *v = json_object_get(o, k);

	if (!json_is_string(v))
	{
		*ok = false;
		return xstrdup("");
	}
	return xstrdup(json_string_value(v));
}

static int64_t
int_field(json_t *o, const char *k, bool *ok)
{
	json_t	   *v = json_object_get(o, k);

	if (!json_is_integer(v))
	{
		*ok = false;
		return 0;
	}
	return (int64_t) json_integer_value(v);
}

bool
alert_from_json(const char *text, alert_event *ev)
{
	json_error_t err;
	json_t	   *o = json_loads(text, 0, &err);
	bool		ok = true;
	char	   *st,
			   *sev;
	json_t	   *labels,
			   *v;
	const char *k;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(o))
	{
		json_decref(o);
		return false;
	}
	st = str_field(o, "status", &ok);
	ev->status = strcmp(st, "resolved") == 0 ? ALERT_RESOLVED : ALERT_FIRING;
	if (strcmp(st, "resolved") && strcmp(st, "firing"))
		ok = false;
	free(st);
	ev->dedup_key = str_field(o, "dedup_key", &ok);
	ev->rule = str_field(o, "rule", &ok);
	ev->cluster = str_field(o, "cluster", &ok);
	ev->node = str_field(o, "node", &ok);
	ev->subject = str_field(o, "subject", &ok);
	ev->summary = str_field(o, "summary", &ok);
	sev = str_field(o, "severity", &ok);
	ev->sev = SEV_WARNING;
	for (int i = SEV_INFO; i <= SEV_CRITICAL; i++)
		if (!strcmp(sev, severity_name((severity) i)))
			ev->sev = (severity) i;
	free(sev);
	v = json_object_get(o, "value");
	if (json_is_number(v))
		ev->value = json_number_value(v);
	else
		ok = false;
	ev->starts_at_us = int_field(o, "starts_at_us", &ok);
	ev->ends_at_us = int_field(o, "ends_at_us", &ok);
	ev->event_at_us = int_field(o, "event_at_us", &ok);
	labels = json_object_get(o, "labels");
	if (json_is_object(labels))
	{
		json_object_foreach(labels, k, v)
		{
			if (json_is_string(v))
				labels_set(&ev->labels, k, json_string_value(v));
			else
				ok = false;
		}
	}
	else
		ok = false;
	/* entries spooled before annotations existed have none */
	v = json_object_get(o, "annotations");
	if (json_is_object(v))
	{
		json_t	   *a;

		json_object_foreach(v, k, a)
		{
			if (json_is_string(a))
				labels_set(&ev->annotations, k, json_string_value(a));
			else
				ok = false;
		}
	}
	else if (v)
		ok = false;
	json_decref(o);
	if (!ok || !*ev->dedup_key)
	{
		alert_free(ev);
		return false;
	}
	return true;
}

void
alert_copy(alert_event *dst, const alert_event *src)
{
	*dst = *src;
	dst->dedup_key = xstrdup(src->dedup_key);
	dst->rule = xstrdup(src->rule);
	dst->cluster = xstrdup(src->cluster);
	dst->node = xstrdup(src->node);
	dst->subject = xstrdup(src->subject);
	dst->summary = xstrdup(src->summary);
	dst->labels.v = NULL;
	dst->labels.n = 0;
	labels_copy(&dst->labels, &src->labels);
	dst->annotations.v = NULL;
	dst->annotations.n = 0;
	labels_copy(&dst->annotations, &src->annotations);
}

void
alert_free(alert_event *ev)
{
	free(ev->dedup_key);
	free(ev->rule);
	free(ev->cluster);
	free(ev->node);
	free(ev->subject);
	free(ev->summary);
	labels_free(&ev->labels);
	labels_free(&ev->annotations);
	memset(ev, 0, sizeof(*ev));
}

alert_event *
events_push(event_list *l)
{
	l->v = xrealloc(l->v, sizeof(alert_event) * (size_t) (l->n + 1));
	memset(&l->v[l->n], 0, sizeof(alert_event));
	return &l->v[l->n++];
}

void
events_free(event_list *l)
{
	for (int i = 0; i < l->n; i++)
		alert_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
