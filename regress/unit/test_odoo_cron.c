/*-------------------------------------------------------------------------
 *
 * test_odoo_cron.c
 *	  Unit tests for the cron protocol recogniser: cron cursor statements as
 *	  Odoo sends them, job matching over backends, main tables, and the
 *	  housekeeping (garbage collection) shapes.
 *
 * The statement texts are Odoo's, as psycopg2 sends them once it has
 * interpolated the parameters; each cites the Odoo file and version.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "normalize.h"
#include "odoo_cron.h"

/* odoo/addons/base/models/ir_cron.py 18.0, IrCron._acquire_one_job (job 42) */
static const char acquire_18[] =
	"\n            WITH last_cron_progress AS (\n"
	"                SELECT id as progress_id, cron_id, timed_out_counter, done, remaining\n"
	"                FROM ir_cron_progress\n"
	"                WHERE cron_id = 42\n"
	"                ORDER BY id DESC\n"
	"                LIMIT 1\n"
	"            )\n"
	"            SELECT *\n"
	"            FROM ir_cron\n"
	"            LEFT JOIN last_cron_progress lcp ON lcp.cron_id = ir_cron.id\n"
	"            WHERE id = 42 AND \n"
	"            active IS TRUE\n"
	"            AND (nextcall <= '2026-12-07T03:00:00.123456'::timestamp\n"
	"                OR id IN (\n"
	"                    SELECT cron_id\n"
	"                    FROM ir_cron_trigger\n"
	"                    WHERE call_at <= '2026-12-07T03:00:00.123456'::timestamp\n"
	"                )\n"
	"            )\n"
	"        \n"
	"            FOR NO KEY UPDATE SKIP LOCKED\n"
	"        ";

/* odoo/addons/base/models/ir_cron.py 17.0, ir_cron._acquire_one_job (job 7) */
static const char acquire_17[] =
	"\n            WITH last_cron_progress AS (\n"
	"                SELECT DISTINCT ON (cron_id) cron_id, timed_out, done, remaining\n"
	"                FROM ir_cron_progress\n"
	"                ORDER BY id DESC\n"
	"            )\n"
	"            SELECT *\n"
	"            FROM ir_cron\n"
	"            LEFT JOIN last_cron_progress lcp \n"
	"              ON lcp.cron_id = ir_cron.id\n"
	"            WHERE ir_cron.active = true\n"
	"              AND (nextcall <= (now() at time zone 'UTC')\n"
	"                OR EXISTS (\n"
	"                    SELECT cron_id\n"
	"                    FROM ir_cron_trigger\n"
	"                    WHERE call_at <= (now() at time zone 'UTC')\n"
	"                      AND cron_id = ir_cron.id\n"
	"                )\n"
	"              )\n"
	"              AND id = 7\n"
	"            ORDER BY priority\n"
	"            FOR NO KEY UPDATE SKIP LOCKED\n"
	"        ";

/*
 * odoo/addons/base/models/ir_cron.py before 17.0, ir_cron._acquire_one_job:
 * the ready job ids not yet processed by this worker, as a tuple.  %s is
 * the place of the tuple.
 */
static const char acquire_16_fmt[] =
	"\n            SELECT *\n"
	"            FROM ir_cron\n"
	"            WHERE active = true\n"
	"              AND numbercall != 0\n"
	"              AND (nextcall <= (now() at time zone 'UTC')\n"
	"                OR EXISTS (\n"
	"                    SELECT cron_id\n"
	"                    FROM ir_cron_trigger\n"
	"                    WHERE call_at <= (now() at time zone 'UTC')\n"
	"                      AND cron_id = ir_cron.id\n"
	"                )\n"
	"              )\n"
	"              AND id in %s\n"
	"            ORDER BY priority\n"
	"            LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED\n"
	"        ";

/* odoo/addons/base/models/ir_cron.py 18.0, IrCron._clear_schedule (job 42) */
static const char clear_18[] =
	"\n            DELETE FROM ir_cron_trigger\n"
	"            WHERE cron_id = 42\n"
	"              AND call_at <= '2026-12-07T03:00:00'::timestamp\n"
	"        ";

