/*-------------------------------------------------------------------------
 *
 * histogram.c
 *	  Fixed log-scale latency histogram with percentile estimation.
 *
 * See histogram.h for the bucket scheme.  org_hist_bucket runs for every
 * statement, so it is a log2 plus a boundary fix-up, never a bucket scan.
 *
 *-------------------------------------------------------------------------
 */
#include "histogram.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

double
org_hist_bucket_upper(int i)
{
	if (i < 0)
		i = 0;
	if (i >= ORG_HIST_NBUCKETS - 1)
		return INFINITY;
	return ORG_HIST_BASE_MS * exp2((double) (i + 1) / ORG_HIST_PER_OCTAVE);
}

double
org_hist_bucket_lower(int i)
{
	if (i <= 0)
		return 0.0;
	if (i > ORG_HIST_NBUCKETS - 1)
		i = ORG_HIST_NBUCKETS - 1;
	return ORG_HIST_BASE_MS * exp2((double) i / ORG_HIST_PER_OCTAVE);
}

int
org_hist_bucket(double ms)
{
	double		x;
	int			i;

	/* also catches NaN: every comparison with it is false */
	if (!(ms > org_hist_bucket_upper(0)))
		return 0;
	if (ms > org_hist_bucket_lower(ORG_HIST_NBUCKETS - 1))
		return ORG_HIST_NBUCKETS - 1;

	/* ms is now in a finite range, so the cast below cannot overflow */
	x = ceil(log2(ms / ORG_HIST_BASE_MS) * ORG_HIST_PER_OCTAVE) - 1.0;
	i = (int) x;
	if (i < 0)
		i = 0;
	if (i > ORG_HIST_NBUCKETS - 1)
		i = ORG_HIST_NBUCKETS - 1;

	/* rounding in log2 can land one off at exact bucket edges */
	if (ms > org_hist_bucket_upper(i))
		i++;
	else if (i > 0 && ms <= org_hist_bucket_upper(i - 1))
		i--;
	return i;
}

/* where rank falls, walking on from bucket *i with *cum counts before it */
static double
value_at_rank(const uint64_t *counts, uint64_t rank, int *i, uint64_t *cum,
			  double min_ms, double max_ms)
{
	bool		have_range = (min_ms <= max_ms);
	double		lo;
	double		hi;
	double		result;

	for (; *i < ORG_HIST_NBUCKETS; (*i)++)
	{
		if (counts[*i] != 0 && *cum + counts[*i] >= rank)
			break;
		*cum += counts[*i];
	}
	if (*i >= ORG_HIST_NBUCKETS)
		return -1.0;			/* only if the total overflowed */

	lo = org_hist_bucket_lower(*i);
	hi = org_hist_bucket_upper(*i);

	/* the observed extremes bound the values better than the bucket */
	if (have_range)
	{
		if (min_ms > lo)
			lo = min_ms;
		if (max_ms < hi)
			hi = max_ms;
	}
	/* open-ended last bucket without a usable max: report its lower bound */
	if (isinf(hi) || hi < lo)
		hi = lo;

	result = lo + (hi - lo) * ((double) (rank - *cum) / (double) counts[*i]);

	if (have_range)
	{
		if (result < min_ms)
			result = min_ms;
		if (result > max_ms)
			result = max_ms;
	}
	return result;
}

static uint64_t
rank_of(double q, uint64_t total)
{
	double		r;

	if (q <= 0.0)
		return 1;
	if (q >= 1.0)
		return total;
	r = ceil(q * (double) total);
	return (r < 1.0) ? 1 : (r > (double) total) ? total : (uint64_t) r;
}

static uint64_t
total_of(const uint64_t *counts)
{
	uint64_t	total = 0;
	int			i;

	for (i = 0; i < ORG_HIST_NBUCKETS; i++)
		total += counts[i];
	return total;
}

double
org_hist_percentile(const uint64_t *counts, double q,
					double min_ms, double max_ms)
{
	uint64_t	total;
	uint64_t	cum = 0;
	int			i = 0;

	if (counts == NULL || isnan(q))
		return -1.0;
	total = total_of(counts);
	if (total == 0)
		return -1.0;
	return value_at_rank(counts, rank_of(q, total), &i, &cum, min_ms, max_ms);
}

void
org_hist_percentiles(const uint64_t *counts, int nq, const double *qs,
					 double min_ms, double max_ms, double *out)
{
	uint64_t	total = counts ? total_of(counts) : 0;
	uint64_t	cum = 0;
	int			i = 0;
	int			k;

	for (k = 0; k < nq; k++)
	{
		/* ranks grow with q: the walk goes on from where the last one stopped */
		if (total == 0 || isnan(qs[k]) || (k > 0 && !(qs[k] >= qs[k - 1])))
			out[k] = org_hist_percentile(counts, qs[k], min_ms, max_ms);
		else
			out[k] = value_at_rank(counts, rank_of(qs[k], total), &i, &cum,
								   min_ms, max_ms);
	}
}

/* the folded bounds start at bucket 27, which ends at 0.01 ms * 2^7 = 1.28 ms */
#define ORG_HIST_FOLD_FIRST_OCTAVE 7

double
org_hist_fold_le_ms(int j)
{
	return ORG_HIST_BASE_MS * exp2((double) (ORG_HIST_FOLD_FIRST_OCTAVE + j));
}

void
org_hist_fold(const uint64_t *counts, uint64_t *cum)
{
	uint64_t	sum = 0;
	int			i = 0;

	for (int j = 0; j < ORG_HIST_FOLD_N; j++)
	{
		/* the last bucket ending at this bound, by index: no float compare */
		int			last = (ORG_HIST_FOLD_FIRST_OCTAVE + j) * ORG_HIST_PER_OCTAVE - 1;

		for (; i <= last && i < ORG_HIST_NBUCKETS; i++)
			sum += counts[i];
		cum[j] = sum;
	}
}
