/*
 * http.h: one HTTP POST over libcurl with TLS verification on by default,
 * and the classification of its outcome into sent / retry / give up.
 */
#ifndef ORGUARD_HTTP_H
#define ORGUARD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

typedef enum send_result
{
	SEND_OK,
	SEND_RETRY,					/* network error, 429, 5xx */
	SEND_PERMANENT				/* any other answer: retrying cannot help */
} send_result;

typedef struct http_request
{
	const char *url;
	const char *const *headers;	/* NULL-terminated "Name: value" lines */
	const char *body;
	size_t		body_len;
	double		timeout_s;
	bool		tls_verify;
	const char *ca_file;
	const char *cert_file;		/* client certificate (PEM), NULL for none */
	const char *key_file;		/* its private key (PEM) */
} http_request;

typedef struct http_response
{
	long		status;			/* 0 when no answer arrived */
	double		retry_after_s;	/* the answer's Retry-After, 0 without one */
	char		error[256];		/* transport error, "" otherwise */
	char		body[512];		/* start of the answer, for logs */
} http_response;

void		http_global_init(void);
void		http_global_cleanup(void);
void		http_post(const http_request *req, http_response *resp);
send_result http_classify(const http_response *resp);

#endif
