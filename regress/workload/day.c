/*
 * regress/workload/day.c: a retail day compressed into a few minutes: one
 * Odoo process per role, each with its own application_name odoo-<pid>:
 * a POS till per store syncing orders, a back-office user reading sales
 * orders, an accountant posting invoices on a no_gap journal, the
 * websocket process polling the bus, and a cron worker running the
 * hourly jobs, a manager reading the POS analysis; optionally followed by
 * the night's housekeeping.
 */
#include "cron.h"
#include "flows.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

/* odoo/service/model.py retries sleep up to 2**tryno s; compressed like the day */
#define BACKOFF_SCALE 0.05

static volatile sig_atomic_t stop_requested;

static void
on_stop(int sig)
{
	(void) sig;
	stop_requested = 1;
}

static bool
running(double end)
{
	return !stop_requested && now_mono() < end;
}

static int
pos_till(const workload_opts *o, int store, double end)
{
	odoo_cursor cur;
	rng			r;
	pos_ctx		c = {0};
	long		requests = 0,
				orders = 0,
				retries = 0,
				failed = 0;
	char		label[32],
				payload[128];

	snprintf(label, sizeof(label), "pos %d", store);
	rng_seed(&r, o->seed, 100 + (uint64_t) store);
	if (!cursor_open(&cur, o->conninfo, NULL, label))
		return 1;
	c.r = &r;
	c.dbname = o->dbname;
	c.store = store;
	while (running(end))
	{
		/* mostly one order; now and then a till catching up after a network cut */
		c.batch = rng_between(&r, 1, 30) == 1 ? (int) rng_between(&r, 2, 5) : 1;
		if (odoo_retrying(&cur, &r, BACKOFF_SCALE, pos_sync_request, &c, &retries))
		{
			requests++;
			orders += c.orders;
			/* bus.py 17.0 _sendmany postcommit: json_dump(list(channels)) */
			snprintf(payload, sizeof(payload), "[[\"%s\",\"pos.config\",%d]]", o->dbname, store);
			notify_postgres(o->conninfo, "imbus", payload);
		}
		else if (cursor_concurrency_error(&cur))
			failed++;
		else
		{
			fprintf(stderr, "orguard-workload: %s: %s (SQLSTATE %s)\n", label, cur.error, cur.sqlstate);
			cursor_close(&cur);
			return 1;
		}
		sleep_s(rng_between(&r, 150, 600) / 1000.0);
	}
	printf("  pos till, store %d  odoo-%d  %ld syncs, %ld orders, %ld retried, %ld given up\n",
		   store, (int) getpid(), requests, orders, retries, failed);
	cursor_close(&cur);
	return 0;
}

/* a worker running one kind of request in a loop, paced between lo and hi ms */
static int
http_worker(const workload_opts *o, const char *what, request_fn fn, uint64_t stream, long lo, long hi, double end)
{
	odoo_cursor cur;
	rng			r;
	simple_ctx	c;
	long		requests = 0,
				retries = 0,
				failed = 0;

	rng_seed(&r, o->seed, stream);
	c.r = &r;
	if (!cursor_open(&cur, o->conninfo, NULL, what))
		return 1;
	while (running(end))
	{
		if (odoo_retrying(&cur, &r, BACKOFF_SCALE, fn, &c, &retries))
			requests++;
		else if (cursor_concurrency_error(&cur))
			failed++;
		else
		{
			fprintf(stderr, "orguard-workload: %s: %s (SQLSTATE %s)\n", what, cur.error, cur.sqlstate);
			cursor_close(&cur);
			return 1;
		}
		sleep_s(rng_between(&r, lo, hi) / 1000.0);
	}
	printf("  %-18s odoo-%d  %ld requests, %ld retried, %ld given up\n", what, (int) getpid(), requests, retries, failed);
	cursor_close(&cur);
	return 0;
}

/* wait up to seconds for a notification on conn; drain them */
static int
wait_notify(PGconn *conn, double seconds)
{
	int			sock = PQsocket(conn);
	fd_set		fds;
	struct timeval tv;
	PGnotify   *n;
	int			got = 0;

	FD_ZERO(&fds);
	FD_SET(sock, &fds);
	tv.tv_sec = (time_t) seconds;
	tv.tv_usec = (suseconds_t) ((seconds - (double) tv.tv_sec) * 1e6);
	if (select(sock + 1, &fds, NULL, NULL, &tv) > 0)
		PQconsumeInput(conn);
	while ((n = PQnotifies(conn)) != NULL)
	{
		got++;
		PQfreemem(n);
	}
	return got;
}

