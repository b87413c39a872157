-- Post a customer invoice on a journal locked with a hash: the entry is
-- created as draft, the journal's no_gap sequence is drawn
-- (ir.sequence._update_nogap) and the customer's rank is raised in a
-- savepoint (_increase_rank).  One client only: a second poster would get
-- 55P03 on the sequence row, which is a later incident of its own.
\set partner random(1, 20000)
\set amount random(1000, 200000) / 100.0
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT base_registry_signaling.last_value, base_cache_signaling.last_value FROM base_registry_signaling, base_cache_signaling;
INSERT INTO "account_move" ("name", "date", "state", "move_type", "journal_id", "company_id", "partner_id", "currency_id", "invoice_date", "amount_untaxed", "amount_tax", "amount_total", "amount_residual", "payment_state", "create_uid", "create_date", "write_uid", "write_date") VALUES ('/', current_date, 'draft', 'out_invoice', 2, 1, :partner, 1, current_date, :amount, round(:amount * 0.21, 2), round(:amount * 1.21, 2), round(:amount * 1.21, 2), 'not_paid', 2, (now() at time zone 'UTC'), 2, (now() at time zone 'UTC')) RETURNING "id" \gset move_
SELECT number_next FROM ir_sequence WHERE id=12 FOR UPDATE NOWAIT \gset seq_
UPDATE ir_sequence SET number_next=number_next+1 WHERE id=12;
UPDATE "account_move" SET "name" = 'INV/2026/' || lpad(':seq_number_next', 5, '0'), "state" = 'posted', "sequence_prefix" = 'INV/2026/', "sequence_number" = :seq_number_next, "write_uid" = 2, "write_date" = (now() at time zone 'UTC') WHERE id IN (:move_id);
SAVEPOINT "increase_rank";
SELECT customer_rank FROM res_partner WHERE ID IN (:partner) FOR NO KEY UPDATE NOWAIT;
UPDATE res_partner SET customer_rank = customer_rank + 1 WHERE id IN (:partner);
RELEASE SAVEPOINT "increase_rank";
COMMIT;