/* odoo/addons/base/models/ir_cron.py 16.0 and 17.0, _process_job (job 7) */
static const char clear_16[] =
	"\n            DELETE FROM ir_cron_trigger\n"
	"            WHERE cron_id = 7\n"
	"              AND call_at < (now() at time zone 'UTC')\n"
	"        ";

/* odoo/addons/base/models/ir_cron.py 16.0 and 17.0, ir_cron._try_lock */
static const char try_lock_16[] =
	"\n                SELECT id\n"
	"                FROM \"ir_cron\"\n"
	"                WHERE id IN (4)\n"
	"                FOR NO KEY UPDATE NOWAIT\n"
	"            ";

/* odoo/addons/base/models/ir_cron.py 17.0, ir_cron._get_all_ready_jobs */
static const char ready_jobs_17[] =
	"\n            SELECT *\n"
	"            FROM ir_cron\n"
	"            WHERE active = true\n"
	"              AND (nextcall <= (now() at time zone 'UTC')\n"
	"                OR id in (\n"
	"                    SELECT cron_id\n"
	"                    FROM ir_cron_trigger\n"
	"                    WHERE call_at <= (now() at time zone 'UTC')\n"
	"                )\n"
	"              )\n"
	"            ORDER BY failures, priority\n"
	"        ";

static OrgCronStatement
classify(const char *sql, int64_t *id)
{
	return org_cron_classify_statement(sql, id);
}

static void
test_acquire_per_version(void **state)
{
	int64_t		id = -1;
	char		sql[2048];
	const char *pos = strstr(acquire_16_fmt, "%s");

	(void) state;
	assert_int_equal(classify(acquire_18, &id), ORG_CRON_STMT_ACQUIRE);
	assert_int_equal(id, 42);
	assert_int_equal(classify(acquire_17, &id), ORG_CRON_STMT_ACQUIRE);
	assert_int_equal(id, 7);

	/* 16.0: a tuple of one names the job, several name none */
	assert_non_null(pos);
	snprintf(sql, sizeof(sql), "%.*s(5)%s", (int) (pos - acquire_16_fmt),
			 acquire_16_fmt, pos + 2);
	assert_int_equal(classify(sql, &id), ORG_CRON_STMT_ACQUIRE);
	assert_int_equal(id, 5);
	snprintf(sql, sizeof(sql), "%.*s(3, 5, 9)%s", (int) (pos - acquire_16_fmt),
			 acquire_16_fmt, pos + 2);
	assert_int_equal(classify(sql, &id), ORG_CRON_STMT_ACQUIRE);
	assert_int_equal(id, 0);

	/*
	 * 16.0 reads the translated name in the acquire (ir_cron.py 16.0
	 * l.~230-258, as quoted in the reference notes on Odoo's database use)
	 */
	assert_int_equal(classify("SELECT *, cron_name->>'en_US' as cron_name FROM ir_cron "
							  "WHERE active = true AND numbercall != 0 "
							  "AND (nextcall <= (now() at time zone 'UTC') OR EXISTS ("
							  "SELECT cron_id FROM ir_cron_trigger "
							  "WHERE call_at <= (now() at time zone 'UTC') AND cron_id = ir_cron.id)) "
							  "AND id in (11) ORDER BY priority LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED", &id),
					 ORG_CRON_STMT_ACQUIRE);
	assert_int_equal(id, 11);

	/* the job id is optional */
	assert_int_equal(classify(acquire_18, NULL), ORG_CRON_STMT_ACQUIRE);
}

static void
test_clear_triggers(void **state)
{
	int64_t		id = -1;

	(void) state;
	assert_int_equal(classify(clear_18, &id), ORG_CRON_STMT_CLEAR_TRIGGERS);
	assert_int_equal(id, 42);
	assert_int_equal(classify(clear_16, &id), ORG_CRON_STMT_CLEAR_TRIGGERS);
	assert_int_equal(id, 7);
	/* deleting triggers by their own ids is not the job's clean-up */
	assert_int_equal(classify("DELETE FROM \"ir_cron_trigger\" WHERE id IN (1, 2)", &id),
					 ORG_CRON_STMT_OTHER);
	assert_int_equal(id, 0);
}

