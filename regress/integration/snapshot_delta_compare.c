/*
 * snapshot_delta_compare.c: the poll-by-poll comparison of a delta-fed
 * agent state with a full snapshot, for regress/integration/snapshot_delta.sh.
 *
 * For every line "NAME" on stdin it connects (again: a crash-restart may lie
 * between two lines), asks odoo_retail_guard.snapshot(0, generation) with
 * the generation it last saw, merges the answer into its kept sets with the
 * agent's own merge (agent/collect/snapshot_merge.c), takes snapshot(0) (full,
 * never merged) and compares the four sets entry by entry: every field,
 * lag_s masked (it grows between the two calls).  A change landing between
 * the two calls (the sampler runs on its own) shows in the next delta: a
 * mismatch is retried twice before it is reported.
 *
 * A second state is fed by snapshot(0, generation, false), the form that
 * leaves the statements out (what the agent asks for): it must hold no
 * statement and exactly the full snapshot's models, lock contention and
 * autovacuum tables.
 *
 * Prints one line per step (kind, reason and sent_statements: the first
 * answer; removed: summed over the attempts, each merged its own; the other
 * figures: the last attempt's):
 *   STEP NAME kind=delta|full reason=R sent=N sent_statements=N removed=N kept=N full=N bytes=N
 *        full_bytes=N lean_bytes=N lean_statements=N lean_omitted=yes|no attempts=N
 *        equal=yes|no lean_equal=yes|no [diff]
 */
#include "collect/snapshot_merge.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct flat
{
	char	  **rows;
	size_t		n;
} flat;

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* one entry as a comparable line: its set, then every field packed (hex) */
static char *
entry_line(const char *set, const ProtobufCMessage *msg)
{
	size_t		len = protobuf_c_message_get_packed_size(msg);
	uint8_t    *buf = malloc(len + 1);
	char	   *line = malloc(strlen(set) + 2 * len + 2);
	char	   *p = line;

	protobuf_c_message_pack(msg, buf);
	p += sprintf(p, "%s ", set);
	for (size_t i = 0; i < len; i++)
		p += sprintf(p, "%02x", buf[i]);
	free(buf);
	return line;
}

static void
flat_add(flat *f, char *line)
{
	f->rows = realloc(f->rows, sizeof(char *) * (f->n + 1));
	f->rows[f->n++] = line;
}

static void
flatten(const OdooRetailGuard__Snapshot *s, flat *f, bool with_queries)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; with_queries && i < s->n_queries; i++)
		flat_add(f, entry_line("query", &s->queries[i]->base));
	for (size_t i = 0; i < s->n_models; i++)
		flat_add(f, entry_line("model", &s->models[i]->base));
	for (size_t i = 0; i < s->n_lock_contention; i++)
		flat_add(f, entry_line("lock", &s->lock_contention[i]->base));
	for (size_t i = 0; i < s->n_autovacuum_lag; i++)
	{
		OdooRetailGuard__AutovacuumLag v = *s->autovacuum_lag[i];

		v.lag_s = 0;
		flat_add(f, entry_line("vacuum", &v.base));
	}
	qsort(f->rows, f->n, sizeof(char *), cmp_str);
}

static void
flat_free(flat *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->rows[i]);
	free(f->rows);
}

/* "" when equal, else the first difference */
static void
compare(const flat *a, const flat *b, char *diff, size_t len)
{
	size_t		i = 0,
				j = 0;

	diff[0] = '\0';
	while (i < a->n || j < b->n)
	{
		int			c = i >= a->n ? 1 : j >= b->n ? -1 : strcmp(a->rows[i], b->rows[j]);

		if (c == 0)
		{
			i++;
			j++;
			continue;
		}
		snprintf(diff, len, "%s: %.200s", c < 0 ? "only_merged" : "only_full",
				 c < 0 ? a->rows[i] : b->rows[j]);
		return;
	}
}

typedef enum fetch_form
{
	FETCH_FULL,					/* snapshot(0) */
	FETCH_DELTA,				/* snapshot(0, since) */
	FETCH_LEAN					/* snapshot(0, since, false) */
} fetch_form;

