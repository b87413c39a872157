-- demo/schema.sql: an Odoo-like retail database (POS, stock, sales,
-- accounting) with Odoo's real table and column names and its usual
-- indexes, filled by generate_series.
--
-- A chain of 10 shops, one POS per shop, 30 days of trading:
--   res_partner 20 000, product_template/product_product 5 000 each,
--   stock_location 23, stock_quant 50 000, pos_session 300,
--   pos_order 100 000, pos_order_line ~250 000, stock_move/stock_move_line
--   60 000 each, sale_order 20 000, sale_order_line 50 000,
--   account_move 30 000, bus_bus 20 000, ir_sequence 12, ir_cron 12,
--   pos_make_payment 1 500 (transient), ir_act_server 12 (the jobs' server
--   actions), ir_module_module, ir_model_data and ir_attachment (empty: an
--   unlink searches them).
--
-- Column types follow Odoo 16/17: timestamps are "timestamp without time
-- zone" holding UTC, translated fields (product_template.name, cron names)
-- are jsonb, many2one columns are integers named <field>_id.  The data is
-- deterministic (setseed) so every run of the demo sees the same shop.
-- Run it with psql: it prints one progress line per part.

\set ON_ERROR_STOP on
\o /dev/null
SET client_min_messages = warning;
SELECT setseed(0.42);
-- 30 days of trading, the last one being today (UTC, as Odoo stores it)
SELECT (date_trunc('day', now() at time zone 'UTC') - interval '29 days')::timestamp AS day1 \gset

