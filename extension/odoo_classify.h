/*-------------------------------------------------------------------------
 *
 * odoo_classify.h
 *	  Attribute database activity to Odoo worker classes and models.
 *
 * Everything here is pure C (libc only, no allocation) so it can be unit
 * tested outside the server and called from hot paths of the extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_ODOO_CLASSIFY_H
#define ORG_ODOO_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

/* Which kind of Odoo process a backend serves */
typedef enum OrgWorkerClass
{
	ORG_WORKER_OTHER = 0,		/* not Odoo, or unknown */
	ORG_WORKER_HTTP,
	ORG_WORKER_CRON,
	ORG_WORKER_QUEUE_JOB,
	ORG_WORKER_BUS,
	ORG_WORKER_COUNT
} OrgWorkerClass;

/* Statement kind, as far as attribution cares */
typedef enum OrgOperation
{
	ORG_OP_OTHER = 0,
	ORG_OP_SELECT,
	ORG_OP_INSERT,
	ORG_OP_UPDATE,
	ORG_OP_DELETE,
	ORG_OP_COUNT
} OrgOperation;

/* "other", "http", "cron", "queue_job", "bus"; "other" when out of range */
extern const char *org_worker_class_name(OrgWorkerClass c);

/* Inverse of org_worker_class_name, case-insensitive; false if unknown */
extern bool org_worker_class_from_name(const char *name, OrgWorkerClass *out);

/* "other", "select", "insert", "update", "delete"; "other" when out of range */
extern const char *org_operation_name(OrgOperation op);

/*
 * True when application_name starts with prefix (case-sensitive).  A NULL or
 * empty prefix matches nothing, so an empty setting disables attribution.
 */
extern bool org_appname_is_odoo(const char *appname, const char *prefix);

/*
 * Worker class from application_name.  Non-Odoo names give OTHER.  For Odoo
 * names the text after the prefix is split into tokens on '-', '_', '.', ':',
 * ' ' and digits, and the first role word found decides (case-insensitive):
 *	  cron								-> CRON
 *	  queue, job, jobrunner (so also queue_job) -> QUEUE_JOB
 *	  bus, gevent, websocket, longpolling, ws -> BUS
 *	  http, web, wsgi					-> HTTP
 * Without a role word the result is HTTP: plain "odoo-<pid>" (Odoo 16+
 * default) is most often an HTTP worker.
 */
extern OrgWorkerClass org_worker_class_from_appname(const char *appname,
													const char *prefix);

/*
 * Cheap refinement from the shape of the current statement (no text
 * scanning).  main_table is the unqualified name of the statement's main
 * relation (may be NULL), has_row_lock is true for FOR [NO KEY] UPDATE.
 *	  ir_cron with a row lock, ir_cron_trigger, ir_cron_progress -> CRON
 *	  queue_job (any operation)							-> QUEUE_JOB
 *	  bus_bus, bus_presence								-> BUS
 * Otherwise from_appname is kept.  Non-Odoo backends always give OTHER.
 */
extern OrgWorkerClass org_worker_class_refine(OrgWorkerClass from_appname,
											  bool is_odoo,
											  const char *main_table,
											  OrgOperation op,
											  bool has_row_lock);

/*
 * Odoo model name for a table name, written NUL-terminated into out.
 * Odoo derives tables as model.replace('.', '_'), so the inverse maps '_' to
 * '.' except for a table of known explicit _table names and models with '_'
 * inside a segment; Studio tables ("x_...") are kept verbatim.  Returns false
 * and writes "" (when outlen > 0) for names that are not models: empty, with
 * characters outside [a-z0-9_], with a leading, trailing or doubled '_',
 * starting with "pg_" or "sql_", many2many relation tables ending in "_rel",
 * or when the result does not fit in outlen.
 */
extern bool org_model_from_table(const char *table, char *out, size_t outlen);

/* True when tables of this schema can belong to Odoo ("public" only) */
extern bool org_table_is_odoo_candidate(const char *schema);

#endif							/* ORG_ODOO_CLASSIFY_H */