static OdooRetailGuard__Snapshot *
fetch(PGconn *conn, uint64_t since, fetch_form form, size_t *bytes)
{
	char		gen[32];
	const char *vals[2] = {"0", gen};
	PGresult   *r;
	OdooRetailGuard__Snapshot *s = NULL;

	snprintf(gen, sizeof(gen), "%llu", (unsigned long long) since);
	r = PQexecParams(conn, form == FETCH_LEAN ?
					 "SELECT odoo_retail_guard.snapshot($1::int8, $2::int8, false)" :
					 form == FETCH_DELTA ?
					 "SELECT odoo_retail_guard.snapshot($1::int8, $2::int8)" :
					 "SELECT odoo_retail_guard.snapshot($1::int8)",
					 form == FETCH_FULL ? 1 : 2, NULL, vals, NULL, NULL, 1);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
	{
		*bytes = (size_t) PQgetlength(r, 0, 0);
		s = odoo_retail_guard__snapshot__unpack(NULL, *bytes,
												(const uint8_t *) PQgetvalue(r, 0, 0));
	}
	else
		fprintf(stderr, "snapshot failed: %s", PQerrorMessage(conn));
	PQclear(r);
	return s;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
step(const char *conninfo, snapshot_merge *m, snapshot_merge *lean, const char *name)
{
	PGconn	   *conn = PQconnectdb(conninfo);
	bool		equal = false;
	bool		lean_equal = false;
	/* what the node answered first: a retry after a full answer is a delta */
	char		first_kind[8] = "";
	char		first_reason[64] = "";
	size_t		first_sent_q = 0;
	size_t		removed = 0;	/* over the attempts: each merged its own */

	if (PQstatus(conn) != CONNECTION_OK)
	{
		printf("STEP %s error=connect\n", name);
		PQfinish(conn);
		return false;
	}
	/* the comparison's own statements must not change what it compares */
	PQclear(PQexec(conn, "SET odoo_retail_guard.track = none"));
	for (int attempt = 1; attempt <= 3 && !(equal && lean_equal); attempt++)
	{
		size_t		dbytes = 0,
					lbytes = 0,
					fbytes = 0;
		OdooRetailGuard__Snapshot *d = fetch(conn, snapshot_merge_since(m, now_ms()), FETCH_DELTA, &dbytes);
		OdooRetailGuard__Snapshot *l = fetch(conn, snapshot_merge_since(lean, now_ms()), FETCH_LEAN, &lbytes);
		OdooRetailGuard__Snapshot *f = fetch(conn, 0, FETCH_FULL, &fbytes);
		char		err[256] = "";
		char		diff[320] = "";
		char		lean_diff[320] = "";
		size_t		sent;
		size_t		lean_statements;
		bool		lean_omitted;
		bool		was_delta;
		const char *reason;
		flat		a,
					b,
					la,
					lb;

		if (!d || !l || !f)
		{
			printf("STEP %s error=snapshot\n", name);
			if (d)
				odoo_retail_guard__snapshot__free_unpacked(d, NULL);
			if (l)
				odoo_retail_guard__snapshot__free_unpacked(l, NULL);
			if (f)
				odoo_retail_guard__snapshot__free_unpacked(f, NULL);
			break;
		}
		lean_statements = l->n_queries;
		lean_omitted = l->statements_omitted;
		for (size_t i = 0; i < l->n_removed; i++)
			if (l->removed[i]->kind && !strcmp(l->removed[i]->kind, "query"))
				lean_statements++;
		sent = d->n_queries + d->n_models + d->n_lock_contention + d->n_autovacuum_lag;
		removed += d->n_removed;
		was_delta = d->delta;
		reason = d->full_reason && *d->full_reason ? d->full_reason : "-";
		if (attempt == 1)
		{
			snprintf(first_kind, sizeof(first_kind), "%s", was_delta ? "delta" : "full");
			snprintf(first_reason, sizeof(first_reason), "%s", reason);
			first_sent_q = d->n_queries + d->n_models;
		}
		if (!snapshot_merge_apply(m, d, now_ms(), err, sizeof(err)))
			snprintf(diff, sizeof(diff), "refused: %s", err);
		snapshot_merge_lend(m, d);
		flatten(d, &a, true);
		flatten(f, &b, true);
		if (!diff[0])
			compare(&a, &b, diff, sizeof(diff));
		equal = !diff[0];
		/* the lean state: everything but the statements */
		if (!snapshot_merge_apply(lean, l, now_ms(), err, sizeof(err)))
			snprintf(lean_diff, sizeof(lean_diff), "lean refused: %s", err);
		snapshot_merge_lend(lean, l);
		flatten(l, &la, true);
		flatten(f, &lb, false);
		if (!lean_diff[0])
			compare(&la, &lb, lean_diff, sizeof(lean_diff));
		lean_equal = !lean_diff[0];
		if ((equal && lean_equal) || attempt == 3)
			printf("STEP %s kind=%s reason=%s sent=%zu sent_statements=%zu removed=%zu kept=%zu full=%zu "
				   "bytes=%zu full_bytes=%zu lean_bytes=%zu lean_statements=%zu lean_omitted=%s "
				   "attempts=%d equal=%s lean_equal=%s%s%s%s%s\n",
				   name, first_kind, first_reason, sent, first_sent_q, removed, a.n, b.n,
				   dbytes, fbytes, lbytes, lean_statements, lean_omitted ? "yes" : "no", attempt,
				   equal ? "yes" : "no", lean_equal ? "yes" : "no",
				   equal ? "" : " ", diff, lean_equal ? "" : " ", lean_diff);
		flat_free(&a);
		flat_free(&b);
		flat_free(&la);
		flat_free(&lb);
		snapshot_merge_release(m, d);
		snapshot_merge_release(lean, l);
		odoo_retail_guard__snapshot__free_unpacked(d, NULL);
		odoo_retail_guard__snapshot__free_unpacked(l, NULL);
		odoo_retail_guard__snapshot__free_unpacked(f, NULL);
	}
	fflush(stdout);
	PQfinish(conn);
	return equal && lean_equal;
}

int
main(int argc, char **argv)
{
	snapshot_merge *m;
	snapshot_merge *lean;
	char		line[256];
	int			failed = 0;

	if (argc != 2)
	{
		fprintf(stderr, "usage: %s CONNINFO < step names\n", argv[0]);
		return 2;
	}
	/* no safety-net full snapshot: every step after the first is a delta unless the node says otherwise */
	m = snapshot_merge_new(0);
	lean = snapshot_merge_new(0);
	while (fgets(line, sizeof(line), stdin))
	{
		line[strcspn(line, "\n")] = '\0';
		if (*line && !step(argv[1], m, lean, line))
			failed++;
	}
	snapshot_merge_free(m);
	snapshot_merge_free(lean);
	return failed ? 1 : 0;
}
