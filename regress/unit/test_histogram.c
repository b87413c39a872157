/*-------------------------------------------------------------------------
 *
 * test_histogram.c
 *	  Unit tests for the log-scale latency histogram.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "histogram.h"

static void
assert_near(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.9g, want %.9g +- %.3g", got, want, tol);
}

static void
test_bucket_bounds(void **state)
{
	int			i;

	(void) state;
	assert_near(org_hist_bucket_lower(0), 0.0, 0.0);
	assert_near(org_hist_bucket_upper(0), 0.01 * pow(2.0, 0.25), 1e-15);
	assert_near(org_hist_bucket_upper(3), 0.02, 1e-15);	/* one octave up */
	assert_near(org_hist_bucket_upper(39), 10.24, 1e-12);
	for (i = 1; i < ORG_HIST_NBUCKETS; i++)
	{
		assert_true(org_hist_bucket_lower(i) == org_hist_bucket_upper(i - 1));
		assert_true(org_hist_bucket_lower(i) > org_hist_bucket_lower(i - 1));
	}
	/* last bucket is open-ended and starts near 141 s */
	assert_true(isinf(org_hist_bucket_upper(ORG_HIST_NBUCKETS - 1)));
	assert_near(org_hist_bucket_lower(ORG_HIST_NBUCKETS - 1),
				0.01 * pow(2.0, 95.0 / 4.0), 1e-6);
	assert_near(org_hist_bucket_lower(ORG_HIST_NBUCKETS - 1), 141100.0, 100.0);

	/* out-of-range indexes are clamped */
	assert_true(org_hist_bucket_lower(-5) == 0.0);
	assert_true(org_hist_bucket_upper(-5) == org_hist_bucket_upper(0));
	assert_true(org_hist_bucket_lower(1000) == org_hist_bucket_lower(ORG_HIST_NBUCKETS - 1));
	assert_true(isinf(org_hist_bucket_upper(1000)));
}

static void
test_bucket_edges(void **state)
{
	int			i;

	(void) state;
	/* bad and tiny inputs land in bucket 0 */
	assert_int_equal(org_hist_bucket(-1.0), 0);
	assert_int_equal(org_hist_bucket(-INFINITY), 0);
	assert_int_equal(org_hist_bucket(NAN), 0);
	assert_int_equal(org_hist_bucket(0.0), 0);
	assert_int_equal(org_hist_bucket(1e-300), 0);
	assert_int_equal(org_hist_bucket(org_hist_bucket_upper(0)), 0);

	/* huge inputs land in the open bucket */
	assert_int_equal(org_hist_bucket(1e7), ORG_HIST_NBUCKETS - 1);
	assert_int_equal(org_hist_bucket(DBL_MAX), ORG_HIST_NBUCKETS - 1);
	assert_int_equal(org_hist_bucket(INFINITY), ORG_HIST_NBUCKETS - 1);

	/* upper bounds are inclusive, the next representable value is not */
	for (i = 0; i < ORG_HIST_NBUCKETS - 1; i++)
	{
		double		up = org_hist_bucket_upper(i);

		assert_int_equal(org_hist_bucket(up), i);
		assert_int_equal(org_hist_bucket(nextafter(up, INFINITY)), i + 1);
		assert_int_equal(org_hist_bucket(sqrt(org_hist_bucket_lower(i + 1) *
											  org_hist_bucket_upper(i + 1))),
						 i + 1 < ORG_HIST_NBUCKETS - 1 ? i + 1 : ORG_HIST_NBUCKETS - 1);
	}
	assert_int_equal(org_hist_bucket(1.0), 26);	/* 0.01 * 2^(27/4) = 1.07 */
	assert_int_equal(org_hist_bucket(10.0), 39);
}

static void
test_bucket_monotonic(void **state)
{
	double		ms;
	int			prev = 0;

	(void) state;
	for (ms = 0.001; ms < 500000.0; ms *= 1.001)
	{
		int			b = org_hist_bucket(ms);

		assert_true(b >= prev);
		assert_true(b - prev <= 1);
		assert_true(ms > org_hist_bucket_lower(b) || b == 0);
		assert_true(ms <= org_hist_bucket_upper(b));
		prev = b;
	}
	assert_int_equal(prev, ORG_HIST_NBUCKETS - 1);
}

static void
test_percentile_empty(void **state)
{
	uint64_t	counts[ORG_HIST_NBUCKETS];

	(void) state;
	memset(counts, 0, sizeof(counts));
	assert_true(org_hist_percentile(counts, 0.5, 0.0, 0.0) == -1.0);
	assert_true(org_hist_percentile(counts, 0.0, 1.0, 2.0) == -1.0);
	assert_true(org_hist_percentile(NULL, 0.5, 1.0, 2.0) == -1.0);
	counts[10] = 3;
	assert_true(org_hist_percentile(counts, NAN, 0.0, 1.0) == -1.0);
}

