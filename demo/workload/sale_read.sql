-- The Sales list and form views (web_search_read, then read): ORM search,
-- count, fetch by id list, order lines, customer.
\set partner random(1, 20000)
\set o1 random(1, 20000)
\set o2 random(1, 20000)
\set o3 random(1, 20000)
\set o4 random(1, 20000)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT base_registry_signaling.last_value, base_cache_signaling.last_value FROM base_registry_signaling, base_cache_signaling;
SELECT "sale_order"."id" FROM "sale_order" WHERE ((("sale_order"."state" IN ('sale', 'done')) AND ("sale_order"."partner_id" = :partner)) AND ("sale_order"."company_id" IN (1))) ORDER BY "sale_order"."date_order" DESC, "sale_order"."id" DESC LIMIT 80;
SELECT "sale_order"."id" FROM "sale_order" WHERE (("sale_order"."state" IN ('sale', 'done')) AND ("sale_order"."company_id" IN (1))) ORDER BY "sale_order"."date_order" DESC, "sale_order"."id" DESC LIMIT 80;
SELECT "sale_order"."id", "sale_order"."name", "sale_order"."date_order", "sale_order"."partner_id", "sale_order"."user_id", "sale_order"."team_id", "sale_order"."company_id", "sale_order"."amount_untaxed", "sale_order"."amount_total", "sale_order"."state", "sale_order"."invoice_status" FROM "sale_order" WHERE "sale_order"."id" IN (:o1, :o2, :o3, :o4);
SELECT "sale_order_line"."id", "sale_order_line"."order_id", "sale_order_line"."sequence", "sale_order_line"."name", "sale_order_line"."product_id", "sale_order_line"."product_uom_qty", "sale_order_line"."price_unit", "sale_order_line"."price_subtotal", "sale_order_line"."qty_delivered", "sale_order_line"."qty_invoiced" FROM "sale_order_line" WHERE "sale_order_line"."order_id" IN (:o1) ORDER BY "sale_order_line"."order_id", "sale_order_line"."sequence", "sale_order_line"."id";
SELECT "res_partner"."id", "res_partner"."name", "res_partner"."complete_name", "res_partner"."email", "res_partner"."phone", "res_partner"."customer_rank" FROM "res_partner" WHERE "res_partner"."id" IN (:partner);
COMMIT;