-- ---------------------------------------------------------------- partners
\echo '    partners and products'
CREATE TABLE res_partner (
	id serial PRIMARY KEY,
	name varchar,
	complete_name varchar,
	ref varchar,
	email varchar,
	phone varchar,
	street varchar,
	city varchar,
	zip varchar,
	is_company boolean,
	active boolean DEFAULT true,
	company_id integer,
	customer_rank integer DEFAULT 0,
	supplier_rank integer DEFAULT 0,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX res_partner_complete_name_index ON res_partner (complete_name);
CREATE INDEX res_partner_ref_index ON res_partner (ref);
CREATE INDEX res_partner_company_id_index ON res_partner (company_id);

INSERT INTO res_partner (name, complete_name, ref, email, phone, street, city, zip,
	is_company, company_id, customer_rank, supplier_rank, create_uid, create_date, write_uid, write_date)
SELECT CASE WHEN g = 7 THEN 'Walk-in Customer' ELSE 'Customer ' || g END,
	   CASE WHEN g = 7 THEN 'Walk-in Customer' ELSE 'Customer ' || g END,
	   'C' || lpad(g::text, 6, '0'),
	   'customer' || g || '@example.com',
	   '+32 2 555 ' || lpad((g % 10000)::text, 4, '0'),
	   g || ' Market Street', 'Brussels', lpad((1000 + g % 200)::text, 4, '0'),
	   g % 50 = 0, 1,
	   CASE WHEN g % 40 = 0 THEN 0 ELSE 1 + (g % 7) END,
	   CASE WHEN g % 40 = 0 THEN 3 ELSE 0 END,
	   2, :'day1'::timestamp + g * interval '1 minute', 2, :'day1'::timestamp + g * interval '1 minute'
FROM generate_series(1, 20000) g;

-- ---------------------------------------------------------------- products
CREATE TABLE product_template (
	id serial PRIMARY KEY,
	name jsonb NOT NULL,
	type varchar NOT NULL,
	categ_id integer,
	list_price numeric,
	uom_id integer,
	uom_po_id integer,
	sale_ok boolean DEFAULT true,
	purchase_ok boolean DEFAULT true,
	available_in_pos boolean DEFAULT true,
	active boolean DEFAULT true,
	company_id integer,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX product_template_name_index ON product_template USING btree ((name->>'en_US'));
CREATE INDEX product_template_categ_id_index ON product_template (categ_id);
CREATE INDEX product_template_company_id_index ON product_template (company_id);

INSERT INTO product_template (name, type, categ_id, list_price, uom_id, uom_po_id,
	available_in_pos, company_id, create_uid, create_date, write_uid, write_date)
SELECT jsonb_build_object('en_US', 'Article ' || g, 'fr_FR', 'Article ' || g),
	   'product', 1 + g % 40, round((1 + random() * 79)::numeric, 2), 1, 1,
	   g % 20 <> 0, 1, 2, :'day1'::timestamp, 2, :'day1'::timestamp
FROM generate_series(1, 5000) g;

CREATE TABLE product_product (
	id serial PRIMARY KEY,
	product_tmpl_id integer NOT NULL REFERENCES product_template ON DELETE CASCADE,
	default_code varchar,
	barcode varchar,
	active boolean DEFAULT true,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp,
	CONSTRAINT product_product_barcode_uniq UNIQUE (barcode)
);
CREATE INDEX product_product_product_tmpl_id_index ON product_product (product_tmpl_id);
CREATE INDEX product_product_default_code_index ON product_product (default_code);

INSERT INTO product_product (product_tmpl_id, default_code, barcode, create_uid, create_date, write_uid, write_date)
SELECT g, 'ART-' || lpad(g::text, 5, '0'), '540' || lpad(g::text, 10, '0'),
	   2, :'day1'::timestamp, 2, :'day1'::timestamp
FROM generate_series(1, 5000) g;

-- ---------------------------------------------------------------- stock
\echo '    stock locations and quants'
CREATE TABLE stock_location (
	id serial PRIMARY KEY,
	name varchar NOT NULL,
	complete_name varchar,
	usage varchar NOT NULL,
	location_id integer REFERENCES stock_location,
	parent_path varchar,
	warehouse_id integer,
	company_id integer,
	active boolean DEFAULT true,
	create_date timestamp,
	write_date timestamp
);
CREATE INDEX stock_location_location_id_index ON stock_location (location_id);
CREATE INDEX stock_location_parent_path_index ON stock_location (parent_path);
CREATE INDEX stock_location_usage_index ON stock_location (usage);

-- 1 Physical Locations, 2 Partners, 3 Virtual, 4 Vendors, 5 Customers,
-- 6 Inventory adjustment, 7 Production; 8..17 the shops' WH/Stock;
-- 18..23 the central warehouse's bins.
INSERT INTO stock_location (id, name, complete_name, usage, location_id, parent_path, company_id, create_date, write_date)
VALUES (1, 'Physical Locations', 'Physical Locations', 'view', NULL, '1/', NULL, :'day1'::timestamp, :'day1'::timestamp),
	   (2, 'Partners', 'Partners', 'view', NULL, '2/', NULL, :'day1'::timestamp, :'day1'::timestamp),
	   (3, 'Virtual Locations', 'Virtual Locations', 'view', NULL, '3/', NULL, :'day1'::timestamp, :'day1'::timestamp),
	   (4, 'Vendors', 'Partners/Vendors', 'supplier', 2, '2/4/', NULL, :'day1'::timestamp, :'day1'::timestamp),
	   (5, 'Customers', 'Partners/Customers', 'customer', 2, '2/5/', NULL, :'day1'::timestamp, :'day1'::timestamp),
	   (6, 'Inventory adjustment', 'Virtual Locations/Inventory adjustment', 'inventory', 3, '3/6/', 1, :'day1'::timestamp, :'day1'::timestamp),
	   (7, 'Production', 'Virtual Locations/Production', 'production', 3, '3/7/', 1, :'day1'::timestamp, :'day1'::timestamp);
INSERT INTO stock_location (id, name, complete_name, usage, location_id, parent_path, warehouse_id, company_id, create_date, write_date)
SELECT 7 + s, 'Stock', 'SHOP' || lpad(s::text, 2, '0') || '/Stock', 'internal', 1, '1/' || (7 + s) || '/', s, 1,
	   :'day1'::timestamp, :'day1'::timestamp
FROM generate_series(1, 10) s;
INSERT INTO stock_location (id, name, complete_name, usage, location_id, parent_path, warehouse_id, company_id, create_date, write_date)
SELECT 17 + b, 'Bin ' || b, 'CWH/Stock/Bin ' || b, 'internal', 1, '1/' || (17 + b) || '/', 11, 1,
	   :'day1'::timestamp, :'day1'::timestamp
FROM generate_series(1, 6) b;
SELECT setval('stock_location_id_seq', 23);

CREATE TABLE stock_quant (
	id serial PRIMARY KEY,
	product_id integer NOT NULL REFERENCES product_product ON DELETE RESTRICT,
	company_id integer,
	location_id integer NOT NULL REFERENCES stock_location ON DELETE RESTRICT,
	lot_id integer,
	package_id integer,
	owner_id integer,
	quantity double precision NOT NULL DEFAULT 0,
	reserved_quantity double precision NOT NULL DEFAULT 0,
	inventory_quantity double precision,
	inventory_diff_quantity double precision,
	inventory_quantity_set boolean DEFAULT false,
	in_date timestamp NOT NULL,
	user_id integer,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX stock_quant_product_id_index ON stock_quant (product_id);
CREATE INDEX stock_quant_location_id_index ON stock_quant (location_id);
CREATE INDEX stock_quant_lot_id_index ON stock_quant (lot_id);
CREATE INDEX stock_quant_package_id_index ON stock_quant (package_id);

-- one quant per product and shop stock location
INSERT INTO stock_quant (product_id, company_id, location_id, quantity, reserved_quantity,
	in_date, create_uid, create_date, write_uid, write_date)
SELECT p, 1, 7 + s, 20 + floor(random() * 200), 0,
	   :'day1'::timestamp, 2, :'day1'::timestamp, 2, :'day1'::timestamp
FROM generate_series(1, 10) s, generate_series(1, 5000) p;

-- ---------------------------------------------------------------- sequences and crons
\echo '    sequences and scheduled actions'
CREATE TABLE ir_sequence (
	id serial PRIMARY KEY,
	name varchar NOT NULL,
	code varchar,
	implementation varchar NOT NULL,
	active boolean DEFAULT true,
	prefix varchar,
	suffix varchar,
	number_next integer NOT NULL,
	number_increment integer NOT NULL,
	padding integer NOT NULL,
	company_id integer,
	use_date_range boolean,
	create_date timestamp,
	write_date timestamp
);
-- 1..10 the shops' POS order sequences (standard), 11 the hash-locked
-- POS journal's secure sequence (no_gap), 12 customer invoices.
INSERT INTO ir_sequence (name, code, implementation, prefix, number_next, number_increment, padding,
	company_id, use_date_range, create_date, write_date)
SELECT 'POS Order SHOP' || lpad(s::text, 2, '0'), 'pos.order', 'standard',
	   'SHOP' || lpad(s::text, 2, '0') || '/', 10001, 1, 4, 1, false, :'day1'::timestamp, :'day1'::timestamp
FROM generate_series(1, 10) s;
INSERT INTO ir_sequence (name, code, implementation, prefix, number_next, number_increment, padding,
	company_id, use_date_range, create_date, write_date)
VALUES ('Securisation of POSS - Point of Sale', NULL, 'no_gap', NULL, 30001, 1, 0, 1, false, :'day1'::timestamp, :'day1'::timestamp),
	   ('Customer Invoices', 'account.move.out_invoice', 'no_gap', 'INV/%(range_year)s/', 15001, 1, 5, 1, true, :'day1'::timestamp, :'day1'::timestamp);

CREATE TABLE ir_cron (
	id serial PRIMARY KEY,
	ir_actions_server_id integer NOT NULL,
	cron_name jsonb,
	user_id integer NOT NULL,
	active boolean DEFAULT true,
	interval_number integer,
	interval_type varchar,
	numbercall integer,
	doall boolean,
	nextcall timestamp NOT NULL,
	lastcall timestamp,
	priority integer,
	create_date timestamp,
	write_date timestamp
);
INSERT INTO ir_cron (ir_actions_server_id, cron_name, user_id, interval_number, interval_type, numbercall,
	doall, nextcall, priority, create_date, write_date)
SELECT 100 + c, jsonb_build_object('en_US', n), 1, i, t, -1, false,
	   -- the morning: the daily jobs ran last night and are due tonight, the
	   -- hourly ones are due now
	   CASE WHEN t = 'days' THEN date_trunc('day', now() at time zone 'UTC') + interval '1 day 2 hours'
			ELSE now() at time zone 'UTC' END,
	   p, :'day1'::timestamp, :'day1'::timestamp
FROM (VALUES (1, 'Procurement: run scheduler', 1, 'days', 5),
			 (2, 'Base: Auto-vacuum internal data', 1, 'days', 3),
			 (3, 'Mail: Email Queue Manager', 1, 'hours', 5),
			 (4, 'Point of Sale: close abandoned sessions', 1, 'days', 5),
			 (5, 'Inventory: merge quants', 1, 'hours', 5),
			 (6, 'Account: Post draft entries with auto_post', 1, 'days', 5),
			 (7, 'Sales: send quotation reminders', 1, 'days', 5),
			 (8, 'Website Visitor : clean inactive visitors', 1, 'days', 5),
			 (9, 'Notification: Delete Notifications older than 6 Month', 1, 'days', 5),
			 (10, 'Partner Autocomplete: Sync with remote DB', 1, 'days', 5),
			 (11, 'Bus: garbage collect presence', 1, 'hours', 5),
			 (12, 'Stock: update replenishment', 1, 'hours', 5)) AS v(c, n, i, t, p);

-- ir.cron _inherits ir.actions.server: each job's model and code
-- (odoo/addons/base/data/ir_cron_data.xml 17.0 autovacuum_job:
-- model ir.autovacuum, code model._run_vacuum_cleaner();
-- stock/data/stock_data.xml 17.0 ir_cron_scheduler_action:
-- procurement.group, model.run_scheduler(True))
CREATE TABLE ir_act_server (
	id serial PRIMARY KEY,
	name jsonb NOT NULL,
	type varchar NOT NULL DEFAULT 'ir.actions.server',
	usage varchar,
	state varchar NOT NULL DEFAULT 'code',
	model_id integer,
	model_name varchar,
	code text,
	create_date timestamp,
	write_date timestamp
);
INSERT INTO ir_act_server (id, name, usage, model_name, code, create_date, write_date)
SELECT c.ir_actions_server_id, c.cron_name, 'ir_cron', v.m, v.code, :'day1'::timestamp, :'day1'::timestamp
FROM ir_cron c
JOIN (VALUES ('Procurement: run scheduler', 'procurement.group', 'model.run_scheduler(True)'),
			 ('Base: Auto-vacuum internal data', 'ir.autovacuum', 'model._run_vacuum_cleaner()'),
			 ('Mail: Email Queue Manager', 'mail.mail', 'model.process_email_queue()'),
			 ('Point of Sale: close abandoned sessions', 'pos.session', 'model._cron_close_abandoned_sessions()'),
			 ('Inventory: merge quants', 'stock.quant', 'model._quant_tasks()'),
			 ('Account: Post draft entries with auto_post', 'account.move', 'model._autopost_draft_entries()'),
			 ('Sales: send quotation reminders', 'sale.order', 'model._cron_send_reminders()'),
			 ('Website Visitor : clean inactive visitors', 'website.visitor', 'model._cron_unlink_old_visitors()'),
			 ('Notification: Delete Notifications older than 6 Month', 'mail.notification', 'model._gc_notifications(max_age_days=180)'),
			 ('Partner Autocomplete: Sync with remote DB', 'res.partner.autocomplete.sync', 'model.start_sync()'),
			 ('Bus: garbage collect presence', 'bus.presence', 'model._gc_presence()'),
			 ('Stock: update replenishment', 'stock.warehouse.orderpoint', 'model._compute_qty_to_order()'))
	 AS v(n, m, code) ON v.n = c.cron_name->>'en_US';
SELECT setval('ir_act_server_id_seq', 200);

CREATE TABLE ir_cron_trigger (
	id serial PRIMARY KEY,
	cron_id integer REFERENCES ir_cron ON DELETE CASCADE,
	call_at timestamp,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX ir_cron_trigger_cron_id_index ON ir_cron_trigger (cron_id);
CREATE INDEX ir_cron_trigger_call_at_index ON ir_cron_trigger (call_at);

-- the installed modules (ir_cron.py reads base's version before each run)
CREATE TABLE ir_module_module (
	id serial PRIMARY KEY,
	name varchar NOT NULL UNIQUE,
	state varchar,
	latest_version varchar,
	create_date timestamp,
	write_date timestamp
);
INSERT INTO ir_module_module (name, state, latest_version)
VALUES ('base', 'installed', '17.0.1.3'), ('point_of_sale', 'installed', '17.0.1.0.1'),
	   ('stock', 'installed', '17.0.1.1'), ('sale', 'installed', '17.0.1.2'),
	   ('account', 'installed', '17.0.1.2'), ('bus', 'installed', '17.0.1.0');

-- every unlink looks for the records' external ids and attachments
CREATE TABLE ir_model_data (
	id serial PRIMARY KEY,
	name varchar NOT NULL,
	module varchar NOT NULL,
	model varchar NOT NULL,
	res_id integer,
	noupdate boolean DEFAULT false,
	create_date timestamp,
	write_date timestamp
);
CREATE INDEX ir_model_data_model_res_id_index ON ir_model_data (model, res_id);
CREATE TABLE ir_attachment (
	id serial PRIMARY KEY,
	name varchar NOT NULL,
	res_model varchar,
	res_id integer,
	store_fname varchar,
	create_date timestamp,
	write_date timestamp
);
CREATE INDEX ir_attachment_res_idx ON ir_attachment (res_model, res_id);

-- a transient model (pos.make.payment, the payment wizard): the nightly
-- ir.autovacuum removes its rows older than an hour
CREATE TABLE pos_make_payment (
	id serial PRIMARY KEY,
	config_id integer,
	amount numeric,
	payment_method_id integer,
	payment_name varchar,
	payment_date timestamp,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
INSERT INTO pos_make_payment (config_id, amount, payment_method_id, payment_date, create_uid, create_date, write_uid, write_date)
SELECT 1 + g % 10, 10 + g % 90, 1, now() at time zone 'UTC' - interval '3 hours',
	   2, now() at time zone 'UTC' - interval '3 hours', 2, now() at time zone 'UTC' - interval '3 hours'
FROM generate_series(1, 1500) g;

-- implementation='standard' draws from a PostgreSQL sequence per record
CREATE SEQUENCE ir_sequence_001 START 10001; CREATE SEQUENCE ir_sequence_002 START 10001;
CREATE SEQUENCE ir_sequence_003 START 10001; CREATE SEQUENCE ir_sequence_004 START 10001;
CREATE SEQUENCE ir_sequence_005 START 10001; CREATE SEQUENCE ir_sequence_006 START 10001;
CREATE SEQUENCE ir_sequence_007 START 10001; CREATE SEQUENCE ir_sequence_008 START 10001;
CREATE SEQUENCE ir_sequence_009 START 10001; CREATE SEQUENCE ir_sequence_010 START 10001;

-- the registry and cache signalling sequences every request reads first
CREATE SEQUENCE base_registry_signaling;
CREATE SEQUENCE base_cache_signaling;
SELECT nextval('base_registry_signaling'), nextval('base_cache_signaling');

-- ---------------------------------------------------------------- accounting
\echo '    journal entries'
CREATE TABLE account_move (
	id serial PRIMARY KEY,
	name varchar,
	ref varchar,
	date date NOT NULL,
	state varchar NOT NULL,
	move_type varchar NOT NULL,
	journal_id integer NOT NULL,
	company_id integer,
	partner_id integer REFERENCES res_partner ON DELETE RESTRICT,
	currency_id integer,
	invoice_date date,
	invoice_origin varchar,
	amount_untaxed numeric,
	amount_tax numeric,
	amount_total numeric,
	amount_residual numeric,
	payment_state varchar,
	sequence_prefix varchar,
	sequence_number integer,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX account_move_date_index ON account_move (date);
CREATE INDEX account_move_state_index ON account_move (state);
CREATE INDEX account_move_journal_id_index ON account_move (journal_id);
CREATE INDEX account_move_partner_id_index ON account_move (partner_id);
CREATE INDEX account_move_invoice_date_index ON account_move (invoice_date);
CREATE INDEX account_move_sequence_index3 ON account_move (journal_id, sequence_prefix DESC, (sequence_number + 1) DESC);
CREATE UNIQUE INDEX account_move_unique_name ON account_move (name, journal_id)
	WHERE (state = 'posted' AND name != '/');

-- journal 1 POS sales (one entry per closed session), 2 customer invoices,
-- 3 vendor bills, 4 miscellaneous
INSERT INTO account_move (name, ref, date, state, move_type, journal_id, company_id, partner_id, currency_id,
	invoice_date, amount_untaxed, amount_tax, amount_total, amount_residual, payment_state,
	sequence_prefix, sequence_number, create_uid, create_date, write_uid, write_date)
SELECT j.prefix || lpad(g::text, 5, '0'), NULL, d::date, 'posted', j.move_type, j.journal_id, 1,
	   CASE WHEN j.journal_id = 4 THEN NULL ELSE 1 + (g * 37) % 20000 END, 1,
	   CASE WHEN j.journal_id IN (2, 3) THEN d::date END,
	   a, round(a * 0.21, 2), round(a * 1.21, 2),
	   CASE WHEN g % 9 = 0 THEN round(a * 1.21, 2) ELSE 0 END,
	   CASE WHEN g % 9 = 0 THEN 'not_paid' ELSE 'paid' END,
	   j.prefix, g, 2, d, 2, d
FROM (VALUES (1, 'entry', 'POSS/2026/', 6000), (2, 'out_invoice', 'INV/2026/', 15000),
			 (3, 'in_invoice', 'BILL/2026/', 6000), (4, 'entry', 'MISC/2026/', 3000)) AS j(journal_id, move_type, prefix, n),
	 LATERAL generate_series(1, j.n) g,
	 LATERAL (SELECT (:'day1'::timestamp + interval '7 hours') + (g::float / j.n) * interval '30 days' AS d,
					 round((10 + random() * 990)::numeric, 2) AS a) x;

-- ---------------------------------------------------------------- point of sale
\echo '    POS sessions, orders and order lines'
CREATE TABLE pos_session (
	id serial PRIMARY KEY,
	name varchar NOT NULL,
	config_id integer NOT NULL,
	user_id integer NOT NULL,
	company_id integer,
	state varchar,
	start_at timestamp,
	stop_at timestamp,
	sequence_number integer DEFAULT 1,
	login_number integer DEFAULT 0,
	move_id integer REFERENCES account_move ON DELETE SET NULL,
	cash_register_balance_start numeric,
	cash_register_balance_end_real numeric,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX pos_session_config_id_index ON pos_session (config_id);
CREATE INDEX pos_session_state_index ON pos_session (state);

-- 30 days x 10 shops; today's sessions (day 30) are still open
INSERT INTO pos_session (name, config_id, user_id, company_id, state, start_at, stop_at, sequence_number,
	login_number, move_id, cash_register_balance_start, create_uid, create_date, write_uid, write_date)
SELECT 'POS/' || lpad(((d - 1) * 10 + s)::text, 5, '0'), s, 2 + s, 1,
	   CASE WHEN d = 30 THEN 'opened' ELSE 'closed' END,
	   (:'day1'::timestamp + interval '7 hours') + (d - 1) * interval '1 day',
	   CASE WHEN d = 30 THEN NULL ELSE (:'day1'::timestamp + interval '19 hours') + (d - 1) * interval '1 day' END,
	   1, 1 + (d + s) % 4,
	   CASE WHEN d = 30 THEN NULL ELSE (d - 1) * 10 + s END,
	   200, 2, (:'day1'::timestamp + interval '7 hours') + (d - 1) * interval '1 day',
	   2, (:'day1'::timestamp + interval '7 hours') + (d - 1) * interval '1 day'
FROM generate_series(1, 30) d, generate_series(1, 10) s;

CREATE TABLE pos_order (
	id serial PRIMARY KEY,
	name varchar NOT NULL,
	pos_reference varchar,
	session_id integer NOT NULL REFERENCES pos_session ON DELETE RESTRICT,
	config_id integer,
	partner_id integer REFERENCES res_partner ON DELETE SET NULL,
	user_id integer,
	company_id integer NOT NULL,
	pricelist_id integer,
	date_order timestamp,
	state varchar,
	amount_tax numeric NOT NULL,
	amount_total numeric NOT NULL,
	amount_paid numeric NOT NULL,
	amount_return numeric NOT NULL,
	account_move integer REFERENCES account_move ON DELETE SET NULL,
	sequence_number integer,
	to_invoice boolean DEFAULT false,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX pos_order_session_id_index ON pos_order (session_id);
CREATE INDEX pos_order_partner_id_index ON pos_order (partner_id);
CREATE INDEX pos_order_date_order_index ON pos_order (date_order);
CREATE INDEX pos_order_state_index ON pos_order (state);
CREATE INDEX pos_order_pos_reference_index ON pos_order (pos_reference);
CREATE INDEX pos_order_account_move_index ON pos_order (account_move);

CREATE TABLE pos_order_line (
	id serial PRIMARY KEY,
	name varchar NOT NULL,
	order_id integer NOT NULL REFERENCES pos_order ON DELETE CASCADE,
	product_id integer NOT NULL REFERENCES product_product ON DELETE RESTRICT,
	full_product_name varchar,
	company_id integer,
	qty numeric,
	price_unit numeric,
	discount numeric,
	price_subtotal numeric NOT NULL,
	price_subtotal_incl numeric NOT NULL,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX pos_order_line_order_id_index ON pos_order_line (order_id);
CREATE INDEX pos_order_line_product_id_index ON pos_order_line (product_id);

-- 100 000 orders spread over the 300 sessions, 1 to 4 lines each (2.5 on
-- average); most are walk-in (partner 7).  The lines are a pure function of
-- the order id, so the order totals are computed in the same pass.
CREATE TEMP TABLE demo_pos_line AS
SELECT o AS order_id, l AS line, 1 + ((o * 31 + l * 977) % 5000) AS product_id, 1 + (o + l) % 3 AS qty
FROM generate_series(1, 100000) o
CROSS JOIN LATERAL generate_series(1, 1 + (o * 7) % 4) l;

INSERT INTO pos_order (id, name, pos_reference, session_id, config_id, partner_id, user_id, company_id, pricelist_id,
	date_order, state, amount_tax, amount_total, amount_paid, amount_return, account_move, sequence_number,
	create_uid, create_date, write_uid, write_date)
SELECT g, 'SHOP' || lpad(s.config_id::text, 2, '0') || '/' || lpad(g::text, 6, '0'),
	   'Order ' || lpad(s.id::text, 5, '0') || '-001-' || lpad(g::text, 6, '0'),
	   s.id, s.config_id,
	   CASE WHEN g % 4 = 0 THEN 1 + (g * 13) % 20000 ELSE 7 END,
	   s.user_id, 1, 1,
	   s.start_at + ((g % 333)::float / 333) * interval '12 hours',
	   CASE WHEN s.state = 'opened' THEN 'paid' ELSE 'done' END,
	   round(t.total - t.total / 1.21, 2), t.total, t.total, 0, s.move_id, g,
	   s.user_id, s.start_at, s.user_id, s.start_at
FROM generate_series(1, 100000) g
JOIN pos_session s ON s.id = 1 + (g - 1) / 334
JOIN (SELECT l.order_id, sum(l.qty * pt.list_price) AS total
	  FROM demo_pos_line l JOIN product_template pt ON pt.id = l.product_id
	  GROUP BY l.order_id) t ON t.order_id = g;
SELECT setval('pos_order_id_seq', 100000);

INSERT INTO pos_order_line (name, order_id, product_id, full_product_name, company_id, qty, price_unit, discount,
	price_subtotal, price_subtotal_incl, create_uid, create_date, write_uid, write_date)
SELECT 'SHOP/' || lpad(o.id::text, 6, '0') || '-' || l.line, o.id, p.id, t.name->>'en_US', 1, l.qty, t.list_price, 0,
	   round(l.qty * t.list_price / 1.21, 2), l.qty * t.list_price,
	   o.user_id, o.date_order, o.user_id, o.date_order
FROM demo_pos_line l
JOIN pos_order o ON o.id = l.order_id
JOIN product_product p ON p.id = l.product_id
JOIN product_template t ON t.id = p.product_tmpl_id
ORDER BY l.order_id, l.line;
DROP TABLE demo_pos_line;

-- ---------------------------------------------------------------- stock moves
\echo '    stock moves'
CREATE TABLE stock_move (
	id serial PRIMARY KEY,
	name varchar NOT NULL,
	sequence integer,
	priority varchar,
	date timestamp NOT NULL,
	date_deadline timestamp,
	company_id integer NOT NULL,
	product_id integer NOT NULL REFERENCES product_product ON DELETE RESTRICT,
	product_uom_qty numeric NOT NULL,
	product_qty numeric,
	quantity numeric,
	product_uom integer NOT NULL,
	location_id integer NOT NULL REFERENCES stock_location ON DELETE RESTRICT,
	location_dest_id integer NOT NULL REFERENCES stock_location ON DELETE RESTRICT,
	partner_id integer,
	picking_id integer,
	picking_type_id integer,
	state varchar,
	origin varchar,
	reference varchar,
	procure_method varchar NOT NULL,
	sale_line_id integer,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX stock_move_date_index ON stock_move (date);
CREATE INDEX stock_move_product_id_index ON stock_move (product_id);
CREATE INDEX stock_move_location_id_index ON stock_move (location_id);
CREATE INDEX stock_move_location_dest_id_index ON stock_move (location_dest_id);
CREATE INDEX stock_move_picking_id_index ON stock_move (picking_id);
CREATE INDEX stock_move_state_index ON stock_move (state);
CREATE INDEX stock_move_reference_index ON stock_move (reference);
CREATE INDEX stock_move_sale_line_id_index ON stock_move (sale_line_id);
CREATE INDEX stock_move_product_location_index
	ON stock_move (product_id, location_id, location_dest_id, company_id, state);

-- deliveries of POS orders (shop stock -> customers) and replenishments
-- (central warehouse bins -> shop stock)
INSERT INTO stock_move (name, sequence, priority, date, company_id, product_id, product_uom_qty, product_qty, quantity,
	product_uom, location_id, location_dest_id, picking_id, picking_type_id, state, origin, reference,
	procure_method, create_uid, create_date, write_uid, write_date)
SELECT t.name->>'en_US', 10, '0', (:'day1'::timestamp + interval '7 hours') + (g::float / 60000) * interval '30 days', 1, p.id,
	   q, q, q, 1,
	   CASE WHEN g % 5 = 0 THEN 18 + g % 6 ELSE 8 + g % 10 END,
	   CASE WHEN g % 5 = 0 THEN 8 + g % 10 ELSE 5 END,
	   1 + g / 3, CASE WHEN g % 5 = 0 THEN 2 ELSE 5 END,
	   CASE WHEN g % 97 = 0 THEN 'assigned' ELSE 'done' END,
	   CASE WHEN g % 5 = 0 THEN 'OP/' || lpad((g / 3)::text, 5, '0') ELSE 'POS/' || lpad((1 + g / 200)::text, 5, '0') END,
	   CASE WHEN g % 5 = 0 THEN 'SHOP/INT/' ELSE 'SHOP/POS/' END || lpad((1 + g / 3)::text, 5, '0'),
	   'make_to_stock', 2,
	   (:'day1'::timestamp + interval '7 hours') + (g::float / 60000) * interval '30 days', 2,
	   (:'day1'::timestamp + interval '7 hours') + (g::float / 60000) * interval '30 days'
FROM generate_series(1, 60000) g
CROSS JOIN LATERAL (SELECT 1 + (g * 53) % 5000 AS pid, 1 + g % 5 AS q) x
JOIN product_product p ON p.id = x.pid
JOIN product_template t ON t.id = p.product_tmpl_id;

CREATE TABLE stock_move_line (
	id serial PRIMARY KEY,
	picking_id integer,
	move_id integer REFERENCES stock_move ON DELETE CASCADE,
	company_id integer NOT NULL,
	product_id integer REFERENCES product_product ON DELETE CASCADE,
	product_uom_id integer NOT NULL,
	quantity numeric,
	location_id integer NOT NULL REFERENCES stock_location,
	location_dest_id integer NOT NULL REFERENCES stock_location,
	lot_id integer,
	package_id integer,
	result_package_id integer,
	owner_id integer,
	state varchar,
	reference varchar,
	date timestamp NOT NULL,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX stock_move_line_move_id_index ON stock_move_line (move_id);
CREATE INDEX stock_move_line_picking_id_index ON stock_move_line (picking_id);
CREATE INDEX stock_move_line_product_id_index ON stock_move_line (product_id);
CREATE INDEX stock_move_line_location_id_index ON stock_move_line (location_id);
CREATE INDEX stock_move_line_location_dest_id_index ON stock_move_line (location_dest_id);
CREATE INDEX stock_move_line_lot_id_index ON stock_move_line (lot_id);

INSERT INTO stock_move_line (picking_id, move_id, company_id, product_id, product_uom_id, quantity, location_id,
	location_dest_id, state, reference, date, create_uid, create_date, write_uid, write_date)
SELECT picking_id, id, company_id, product_id, product_uom, quantity, location_id, location_dest_id, state,
	   reference, date, create_uid, create_date, write_uid, write_date
FROM stock_move;

-- ---------------------------------------------------------------- sales (eCommerce and B2B)
\echo '    sale orders'
CREATE TABLE sale_order (
	id serial PRIMARY KEY,
	name varchar NOT NULL,
	origin varchar,
	client_order_ref varchar,
	state varchar,
	date_order timestamp NOT NULL,
	validity_date date,
	user_id integer,
	partner_id integer NOT NULL REFERENCES res_partner ON DELETE RESTRICT,
	partner_invoice_id integer NOT NULL,
	partner_shipping_id integer NOT NULL,
	pricelist_id integer,
	company_id integer NOT NULL,
	team_id integer,
	warehouse_id integer,
	website_id integer,
	invoice_status varchar,
	amount_untaxed numeric,
	amount_tax numeric,
	amount_total numeric,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX sale_order_name_index ON sale_order (name);
CREATE INDEX sale_order_state_index ON sale_order (state);
CREATE INDEX sale_order_date_order_index ON sale_order (date_order);
CREATE INDEX sale_order_user_id_index ON sale_order (user_id);
CREATE INDEX sale_order_partner_id_index ON sale_order (partner_id);
CREATE INDEX sale_order_company_id_index ON sale_order (company_id);
CREATE INDEX sale_order_website_id_index ON sale_order (website_id);

INSERT INTO sale_order (name, state, date_order, user_id, partner_id, partner_invoice_id, partner_shipping_id,
	pricelist_id, company_id, team_id, warehouse_id, website_id, invoice_status, amount_untaxed, amount_tax,
	amount_total, create_uid, create_date, write_uid, write_date)
SELECT 'S' || lpad(g::text, 5, '0'),
	   (ARRAY['draft', 'sent', 'sale', 'sale', 'sale', 'done', 'cancel'])[1 + g % 7],
	   :'day1'::timestamp + (g::float / 20000) * interval '30 days',
	   2 + g % 5, p, p, p, 1, 1, 1 + g % 3, 11, CASE WHEN g % 3 = 0 THEN 1 END,
	   CASE WHEN g % 7 IN (2, 3, 4) THEN 'to invoice' WHEN g % 7 = 5 THEN 'invoiced' ELSE 'no' END,
	   a, round(a * 0.21, 2), round(a * 1.21, 2), 2,
	   :'day1'::timestamp + (g::float / 20000) * interval '30 days', 2,
	   :'day1'::timestamp + (g::float / 20000) * interval '30 days'
FROM generate_series(1, 20000) g,
	 LATERAL (SELECT 1 + (g * 101) % 20000 AS p, round((20 + random() * 2000)::numeric, 2) AS a) x;

CREATE TABLE sale_order_line (
	id serial PRIMARY KEY,
	order_id integer NOT NULL REFERENCES sale_order ON DELETE CASCADE,
	sequence integer,
	name text NOT NULL,
	product_id integer REFERENCES product_product ON DELETE RESTRICT,
	product_uom_qty numeric NOT NULL,
	product_uom integer,
	price_unit numeric NOT NULL,
	discount numeric,
	price_subtotal numeric,
	price_tax double precision,
	price_total numeric,
	qty_delivered numeric,
	qty_invoiced numeric,
	qty_to_invoice numeric,
	state varchar,
	invoice_status varchar,
	company_id integer,
	order_partner_id integer,
	salesman_id integer,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
CREATE INDEX sale_order_line_order_id_index ON sale_order_line (order_id);
CREATE INDEX sale_order_line_product_id_index ON sale_order_line (product_id);
CREATE INDEX sale_order_line_company_id_index ON sale_order_line (company_id);

INSERT INTO sale_order_line (order_id, sequence, name, product_id, product_uom_qty, product_uom, price_unit, discount,
	price_subtotal, price_tax, price_total, qty_delivered, qty_invoiced, qty_to_invoice, state, invoice_status,
	company_id, order_partner_id, salesman_id, create_uid, create_date, write_uid, write_date)
SELECT o.id, 10 * l, t.name->>'en_US', p.id, q, 1, t.list_price, 0, q * t.list_price,
	   round(q * t.list_price * 0.21, 2), round(q * t.list_price * 1.21, 2),
	   CASE WHEN o.state IN ('sale', 'done') THEN q ELSE 0 END,
	   CASE WHEN o.invoice_status = 'invoiced' THEN q ELSE 0 END,
	   CASE WHEN o.invoice_status = 'to invoice' THEN q ELSE 0 END,
	   o.state, o.invoice_status, 1, o.partner_id, o.user_id, 2, o.date_order, 2, o.date_order
FROM sale_order o
CROSS JOIN LATERAL generate_series(1, 1 + (o.id * 3) % 4) l
CROSS JOIN LATERAL (SELECT 1 + (o.id * 17 + l * 389) % 5000 AS pid, 1 + (o.id + l) % 10 AS q) x
JOIN product_product p ON p.id = x.pid
JOIN product_template t ON t.id = p.product_tmpl_id;

-- ---------------------------------------------------------------- bus
\echo '    bus messages'
CREATE TABLE bus_bus (
	id serial PRIMARY KEY,
	channel varchar,
	message varchar,
	create_uid integer,
	create_date timestamp,
	write_uid integer,
	write_date timestamp
);
-- no index on channel: Odoo's poll is driven by the primary key
INSERT INTO bus_bus (channel, message, create_uid, create_date, write_uid, write_date)
SELECT '["retail",' || CASE WHEN g % 3 = 0 THEN '"res.partner",' || (1 + g % 20000) ELSE '"pos.config",' || (1 + g % 10) END || ']',
	   '{"type": "pos.order/sync", "payload": {"order_id": ' || g || '}}',
	   2, now() at time zone 'UTC' - (20000 - g) * interval '50 milliseconds',
	   2, now() at time zone 'UTC' - (20000 - g) * interval '50 milliseconds'
FROM generate_series(1, 20000) g;

-- ---------------------------------------------------------------- reporting model
\echo '    reporting view, statistics'
-- report.pos.order is an _auto = False model: Odoo reads it from a view.
CREATE VIEW report_pos_order AS
SELECT min(l.id) AS id,
	   count(*) AS nbr_lines,
	   s.date_order AS date,
	   sum(l.qty) AS product_qty,
	   sum(l.qty * l.price_unit / 1.21) AS price_sub_total,
	   sum(l.price_subtotal_incl) AS price_total,
	   sum((l.qty * l.price_unit) * (l.discount / 100)) AS total_discount,
	   s.id AS order_id,
	   s.partner_id,
	   s.state,
	   s.user_id,
	   s.company_id,
	   s.session_id,
	   s.config_id,
	   s.account_move IS NOT NULL AS invoiced,
	   l.product_id,
	   pt.categ_id AS product_categ_id,
	   p.product_tmpl_id
FROM pos_order_line AS l
INNER JOIN pos_order s ON s.id = l.order_id
LEFT JOIN product_product p ON l.product_id = p.id
LEFT JOIN product_template pt ON p.product_tmpl_id = pt.id
GROUP BY s.id, s.date_order, s.partner_id, s.state, pt.categ_id, s.user_id, s.company_id, s.session_id,
		 s.config_id, s.account_move, l.product_id, pt.categ_id, p.product_tmpl_id;

ANALYZE;
