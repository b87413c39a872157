-- Destructive-statement journal: TRUNCATE, DROP TABLE and large DELETE or
-- UPDATE on Odoo-like tables are recorded with a plausible LSN taken before
-- they ran; small ones, failed ones and temporary tables are not.
\set ON_ERROR_STOP 1
\o /dev/null
CREATE EXTENSION pgtap;
CREATE EXTENSION odoo_retail_guard;
SET odoo_retail_guard.destructive_min_rows = 1000;
CREATE TABLE stock_move (id serial PRIMARY KEY, product_id integer, state varchar);
INSERT INTO stock_move (product_id, state) SELECT i % 50, 'done' FROM generate_series(1, 5000) i;
CREATE TABLE sale_order_line (id serial PRIMARY KEY, name text);
INSERT INTO sale_order_line (name) SELECT 'line ' || i FROM generate_series(1, 200) i;
ANALYZE sale_order_line;
CREATE ROLE org_t_dj_reader IN ROLE odoo_retail_guard_reader;
CREATE ROLE org_t_dj_plain;
CREATE TEMP TABLE lsn (step text PRIMARY KEY, lsn pg_lsn);
CREATE TEMP TABLE seen AS SELECT coalesce(max(event_id), 0) AS id FROM odoo_retail_guard.destructive_events;
CREATE FUNCTION events() RETURNS SETOF odoo_retail_guard.destructive_events LANGUAGE sql AS $$
	SELECT * FROM odoo_retail_guard.destructive_events WHERE event_id > (SELECT id FROM seen) ORDER BY event_id
$$;
SET application_name = 'odoo-77';
INSERT INTO lsn VALUES ('before delete', pg_current_wal_insert_lsn());
DELETE FROM stock_move WHERE id <= 3000;
INSERT INTO lsn VALUES ('after delete', pg_current_wal_insert_lsn());
DELETE FROM stock_move WHERE id BETWEEN 3001 AND 3010;
UPDATE stock_move SET state = 'cancel' WHERE id > 3500;
INSERT INTO lsn VALUES ('before truncate', pg_current_wal_insert_lsn());
TRUNCATE stock_move;
DROP TABLE sale_order_line;
CREATE TEMP TABLE scratch AS SELECT i FROM generate_series(1, 2000) i;
DELETE FROM scratch;
TRUNCATE scratch;
SET client_min_messages = warning;
DROP TABLE IF EXISTS no_such_table;
RESET client_min_messages;
RESET application_name;
\o

SELECT plan(23);

SELECT is((SELECT string_agg(kind, ',' ORDER BY event_id) FROM events()),
	'delete,update,truncate,drop_table',
	'a large DELETE, a large UPDATE, TRUNCATE and DROP TABLE are journaled, in order');
SELECT is((SELECT count(*)::int FROM events() WHERE relation = 'scratch'), 0,
	'temporary tables are not journaled');
SELECT is((SELECT rows FROM events() WHERE kind = 'delete'), 3000::bigint,
	'the DELETE records the rows it removed');
SELECT is((SELECT (relation, model)::text FROM events() WHERE kind = 'delete'), '(stock_move,stock.move)',
	'and the table with its Odoo model');
SELECT is((SELECT (database, role, application_name)::text FROM events() WHERE kind = 'delete'),
	format('(%s,%s,odoo-77)', current_database(), current_user),
	'and the database, role and application_name');
SELECT is((SELECT query FROM events() WHERE kind = 'delete'), 'DELETE FROM stock_move WHERE id <= $1',
	'and its normalized text');
SELECT ok((SELECT lsn_before >= (SELECT lsn FROM lsn WHERE step = 'before delete')
	AND lsn_before < (SELECT lsn FROM lsn WHERE step = 'after delete') FROM events() WHERE kind = 'delete'),
	'the DELETE''s LSN lies between the positions read just before and after it');
