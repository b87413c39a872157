/*-------------------------------------------------------------------------
 *
 * views.c
 *		Set-returning functions behind the slow-query views, and reset().
 *
 * Each function reads shared memory through the tracker's accessors
 * (queries.h), the same ones the agent snapshot uses, and only turns the
 * copies into tuples here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "histogram.h"
#include "locks.h"
#include "memory_areas.h"
#include "odoo_classify.h"
#include "odoo_retail_guard.h"
#include "sql_values.h"
#include "queries.h"
#include "destructive.h"
#include "ring.h"
#include "throttle.h"
#include "replication.h"
#include "vacuum.h"

PG_FUNCTION_INFO_V1(org_check_preloaded);
PG_FUNCTION_INFO_V1(org_query_stats);
PG_FUNCTION_INFO_V1(org_model_stats);
PG_FUNCTION_INFO_V1(org_slow_query_samples);
PG_FUNCTION_INFO_V1(org_memory);
PG_FUNCTION_INFO_V1(org_reset);

static void
put_percentiles(const uint64 *hist, double min_ms, double max_ms,
				Datum *values, bool *nulls)
{
	static const double qs[3] = {0.50, 0.95, 0.99};
	int			i;

	for (i = 0; i < 3; i++)
		values[i] = Float8GetDatum(org_percentile_or_null(hist, qs[i], min_ms,
														  max_ms, &nulls[i]));
}

Datum
org_check_preloaded(PG_FUNCTION_ARGS)
{
	org_require_shmem();
	PG_RETURN_VOID();
}

typedef struct QueryRowsState
{
	ReturnSetInfo *rsinfo;
	bool		show_text;
} QueryRowsState;

static void
put_query_row(const OrgQueryStat *q, void *arg)
{
	QueryRowsState *st = (QueryRowsState *) arg;
	Datum		values[23];
	bool		nulls[23];
	int			c = 0;

	memset(nulls, 0, sizeof(nulls));
	values[c++] = ObjectIdGetDatum(q->key.dbid);
	values[c++] = ObjectIdGetDatum(q->key.userid);
	values[c++] = CStringGetTextDatum(org_worker_class_name(q->key.worker_class));
	values[c++] = Int64GetDatum((int64) q->key.queryid);
	values[c++] = BoolGetDatum(q->key.toplevel);
	values[c] = org_text_or_null(q->model, &nulls[c]);
	c++;
	values[c] = org_text_or_null(q->relation, &nulls[c]);
	c++;
	values[c++] = CStringGetTextDatum(org_operation_name(q->operation));
	values[c++] = BoolGetDatum(q->has_row_lock);
	values[c++] = Int64GetDatum(q->c.calls);
	values[c++] = Float8GetDatum(q->c.total_ms);
	values[c++] = Float8GetDatum(q->c.min_ms);
	values[c++] = Float8GetDatum(q->c.max_ms);
	values[c++] = Float8GetDatum(org_query_mean_ms(&q->c));
	values[c++] = Float8GetDatum(org_query_stddev_ms(&q->c));
	put_percentiles(q->c.hist, q->c.min_ms, q->c.max_ms,
					&values[c], &nulls[c]);
	c += 3;
	values[c++] = Int64GetDatum(q->c.rows);
	values[c++] = Int64GetDatum(q->c.slow_calls);
	values[c++] = TimestampTzGetDatum(q->first_seen);
	values[c++] = TimestampTzGetDatum(q->last_seen);
	values[c] = org_text_or_null(st->show_text ? q->text : NULL, &nulls[c]);
	c++;
	Assert(c == lengthof(values));
	tuplestore_putvalues(st->rsinfo->setResult, st->rsinfo->setDesc,
						 values, nulls);
}

Datum
org_query_stats(PG_FUNCTION_ARGS)
{
	QueryRowsState st;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	st.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	st.show_text = org_may_read_text();
	org_queries_foreach(put_query_row, &st, st.show_text);
	return (Datum) 0;
}

Datum
org_model_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgModelStat *m;
	int			n;
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	m = org_model_stats_collect(&n);
	for (i = 0; i < n; i++)
	{
		Datum		values[14];
		bool		nulls[14];
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		values[c++] = ObjectIdGetDatum(m[i].dbid);
		values[c++] = CStringGetTextDatum(m[i].model);
		values[c++] = CStringGetTextDatum(org_operation_name(m[i].operation));
		values[c++] = Int64GetDatum(m[i].statements);
		values[c++] = Int64GetDatum(m[i].calls);
		values[c++] = Float8GetDatum(m[i].total_ms);
		values[c++] = Float8GetDatum(m[i].calls > 0 ? m[i].total_ms / m[i].calls : 0);
		values[c++] = Float8GetDatum(m[i].max_ms);
		put_percentiles(m[i].hist, m[i].min_ms, m[i].max_ms,
						&values[c], &nulls[c]);
		c += 3;
		values[c++] = Int64GetDatum(m[i].rows);
		values[c++] = Int64GetDatum(m[i].slow_calls);
		values[c++] = Float8GetDatum(m[i].min_ms);
		Assert(c == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_slow_query_samples(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		cursor = PG_GETARG_INT64(0);
	bool		show_text = org_may_read_text();
	OrgSlowSample *s;
	bool		gap;
	int			n;
	int			i;

	(void) org_cursor_arg(cursor);

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);

	s = org_slow_samples_since((uint64) cursor, org_ring_horizon(), &n, &gap,
							   show_text);
	for (i = 0; i < n; i++)
	{
		Datum		values[15];
		bool		nulls[15];
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		values[c++] = Int64GetDatum((int64) s[i].id);
		values[c++] = TimestampTzGetDatum(s[i].ts);
		values[c++] = Int32GetDatum(s[i].pid);
		values[c++] = ObjectIdGetDatum(s[i].dbid);
		values[c++] = ObjectIdGetDatum(s[i].userid);
		values[c] = org_text_or_null(s[i].appname, &nulls[c]);
		c++;
		values[c++] = CStringGetTextDatum(org_worker_class_name(s[i].worker_class));
		values[c++] = Float8GetDatum(s[i].duration_ms);
		values[c++] = Int64GetDatum(s[i].rows);
		values[c] = org_text_or_null(s[i].model, &nulls[c]);
		c++;
		values[c] = org_text_or_null(s[i].relation, &nulls[c]);
		c++;
		values[c++] = CStringGetTextDatum(org_operation_name(s[i].operation));
		values[c++] = Int64GetDatum((int64) s[i].queryid);
		values[c] = org_text_or_null(s[i].text, &nulls[c]);
		if (!show_text)
			nulls[c] = true;
		c++;
		values[c++] = BoolGetDatum(gap);
		Assert(c == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_memory(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrgQueriesInfo info;
	OrgMemoryArea areas[ORG_MEMORY_AREAS];
	Datum		values[5];
	bool		nulls[5];
	int			i;

	org_require_shmem();
	InitMaterializedSRF(fcinfo, 0);
	org_queries_info(&info);
	org_memory_areas(areas);

	memset(nulls, 0, sizeof(nulls));
	for (i = 0; i < ORG_MEMORY_AREAS; i++)
	{
		values[0] = CStringGetTextDatum(areas[i].area);
		values[1] = Int64GetDatum(areas[i].capacity);
		values[2] = Int64GetDatum(areas[i].used);
		values[3] = Int64GetDatum(areas[i].evicted);
		values[4] = TimestampTzGetDatum(info.stats_reset);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
org_reset(PG_FUNCTION_ARGS)
{
	org_queries_reset();
	PG_RETURN_VOID();
}
