/*
 * fanout.c: alert events to their pagers' spools, with the fan-out intent
 * written first (see fanout.h).
 */
#include "deliver/fanout.h"
#include "common/log.h"
#include "deliver/spool.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

bool
fanout_wants(const fanout *f, int p, const alert_event *ev)
{
	const rule_cfg *r = config_rule(f->cfg, ev->rule);
	bool		wanted = !r || r->n_pagers == 0;

	for (int k = 0; r && k < r->n_pagers; k++)
		if (!strcmp(r->pagers[k], pager_name(f->pagers[p])))
			wanted = true;
	return wanted && pager_accepts(f->pagers[p], ev);
}

bool
fanout_route(const fanout *f, event_list *events, bool from_rules)
{
	json_t	   *intent;
	char	   *text,
			   *err = NULL;
	bool		have_intent;
	int			failed_from;

	if (events->n == 0)
		return true;
	/* the fan-out below is several files: record it first (see spool.h) */
	intent = json_array();
	for (int i = 0; i < events->n; i++)
	{
		json_t	   *item = json_object();
		json_t	   *targets = json_array();
		char	   *ev = alert_to_json(&events->v[i]);

		for (int p = 0; p < f->n_pagers; p++)
			if (fanout_wants(f, p, &events->v[i]))
				json_array_append_new(targets, json_string(pager_name(f->pagers[p])));
		json_object_set_new(item, "pagers", targets);
		json_object_set_new(item, "event", json_loads(ev, 0, NULL));
		json_array_append_new(intent, item);
		free(ev);
	}
	text = json_dumps(intent, JSON_COMPACT);
	json_decref(intent);
	have_intent = text && spool_intent_write(f->cfg->spool_dir, text, &err);
	if (!have_intent && err)
	{
		log_error("%s", err);
		free(err);
	}
	free(text);
	/* without the intent a crash could half-send the batch: send none of it */
	failed_from = have_intent ? events->n : 0;
	for (int i = 0; i < events->n; i++)
	{
		alert_event *ev = &events->v[i];
		bool		ok = true;

		if (i < failed_from)
		{
			log_info("alert %s: %s [%s] %s", ev->status == ALERT_FIRING ? "firing" : "resolved",
					 ev->dedup_key, severity_name(ev->sev), ev->summary);
			for (int p = 0; p < f->n_pagers; p++)
				if (fanout_wants(f, p, ev) && !pager_enqueue(f->pagers[p], ev))
					ok = false;
			if (!ok)
				failed_from = i;
		}
		if (i >= failed_from)
		{
			/* the order per alert is kept: nothing after a failed event goes out */
			log_error("alert %s: %s could not be spooled; %s", ev->status == ALERT_FIRING ? "firing" : "resolved",
					  ev->dedup_key, from_rules ? "held back and sent again at the next poll" : "dropped");
			if (from_rules)
				rules_spool_failed(f->re, ev);
		}
	}
	if (have_intent)
		spool_intent_clear(f->cfg->spool_dir);
	return failed_from == events->n;
}

bool
fanout_recover(const fanout *f)
{
	char	   *text = spool_intent_read(f->cfg->spool_dir);
	json_t	   *intent;
	size_t		i;
	json_t	   *item;
	int			n = 0;
	bool		failed = false;

	if (!text)
		return true;
	intent = json_loads(text, 0, NULL);
	free(text);
	json_array_foreach(intent, i, item)
	{
		alert_event ev;
		char	   *evs = json_dumps(json_object_get(item, "event"), JSON_COMPACT);
		size_t		j;
		json_t	   *name;

		if (evs && alert_from_json(evs, &ev))
		{
			bool		ok = !failed;	/* order per alert: nothing after a failure */

			json_array_foreach(json_object_get(item, "pagers"), j, name)
				for (int p = 0; ok && p < f->n_pagers; p++)
					if (json_is_string(name) && !strcmp(json_string_value(name), pager_name(f->pagers[p])))
					{
						ok = pager_enqueue(f->pagers[p], &ev);
						n += ok;
					}
			if (!ok)
			{
				failed = true;
				rules_spool_failed(f->re, &ev);
			}
			alert_free(&ev);
		}
		free(evs);
	}
	json_decref(intent);
	log_warn("recovered an interrupted fan-out: %d notifications spooled again "
			 "(receivers deduplicate them)%s", n, failed ? "; the rest is retried at the next poll" : "");
	spool_intent_clear(f->cfg->spool_dir);
	return !failed;
}

/*
 * Alertmanager drops an alert once its endsAt (now + alert_ttl when posted)
 * passes, so every firing alert is posted to it again at a third of
 * alert_ttl, as Prometheus re-sends its alerts; other receivers keep an
 * alert open until it resolves and only hear of it again at `renotify`.
 */
int
fanout_repost_to_alertmanagers(const fanout *f, int64_t *reposted_ms, int64_t now_ms)
{
	event_list	firing = {0};
	bool		listed = false;
	int			failed = 0;

	for (int p = 0; p < f->n_pagers; p++)
	{
		const pager_cfg *pc = &f->cfg->pagers[p];
		int64_t		every_ms = (int64_t) (pc->alert_ttl_s * 1000 / 3);

		if (pc->kind != PAGER_ALERTMANAGER || now_ms - reposted_ms[p] < every_ms)
			continue;
		reposted_ms[p] = now_ms;
		if (!listed)
			rules_firing(f->re, f->cfg, now_us(), &firing);
		listed = true;
		for (int i = 0; i < firing.n; i++)
			if (fanout_wants(f, p, &firing.v[i]) && !pager_enqueue(f->pagers[p], &firing.v[i]))
				failed++;		/* re-posted again next time */
	}
	events_free(&firing);
	return failed;
}