static void
test_not_the_acquire(void **state)
{
	int64_t		id = -1;

	(void) state;
	assert_int_equal(classify(try_lock_16, &id), ORG_CRON_STMT_OTHER);
	assert_int_equal(id, 0);
	assert_int_equal(classify(ready_jobs_17, &id), ORG_CRON_STMT_OTHER);
	/* the words inside a literal or a comment are not the statement */
	assert_int_equal(classify("SELECT 'FROM ir_cron FOR NO KEY UPDATE SKIP LOCKED'", &id),
					 ORG_CRON_STMT_OTHER);
	assert_int_equal(classify("SELECT * FROM stock_quant /* FROM ir_cron */ "
							  "FOR NO KEY UPDATE SKIP LOCKED", &id),
					 ORG_CRON_STMT_OTHER);
	assert_int_equal(classify("SELECT * FROM ir_cron_trigger FOR NO KEY UPDATE SKIP LOCKED", &id),
					 ORG_CRON_STMT_OTHER);
	assert_int_equal(classify("", &id), ORG_CRON_STMT_OTHER);
	assert_int_equal(classify(NULL, &id), ORG_CRON_STMT_OTHER);
	assert_int_equal(classify("SELECT * FROM ir_cron FOR NO KEY UPDATE SKIP", &id),
					 ORG_CRON_STMT_OTHER);
}

static void
test_text_forms(void **state)
{
	int64_t		id = -1;
	char		norm[2048];

	(void) state;
	/* quotes, comments, case, schema and a final semicolon do not matter */
	assert_int_equal(classify("/* c */ select * from public.\"ir_cron\" where ir_cron.id = 12 -- x\n"
							  "for no key update skip locked;", &id),
					 ORG_CRON_STMT_ACQUIRE);
	assert_int_equal(id, 12);
	/* normalized text keeps no constant: the kind, no id */
	org_normalize_query(acquire_18, -1, norm, sizeof(norm));
	assert_int_equal(classify(norm, &id), ORG_CRON_STMT_ACQUIRE);
	assert_int_equal(id, 0);
	/* an id too large for int64 names no job */
	assert_int_equal(classify("SELECT * FROM ir_cron WHERE id = 99999999999999999999 "
							  "FOR NO KEY UPDATE SKIP LOCKED", &id),
					 ORG_CRON_STMT_ACQUIRE);
	assert_int_equal(id, 0);
	/* two different ids: none */
	assert_int_equal(classify("SELECT * FROM ir_cron WHERE id = 1 OR id = 2 "
							  "FOR NO KEY UPDATE SKIP LOCKED", &id),
					 ORG_CRON_STMT_ACQUIRE);
	assert_int_equal(id, 0);
	/* an unterminated literal or comment ends the text safely */
	assert_int_equal(classify("SELECT * FROM ir_cron WHERE x = 'abc", &id), ORG_CRON_STMT_OTHER);
	assert_int_equal(classify("SELECT * FROM ir_cron /* abc", &id), ORG_CRON_STMT_OTHER);
	assert_int_equal(classify("SELECT $tag$ FROM ir_cron", &id), ORG_CRON_STMT_OTHER);
}

static void
test_listen(void **state)
{
	(void) state;
	/* odoo/service/server.py 16.0-18.0 cron_thread; addons/bus/models/bus.py */
	assert_int_equal(classify("LISTEN cron_trigger", NULL), ORG_CRON_STMT_LISTEN);
	assert_int_equal(classify("listen imbus", NULL), ORG_CRON_STMT_LISTEN);
	assert_int_equal(classify("SELECT listen FROM t", NULL), ORG_CRON_STMT_OTHER);
}

