/*
 * pager_webhook.c: the generic webhook's JSON body and its optional
 * HMAC-SHA256 signature (OpenSSL's HMAC: no hand-written crypto).
 * Receivers verify "X-Orguard-Signature: sha256=<hex of HMAC(key, T.body)>"
 * where T is the X-Orguard-Timestamp header (docs/agent.md).
 */
#include "deliver/pager.h"
#include "common/utf8.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
webhook_payload(const alert_event *ev)
{
	json_t	   *o = json_object();
	json_t	   *labels = json_object();
	char		ts[40];
	char	   *s,
			   *r;

	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "status", json_string(ev->status == ALERT_FIRING ? "firing" : "resolved"));
	json_object_set_new(o, "dedup_key", json_text(ev->dedup_key));
	json_object_set_new(o, "rule", json_text(ev->rule));
	json_object_set_new(o, "severity", json_string(severity_name(ev->sev)));
	json_object_set_new(o, "cluster", json_text(ev->cluster));
	json_object_set_new(o, "node", json_text(ev->node));
	json_object_set_new(o, "subject", json_text(ev->subject));
	json_object_set_new(o, "summary", json_text(ev->summary));
	json_object_set_new(o, "value", json_real(ev->value));
	for (int i = 0; i < ev->labels.n; i++)
		json_set_text(labels, ev->labels.v[i].name, ev->labels.v[i].value);
	json_object_set_new(o, "labels", labels);
	{
		json_t	   *ann = json_object();

		for (int i = 0; i < ev->annotations.n; i++)
			json_set_text(ann, ev->annotations.v[i].name, ev->annotations.v[i].value);
		json_object_set_new(o, "annotations", ann);
	}
	format_iso8601(ev->starts_at_us, ts, sizeof(ts));
	json_object_set_new(o, "starts_at", json_string(ts));
	if (ev->status == ALERT_RESOLVED)
	{
		format_iso8601(ev->ends_at_us, ts, sizeof(ts));
		json_object_set_new(o, "ends_at", json_string(ts));
	}
	format_iso8601(ev->event_at_us, ts, sizeof(ts));
	json_object_set_new(o, "event_at", json_string(ts));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	r = xstrdup(s ? s : "{}");
	free(s);
	json_decref(o);
	return r;
}

/*
 * The signature covers "<timestamp>.<body>", the timestamp being the send
 * time in Unix seconds as sent in X-Orguard-Timestamp: a receiver that
 * refuses old timestamps cannot be fed a recorded request again later, and
 * the timestamp cannot be changed without the key.
 */
bool
webhook_sign(const char *key, const char *body, int64_t unix_s, char **ts_header, char **sig_header)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char		ts[24];
	strbuf		signed_text;
	strbuf		sb;
	bool		ok;

	*ts_header = *sig_header = NULL;
	if (!key || !*key)
		return false;
	snprintf(ts, sizeof(ts), "%lld", (long long) unix_s);
	sb_init(&signed_text);
	sb_printf(&signed_text, "%s.%s", ts, body);
	ok = HMAC(EVP_sha256(), key, (int) strlen(key), (const unsigned char *) signed_text.data,
			  signed_text.len, mac, &len) != NULL;
	sb_free(&signed_text);
	if (!ok)
		return false;
	sb_init(&sb);
	sb_append(&sb, "X-Orguard-Signature: sha256=");
	for (unsigned int i = 0; i < len; i++)
		sb_printf(&sb, "%02x", mac[i]);
	*sig_header = sb_steal(&sb);
	*ts_header = xasprintf("X-Orguard-Timestamp: %s", ts);
	return true;
}
