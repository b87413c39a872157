/*-------------------------------------------------------------------------
 *
 * histogram.h
 *	  Fixed log-scale latency histogram with percentile estimation.
 *
 * Bucket scheme (all values in milliseconds), four buckets per doubling
 * starting at ORG_HIST_BASE_MS:
 *
 *	  upper(i) = ORG_HIST_BASE_MS * 2^((i + 1) / ORG_HIST_PER_OCTAVE)
 *	  lower(0) = 0, lower(i) = upper(i - 1)
 *	  bucket 0 is [0, upper(0)], bucket i > 0 is (lower(i), upper(i)]
 *	  the last bucket is open-ended: upper = +inf, lower ~ 141 s
 *
 * 96 buckets reach past two minutes, so multi-second retail queries still get
 * real percentiles instead of an interpolation inside one open bucket.
 *
 * so relative bucket width is 2^(1/4) - 1 ~ 19%.  Negative and NaN inputs
 * count in bucket 0.  A histogram is just uint64_t counts[ORG_HIST_NBUCKETS]
 * plus the observed min and max, which the percentile code uses to make
 * small samples exact.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_HISTOGRAM_H
#define ORG_HISTOGRAM_H

#include <stdint.h>

#define ORG_HIST_NBUCKETS	96
#define ORG_HIST_BASE_MS	0.01
#define ORG_HIST_PER_OCTAVE 4

/* Bucket index for a latency; O(1), safe for any double */
extern int	org_hist_bucket(double ms);

/* Bounds of bucket i; out-of-range i is clamped to a valid bucket */
extern double org_hist_bucket_lower(int i);
extern double org_hist_bucket_upper(int i);	/* +inf for the last bucket */

/*
 * Estimate the q-quantile (q in [0,1], clamped) of counts[ORG_HIST_NBUCKETS].
 * rank = max(1, ceil(q * total)); inside the bucket holding that rank the
 * value is interpolated linearly by the rank's position among the bucket's
 * counts, using the bucket bounds narrowed to [min_ms, max_ms], and the
 * result is clamped to [min_ms, max_ms] (ignored unless min_ms <= max_ms).
 * Returns -1.0 when there is nothing to estimate (NULL counts, total == 0,
 * NaN q); callers map that to SQL NULL.
 */
extern double org_hist_percentile(const uint64_t *counts, double q,
								  double min_ms, double max_ms);

/*
 * The same estimate for nq quantiles in ascending order, in one pass over
 * the counts (a snapshot asks p50, p95 and p99 of every statement):
 * out[k] == org_hist_percentile(counts, qs[k], min_ms, max_ms).
 */
extern void org_hist_percentiles(const uint64_t *counts, int nq, const double *qs,
								 double min_ms, double max_ms, double *out);

/*
 * The exported histogram: a dozen octave bounds, each exactly a bucket's
 * upper bound (bucket 4k+3 ends at ORG_HIST_BASE_MS * 2^(k+1)), so folding
 * the 96 buckets into them is exact, not interpolated.  From 1.28 ms to
 * 5.24 s, where Odoo statements and lock waits live.
 */
#define ORG_HIST_FOLD_N		13

/* upper bound in milliseconds of folded bound j (0 <= j < ORG_HIST_FOLD_N) */
extern double org_hist_fold_le_ms(int j);

/*
 * cum[j] = observations <= org_hist_fold_le_ms(j), for every j: the
 * cumulative counts a Prometheus histogram wants ("le" buckets).
 */
extern void org_hist_fold(const uint64_t *counts, uint64_t *cum);

#endif							/* ORG_HISTOGRAM_H */
