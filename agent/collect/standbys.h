/*
 * standbys.h: a standby as the agent names it.  A standby is its
 * application_name (its client address when it has none); standbys that
 * share one (PostgreSQL's default "walreceiver", Debian's "15/main") are
 * told apart by their connection.  Read by the collector (a warning), the
 * facts (alert subjects) and the metrics (series labels).  Pure: no I/O.
 */
#ifndef ORGUARD_STANDBYS_H
#define ORGUARD_STANDBYS_H

#include "odoo_retail_guard.pb-c.h"

#include <stdbool.h>
#include <stddef.h>

/* its application_name, else its client address */
const char *standby_name(const OdooRetailGuard__ReplicationStandby *r);
/* a standby's connection: "addr:port", or "pid:N" (its walsender) over a Unix socket */
void		standby_client(const OdooRetailGuard__ReplicationStandby *r, char *buf, size_t len);
/* whether another standby of the snapshot has the name of standby i */
bool		standby_name_shared(const OdooRetailGuard__Snapshot *s, size_t i);
/* an application_name two connected standbys share, or NULL */
const char *standby_duplicate_name(const OdooRetailGuard__Snapshot *s);

#endif