static void
test_percentile_single_value(void **state)
{
	uint64_t	counts[ORG_HIST_NBUCKETS];
	const double v = 123.456;

	(void) state;
	memset(counts, 0, sizeof(counts));
	counts[org_hist_bucket(v)] = 1;
	/* min == max makes a single sample exact */
	assert_true(org_hist_percentile(counts, 0.0, v, v) == v);
	assert_true(org_hist_percentile(counts, 0.5, v, v) == v);
	assert_true(org_hist_percentile(counts, 0.99, v, v) == v);
	assert_true(org_hist_percentile(counts, 1.0, v, v) == v);

	/* many samples of one value too */
	counts[org_hist_bucket(v)] = 1000000;
	assert_true(org_hist_percentile(counts, 0.5, v, v) == v);

	/* a single value in the open bucket */
	memset(counts, 0, sizeof(counts));
	counts[ORG_HIST_NBUCKETS - 1] = 1;
	assert_true(org_hist_percentile(counts, 0.5, 7000.0, 7000.0) == 7000.0);
}

static void
fill_uniform(uint64_t *counts, double *min, double *max)
{
	int			v;

	memset(counts, 0, sizeof(uint64_t) * ORG_HIST_NBUCKETS);
	for (v = 1; v <= 1000; v++)
		counts[org_hist_bucket((double) v)]++;
	*min = 1.0;
	*max = 1000.0;
}

static double
bucket_width_at(double ms)
{
	int			b = org_hist_bucket(ms);

	return org_hist_bucket_upper(b) - org_hist_bucket_lower(b);
}

static void
test_percentile_uniform(void **state)
{
	uint64_t	counts[ORG_HIST_NBUCKETS];
	double		min;
	double		max;
	double		q;
	double		prev = 0.0;

	(void) state;
	fill_uniform(counts, &min, &max);

	assert_near(org_hist_percentile(counts, 0.5, min, max), 500.0, bucket_width_at(500.0));
	/* 990 is in the open bucket, interpolated up to the observed max */
	assert_near(org_hist_percentile(counts, 0.99, min, max), 990.0, 2.0);
	assert_near(org_hist_percentile(counts, 0.9, min, max), 900.0, 2.0);
	assert_near(org_hist_percentile(counts, 0.1, min, max), 100.0, bucket_width_at(100.0));
	assert_near(org_hist_percentile(counts, 0.01, min, max), 10.0, bucket_width_at(10.0));

	/*
	 * rank 1 is the only sample of its bucket, so it maps to the bucket's
	 * top (narrowed by min); the maximum is exact
	 */
	assert_near(org_hist_percentile(counts, 0.0, min, max), 1.0, bucket_width_at(1.0));
	assert_true(org_hist_percentile(counts, 0.001, min, max) ==
				org_hist_percentile(counts, 0.0, min, max));
	assert_true(org_hist_percentile(counts, 1.0, min, max) == 1000.0);

	/* q outside [0,1] is clamped */
	assert_true(org_hist_percentile(counts, -3.0, min, max) ==
				org_hist_percentile(counts, 0.0, min, max));
	assert_true(org_hist_percentile(counts, 7.0, min, max) == 1000.0);
	assert_true(org_hist_percentile(counts, INFINITY, min, max) == 1000.0);

	/* monotonic in q */
	for (q = 0.0; q <= 1.0; q += 0.001)
	{
		double		p = org_hist_percentile(counts, q, min, max);

		assert_true(p >= prev);
		assert_true(p >= min && p <= max);
		prev = p;
	}
}

static void
test_percentile_interpolation(void **state)
{
	uint64_t	counts[ORG_HIST_NBUCKETS];
	double		lo;
	double		hi;

	(void) state;
	memset(counts, 0, sizeof(counts));
	/* four samples in bucket 20, no usable extremes (min > max) */
	counts[20] = 4;
	lo = org_hist_bucket_lower(20);
	hi = org_hist_bucket_upper(20);
	assert_near(org_hist_percentile(counts, 0.25, 1.0, 0.0), lo + (hi - lo) * 0.25, 1e-12);
	assert_near(org_hist_percentile(counts, 0.5, 1.0, 0.0), lo + (hi - lo) * 0.5, 1e-12);
	assert_near(org_hist_percentile(counts, 0.75, 1.0, 0.0), lo + (hi - lo) * 0.75, 1e-12);
	assert_near(org_hist_percentile(counts, 1.0, 1.0, 0.0), hi, 1e-12);
	/* rank = ceil(0.3 * 4) = 2 */
	assert_near(org_hist_percentile(counts, 0.3, 1.0, 0.0), lo + (hi - lo) * 0.5, 1e-12);

	/* extremes narrow the bucket */
	assert_near(org_hist_percentile(counts, 0.5, lo + 0.001, hi - 0.001),
				lo + 0.001 + (hi - lo - 0.002) * 0.5, 1e-12);

	/* open bucket without usable extremes reports its lower bound */
	memset(counts, 0, sizeof(counts));
	counts[ORG_HIST_NBUCKETS - 1] = 10;
	assert_near(org_hist_percentile(counts, 0.9, 1.0, 0.0),
				org_hist_bucket_lower(ORG_HIST_NBUCKETS - 1), 1e-9);

	/* two populated buckets: ranks map to the right one */
	memset(counts, 0, sizeof(counts));
	counts[org_hist_bucket(0.05)] = 1;
	counts[org_hist_bucket(12.0)] = 1;
	assert_near(org_hist_percentile(counts, 0.5, 0.05, 12.0), 0.05, bucket_width_at(0.05));
	assert_true(org_hist_percentile(counts, 0.5, 0.05, 12.0) < 0.1);
	assert_true(org_hist_percentile(counts, 0.51, 0.05, 12.0) == 12.0);

	/* a small bucket 0 sample, lower bound 0 */
	memset(counts, 0, sizeof(counts));
	counts[0] = 2;
	assert_near(org_hist_percentile(counts, 0.5, 1.0, 0.0), org_hist_bucket_upper(0) / 2, 1e-15);
}