static int
websocket(const workload_opts *o, double end)
{
	odoo_cursor listen_cr,
				cur;
	rng			r;
	bus_ctx		c = {0};
	long		polls = 0,
				retries = 0,
				wakeups = 0;

	rng_seed(&r, o->seed, 300);
	c.r = &r;
	c.dbname = o->dbname;
	c.stores = o->stores;
	if (!cursor_open(&listen_cr, o->conninfo, "postgres", "bus listener") ||
		!cursor_open(&cur, o->conninfo, NULL, "websocket"))
		return 1;

	/*
	 * addons/bus/models/bus.py 17.0 ImDispatch.loop: a cursor on
	 * db_connect('postgres'), cr.execute("listen imbus"), cr.commit()
	 */
	if (!cursor_begin(&listen_cr) || !cursor_run(&listen_cr, "listen imbus") || !cursor_commit(&listen_cr))
	{
		fprintf(stderr, "orguard-workload: websocket: %s\n", listen_cr.error);
		return 1;
	}
	while (running(end))
	{
		wakeups += wait_notify(listen_cr.conn, 1.0) > 0;
		/* addons/bus/websocket.py 17.0 _dispatch_bus_notifications: one cursor per dispatch */
		if (odoo_retrying(&cur, &r, BACKOFF_SCALE, bus_poll_request, &c, &retries))
			polls++;
		else if (!cursor_concurrency_error(&cur))
		{
			fprintf(stderr, "orguard-workload: websocket: %s (SQLSTATE %s)\n", cur.error, cur.sqlstate);
			return 1;
		}
		sleep_s(0.1);
	}
	printf("  %-18s odoo-%d  %ld polls, %ld notifications woke it, %ld messages delivered\n",
		   "websocket (bus)", (int) getpid(), polls, wakeups, c.delivered);
	cursor_close(&cur);
	cursor_close(&listen_cr);
	return 0;
}

static int
cron_thread(const workload_opts *o, double end)
{
	cron_worker w;
	rng			r;

	rng_seed(&r, o->seed, 400);
	if (!cron_worker_open(&w, o, &r))
		return 1;
	w.hour_seconds = o->seconds / o->hours;
	while (running(end))
	{
		if (!cron_process_jobs(&w))
		{
			cron_worker_close(&w);
			return 1;
		}

		/*
		 * server.py 17.0 cron_thread: select() on the LISTEN connection for
		 * SLEEP_INTERVAL (60 s), compressed to the store hour
		 */
		wait_notify(w.listen_cr.conn, w.hour_seconds / 60.0 < 0.5 ? 0.5 : w.hour_seconds / 60.0);
	}
	printf("  %-18s odoo-%d  %ld jobs run, %ld committed batches\n", "cron worker", (int) getpid(), w.jobs_run, w.batches);
	cron_worker_close(&w);
	return 0;
}

static pid_t
spawn(int (*fn) (const workload_opts *, int, double), const workload_opts *o, int arg, double end)
{
	pid_t		pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
	{
		int			rc = fn(o, arg, end);

		fflush(stdout);
		_exit(rc);
	}
	return pid;
}

static int
role_pos(const workload_opts *o, int store, double end)
{
	return pos_till(o, store, end);
}

static int
role_sales(const workload_opts *o, int unused, double end)
{
	(void) unused;
	return http_worker(o, "sales (backend)", sales_read_request, 200, 200, 700, end);
}

static int
role_invoicing(const workload_opts *o, int unused, double end)
{
	(void) unused;
	return http_worker(o, "invoicing", invoice_post_request, 201, 800, 2000, end);
}

static int
role_report(const workload_opts *o, int unused, double end)
{
	(void) unused;
	return http_worker(o, "reporting", report_request, 202, 2000, 4000, end);
}

static int
role_bus(const workload_opts *o, int unused, double end)
{
	(void) unused;
	return websocket(o, end);
}

static int
role_cron(const workload_opts *o, int unused, double end)
{
	(void) unused;
	return cron_thread(o, end);
}

static int
role_night(const workload_opts *o, int unused, double end)
{
	(void) unused;
	(void) end;
	return run_housekeeping(o);
}

static int
wait_all(pid_t *pids, int n)
{
	int			failed = 0;
	bool		forwarded = false;

	for (int i = 0; i < n; i++)
	{
		int			status;

		while (pids[i] > 0 && waitpid(pids[i], &status, 0) < 0)
		{
			if (errno != EINTR)
			{
				status = 1;
				break;
			}
			/* stopped: the workers stop too, at their next request */
			if (stop_requested && !forwarded)
			{
				for (int j = 0; j < n; j++)
					if (pids[j] > 0)
						kill(pids[j], SIGTERM);
				forwarded = true;
			}
		}
		if (pids[i] <= 0)
			status = 1;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	return failed;
}

int
run_day(const workload_opts *o)
{
	pid_t		pids[16];
	int			n = 0,
				failed;
	double		end = now_mono() + o->seconds;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	printf("retail day: %d store(s), %.1f store hours in %.0f s (seed %llu), database %s\n",
		   o->stores, o->hours, o->seconds, (unsigned long long) o->seed, o->dbname);
	for (int s = 1; s <= o->stores; s++)
		pids[n++] = spawn(role_pos, o, s, end);
	pids[n++] = spawn(role_sales, o, 0, end);
	pids[n++] = spawn(role_invoicing, o, 0, end);
	pids[n++] = spawn(role_report, o, 0, end);
	pids[n++] = spawn(role_bus, o, 0, end);
	pids[n++] = spawn(role_cron, o, 0, end);
	for (int i = 0; i < n; i++)
		if (pids[i] < 0)
		{
			fprintf(stderr, "orguard-workload: fork: %s\n", strerror(errno));
			stop_requested = 1;
		}
	failed = wait_all(pids, n);
	if (o->night && !stop_requested && failed == 0)
	{
		printf("night: the ir.autovacuum job (housekeeping)\n");
		pids[0] = spawn(role_night, o, 0, end);
		failed += wait_all(pids, 1);
	}
	if (failed)
		fprintf(stderr, "orguard-workload: %d worker(s) failed\n", failed);
	return failed ? 1 : 0;
}
