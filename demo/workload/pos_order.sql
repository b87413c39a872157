-- POS order sync (pos.order create_from_ui / sync_from_ui) with real-time
-- stock: the order and its lines, the delivery move, the shop's quant and
-- the bus notification, in one REPEATABLE READ transaction like every Odoo
-- request.  Literals are interpolated client-side, as psycopg2 does.
\set shop random(1, 10)
\set session 290 + :shop
\set loc 7 + :shop
\set partner random(1, 20000)
\set p1 random(1, 5000)
\set p2 random(1, 5000)
\set q1 random(1, 3)
\set price1 random(99, 7999) / 100.0
\set price2 random(99, 7999) / 100.0
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT base_registry_signaling.last_value, base_cache_signaling.last_value FROM base_registry_signaling, base_cache_signaling;
SELECT nextval(('ir_sequence_' || lpad(':shop', 3, '0'))::regclass) AS number \gset seq_
INSERT INTO "pos_order" ("name", "pos_reference", "session_id", "config_id", "partner_id", "user_id", "company_id", "pricelist_id", "date_order", "state", "amount_tax", "amount_total", "amount_paid", "amount_return", "sequence_number", "to_invoice", "create_uid", "create_date", "write_uid", "write_date") VALUES ('SHOP' || lpad(':shop', 2, '0') || '/' || :seq_number, 'Order ' || :session || '-001-' || :seq_number, :session, :shop, :partner, 2 + :shop, 1, 1, (now() at time zone 'UTC'), 'paid', round(:q1 * :price1 + :price2 - (:q1 * :price1 + :price2) / 1.21, 2), :q1 * :price1 + :price2, :q1 * :price1 + :price2, 0, :seq_number, false, 2 + :shop, (now() at time zone 'UTC'), 2 + :shop, (now() at time zone 'UTC')) RETURNING "id" \gset order_
INSERT INTO "pos_order_line" ("name", "order_id", "product_id", "full_product_name", "company_id", "qty", "price_unit", "discount", "price_subtotal", "price_subtotal_incl", "create_uid", "create_date", "write_uid", "write_date") VALUES ('SHOP/' || :order_id || '-1', :order_id, :p1, 'Article ' || :p1, 1, :q1, :price1, 0, round(:q1 * :price1 / 1.21, 2), :q1 * :price1, 2 + :shop, (now() at time zone 'UTC'), 2 + :shop, (now() at time zone 'UTC')), ('SHOP/' || :order_id || '-2', :order_id, :p2, 'Article ' || :p2, 1, 1, :price2, 0, round(:price2 / 1.21, 2), :price2, 2 + :shop, (now() at time zone 'UTC'), 2 + :shop, (now() at time zone 'UTC')) RETURNING "id";
INSERT INTO "stock_move" ("name", "sequence", "priority", "date", "company_id", "product_id", "product_uom_qty", "product_qty", "quantity", "product_uom", "location_id", "location_dest_id", "partner_id", "picking_type_id", "state", "origin", "reference", "procure_method", "create_uid", "create_date", "write_uid", "write_date") VALUES ('Article ' || :p1, 10, '0', (now() at time zone 'UTC'), 1, :p1, :q1, :q1, :q1, 1, :loc, 5, :partner, 5, 'done', 'SHOP' || lpad(':shop', 2, '0') || '/' || :seq_number, 'SHOP/POS/' || :order_id, 'make_to_stock', 2 + :shop, (now() at time zone 'UTC'), 2 + :shop, (now() at time zone 'UTC')) RETURNING "id" \gset move_
INSERT INTO "stock_move_line" ("move_id", "company_id", "product_id", "product_uom_id", "quantity", "location_id", "location_dest_id", "state", "reference", "date", "create_uid", "create_date", "write_uid", "write_date") VALUES (:move_id, 1, :p1, 1, :q1, :loc, 5, 'done', 'SHOP/POS/' || :order_id, (now() at time zone 'UTC'), 2 + :shop, (now() at time zone 'UTC'), 2 + :shop, (now() at time zone 'UTC')) RETURNING "id";
SELECT "stock_quant"."id" FROM "stock_quant" WHERE (("stock_quant"."product_id" = :p1) AND ("stock_quant"."location_id" IN (:loc))) ORDER BY "stock_quant"."in_date", "stock_quant"."id" LIMIT 1 \gset quant_
SELECT id FROM stock_quant WHERE id IN (:quant_id) ORDER BY lot_id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED;
UPDATE "stock_quant" SET "quantity" = "quantity" - :q1, "write_uid" = 2 + :shop, "write_date" = (now() at time zone 'UTC') WHERE id IN (:quant_id);
INSERT INTO "bus_bus" ("channel", "message", "create_uid", "create_date", "write_uid", "write_date") VALUES ('["retail","pos.config",' || :shop || ']', '{"type": "pos.order/sync", "payload": {"order_id": ' || :order_id || '}}', 2 + :shop, (now() at time zone 'UTC'), 2 + :shop, (now() at time zone 'UTC')) RETURNING "id";
COMMIT;
