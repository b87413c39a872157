/*
 * listen_addr.h: the `listen` setting (HOST:PORT) as a socket address.
 * HOST is an IPv4 address, an IPv6 address in brackets ([::1]:9188,
 * [::]:9188 for every address) or localhost (127.0.0.1).  Pure.
 */
#ifndef ORGUARD_LISTEN_ADDR_H
#define ORGUARD_LISTEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct listen_addr
{
	struct sockaddr_storage sa;
	socklen_t	len;
	int			family;			/* AF_INET or AF_INET6 */
	int			port;
} listen_addr;

/*
 * Limits of the /metrics listener, so that one slow or hostile client
 * cannot starve the scrapers and health checks of others: a client address
 * holds at most LISTEN_PER_IP_LIMIT connections of LISTEN_CONNECTION_LIMIT
 * (under select()'s FD_SETSIZE), and a connection idle for
 * LISTEN_IDLE_TIMEOUT_S (a header line trickled slower than that) is closed.
 */
#define LISTEN_CONNECTION_LIMIT 256
#define LISTEN_PER_IP_LIMIT 8
#define LISTEN_IDLE_TIMEOUT_S 3

/* false with err filled ("expected ...") when s is not HOST:PORT */
bool		listen_addr_parse(const char *s, listen_addr *out, char *err, size_t errlen);

/* 127.0.0.0/8 or ::1: only this machine can connect */
bool		listen_addr_is_loopback(const listen_addr *la);

#endif