static void
test_main_table(void **state)
{
	char		t[64];

	(void) state;
	assert_true(org_sql_main_table("SELECT \"stock_quant\".\"id\" FROM \"stock_quant\" WHERE x = 1", t, sizeof(t)));
	assert_string_equal(t, "stock_quant");
	assert_true(org_sql_main_table("UPDATE \"stock_move\" SET \"state\" = 'done'", t, sizeof(t)));
	assert_string_equal(t, "stock_move");
	assert_true(org_sql_main_table("INSERT INTO mail_mail (id) VALUES (1)", t, sizeof(t)));
	assert_string_equal(t, "mail_mail");
	assert_true(org_sql_main_table("DELETE FROM public.Bus_Bus WHERE id = 1", t, sizeof(t)));
	assert_string_equal(t, "bus_bus");
	assert_true(org_sql_main_table(acquire_18, t, sizeof(t)));
	assert_string_equal(t, "ir_cron");
	assert_true(org_sql_main_table("SELECT (SELECT 1 FROM a), x FROM b", t, sizeof(t)));
	assert_string_equal(t, "b");
	assert_false(org_sql_main_table("SELECT 1", t, sizeof(t)));
	assert_string_equal(t, "");
	assert_false(org_sql_main_table("SELECT * FROM (SELECT 1) s", t, sizeof(t)));
	assert_false(org_sql_main_table("SELECT * FROM stock_quant", t, 5));
	assert_false(org_sql_main_table(NULL, t, sizeof(t)));
}

/* ---- job matching ---- */

static OrgCronBackend
be(int32_t pid, uint32_t db, const char *app, OrgCronBackendState st,
   OrgCronStatement stmt, int64_t job)
{
	OrgCronBackend b;

	b.pid = pid;
	b.dbid = db;
	b.appname = app;
	b.state = st;
	b.stmt = stmt;
	b.stmt_job_id = job;
	return b;
}

static void
test_match_prefork_worker(void **state)
{
	OrgCronBackend b[8];
	OrgCronJobMatch m[4];
	int			n;

	(void) state;
	/* one WorkerCron process, odoo-200, on database 5 */
	b[0] = be(10, 5, "odoo-200", ORG_CRON_BE_IDLE, ORG_CRON_STMT_OTHER, 0);	/* pooled */
	b[1] = be(11, 5, "odoo-200", ORG_CRON_BE_IDLE_IN_XACT, ORG_CRON_STMT_ACQUIRE, 42);
	b[2] = be(12, 5, "odoo-200", ORG_CRON_BE_ACTIVE, ORG_CRON_STMT_OTHER, 0);	/* job_cr */
	b[3] = be(13, 1, "odoo-200", ORG_CRON_BE_IDLE, ORG_CRON_STMT_LISTEN, 0);	/* postgres db */
	b[4] = be(14, 5, "odoo-200", ORG_CRON_BE_IDLE, ORG_CRON_STMT_LISTEN, 0);
	b[5] = be(15, 5, "odoo-300", ORG_CRON_BE_ACTIVE, ORG_CRON_STMT_OTHER, 0);	/* HTTP */
	b[6] = be(16, 6, "odoo-200", ORG_CRON_BE_ACTIVE, ORG_CRON_STMT_OTHER, 0);	/* other db */
	b[7] = be(17, 5, "psql", ORG_CRON_BE_IDLE_IN_XACT, ORG_CRON_STMT_OTHER, 0);
	n = org_cron_match_jobs(b, 8, m, 4);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].cron, 1);
	assert_int_equal(m[0].job_id, 42);
	assert_int_equal(m[0].n_jobs, 2);
	assert_int_equal(m[0].n_jobs_total, 2);
	assert_int_equal(m[0].jobs[0], 2);	/* busy first */
	assert_int_equal(m[0].jobs[1], 0);
	assert_int_equal(org_cron_job_of(b, m, n, 2), 0);
	assert_int_equal(org_cron_job_of(b, m, n, 0), 0);
	assert_int_equal(org_cron_job_of(b, m, n, 1), -1);
	assert_int_equal(org_cron_job_of(b, m, n, 5), -1);
	assert_int_equal(org_cron_job_of(b, m, n, 4), -1);	/* LISTEN only */
	assert_int_equal(org_cron_job_of(b, m, n, 6), -1);
	assert_int_equal(org_cron_job_of(b, m, n, 7), -1);
	assert_true(org_cron_is_cron_cursor(&b[1]));
	assert_false(org_cron_is_cron_cursor(&b[7]));
}

