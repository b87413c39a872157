/*-------------------------------------------------------------------------
 *
 * queries.h
 *		Slow Odoo query tracker: shared-memory layout and the read accessors
 *		that both the SQL views and the agent snapshot use.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_QUERIES_H
#define ORG_QUERIES_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "histogram.h"

/* hash key: one entry per database, role, Odoo worker class and statement */
typedef struct OrgQueryKey
{
	Oid			dbid;
	Oid			userid;
	uint64		queryid;
	int32		worker_class;	/* OrgWorkerClass */
	bool		toplevel;
} OrgQueryKey;

typedef struct OrgQueryCounters
{
	int64		calls;
	int64		rows;
	int64		slow_calls;
	double		total_ms;
	double		min_ms;
	double		max_ms;
	double		sum_sq_ms;		/* for the standard deviation */
	double		usage;			/* decaying call count, for eviction */
	uint64		hist[ORG_HIST_NBUCKETS];
} OrgQueryCounters;

/*
 * What a reader sees of one entry: a consistent copy of the counters and
 * strings, made under the tracker's lock; the strings are valid only
 * during the visit, which runs with no lock held.
 */
typedef struct OrgQueryStat
{
	OrgQueryKey key;
	OrgQueryCounters c;
	TimestampTz first_seen;
	TimestampTz last_seen;
	uint64		generation;		/* when it last changed (generation.h) */
	int16		operation;		/* OrgOperation */
	bool		has_row_lock;
	const char *relation;		/* "" when none */
	const char *model;			/* "" when none */
	const char *text;			/* normalized; "" when unknown */
} OrgQueryStat;

typedef void (*OrgQueryVisitor) (const OrgQueryStat *s, void *arg);

/* per (database, model, operation), aggregated from the entries */
typedef struct OrgModelStat
{
	Oid			dbid;
	char		model[NAMEDATALEN];
	int16		operation;
	int64		statements;
	int64		calls;
	int64		rows;
	int64		slow_calls;
	double		total_ms;
	double		min_ms;
	double		max_ms;
	uint64		generation;		/* the latest of its statements' */
	uint64		hist[ORG_HIST_NBUCKETS];
} OrgModelStat;

typedef struct OrgSlowSample
{
	uint64		id;				/* from the node's event sequence (ring.h) */
	TimestampTz ts;
	int32		pid;
	Oid			dbid;
	Oid			userid;
	uint64		queryid;
	double		duration_ms;
	int64		rows;
	int16		operation;
	int16		worker_class;
	char		appname[NAMEDATALEN];
	char		relation[NAMEDATALEN * 2];
	char		model[NAMEDATALEN];
	char	   *text;
} OrgSlowSample;

typedef struct OrgQueriesInfo
{
	int64		entries;
	int64		max_entries;
	uint64		evictions;
	uint64		eviction_runs;
	int64		slow_capacity;
	uint64		slow_written;
	int64		text_length;
	Size		shmem_bytes;
	TimestampTz stats_reset;
} OrgQueriesInfo;

/* per (database, model, operation) sums, built while visiting statements */
typedef struct OrgModelAgg
{
	struct HTAB *groups;
	OrgModelStat *out;
	int			count;
	int			capacity;
} OrgModelAgg;

/*
 * Which entries a visit sees: those changed after since, or with groups
 * those of the model groups in it (built with org_model_groups_*).
 */
#define ORG_GROUP_FILTER_WORDS	64

typedef struct OrgQueryFilter
{
	uint64		since;
	struct HTAB *groups;
	uint64		group_bits[ORG_GROUP_FILTER_WORDS]; /* of the groups' hashes */
} OrgQueryFilter;

extern void org_queries_foreach(OrgQueryVisitor visit, void *arg,
								bool with_text);
extern void org_queries_foreach_filtered(OrgQueryVisitor visit, void *arg,
										 bool with_text,
										 const OrgQueryFilter *filter);
extern void org_model_groups_init(OrgQueryFilter *filter);
extern void org_model_groups_add(OrgQueryFilter *filter, Oid dbid,
								 int16 operation, const char *model);
extern bool org_model_groups_contains(const OrgQueryFilter *filter, Oid dbid,
									  int16 operation, const char *model);
extern void org_model_groups_forget(OrgQueryFilter *filter, Oid dbid,
									int16 operation, const char *model);
extern long org_model_groups_count(const OrgQueryFilter *filter);
extern OrgModelStat *org_model_stats_of_groups(const OrgQueryFilter *filter,
											   int *count);
extern void org_model_agg_init(OrgModelAgg *agg);
extern void org_model_agg_add(OrgModelAgg *agg, const OrgQueryStat *s);
extern OrgModelStat *org_model_agg_finish(OrgModelAgg *agg, int *count);
extern OrgModelStat *org_model_stats_collect(int *count);
extern OrgSlowSample *org_slow_samples_since(uint64 cursor, uint64 horizon,
											 int *count, bool *gap,
											 bool with_text);
extern void org_queries_info(OrgQueriesInfo *info);
extern void org_queries_reset(void);
extern double org_query_mean_ms(const OrgQueryCounters *c);
extern double org_query_stddev_ms(const OrgQueryCounters *c);
extern double org_percentile_or_null(const uint64 *hist, double q,
									 double min_ms, double max_ms, bool *isnull);

#endif							/* ORG_QUERIES_H */
