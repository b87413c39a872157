-- Per-transaction destructive journal: Odoo's ORM removes and rewrites
-- records in batches of at most 1000 ids, one statement per batch, in the
-- request's one transaction.  Statement shapes:
--   unlink: DELETE FROM "stock_move" WHERE id IN (...)          odoo/models.py 17.0 BaseModel.unlink() l.4210
--   write:  UPDATE "sale_order" SET "state" = ..., "write_uid" = ..., "write_date" = ... WHERE id IN (...)
--                                                              odoo/models.py 17.0 BaseModel._write() l.4487
--   batches of IN_MAX = 1000 ids: odoo/sql_db.py Cursor.split_for_in_conditions
--   savepoints: SAVEPOINT "<uuid>" / ROLLBACK TO SAVEPOINT / RELEASE SAVEPOINT, odoo/sql_db.py Cursor.savepoint()
-- Each batch is sent as its own top-level statement (psql \gexec), as psycopg2 does.
\set ON_ERROR_STOP 1
\o /dev/null
CREATE EXTENSION pgtap;
CREATE EXTENSION odoo_retail_guard;
SET odoo_retail_guard.destructive_min_rows = 1000;
CREATE TABLE stock_move (id serial PRIMARY KEY, product_id integer, state varchar);
INSERT INTO stock_move (product_id, state) SELECT i % 50, 'done' FROM generate_series(1, 60000) i;
CREATE TABLE sale_order (id serial PRIMARY KEY, state varchar, write_uid integer, write_date timestamp);
INSERT INTO sale_order (state) SELECT 'sale' FROM generate_series(1, 6000) i;
CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar);
INSERT INTO res_partner (name) SELECT 'p' || i FROM generate_series(1, 40) i;
CREATE TABLE mail_message (id serial PRIMARY KEY,
	author_id integer REFERENCES res_partner (id) ON DELETE CASCADE);
INSERT INTO mail_message (author_id) SELECT 1 + i % 20 FROM generate_series(0, 5999) i;
CREATE TABLE crm_lead (id serial PRIMARY KEY,
	partner_id integer REFERENCES res_partner (id) ON DELETE SET NULL);
INSERT INTO crm_lead (partner_id) SELECT 21 + i % 20 FROM generate_series(0, 3999) i;
CREATE TEMP TABLE lsn (step text PRIMARY KEY, lsn pg_lsn);
CREATE TEMP TABLE seen AS SELECT coalesce(max(event_id), 0) AS id FROM odoo_retail_guard.destructive_events;
CREATE TEMP TABLE stats AS SELECT * FROM odoo_retail_guard.destructive_journal;
CREATE FUNCTION events() RETURNS SETOF odoo_retail_guard.destructive_events LANGUAGE sql AS $$
	SELECT * FROM odoo_retail_guard.destructive_events WHERE event_id > (SELECT id FROM seen) ORDER BY event_id
$$;
CREATE FUNCTION mark() RETURNS void LANGUAGE sql AS $$
	UPDATE seen SET id = (SELECT coalesce(max(event_id), 0) FROM odoo_retail_guard.destructive_events);
	DELETE FROM stats;
	INSERT INTO stats SELECT * FROM odoo_retail_guard.destructive_journal;
$$;
-- the ORM's batch statements for ids lo..hi, 1000 ids each
CREATE FUNCTION unlink_batches(tbl text, lo int, hi int) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT format('DELETE FROM "%s" WHERE id IN (%s)', tbl, string_agg(i::text, ', ' ORDER BY i))
	FROM generate_series(lo, hi) i GROUP BY (i - lo) / 1000 ORDER BY min(i)
$$;
CREATE FUNCTION write_batches(tbl text, lo int, hi int) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT format('UPDATE "%s" SET "state" = ''cancel'', "write_uid" = 2, "write_date" = ''2026-12-07 01:00:00'' WHERE id IN (%s)',
		tbl, string_agg(i::text, ', ' ORDER BY i))
	FROM generate_series(lo, hi) i GROUP BY (i - lo) / 1000 ORDER BY min(i)
$$;
SET application_name = 'odoo-4242';

-- 1. a mass unlink of 50 000 records: 50 batches in one transaction
CHECKPOINT;
BEGIN;
INSERT INTO lsn VALUES ('before unlink', pg_current_wal_insert_lsn());
SELECT * FROM unlink_batches('stock_move', 1, 50000) \gexec
INSERT INTO lsn VALUES ('after first batch', (SELECT pg_current_wal_insert_lsn()));
COMMIT;
\o

SELECT plan(28);

SELECT is((SELECT count(*)::int FROM events()), 1,
	'an ORM-batched mass unlink of 50 000 records in one transaction gives one event');
