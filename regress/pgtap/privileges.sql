-- Who may read the views, who sees query texts, who may reset.
\set ON_ERROR_STOP 1
\o /dev/null
CREATE EXTENSION pgtap;
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE sale_order (id serial PRIMARY KEY, state varchar);
SET odoo_retail_guard.slow_query_ms = 0;
SET application_name = 'odoo-1';
SELECT id FROM sale_order WHERE state = 'draft';
RESET application_name;
RESET odoo_retail_guard.slow_query_ms;
CREATE ROLE org_t_reader IN ROLE odoo_retail_guard_reader;
CREATE ROLE org_t_monitor IN ROLE pg_monitor;
CREATE ROLE org_t_stats IN ROLE pg_monitor, pg_read_all_stats;
CREATE ROLE org_t_plain;
CREATE ROLE org_t_admin IN ROLE odoo_retail_guard_admin;
\o

SELECT plan(13);

SET ROLE org_t_reader;
SELECT cmp_ok((SELECT count(*)::int FROM odoo_retail_guard.slow_queries WHERE model = 'sale.order'),
	'>=', 1, 'odoo_retail_guard_reader members read slow_queries');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.slow_queries WHERE query IS NOT NULL),
	0, 'without pg_read_all_stats no query text is shown');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.slow_query_samples WHERE query IS NOT NULL),
	0, 'nor in slow samples');
SELECT throws_ok('SELECT odoo_retail_guard.reset()', '42501', NULL,
	'readers may not reset');
RESET ROLE;

SET ROLE org_t_monitor;
SELECT cmp_ok((SELECT count(*)::int FROM odoo_retail_guard.model_stats WHERE model = 'sale.order'),
	'>=', 1, 'pg_monitor members read model_stats');
SELECT cmp_ok((SELECT count(*)::int FROM odoo_retail_guard.slow_queries WHERE query IS NOT NULL),
	'>=', 1, 'pg_monitor includes pg_read_all_stats, so its members see texts');
SELECT throws_ok('SELECT odoo_retail_guard.reset()', '42501', NULL,
	'pg_monitor members may not reset');
RESET ROLE;

SET ROLE org_t_stats;
SELECT cmp_ok((SELECT count(*)::int FROM odoo_retail_guard.slow_queries
	WHERE model = 'sale.order' AND query IS NOT NULL), '>=', 1,
	'pg_read_all_stats members see normalized texts');
RESET ROLE;

SET ROLE org_t_plain;
SELECT throws_ok('SELECT * FROM odoo_retail_guard.slow_queries', '42501', NULL,
	'others may not read slow_queries');
SELECT throws_ok('SELECT * FROM odoo_retail_guard.model_stats', '42501', NULL,
	'others may not read model_stats');
SELECT throws_ok('SELECT * FROM odoo_retail_guard.slow_query_samples', '42501', NULL,
	'others may not read slow_query_samples');
RESET ROLE;

SET ROLE org_t_admin;
SELECT lives_ok('SELECT odoo_retail_guard.reset()', 'odoo_retail_guard_admin members may reset');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.slow_queries WHERE model = 'sale.order'),
	0, 'reset cleared the statements');

SELECT * FROM finish();
-- roles are cluster-wide: leave none behind
\o /dev/null
DROP ROLE org_t_reader;
DROP ROLE org_t_monitor;
DROP ROLE org_t_stats;
DROP ROLE org_t_plain;
DROP ROLE org_t_admin;