static void
test_match_not_a_job(void **state)
{
	OrgCronBackend b[4];
	OrgCronJobMatch m[4];

	(void) state;
	/* the acquire still running, aborted, or without application_name */
	b[0] = be(10, 5, "odoo-1", ORG_CRON_BE_ACTIVE, ORG_CRON_STMT_ACQUIRE, 1);
	b[1] = be(11, 5, "odoo-2", ORG_CRON_BE_IDLE_IN_XACT_ABORTED, ORG_CRON_STMT_ACQUIRE, 1);
	b[2] = be(12, 5, "", ORG_CRON_BE_IDLE_IN_XACT, ORG_CRON_STMT_ACQUIRE, 1);
	b[3] = be(13, 5, NULL, ORG_CRON_BE_IDLE_IN_XACT, ORG_CRON_STMT_CLEAR_TRIGGERS, 1);
	assert_int_equal(org_cron_match_jobs(b, 4, m, 4), 0);
	/* a cron cursor alone: a job without a live job connection */
	b[0] = be(10, 5, "odoo-1", ORG_CRON_BE_IDLE_IN_XACT, ORG_CRON_STMT_CLEAR_TRIGGERS, 9);
	assert_int_equal(org_cron_match_jobs(b, 1, m, 4), 1);
	assert_int_equal(m[0].n_jobs, 0);
	assert_int_equal(m[0].job_id, 9);
	assert_int_equal(org_cron_match_jobs(b, 1, m, 0), 0);
}

static void
test_match_threaded(void **state)
{
	OrgCronBackend b[4];
	OrgCronJobMatch m[4];
	int			n;

	(void) state;
	/* --workers 0: two cron threads and their jobs share one name */
	b[0] = be(10, 5, "odoo-9", ORG_CRON_BE_IDLE_IN_XACT, ORG_CRON_STMT_ACQUIRE, 1);
	b[1] = be(11, 5, "odoo-9", ORG_CRON_BE_IDLE_IN_XACT, ORG_CRON_STMT_CLEAR_TRIGGERS, 2);
	b[2] = be(12, 5, "odoo-9", ORG_CRON_BE_ACTIVE, ORG_CRON_STMT_OTHER, 0);
	b[3] = be(13, 5, "odoo-9", ORG_CRON_BE_IDLE_IN_XACT, ORG_CRON_STMT_OTHER, 0);
	n = org_cron_match_jobs(b, 4, m, 4);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].cron, 0);
	assert_int_equal(m[1].cron, 1);
	assert_int_equal(m[0].n_jobs, 2);
	assert_int_equal(m[1].n_jobs, 2);
	assert_int_equal(m[0].jobs[0], 2);
	assert_int_equal(m[0].jobs[1], 3);
}

static void
test_match_many_job_connections(void **state)
{
	OrgCronBackend b[12];
	OrgCronJobMatch m[1];
	int			i;

	(void) state;
	b[0] = be(10, 5, "odoo-9", ORG_CRON_BE_IDLE_IN_XACT, ORG_CRON_STMT_ACQUIRE, 1);
	for (i = 1; i < 12; i++)
		b[i] = be(10 + i, 5, "odoo-9", ORG_CRON_BE_ACTIVE, ORG_CRON_STMT_OTHER, 0);
	assert_int_equal(org_cron_match_jobs(b, 12, m, 1), 1);
	assert_int_equal(m[0].n_jobs, ORG_CRON_MAX_JOB_PIDS);
	assert_int_equal(m[0].n_jobs_total, 11);
	assert_int_equal(org_cron_job_of(b, m, 1, 11), 0);	/* counted, not listed */
	assert_int_equal(org_cron_job_of(b, m, 1, 8), 0);
}