SELECT is((SELECT (kind, relation, model, rows, statements)::text FROM events()),
	'(delete,stock_move,stock.move,50000,50)',
	'with the summed rows and the statement count');
SELECT is((SELECT query FROM events()), 'DELETE FROM "stock_move" WHERE id IN ($1, ...)',
	'and the first batch''s normalized text');
SELECT ok((SELECT lsn_before >= (SELECT lsn FROM lsn WHERE step = 'before unlink')
	AND lsn_before < (SELECT lsn FROM lsn WHERE step = 'after first batch') FROM events()),
	'its LSN is the one before the first batch');
SELECT ok((SELECT xid IS NOT NULL AND pid = pg_backend_pid() AND application_name = 'odoo-4242'
	AND cause_event_id IS NULL FROM events()), 'it carries xid, pid, application_name and no cause');

-- 2. a mass write
\o /dev/null
SELECT mark();
BEGIN;
SELECT * FROM write_batches('sale_order', 1, 5500) \gexec
COMMIT;
\o
SELECT is((SELECT (kind, relation, rows, statements)::text FROM events()),
	'(update,sale_order,5500,6)', 'an ORM-batched mass write gives one update event with its rows and statements');
SELECT is((SELECT query FROM events()),
	'UPDATE "sale_order" SET "state" = $1, "write_uid" = $2, "write_date" = $3 WHERE id IN ($4, ...)',
	'and the write''s normalized text');

-- 3. rolled back: nothing journaled, counted
\o /dev/null
SELECT mark();
BEGIN;
SELECT * FROM unlink_batches('stock_move', 50001, 55000) \gexec
ROLLBACK;
\o
SELECT is((SELECT count(*)::int FROM events()), 0, 'a mass unlink that rolls back journals nothing');
SELECT is((SELECT rolled_back - (SELECT rolled_back FROM stats) FROM odoo_retail_guard.destructive_journal),
	1::bigint, 'and is counted as rolled back');
SELECT is((SELECT count(*)::int FROM stock_move WHERE id BETWEEN 50001 AND 55000), 5000, '(its rows are still there)');
\o /dev/null
SELECT mark();
BEGIN;
DELETE FROM stock_move WHERE id IN (50001, 50002);
ROLLBACK;
\o
SELECT is((SELECT rolled_back - (SELECT rolled_back FROM stats) FROM odoo_retail_guard.destructive_journal),
	0::bigint, 'a small change rolled back is not counted');

