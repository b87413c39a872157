/*
 * regress/workload/workload.h: orguard-workload, a generator of the SQL an
 * Odoo 17 server sends to PostgreSQL (statement shapes, transaction
 * boundaries, connections and their application_name), for the demo and
 * the integration tests.
 */
#ifndef ORGUARD_WORKLOAD_H
#define ORGUARD_WORKLOAD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* ---- sbuf.c: growing strings, id lists, random numbers, clocks ---- */

typedef struct sbuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} sbuf;

void		sb_init(sbuf *sb);
void		sb_free(sbuf *sb);
void		sb_reset(sbuf *sb);
void		sb_printf(sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void		sb_vprintf(sbuf *sb, const char *fmt, va_list ap);

typedef struct idlist
{
	int64_t    *ids;
	size_t		n;
	size_t		cap;
} idlist;

void		ids_push(idlist *l, int64_t id);
void		ids_free(idlist *l);
/* "(1, 2, 3)" for ids [from, from + count), as psycopg2 renders a tuple */
void		sb_tuple(sbuf *sb, const idlist *l, size_t from, size_t count);

/* xorshift64*: deterministic per --seed and per worker */
typedef struct rng
{
	uint64_t	s;
} rng;

void		rng_seed(rng *r, uint64_t seed, uint64_t stream);
uint64_t	rng_next(rng *r);
/* uniform integer in [lo, hi] */
long		rng_between(rng *r, long lo, long hi);

double		now_mono(void);
double		now_epoch(void);
void		sleep_s(double seconds);
/* the time as Odoo renders fields.Datetime.now() in SQL: 'YYYY-MM-DD HH:MM:SS' UTC */
void		sb_odoo_now(sbuf *sb);

/* ---- cursor.c: one Odoo cursor (a libpq connection) ---- */

typedef struct odoo_cursor
{
	PGconn	   *conn;
	const char *label;			/* for messages: "pos 2", "cron_cr", ... */
	char		sqlstate[6];	/* of the last failed statement, "" if none */
	char		error[256];
	sbuf		sql;
	long		statements;
} odoo_cursor;

/* connect with application_name odoo-<pid>, as odoo/sql_db.py does */
bool		cursor_open(odoo_cursor *cur, const char *conninfo, const char *dbname, const char *label);
void		cursor_close(odoo_cursor *cur);
/* run one statement (simple protocol, literals inline, as psycopg2 sends it) */
PGresult   *cursor_exec(odoo_cursor *cur, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* the same, for a statement whose rows are not needed */
bool		cursor_run(odoo_cursor *cur, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool		cursor_begin(odoo_cursor *cur);
bool		cursor_commit(odoo_cursor *cur);
void		cursor_rollback(odoo_cursor *cur);
/* 40001, 40P01, 55P03: what odoo/service/model.py retries */
bool		cursor_concurrency_error(const odoo_cursor *cur);

/* a request: its statements, run inside one transaction */
typedef bool (*request_fn) (odoo_cursor *cur, void *arg);

/*
 * BEGIN, fn, COMMIT, retried on concurrency errors up to 5 tries like
 * odoo/service/model.py retrying(); *retries counts the retries.  Returns
 * false on another error or after the last try.
 */
bool		odoo_retrying(odoo_cursor *cur, rng *r, double backoff_scale, request_fn fn, void *arg, long *retries);

/* the short-lived connection to the "postgres" database that Odoo opens
 * after a commit for a notification (odoo/sql_db.py never pools it) */
bool		notify_postgres(const char *conninfo, const char *channel, const char *payload);

/* ---- odoo.c: the business flows, one function per Odoo request ---- */

typedef struct workload_opts
{
	const char *conninfo;		/* libpq connection string of the Odoo database */
	const char *dbname;			/* the Odoo database's name (bus channels, cron_trigger) */
	uint64_t	seed;
	int			stores;
	double		seconds;		/* wall-clock length of the compressed day */
	double		hours;			/* the store hours it stands for */
	bool		night;			/* end the day with the nightly housekeeping */
	bool		quiet;
} workload_opts;

/* model name -> table name (_table = _name.replace('.', '_')) and its _order */
typedef struct odoo_model
{
	char		name[64];
	char		table[64];
	const char *order;			/* ORDER BY clause, columns qualified */
	char		order_buf[256];
} odoo_model;

bool		odoo_model_lookup(const char *name, odoo_model *m, char *err, size_t errlen);

int			run_day(const workload_opts *o);
int			run_mass_unlink(const workload_opts *o, const char *model, long n);
int			run_mass_write(const workload_opts *o, const char *model, long n);
int			run_cron_job(const workload_opts *o, const char *name, double seconds);
int			run_housekeeping(const workload_opts *o);
/* schema.c: the minimal fixture, and deleting a scheduled action */
int			run_schema(const workload_opts *o, const char *which);
int			run_cron_unlink(const workload_opts *o, const char *name);

/* ORM search + unlink/write of up to n ids in 1000-id batches, one
 * transaction (the caller's); returns rows affected or -1 */
long		orm_search_ids(odoo_cursor *cur, const odoo_model *m, const char *where, long limit, idlist *out);
long		orm_unlink(odoo_cursor *cur, const odoo_model *m, const idlist *ids);
long		orm_write_state(odoo_cursor *cur, const odoo_model *m, const idlist *ids, const char *column, const char *value);

#define ODOO_IN_MAX 1000		/* odoo/sql_db.py Cursor.IN_MAX */

#endif