SELECT ok((SELECT xid IS NOT NULL AND pid = pg_backend_pid() FROM events() WHERE kind = 'delete'),
	'and it carries the transaction id and the pid');
SELECT is((SELECT rows FROM events() WHERE kind = 'update'), 1500::bigint,
	'the UPDATE records the rows it changed');
SELECT is((SELECT count(*)::int FROM events() WHERE kind = 'delete' AND rows < 1000), 0,
	'a small DELETE is not journaled');
SELECT ok((SELECT lsn_before >= (SELECT lsn FROM lsn WHERE step = 'before truncate')
	FROM events() WHERE kind = 'truncate'), 'TRUNCATE has the LSN from before it ran');
SELECT is((SELECT (relation, model)::text FROM events() WHERE kind = 'truncate'), '(stock_move,stock.move)',
	'TRUNCATE names the table');
SELECT is((SELECT (relation, model, rows)::text FROM events() WHERE kind = 'drop_table'),
	'(sale_order_line,sale.order.line,200)', 'DROP TABLE names the table and its estimated rows');
SELECT ok((SELECT bool_and(lsn_before <= pg_current_wal_insert_lsn()) FROM events()),
	'no LSN lies in the future');

-- inside a function, and a failing statement
CREATE TABLE account_move_line (id serial PRIMARY KEY, debit numeric);
INSERT INTO account_move_line (debit) SELECT i FROM generate_series(1, 1500) i;
CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM account_move_line; END $$;
UPDATE seen SET id = (SELECT coalesce(max(event_id), 0) FROM odoo_retail_guard.destructive_events);
SELECT purge();
SELECT is((SELECT (kind, model, rows)::text FROM events()), '(delete,account.move.line,1500)',
	'a DELETE inside a function is journaled');
UPDATE seen SET id = (SELECT coalesce(max(event_id), 0) FROM odoo_retail_guard.destructive_events);
SELECT throws_ok('DROP TABLE account_move_line, no_such_table', '42P01', NULL, 'a DROP TABLE that fails...');
SELECT is((SELECT count(*)::int FROM events()), 0, '... is not journaled');
SET odoo_retail_guard.destructive_min_rows = 100000;
DELETE FROM account_move_line;
RESET odoo_retail_guard.destructive_min_rows;
SELECT is((SELECT count(*)::int FROM events()), 0, 'odoo_retail_guard.destructive_min_rows sets the threshold');

-- a partitioned table is named by its root
CREATE TABLE stock_move_line (id int, qty numeric) PARTITION BY RANGE (id);
CREATE TABLE stock_move_line_a PARTITION OF stock_move_line FOR VALUES FROM (0) TO (1000);
CREATE TABLE stock_move_line_b PARTITION OF stock_move_line FOR VALUES FROM (1000) TO (3000);
INSERT INTO stock_move_line SELECT i, i FROM generate_series(0, 2999) i;
UPDATE seen SET id = (SELECT coalesce(max(event_id), 0) FROM odoo_retail_guard.destructive_events);
DELETE FROM stock_move_line WHERE id >= 500;
SELECT is((SELECT (kind, relation, model, rows)::text FROM events()),
	'(delete,stock_move_line,stock.move.line,2500)',
	'a DELETE across partitions is journaled once, under the partitioned table');

-- privileges
SET ROLE org_t_dj_reader;
SELECT cmp_ok((SELECT count(*)::int FROM odoo_retail_guard.destructive_events), '>=', 5,
	'odoo_retail_guard_reader members read destructive_events');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.destructive_events WHERE query IS NOT NULL), 0,
	'without pg_read_all_stats no query text is shown');
RESET ROLE;
SET ROLE org_t_dj_plain;
SELECT throws_ok('SELECT * FROM odoo_retail_guard.destructive_events', '42501', NULL,
	'others may not read destructive_events');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.memory WHERE area = 'destructive_events'), 1,
	'the memory view shows the journal');

SELECT * FROM finish();
