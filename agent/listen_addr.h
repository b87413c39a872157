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

/* false with err filled ("expected ...") when s is not HOST:PORT */
bool		listen_addr_parse(const char *s, listen_addr *out, char *err, size_t errlen);

#endif
