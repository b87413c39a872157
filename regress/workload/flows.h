/*
 * regress/workload/flows.h: the business requests (flows.c) and their
 * per-worker state.
 */
#ifndef ORGUARD_WORKLOAD_FLOWS_H
#define ORGUARD_WORKLOAD_FLOWS_H

#include "workload.h"

typedef struct pos_ctx
{
	rng		   *r;
	const char *dbname;
	int			store;			/* 1..10 */
	int			batch;			/* orders in this sync */
	long		orders;			/* synced by the last request */
} pos_ctx;

typedef struct simple_ctx
{
	rng		   *r;
} simple_ctx;

typedef struct bus_ctx
{
	rng		   *r;
	const char *dbname;
	int			stores;
	long		last;			/* last bus_bus id delivered */
	long		delivered;
} bus_ctx;

bool		pos_sync_request(odoo_cursor *cur, void *arg);
bool		sales_read_request(odoo_cursor *cur, void *arg);
bool		invoice_post_request(odoo_cursor *cur, void *arg);
bool		bus_poll_request(odoo_cursor *cur, void *arg);
bool		report_request(odoo_cursor *cur, void *arg);

#endif
