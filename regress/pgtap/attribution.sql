-- Worker class attribution: application_name and query shape.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\o /dev/null
CREATE EXTENSION pgtap;
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE sale_order (id serial PRIMARY KEY, name varchar, state varchar);
CREATE TABLE bus_bus (id serial PRIMARY KEY, channel varchar, message varchar);
CREATE TABLE ir_cron (id serial PRIMARY KEY, active bool);
INSERT INTO ir_cron (active) VALUES (true);
SELECT odoo_retail_guard.reset();

SET application_name = 'odoo-4242';
SELECT id FROM sale_order WHERE state = 'draft';
SET application_name = 'odoo-cron-9';
SELECT id FROM sale_order WHERE state = 'draft';
SET application_name = 'odoo-queue-9';
SELECT id FROM sale_order WHERE state = 'draft';
SET application_name = 'odoo-4243';
SELECT id FROM bus_bus WHERE id > 10 AND channel IN ('a', 'b');
SELECT id FROM ir_cron WHERE active ORDER BY id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED;
SET application_name = 'pgbench';
SELECT id FROM sale_order WHERE state = 'draft';
-- a custom prefix (ODOO_PGAPPNAME=shop1-{pid})
SET odoo_retail_guard.odoo_application_name_prefix = 'shop1';
SET application_name = 'shop1-77';
SELECT id FROM sale_order WHERE state = 'sent';
SET application_name = 'odoo-4244';
SELECT id FROM sale_order WHERE state = 'sale';
RESET odoo_retail_guard.odoo_application_name_prefix;
RESET application_name;
\o

SELECT plan(8);

SELECT results_eq(
	$$SELECT worker_class FROM odoo_retail_guard.slow_queries
	  WHERE database = current_database() AND model = 'sale.order'
	    AND query LIKE '%state = $1%' ORDER BY worker_class$$,
	ARRAY['cron', 'http', 'other', 'queue_job'],
	'application_name decides the worker class of the same statement');

SELECT is(
	(SELECT worker_class FROM odoo_retail_guard.slow_queries
	 WHERE database = current_database() AND model = 'bus.bus'),
	'bus', 'an Odoo backend polling bus_bus is a bus worker');

SELECT is(
	(SELECT worker_class FROM odoo_retail_guard.slow_queries
	 WHERE database = current_database() AND model = 'ir.cron'),
	'cron', 'locking an ir_cron row marks a cron worker');

SELECT is(
	(SELECT row_lock FROM odoo_retail_guard.slow_queries
	 WHERE database = current_database() AND model = 'ir.cron'),
	true, 'FOR NO KEY UPDATE is seen as a row lock');

SELECT is(
	(SELECT query FROM odoo_retail_guard.slow_queries
	 WHERE database = current_database() AND model = 'bus.bus'),
	'SELECT id FROM bus_bus WHERE id > $1 AND channel IN ($2, ...)',
	'constants are replaced and IN lists collapsed');

SELECT is(
	(SELECT calls::int FROM odoo_retail_guard.slow_queries
	 WHERE database = current_database() AND model = 'sale.order'
	   AND query LIKE '%state = $1%' AND worker_class = 'http'),
	2, 'a custom application_name prefix marks Odoo connections');

SELECT is(
	(SELECT calls::int FROM odoo_retail_guard.slow_queries
	 WHERE database = current_database() AND model = 'sale.order'
	   AND query LIKE '%state = $1%' AND worker_class = 'other'),
	2, 'with a custom prefix, odoo-<pid> is no longer Odoo');

SELECT cmp_ok(
	(SELECT sum(calls)::int FROM odoo_retail_guard.model_stats
	 WHERE database = current_database() AND model = 'sale.order'),
	'>=', 6, 'model_stats sums every sale.order statement');

SELECT * FROM finish();
