/*
 * alert.h: one alert notification (firing or resolved) as it travels from
 * the rule engine through the spool to a pager, its stable deduplication
 * key, and its JSON form on disk.
 */
#ifndef ORGUARD_ALERT_H
#define ORGUARD_ALERT_H

#include "common/config.h"
#include "common/util.h"

#include <stdint.h>

typedef enum alert_status
{
	ALERT_FIRING,
	ALERT_RESOLVED
} alert_status;

typedef struct alert_event
{
	alert_status status;
	char	   *dedup_key;
	char	   *rule;
	char	   *cluster;
	char	   *node;
	char	   *subject;
	char	   *summary;
	severity	sev;
	double		value;
	labelset	labels;			/* identity: alertname, severity, cluster, node, subject, stable fields */
	labelset	annotations;	/* values: summary, description, runbook_url, the facts */
	int64_t		starts_at_us;
	int64_t		ends_at_us;		/* resolved events only */
	int64_t		event_at_us;	/* when this notification was produced */
} alert_event;

typedef struct event_list
{
	alert_event *v;
	int			n;
} event_list;

#define DEDUP_KEY_MAX 255

/* "cluster/node/rule/subject", shortened with a hash beyond 255 bytes */
char	   *alert_dedup_key(const char *cluster, const char *node, const char *rule, const char *subject);

char	   *alert_to_json(const alert_event *ev);
/* returns false on malformed input; ev is then left empty */
bool		alert_from_json(const char *json, alert_event *ev);
void		alert_copy(alert_event *dst, const alert_event *src);
void		alert_free(alert_event *ev);

alert_event *events_push(event_list *l);
void		events_free(event_list *l);

#endif
