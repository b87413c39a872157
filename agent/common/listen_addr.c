/*
 * listen_addr.c: parses the `listen` setting (see listen_addr.h).
 */
#include "common/listen_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LISTEN_FORMS "HOST:PORT (an IPv4 address, [IPv6] or localhost)"

bool
listen_addr_parse(const char *s, listen_addr *out, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	char		host[INET6_ADDRSTRLEN + 2];
	char	   *end = NULL;
	long		port;
	size_t		hlen;

	memset(out, 0, sizeof(*out));
	if (!colon || colon == s || (hlen = (size_t) (colon - s)) >= sizeof(host))
	{
		snprintf(err, errlen, "expected %s, got \"%s\"", LISTEN_FORMS, s);
		return false;
	}
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port <= 0 || port > 65535)
	{
		snprintf(err, errlen, "expected HOST:PORT with a port from 1 to 65535, got \"%s\"", s);
		return false;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	out->port = (int) port;
	if (host[0] == '[')
	{
		struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *) &out->sa;

		if (hlen < 3 || host[hlen - 1] != ']')
		{
			snprintf(err, errlen, "expected %s, got \"%s\"", LISTEN_FORMS, s);
			return false;
		}
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &sa6->sin6_addr) != 1)
		{
			snprintf(err, errlen, "\"%s\" is not an IPv6 address", host + 1);
			return false;
		}
		sa6->sin6_family = AF_INET6;
		sa6->sin6_port = htons((uint16_t) port);
		out->family = AF_INET6;
		out->len = sizeof(*sa6);
		return true;
	}
	{
		struct sockaddr_in *sa4 = (struct sockaddr_in *) &out->sa;

		if (inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &sa4->sin_addr) != 1)
		{
			snprintf(err, errlen, "expected %s, got \"%s\" (IPv6 addresses go in brackets)",
					 LISTEN_FORMS, s);
			return false;
		}
		sa4->sin_family = AF_INET;
		sa4->sin_port = htons((uint16_t) port);
		out->family = AF_INET;
		out->len = sizeof(*sa4);
	}
	return true;
}

bool
listen_addr_is_loopback(const listen_addr *la)
{
	if (la->family == AF_INET)
	{
		const struct sockaddr_in *sa4 = (const struct sockaddr_in *) &la->sa;

		return (ntohl(sa4->sin_addr.s_addr) >> 24) == 127;
	}
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *) &la->sa)->sin6_addr);
}
