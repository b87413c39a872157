-- A full statement table evicts the least used entries and counts them;
-- a full slow-sample ring overwrites the oldest and reports the gap.
\set ON_ERROR_STOP 1
\o /dev/null
CREATE EXTENSION pgtap;
CREATE EXTENSION odoo_retail_guard;
SET odoo_retail_guard.track = 'all';
SET odoo_retail_guard.slow_query_ms = 0;
SELECT odoo_retail_guard.reset();
-- 300 structurally different statements (different expression trees)
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXECUTE 'SELECT ' || repeat('1 + ', i) || '1';
	END LOOP;
END
$$;
RESET odoo_retail_guard.slow_query_ms;
RESET odoo_retail_guard.track;
CREATE TEMP TABLE mem AS SELECT * FROM odoo_retail_guard.memory;
\o

SELECT plan(6);
SELECT is((SELECT capacity FROM mem WHERE area = 'queries'), 100::bigint, 'table sized by max_queries');
SELECT cmp_ok((SELECT used FROM mem WHERE area = 'queries'), '<=', 100::bigint, 'never more entries than max_queries');
SELECT cmp_ok((SELECT evicted FROM mem WHERE area = 'queries'), '>=', 200::bigint, 'evictions are counted');
SELECT is((SELECT capacity FROM mem WHERE area = 'slow_query_samples'), 16::bigint, 'ring sized by slow_samples');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.slow_query_samples), 16, 'the ring keeps the newest samples');
SELECT ok((SELECT bool_and(gap) FROM odoo_retail_guard.slow_query_samples_since(1)),
	'a reader whose cursor fell behind the ring is told about the gap');
SELECT * FROM finish();
