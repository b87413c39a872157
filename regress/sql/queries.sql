-- Slow Odoo query tracking: attribution of statements to Odoo models,
-- operations and worker classes, normalized sample texts, reset.
CREATE EXTENSION odoo_retail_guard;
\dx odoo_retail_guard

-- a small Odoo-like schema (real Odoo table and column names)
CREATE TABLE res_partner (id serial PRIMARY KEY, name jsonb, email varchar);
CREATE TABLE sale_order (id serial PRIMARY KEY, name varchar NOT NULL,
	partner_id int REFERENCES res_partner, state varchar, amount_total numeric);
CREATE TABLE stock_quant (id serial PRIMARY KEY, product_id int, location_id int,
	quantity numeric, reserved_quantity numeric);
CREATE TABLE stock_move_line (id serial PRIMARY KEY, move_id int, product_id int,
	quantity numeric);
CREATE TABLE account_move (id serial PRIMARY KEY, name varchar, state varchar);
CREATE TABLE ir_cron (id serial PRIMARY KEY, cron_name jsonb, active bool, nextcall timestamp);
CREATE TABLE queue_job (id serial PRIMARY KEY, uuid varchar, state varchar);
INSERT INTO res_partner (name, email) VALUES ('{"en_US": "Walk-in Customer"}', 'shop@example.com');
INSERT INTO stock_quant (product_id, location_id, quantity, reserved_quantity)
	SELECT g, 8, 100, 0 FROM generate_series(1, 20) g;
INSERT INTO ir_cron (cron_name, active, nextcall) VALUES ('{"en_US": "Scheduler"}', true, now());

SELECT odoo_retail_guard.reset();

-- what an Odoo HTTP worker sends (client-side interpolated literals)
SET application_name = 'odoo-1234';
INSERT INTO "sale_order" ("name", "partner_id", "state", "amount_total")
	VALUES ('S00042', 1, 'draft', 129.90) RETURNING "id";
SELECT "sale_order"."id" FROM "sale_order" WHERE ("sale_order"."state" = 'draft') ORDER BY "sale_order"."id";
UPDATE "sale_order" SET "state" = 'sale' WHERE id IN (1);
UPDATE stock_quant SET quantity = quantity - 1 WHERE id = 3;
SELECT id FROM stock_quant WHERE id IN (3, 4) ORDER BY id FOR NO KEY UPDATE;
INSERT INTO stock_move_line (move_id, product_id, quantity) VALUES (1, 3, 1);
DELETE FROM account_move WHERE id = 99;
-- the cron worker's job fetch is recognised by its shape
SELECT id FROM ir_cron WHERE active = true ORDER BY id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED;
-- a queue_job job fetch
SELECT state FROM queue_job WHERE uuid = 'f00d' FOR UPDATE;
-- a role-specific application_name (ODOO_PGAPPNAME=odoo-cron-{pid})
SET application_name = 'odoo-cron-77';
UPDATE stock_quant SET reserved_quantity = 1 WHERE id = 5;
-- not Odoo
SET application_name = 'psql';
SELECT count(*) FROM sale_order;
RESET application_name;

SELECT model, relation, operation, worker_class, row_lock, calls, toplevel
FROM odoo_retail_guard.slow_queries
WHERE database = current_database() AND model IS NOT NULL
ORDER BY model, operation, worker_class, row_lock;

SELECT model, operation, statements, calls
FROM odoo_retail_guard.model_stats
WHERE database = current_database()
ORDER BY model, operation;

-- slow executions are sampled, with constants replaced
SET odoo_retail_guard.slow_query_ms = 100;
SET application_name = 'odoo-1234';
SELECT count(*) FROM sale_order
WHERE name <> 'Customer Secret 4242' AND pg_sleep(0.15) IS NOT NULL;
RESET application_name;
RESET odoo_retail_guard.slow_query_ms;

SELECT application_name, worker_class, model, relation, operation, rows,
	   duration_ms >= 150 AS slow_enough, query
FROM odoo_retail_guard.slow_query_samples
WHERE database = current_database();

-- no constant of the statement is kept anywhere
SELECT count(*) AS texts_with_constants
FROM odoo_retail_guard.slow_queries
WHERE query LIKE '%Secret%' OR query LIKE '%S00042%' OR query LIKE '%129.90%';

-- the memory view shows the configured sizes
SELECT area, capacity > 0 AS sized, used > 0 AS used FROM odoo_retail_guard.memory
WHERE area IN ('queries', 'slow_query_samples') ORDER BY area;

-- reset clears statements and samples
SELECT odoo_retail_guard.reset();
SELECT count(*) AS statements_left FROM odoo_retail_guard.slow_queries
WHERE database = current_database() AND model IS NOT NULL;
SELECT count(*) AS samples_left FROM odoo_retail_guard.slow_query_samples;

-- bad arguments get a clear error
SELECT * FROM odoo_retail_guard.slow_query_samples_since(-1);
