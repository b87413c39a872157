-- A manager opens the Point of Sale analysis (read_group on the
-- report.pos.order view) and the sales-to-accounting check (POS orders
-- against their journal entries): the slow statements of the demo.
\set days random(2, 6)
SELECT "report_pos_order"."config_id", "report_pos_order"."product_categ_id", sum("report_pos_order"."price_total") AS "price_total", sum("report_pos_order"."product_qty") AS "product_qty", count(*) AS "__count" FROM "report_pos_order" WHERE ("report_pos_order"."date" >= ((now() at time zone 'UTC') - interval ':days days')) AND ("report_pos_order"."company_id" IN (1)) GROUP BY "report_pos_order"."config_id", "report_pos_order"."product_categ_id" ORDER BY "price_total" DESC;
SELECT "account_move"."journal_id", date_trunc('day', "account_move"."date") AS "date", count(DISTINCT "pos_order"."id") AS "orders", sum("pos_order"."amount_total") AS "pos_total", sum(DISTINCT "account_move"."amount_total") AS "booked_total" FROM "pos_order" JOIN "account_move" ON "account_move"."id" = "pos_order"."account_move" WHERE "account_move"."state" = 'posted' GROUP BY "account_move"."journal_id", date_trunc('day', "account_move"."date") ORDER BY 2 DESC;
\sleep 2 s