/* the one-pass form gives exactly what one call per quantile gives */
static void
test_percentiles_one_pass(void **state)
{
	static const double qs[] = {0.0, 0.5, 0.5, 0.95, 0.99, 1.0};
	uint64_t	counts[ORG_HIST_NBUCKETS];
	unsigned int seed = 12345;

	(void) state;
	for (int round = 0; round < 500; round++)
	{
		double		out[6];
		double		min_ms = round % 3 ? 0.01 * (round % 7) : 1.0;
		double		max_ms = round % 3 ? 100.0 * (round % 5) : 0.5;	/* sometimes no range */

		for (int i = 0; i < ORG_HIST_NBUCKETS; i++)
		{
			seed = seed * 1103515245u + 12345u;
			counts[i] = (seed >> 16) % 4 == 0 ? (seed >> 8) % 1000 : 0;
		}
		if (round == 0)
			memset(counts, 0, sizeof(counts));
		org_hist_percentiles(counts, 6, qs, min_ms, max_ms, out);
		for (int k = 0; k < 6; k++)
			assert_true(out[k] == org_hist_percentile(counts, qs[k], min_ms, max_ms));
	}
	{
		/* out of order and NaN: still one answer per quantile */
		static const double odd[] = {0.99, NAN, 0.5};
		double		out[3];

		counts[3] = 7;
		org_hist_percentiles(counts, 3, odd, 0.0, 1000.0, out);
		for (int k = 0; k < 3; k++)
			assert_true(out[k] == org_hist_percentile(counts, odd[k], 0.0, 1000.0));
	}
}

/*
 * The folded bounds are bucket edges: a value exactly on a bound counts
 * under it, one just above counts in the next, and the counts are
 * cumulative (what a Prometheus histogram's le buckets are).
 */
static void
test_fold_exact_at_bounds(void **state)
{
	uint64_t	counts[ORG_HIST_NBUCKETS] = {0};
	uint64_t	cum[ORG_HIST_FOLD_N];

	(void) state;
	assert_near(org_hist_fold_le_ms(0), 1.28, 1e-12);
	assert_near(org_hist_fold_le_ms(ORG_HIST_FOLD_N - 1), 5242.88, 1e-9);
	for (int j = 0; j < ORG_HIST_FOLD_N; j++)
	{
		double		le = org_hist_fold_le_ms(j);

		/* each bound is the upper edge of some bucket */
		assert_true(org_hist_bucket_upper(org_hist_bucket(le)) == le);
	}
	counts[org_hist_bucket(0.5)] += 2;	/* under the first bound */
	counts[org_hist_bucket(1.28)] += 3;	/* on it */
	counts[org_hist_bucket(1.29)] += 5;	/* just above: second bound */
	counts[org_hist_bucket(1000.0)] += 7;	/* under 1310.72 */
	counts[org_hist_bucket(60000.0)] += 11;	/* above every bound: +Inf only */
	org_hist_fold(counts, cum);
	assert_int_equal(cum[0], 5);
	assert_int_equal(cum[1], 10);
	for (int j = 2; j < ORG_HIST_FOLD_N; j++)
	{
		uint64_t	want = org_hist_fold_le_ms(j) >= 1000.0 ? 17 : 10;

		assert_int_equal(cum[j], want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_bounds),
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_bucket_monotonic),
		cmocka_unit_test(test_percentile_empty),
		cmocka_unit_test(test_fold_exact_at_bounds),
		cmocka_unit_test(test_percentile_single_value),
		cmocka_unit_test(test_percentile_uniform),
		cmocka_unit_test(test_percentile_interpolation),
		cmocka_unit_test(test_percentiles_one_pass),
	};

	return cmocka_run_group_tests_name("histogram", tests, NULL, NULL);
}
