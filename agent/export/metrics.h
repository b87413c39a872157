/*
 * metrics.h: the agent's metrics as a set of families and their Prometheus
 * text exposition (pure).  The main loop builds a fresh set after each poll
 * and publishes its text (metrics_server.h); scrapes never touch live state.
 */
#ifndef ORGUARD_METRICS_H
#define ORGUARD_METRICS_H

#include "common/util.h"

#include <stdbool.h>

typedef enum metric_type
{
	METRIC_GAUGE,
	METRIC_COUNTER,
	METRIC_HISTOGRAM			/* samples carry _bucket, _sum, _count suffixes */
} metric_type;

/* how a sample holds its labels, so that mset_free frees each once */
typedef enum sample_labels
{
	SAMPLE_LABELS_OWNED = 0,	/* labels_set/labels_copy: freed with labels_free */
	SAMPLE_LABELS_PACKED,		/* labels_pack: one allocation */
	SAMPLE_LABELS_BORROWED		/* another set's (mset_merge_borrowed): never freed here */
} sample_labels;

typedef struct metric_sample
{
	labelset	labels;
	double		value;
	const char *suffix;			/* static string appended to the family name, or NULL */
	sample_labels held;
} metric_sample;

typedef struct metric_family
{
	char	   *name;
	char	   *help;
	metric_type type;
	metric_sample *s;
	int			n;
	int			cap;			/* room in s */
} metric_family;

typedef struct metric_set
{
	metric_family *f;
	int			n;
} metric_set;

/* finds or creates a family; name must be a valid metric name */
metric_family *mset_family(metric_set *ms, const char *name, const char *help, metric_type type);
/* adds a sample with label pairs given as name, value, ..., NULL */
void		mset_add(metric_family *f, double value, ...) __attribute__((sentinel));
void		mset_add_labels(metric_family *f, const labelset *labels, double value);
/* adds a histogram sample: suffix is "_bucket", "_sum" or "_count" (static) */
void		mset_add_suffixed(metric_family *f, const char *suffix, const labelset *labels,
							  double value);
/* adds a sample whose labels are packed from refs in one allocation; suffix as above or NULL */
void		mset_add_refs(metric_family *f, const char *suffix, const labelrefs *labels, double value);

/*
 * Adds one series of a histogram family: a _bucket sample per bound (le
 * text les[b], value counts[b]), the +Inf bucket (value count), _sum and
 * _count, as mset_add_refs would one by one.  Their labels share one
 * allocation, held by the first sample: a histogram is 15 series per Odoo
 * model, two thirds of a node's samples.
 */
void		mset_add_histogram_refs(metric_family *f, const labelrefs *series, size_t nb,
									const char *const *les, const double *counts,
									double count, double sum);

/*
 * Appends src's families to out, family by family in src's order, the
 * samples referring to src's labels instead of copying them: publishing
 * merges every node's set this way once per cycle.  src must stay alive
 * and unchanged until out is freed (mset_free leaves borrowed labels
 * alone).
 */
void		mset_merge_borrowed(metric_set *out, const metric_set *src);
/* gives back each family's room for more samples: for a set kept as it is until replaced */
void		mset_shrink(metric_set *ms);
/* keeps the n samples with the largest values (bounded cardinality) */
void		mset_top_n(metric_family *f, int n);
char	   *mset_format(const metric_set *ms);
void		mset_free(metric_set *ms);

/* formats one value the way the exposition format wants it */
void		metric_format_value(double v, char *buf, size_t len);

#endif
