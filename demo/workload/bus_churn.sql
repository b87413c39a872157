-- The bus during a flash sale: every POS terminal and eCommerce page posts
-- notifications, and the websocket process marks them read.  Autocommit:
-- each statement is its own transaction, so bus_bus grows dead tuples fast.
\set shop random(1, 10)
\set n random(1, 100000)
INSERT INTO "bus_bus" ("channel", "message", "create_uid", "create_date", "write_uid", "write_date") VALUES ('["retail","pos.config",' || :shop || ']', '{"type": "pos.order/sync", "payload": {"flash": ' || :n || '}}', 2, (now() at time zone 'UTC'), 2, (now() at time zone 'UTC'));
UPDATE "bus_bus" SET "write_date" = (now() at time zone 'UTC') WHERE "id" = (SELECT max("id") FROM "bus_bus") - (:n % 2000);
\sleep 5 ms
