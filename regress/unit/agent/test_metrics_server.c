/*
 * test_metrics_server.c: /metrics serves the text the main loop published
 * last (kept compressed, read back byte for byte), shared with the
 * responses sending it (not copied): a response
 * under way keeps the text it started with when a new one is published,
 * and every text is freed once replaced and sent (ASan and valgrind).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "export/metrics_server.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* a server on a loopback port nobody holds (retried when taken meanwhile) */
static metrics_server *
start(int *port)
{
	for (int attempt = 0; attempt < 20; attempt++)
	{
		struct sockaddr_in a = {.sin_family = AF_INET,.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t	len = sizeof(a);
		int			s = socket(AF_INET, SOCK_STREAM, 0);
		char		listen[64];
		char	   *err = NULL;
		metrics_server *srv;

		assert_true(s >= 0);
		assert_int_equal(bind(s, (struct sockaddr *) &a, sizeof(a)), 0);
		assert_int_equal(getsockname(s, (struct sockaddr *) &a, &len), 0);
		close(s);
		*port = ntohs(a.sin_port);
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", *port);
		srv = metrics_server_start(listen, &err);
		if (srv)
			return srv;
		free(err);
	}
	fail_msg("no free loopback port");
	return NULL;
}

/* a connection with GET /metrics sent */
static int
request(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,.sin_port = htons((uint16_t) port),
	.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int			s = socket(AF_INET, SOCK_STREAM, 0);
	const char *req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";

	assert_true(s >= 0);
	assert_int_equal(connect(s, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(send(s, req, strlen(req), 0), (ssize_t) strlen(req));
	return s;
}

/* reads up to want bytes (all that comes when want is 0) into *buf at *len */
static void
read_some(int s, char **buf, size_t *len, size_t want)
{
	size_t		target = *len + want;

	for (;;)
	{
		ssize_t		n;

		*buf = xrealloc(*buf, *len + 65536 + 1);
		n = recv(s, *buf + *len, want ? (target - *len < 65536 ? target - *len : 65536) : 65536, 0);
		if (n <= 0)
			break;
		*len += (size_t) n;
		if (want && *len >= target)
			break;
	}
	(*buf)[*len] = '\0';
}

/* the body of a complete response */
static const char *
body(const char *response)
{
	const char *b = strstr(response, "\r\n\r\n");

	assert_non_null(b);
	assert_non_null(strstr(response, " 200 "));
	return b + 4;
}

static char *
get(int port)
{
	int			s = request(port);
	char	   *buf = NULL;
	size_t		len = 0;

	read_some(s, &buf, &len, 0);
	close(s);
	return buf;
}

static void
test_serves_what_was_published(void **state)
{
	int			port;
	metrics_server *srv = start(&port);
	char	   *r;

	(void) state;
	r = get(port);
	assert_string_equal(body(r), "");
	free(r);
	metrics_server_publish(srv, xstrdup("orguard_agent_nodes 3\n"), true);
	r = get(port);
	assert_string_equal(body(r), "orguard_agent_nodes 3\n");
	free(r);
	metrics_server_publish(srv, xstrdup("orguard_agent_nodes 4\n"), true);
	r = get(port);
	assert_string_equal(body(r), "orguard_agent_nodes 4\n");
	free(r);
	metrics_server_stop(srv);
}

/* a text of n bytes of lines made of ch */
static char *
text_of(size_t n, char ch)
{
	char	   *t = xmalloc(n + 1);

	memset(t, ch, n);
	for (size_t i = 63; i < n; i += 64)
		t[i] = '\n';
	t[n] = '\0';
	return t;
}

/*
 * A scrape of a large text still being sent when the next text is
 * published gets the whole text it started with; the next scrape gets the
 * new one.
 */
static void
test_response_keeps_its_text(void **state)
{
	const size_t big = 8 * 1024 * 1024;
	int			port;
	metrics_server *srv = start(&port);
	int			s;
	char	   *buf = NULL;
	size_t		len = 0;
	char	   *expect = text_of(big, 'a');
	char	   *r;

	(void) state;
	metrics_server_publish(srv, text_of(big, 'a'), true);
	s = request(port);
	read_some(s, &buf, &len, 4096);
	assert_true(len >= 4096);
	/* replaced, then replaced again, while the first response is under way */
	metrics_server_publish(srv, text_of(big / 2, 'b'), true);
	metrics_server_publish(srv, xstrdup("c 1\n"), true);
	read_some(s, &buf, &len, 0);
	close(s);
	assert_int_equal(strlen(body(buf)), big);
	assert_true(strcmp(body(buf), expect) == 0);
	free(buf);
	r = get(port);
	assert_string_equal(body(r), "c 1\n");
	free(r);
	free(expect);
	metrics_server_stop(srv);
}

/*
 * The text is kept compressed in blocks: a text of varied lines whose
 * length is no multiple of a block comes back byte for byte, a HEAD
 * request gets its length, and texts of one byte and of exactly one block
 * come back too.
 */
static void
test_compressed_blocks_read_back(void **state)
{
	const size_t sizes[] = {1, 65536, 65537, 1000003};
	int			port;
	metrics_server *srv = start(&port);
	unsigned	seed = 7;

	(void) state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
	{
		size_t		n = sizes[k];
		char	   *text = xmalloc(n + 1);
		char	   *r;
		char		head[128];
		int			s;
		char	   *buf = NULL;
		size_t		len = 0;
		struct sockaddr_in a = {.sin_family = AF_INET,.sin_port = htons((uint16_t) port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		const char *req = "HEAD /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";

		/* printable bytes at random, a line every 80 or so: little to compress */
		for (size_t i = 0; i < n; i++)
			text[i] = rand_r(&seed) % 80 == 0 ? '\n' : (char) (' ' + rand_r(&seed) % 95);
		text[n] = '\0';
		metrics_server_publish(srv, xstrdup(text), true);
		r = get(port);
		assert_int_equal(strlen(body(r)), n);
		assert_true(strcmp(body(r), text) == 0);
		free(r);
		s = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(s, (struct sockaddr *) &a, sizeof(a)), 0);
		assert_int_equal(send(s, req, strlen(req), 0), (ssize_t) strlen(req));
		read_some(s, &buf, &len, 0);
		close(s);
		snprintf(head, sizeof(head), "Content-Length: %zu\r\n", n);
		assert_non_null(strstr(buf, head));
		free(buf);
		free(text);
	}
	metrics_server_stop(srv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serves_what_was_published),
		cmocka_unit_test(test_response_keeps_its_text),
		cmocka_unit_test(test_compressed_blocks_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
