/*
 * http.c: libcurl POST with bounded time (connect and total timeouts), no
 * signals (pager threads), TLS peer and host verification unless turned
 * off per pager, and retry classification.
 */
#include "common/http.h"
#include "common/util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

void
http_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
http_global_cleanup(void)
{
	curl_global_cleanup();
}

typedef struct sink
{
	char	   *buf;
	size_t		len;
	size_t		cap;
} sink;

static size_t
collect_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	sink	   *s = ud;
	size_t		n = size * nmemb;
	size_t		room = s->cap - 1 - s->len;
	size_t		take = n < room ? n : room;

	memcpy(s->buf + s->len, ptr, take);
	s->len += take;
	s->buf[s->len] = '\0';
	return n;
}

void
http_post(const http_request *req, http_response *resp)
{
	CURL	   *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	CURLcode	rc;
	sink		s = {resp->body, 0, sizeof(resp->body)};
	char		ua[64];

	resp->status = 0;
	resp->retry_after_s = 0;
	resp->error[0] = '\0';
	resp->body[0] = '\0';
	if (!c)
	{
		snprintf(resp->error, sizeof(resp->error), "cannot initialise libcurl");
		return;
	}
	for (const char *const *h = req->headers; h && *h; h++)
		hdrs = curl_slist_append(hdrs, *h);
	/* libcurl would otherwise wait a second for a 100-continue */
	hdrs = curl_slist_append(hdrs, "Expect:");
	snprintf(ua, sizeof(ua), "orguard-agent/%s", ORGUARD_VERSION);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) (req->timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long) (req->timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, req->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, req->tls_verify ? 2L : 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (req->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
	if (req->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, req->cert_file);
	if (req->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, req->key_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(rc));
	else
	{
		curl_off_t	retry_after = 0;

		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		/* seconds or an HTTP date, as libcurl parses it */
		if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
			resp->retry_after_s = (double) retry_after;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
}

send_result
http_classify(const http_response *resp)
{
	if (resp->status == 0)
		return SEND_RETRY;
	if (resp->status >= 200 && resp->status < 300)
		return SEND_OK;
	if (resp->status == 429 || resp->status >= 500)
		return SEND_RETRY;
	return SEND_PERMANENT;
}
