-- A shop receives a replenishment from the central warehouse (stock.picking
-- button_validate): search the incoming moves, create and validate the move,
-- raise the shop's quant.
\set shop random(1, 10)
\set loc 7 + :shop
\set bin random(18, 23)
\set p random(1, 5000)
\set q random(5, 20)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT base_registry_signaling.last_value, base_cache_signaling.last_value FROM base_registry_signaling, base_cache_signaling;
SELECT "stock_move"."id" FROM "stock_move" WHERE (("stock_move"."state" IN ('confirmed', 'partially_available', 'assigned')) AND ("stock_move"."location_dest_id" IN (:loc))) ORDER BY "stock_move"."priority" DESC, "stock_move"."date", "stock_move"."id" LIMIT 80;
INSERT INTO "stock_move" ("name", "sequence", "priority", "date", "company_id", "product_id", "product_uom_qty", "product_qty", "quantity", "product_uom", "location_id", "location_dest_id", "picking_type_id", "state", "origin", "reference", "procure_method", "create_uid", "create_date", "write_uid", "write_date") VALUES ('Article ' || :p, 10, '0', (now() at time zone 'UTC'), 1, :p, :q, :q, :q, 1, :bin, :loc, 2, 'assigned', 'OP/replenish', 'CWH/INT/' || :p, 'make_to_stock', 2, (now() at time zone 'UTC'), 2, (now() at time zone 'UTC')) RETURNING "id" \gset move_
INSERT INTO "stock_move_line" ("move_id", "company_id", "product_id", "product_uom_id", "quantity", "location_id", "location_dest_id", "state", "reference", "date", "create_uid", "create_date", "write_uid", "write_date") VALUES (:move_id, 1, :p, 1, :q, :bin, :loc, 'assigned', 'CWH/INT/' || :p, (now() at time zone 'UTC'), 2, (now() at time zone 'UTC'), 2, (now() at time zone 'UTC')) RETURNING "id";
SELECT "stock_quant"."id" FROM "stock_quant" WHERE (("stock_quant"."product_id" = :p) AND ("stock_quant"."location_id" IN (:loc))) ORDER BY "stock_quant"."in_date", "stock_quant"."id" LIMIT 1 \gset quant_
SELECT id FROM stock_quant WHERE id IN (:quant_id) ORDER BY lot_id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED;
UPDATE "stock_quant" SET "quantity" = "quantity" + :q, "in_date" = (now() at time zone 'UTC'), "write_uid" = 2, "write_date" = (now() at time zone 'UTC') WHERE id IN (:quant_id);
UPDATE "stock_move_line" SET "state" = 'done', "write_uid" = 2, "write_date" = (now() at time zone 'UTC') WHERE id IN (SELECT id FROM stock_move_line WHERE move_id = :move_id);
UPDATE "stock_move" SET "state" = 'done', "date" = (now() at time zone 'UTC'), "write_uid" = 2, "write_date" = (now() at time zone 'UTC') WHERE id IN (:move_id);
COMMIT;
