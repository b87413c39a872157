-- The websocket process polls the bus for the channels of a POS terminal
-- and a customer (bus.bus _poll), a few times a second.
\set last random(15000, 20000)
\set shop random(1, 10)
\set partner random(1, 20000)
SELECT "bus_bus"."id", "bus_bus"."channel", "bus_bus"."message" FROM "bus_bus" WHERE (("bus_bus"."id" > :last) AND ("bus_bus"."channel" IN ('["retail","pos.config",' || :shop || ']', '["retail","res.partner",' || :partner || ']'))) ORDER BY "bus_bus"."id";
\sleep 50 ms
