/*
 * patroni_api.c: libcurl GET/POST to Patroni members.  No signals
 * (CURLOPT_NOSIGNAL), connect and total timeouts on every call, answers
 * capped at 1 MB.  The password never reaches a log or an error message.
 */
#include "runbooks/patroni_api.h"
#include "runbooks/patroni_plan.h"
#include "common/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWER (1024 * 1024)

bool
patroni_api_init(patroni_api *a, const rb_patroni_settings *pt, char *err, size_t errlen)
{
	FILE	   *f;
	char		buf[512];
	size_t		n;

	memset(a, 0, sizeof(*a));
	a->urls = pt->urls;
	a->n_urls = pt->n_urls;
	a->timeout_s = pt->api_timeout_s;
	if (!pt->auth_file)
		return true;
	if (!(f = fopen(pt->auth_file, "r")))
	{
		snprintf(err, errlen, "patroni_auth_file %s: %s", pt->auth_file, strerror(errno));
		return false;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	if (!patroni_auth_parse(buf, a->user, sizeof(a->user), a->password, sizeof(a->password)))
	{
		snprintf(err, errlen, "patroni_auth_file %s: expected one line user:password", pt->auth_file);
		memset(buf, 0, sizeof(buf));
		return false;
	}
	memset(buf, 0, sizeof(buf));
	a->auth = true;
	return true;
}

void
patroni_api_clear(patroni_api *a)
{
	memset(a->password, 0, sizeof(a->password));
}

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
	strbuf	   *sb = ud;
	size_t		n = size * nmemb;

	if (sb->len + n > MAX_ANSWER)
		return 0;				/* aborts the transfer: not a Patroni answer */
	sb_append_len(sb, ptr, n);
	return n;
}

/* one request; *connected says whether the member was reached at all */
static CURLcode
perform(const patroni_api *a, const char *url, const char *body, double timeout_s, long *status,
		bool *connected, strbuf *answer, char *err, size_t errlen)
{
	CURL	   *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	CURLcode	rc;
	char		ua[64];
	double		connect_s = a->timeout_s < timeout_s ? a->timeout_s : timeout_s;

	*status = 0;
	if (!c)
	{
		snprintf(err, errlen, "cannot initialise libcurl");
		return CURLE_FAILED_INIT;
	}
	snprintf(ua, sizeof(ua), "orguard-agent/%s", ORGUARD_VERSION);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) (timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long) (connect_s * 1000));
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
	if (body)
	{
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		hdrs = curl_slist_append(hdrs, "Expect:");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(body));
		if (a->auth)
		{
			curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
			curl_easy_setopt(c, CURLOPT_USERNAME, a->user);
			curl_easy_setopt(c, CURLOPT_PASSWORD, a->password);
		}
	}
	rc = curl_easy_perform(c);
	{
		double		t = 0;

		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME, &t);
		*connected = rc == CURLE_OK || t > 0;
	}
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	else
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

static void
set_body(patroni_reply *r, strbuf *answer)
{
	free(r->body);
	r->body = sb_steal(answer);
}

bool
patroni_api_get(const patroni_api *a, const char *path, patroni_reply *r)
{
	strbuf		errs;

	memset(r, 0, sizeof(*r));
	sb_init(&errs);
	for (int i = 0; i < a->n_urls; i++)
	{
		char	   *url = xasprintf("%s%s", a->urls[i], path);
		char		err[256] = "";
		strbuf		answer;
		long		status;
		bool		connected;

		sb_init(&answer);
		r->url = a->urls[i];
		perform(a, url, NULL, a->timeout_s, &status, &connected, &answer, err, sizeof(err));
		free(url);
		if (status == 200)
		{
			r->status = status;
			set_body(r, &answer);
			sb_free(&errs);
			return true;
		}
		if (status)
			sb_printf(&errs, "%s%s: HTTP %ld", errs.len ? "; " : "", a->urls[i], status);
		else
			sb_printf(&errs, "%s%s: %s", errs.len ? "; " : "", a->urls[i], err);
		sb_free(&answer);
	}
	snprintf(r->error, sizeof(r->error), "%s", errs.len ? errs.data : "no patroni_url");
	sb_free(&errs);
	return false;
}

bool
patroni_api_post(const patroni_api *a, const char *path, const char *body, double timeout_s, patroni_reply *r)
{
	strbuf		errs;

	memset(r, 0, sizeof(*r));
	sb_init(&errs);
	for (int i = 0; i < a->n_urls; i++)
	{
		char	   *url = xasprintf("%s%s", a->urls[i], path);
		char		err[256] = "";
		strbuf		answer;
		CURLcode	rc;
		bool		connected;

		sb_init(&answer);
		r->url = a->urls[i];
		rc = perform(a, url, body, timeout_s, &r->status, &connected, &answer, err, sizeof(err));
		free(url);
		if (rc == CURLE_OK)
		{
			set_body(r, &answer);
			sb_free(&errs);
			return true;
		}
		sb_free(&answer);
		sb_printf(&errs, "%s%s: %s", errs.len ? "; " : "", a->urls[i], err);
		/* sent but unanswered: another member must not get it a second time */
		if (connected)
			break;
	}
	snprintf(r->error, sizeof(r->error), "%s", errs.len ? errs.data : "no patroni_url");
	sb_free(&errs);
	return false;
}

void
patroni_reply_free(patroni_reply *r)
{
	free(r->body);
	r->body = NULL;
}