-- 4. savepoints (Odoo's cr.savepoint())
\o /dev/null
SELECT mark();
BEGIN;
DELETE FROM stock_move WHERE id BETWEEN 50001 AND 50600;
SAVEPOINT "5b1f0c3e-savepoint-a";
DELETE FROM stock_move WHERE id BETWEEN 50601 AND 51200;
ROLLBACK TO SAVEPOINT "5b1f0c3e-savepoint-a";
RELEASE SAVEPOINT "5b1f0c3e-savepoint-a";
COMMIT;
\o
SELECT is((SELECT count(*)::int FROM events()), 0,
	'rows of a rolled-back savepoint are not counted (600 kept + 600 rolled back stay under 1000)');
\o /dev/null
SELECT mark();
BEGIN;
SAVEPOINT "sp1";
DELETE FROM stock_move WHERE id BETWEEN 51201 AND 51800;
RELEASE SAVEPOINT "sp1";
SAVEPOINT "sp2";
SAVEPOINT "sp3";
DELETE FROM stock_move WHERE id BETWEEN 51801 AND 52400;
RELEASE SAVEPOINT "sp3";
RELEASE SAVEPOINT "sp2";
SAVEPOINT "sp4";
DELETE FROM stock_move WHERE id BETWEEN 52401 AND 53000;
SAVEPOINT "sp5";
DELETE FROM stock_move WHERE id BETWEEN 53001 AND 53600;
ROLLBACK TO SAVEPOINT "sp4";
COMMIT;
\o
SELECT is((SELECT (kind, rows, statements)::text FROM events()), '(delete,1200,2)',
	'rows of released savepoints count, nested savepoints rolled back do not');
\o /dev/null
SELECT mark();
BEGIN;
SAVEPOINT "sp1";
DELETE FROM sale_order WHERE id BETWEEN 1 AND 1500;
ROLLBACK TO SAVEPOINT "sp1";
DELETE FROM sale_order WHERE id BETWEEN 1 AND 10;
COMMIT;
\o
SELECT is((SELECT count(*)::int FROM events()), 0,
	'a relation first touched in a rolled-back savepoint starts again from zero');
\o /dev/null
SELECT mark();
DO $$
BEGIN
	DELETE FROM stock_move WHERE id BETWEEN 53601 AND 54600;
	BEGIN
		DELETE FROM stock_move WHERE id BETWEEN 54601 AND 55000;
		RAISE EXCEPTION 'undo';
	EXCEPTION WHEN raise_exception THEN NULL;
	END;
END $$;
\o
SELECT is((SELECT count(*)::int FROM events()), 0,
	'rows of a PL/pgSQL exception block that failed are not counted');

-- 5. cascades
\o /dev/null
SELECT mark();
INSERT INTO lsn VALUES ('before cascade', pg_current_wal_insert_lsn());
DELETE FROM res_partner WHERE id IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
\o
SELECT is((SELECT string_agg((kind, relation, rows)::text, ' ' ORDER BY event_id) FROM events()),
	'(delete,res_partner,10) (delete,mail_message,3000)',
	'ON DELETE CASCADE rows are counted on the relation they hit, and the cause is journaled too');
SELECT is((SELECT cause_event_id FROM events() WHERE relation = 'mail_message'),
	(SELECT event_id FROM events() WHERE relation = 'res_partner'),
	'the cascade names the event that caused it');
SELECT is((SELECT lsn_before FROM events() WHERE relation = 'mail_message'),
	(SELECT lsn_before FROM events() WHERE relation = 'res_partner'),
	'and has the LSN from before the statement that caused it');
SELECT ok((SELECT lsn_before >= (SELECT lsn FROM lsn WHERE step = 'before cascade') FROM events() WHERE relation = 'res_partner'),
	'which lies after the position read before it');
SELECT is((SELECT statements FROM events() WHERE relation = 'mail_message'), 10,
	'the RI trigger runs one statement per parent row');
\o /dev/null
SELECT mark();
BEGIN;
DELETE FROM res_partner WHERE id BETWEEN 21 AND 30;
DELETE FROM res_partner WHERE id BETWEEN 31 AND 40;
COMMIT;
\o
SELECT is((SELECT string_agg((kind, relation, rows, statements)::text, ' ' ORDER BY event_id) FROM events()),
	'(delete,res_partner,20,2) (update,crm_lead,4000,20)',
	'ON DELETE SET NULL rows are an update, summed over the transaction');
SELECT is((SELECT cause_event_id FROM events() WHERE relation = 'crm_lead'),
	(SELECT event_id FROM events() WHERE relation = 'res_partner'), 'tied to their cause');

-- 6. the per-transaction cap
\o /dev/null
SELECT mark();
CREATE TABLE t1 (id int); CREATE TABLE t2 (id int); CREATE TABLE t3 (id int);
INSERT INTO t1 SELECT generate_series(1, 10); INSERT INTO t2 SELECT generate_series(1, 10);
INSERT INTO t3 SELECT generate_series(1, 10);
SET odoo_retail_guard.destructive_max_relations = 2;
BEGIN;
DELETE FROM stock_move WHERE id BETWEEN 55001 AND 56500;
DELETE FROM t1;
DELETE FROM t2;
DELETE FROM t2;
DELETE FROM t3;
COMMIT;
RESET odoo_retail_guard.destructive_max_relations;
\o
SELECT is((SELECT untracked_relations - (SELECT untracked_relations FROM stats) FROM odoo_retail_guard.destructive_journal),
	2::bigint, 'relations past odoo_retail_guard.destructive_max_relations are counted as untracked');
SELECT is((SELECT (relation, rows)::text FROM events()), '(stock_move,1500)',
	'the relations within the cap are journaled');

-- 7. DROP TABLE and TRUNCATE wait for the commit
\o /dev/null
SELECT mark();
BEGIN;
TRUNCATE t1;
DROP TABLE t2;
ROLLBACK;
\o
SELECT is((SELECT count(*)::int FROM events()), 0, 'TRUNCATE and DROP TABLE rolled back are not journaled');
\o /dev/null
BEGIN;
TRUNCATE t1;
DROP TABLE t2;
COMMIT;
\o
SELECT is((SELECT string_agg(kind || ':' || relation || ':' || statements, ',' ORDER BY event_id) FROM events()),
	'truncate:t1:1,drop_table:t2:1', 'and are journaled when their transaction commits');

-- 8. the counters in SQL
SELECT ok((SELECT events_written > 0 AND max_relations = 256 FROM odoo_retail_guard.destructive_journal),
	'destructive_journal shows the events written and the cap');
SET ROLE pg_monitor;
SELECT lives_ok('SELECT * FROM odoo_retail_guard.destructive_journal', 'pg_monitor reads destructive_journal');
RESET ROLE;

SELECT * FROM finish();
