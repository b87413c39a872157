/*
 * fuzz_spool.c: what the pagers read back from disk.  A spool file's name
 * (spool_parse_name), its content (alert_from_json, written back with
 * alert_to_json it must read the same), and a fan-out intent
 * (spool_dir/fanout.json: an array of {"event", "pagers"}), read as the
 * agent does at start-up.
 */
#include "fuzz.h"
#include "alert/alert.h"
#include "deliver/spool.h"

#include <jansson.h>

static void
read_event(const char *json)
{
	alert_event ev;

	if (alert_from_json(json, &ev))
	{
		char	   *again = alert_to_json(&ev);
		alert_event ev2;

		FUZZ_ASSERT(alert_from_json(again, &ev2));
		FUZZ_ASSERT(strcmp(ev.dedup_key, ev2.dedup_key) == 0);
		FUZZ_ASSERT(ev.status == ev2.status);
		alert_free(&ev2);
		free(again);
		alert_free(&ev);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	uint64_t	seq;
	json_t	   *intent;
	size_t		i;
	json_t	   *item;

	if (spool_parse_name(text, &seq))
		FUZZ_ASSERT(text[0] >= '0' && text[0] <= '9' && strstr(text, ".json") != NULL);
	read_event(text);
	/* the fan-out intent, as recover_fanout() in main.c walks it */
	intent = json_loads(text, 0, NULL);
	json_array_foreach(intent, i, item)
	{
		char	   *evs = json_dumps(json_object_get(item, "event"), JSON_COMPACT);
		size_t		j;
		json_t	   *name;

		if (evs)
			read_event(evs);
		json_array_foreach(json_object_get(item, "pagers"), j, name)
			(void) json_string_value(name);
		free(evs);
	}
	json_decref(intent);
	free(text);
	return 0;
}
