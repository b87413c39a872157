/*
 * standbys.c: how the agent names the standbys a snapshot lists (see
 * standbys.h).  Pure: no I/O.
 */
#include "collect/standbys.h"

#include <stdio.h>
#include <string.h>

#define NZ(s) ((s) && *(s) ? (s) : "")

const char *
standby_name(const OdooRetailGuard__ReplicationStandby *r)
{
	return r->application_name && *r->application_name ? r->application_name : NZ(r->client_addr);
}

void
standby_client(const OdooRetailGuard__ReplicationStandby *r, char *buf, size_t len)
{
	const char *addr = NZ(r->client_addr);

	if (r->client_port > 0)
		snprintf(buf, len, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, (int) r->client_port);
	else
		snprintf(buf, len, "pid:%d", (int) r->pid);
}

bool
standby_name_shared(const OdooRetailGuard__Snapshot *s, size_t i)
{
	for (size_t k = 0; k < s->n_replication; k++)
		if (k != i && !strcmp(standby_name(s->replication[k]), standby_name(s->replication[i])))
			return true;
	return false;
}

const char *
standby_duplicate_name(const OdooRetailGuard__Snapshot *s)
{
	for (size_t i = 0; s && i < s->n_replication; i++)
		if (standby_name_shared(s, i))
			return standby_name(s->replication[i]);
	return NULL;
}