/* ---- housekeeping ---- */

static int
shape_of(const char *raw, const char *relation)
{
	char		norm[2048];

	org_normalize_query(raw, -1, norm, sizeof(norm));
	return org_housekeeping_shape(norm, relation);
}

static void
test_housekeeping(void **state)
{
	/* odoo/addons/base/models/res_users.py 16.0-18.0 ResUsersLog._gc_user_logs */
	static const char users_log[] =
		"\n            DELETE FROM res_users_log log1 WHERE EXISTS (\n"
		"                SELECT 1 FROM res_users_log log2\n"
		"                WHERE log1.create_uid = log2.create_uid\n"
		"                AND log1.create_date < log2.create_date\n"
		"            )\n        ";

	/* addons/auth_totp/models/auth_totp_device.py 16.0-18.0 _gc_device */
	static const char totp[] =
		"\n            DELETE FROM auth_totp_device\n"
		"            WHERE create_date < (NOW() AT TIME ZONE 'UTC' - INTERVAL '7776000 SECONDS')\n"
		"        ";

	(void) state;
	assert_int_equal(shape_of(users_log, "res_users_log"), 0);
	assert_string_equal(org_housekeeping_source(0),
						"odoo/addons/base/models/res_users.py (16.0, 17.0, 18.0) ResUsersLog._gc_user_logs");
	assert_int_equal(shape_of(totp, "auth_totp_device"), 1);
	/* bus.py after 18.0: one DELETE */
	assert_int_equal(shape_of("DELETE FROM bus_bus WHERE create_date < '2026-12-06 03:00:00'",
							  "bus_bus"), 2);
	/* bus.py 16.0-18.0: search().unlink(), odoo/models.py 16.0 BaseModel.unlink */
	assert_int_equal(shape_of("DELETE FROM \"bus_bus\" WHERE id IN (1, 2, 3)", "bus_bus"), 3);
	assert_int_equal(shape_of("DELETE FROM \"bus_bus\" WHERE id IN (7)", "bus_bus"), 3);

	/* the same shapes on another relation, or other deletes: not GC */
	assert_int_equal(shape_of(users_log, "res_partner"), -1);
	assert_int_equal(shape_of("DELETE FROM \"sale_order\" WHERE id IN (1, 2, 3)", "sale_order"), -1);
	assert_int_equal(shape_of("DELETE FROM bus_bus", "bus_bus"), -1);
	assert_int_equal(shape_of("DELETE FROM bus_bus WHERE create_date < now()", "bus_bus"), -1);
	assert_int_equal(shape_of("DELETE FROM bus_bus WHERE id IN (SELECT id FROM bus_bus)", "bus_bus"), -1);
	assert_int_equal(shape_of("DELETE FROM bus_bus WHERE id IN (1, 2) OR true", "bus_bus"), -1);
	assert_int_equal(shape_of("DELETE FROM res_users_log", "res_users_log"), -1);
	assert_int_equal(shape_of("TRUNCATE bus_bus", "bus_bus"), -1);
	assert_int_equal(org_housekeeping_shape(NULL, "bus_bus"), -1);
	assert_int_equal(org_housekeeping_shape("DELETE FROM bus_bus", NULL), -1);
	assert_string_equal(org_housekeeping_source(-1), "");
	assert_string_equal(org_housekeeping_source(1000), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acquire_per_version),
		cmocka_unit_test(test_clear_triggers),
		cmocka_unit_test(test_not_the_acquire),
		cmocka_unit_test(test_text_forms),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_main_table),
		cmocka_unit_test(test_match_prefork_worker),
		cmocka_unit_test(test_match_not_a_job),
		cmocka_unit_test(test_match_threaded),
		cmocka_unit_test(test_match_many_job_connections),
		cmocka_unit_test(test_housekeeping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
