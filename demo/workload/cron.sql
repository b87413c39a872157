-- A cron worker (application_name odoo-cron-<pid> through ODOO_PGAPPNAME)
-- acquires a due job with Odoo 17's statement, runs one chunk of the
-- scheduler's reservation pass on a shop, and reschedules the job.
\set cron_id random(1, 12)
\set loc random(8, 17)
\set p random(1, 4950)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM ir_cron WHERE active = true AND numbercall != 0 AND (nextcall <= (now() at time zone 'UTC') OR EXISTS (SELECT cron_id FROM ir_cron_trigger WHERE call_at <= (now() at time zone 'UTC') AND cron_id = ir_cron.id)) AND id in (:cron_id) ORDER BY priority LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED;
UPDATE stock_quant SET reserved_quantity = reserved_quantity + 1 WHERE product_id BETWEEN :p AND :p + 49 AND location_id = :loc;
UPDATE stock_quant SET reserved_quantity = 0 WHERE product_id BETWEEN :p AND :p + 49 AND location_id = :loc AND reserved_quantity > quantity;
UPDATE ir_cron SET nextcall=(now() at time zone 'UTC') - interval '1 minute', numbercall=-1, lastcall=(now() at time zone 'UTC') WHERE id=:cron_id;
COMMIT;
\sleep 200 ms
