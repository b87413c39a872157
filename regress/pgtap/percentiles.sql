-- Histogram percentiles for a known distribution of execution times:
-- 90 executions of about 2 ms and 10 of about 40 ms.
\set ON_ERROR_STOP 1
\o /dev/null
CREATE EXTENSION pgtap;
CREATE EXTENSION odoo_retail_guard;
SET odoo_retail_guard.track = 'all';
SELECT odoo_retail_guard.reset();
DO $$
BEGIN
	FOR i IN 1..100 LOOP
		PERFORM pg_sleep(CASE WHEN i % 10 = 0 THEN 0.040 ELSE 0.002 END);
	END LOOP;
END
$$;
RESET odoo_retail_guard.track;
CREATE TEMP TABLE sleeps AS
	SELECT * FROM odoo_retail_guard.slow_queries
	WHERE database = current_database() AND NOT toplevel AND query LIKE '%pg_sleep%';
\o

SELECT plan(7);
SELECT is((SELECT count(*)::int FROM sleeps), 1, 'one nested statement entry');
SELECT is((SELECT calls::int FROM sleeps), 100, 'every nested execution counted');
-- bounds allow for sleep overshoot on a loaded machine and one bucket (19%)
SELECT cmp_ok((SELECT p50_ms FROM sleeps), '>=', 1.6, 'p50 is not below the 2 ms sleeps');
SELECT cmp_ok((SELECT p50_ms FROM sleeps), '<', 20.0, 'p50 is far below the 40 ms sleeps');
SELECT cmp_ok((SELECT p95_ms FROM sleeps), '>=', 32.0, 'p95 lies in the 40 ms group');
SELECT cmp_ok((SELECT p99_ms FROM sleeps), '>=', (SELECT p95_ms FROM sleeps), 'p99 >= p95');
SELECT cmp_ok((SELECT max_ms FROM sleeps), '>=', (SELECT p99_ms FROM sleeps), 'p99 <= max');
SELECT * FROM finish();
