-- Connection throttle: rules enforced when clients authenticate.

CREATE FUNCTION odoo_retail_guard.throttle(
	name text,
	max_connections integer,
	ttl interval,
	reason text,
	application_name text DEFAULT NULL,
	role text DEFAULT NULL,
	database text DEFAULT NULL,
	worker_class text DEFAULT NULL,
	drain_idle_in_transaction interval DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'org_throttle'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION odoo_retail_guard.throttle(text, integer, interval, text, text, text, text, text, interval) IS
	'Set (or replace) a throttle rule: at most max_connections new matching connections for ttl; returns the rule id.';

CREATE FUNCTION odoo_retail_guard.release(name text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'org_release'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION odoo_retail_guard.release(text) IS
	'Lift a throttle rule before its expiry; true when an active rule of that name existed.';

CREATE FUNCTION odoo_retail_guard.drain()
RETURNS integer
AS 'MODULE_PATHNAME', 'org_drain'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION odoo_retail_guard.drain() IS
	'Terminate sessions admitted under a rule with a drain that sit idle in transaction too long; returns how many.';

CREATE FUNCTION odoo_retail_guard.throttle_rules_internal(
	OUT rule_id integer,
	OUT name text,
	OUT application_name text,
	OUT role text,
	OUT database text,
	OUT worker_class text,
	OUT max_connections integer,
	OUT current_connections integer,
	OUT refused bigint,
	OUT drain_idle_s integer,
	OUT drained bigint,
	OUT reason text,
	OUT set_by text,
	OUT created timestamptz,
	OUT expires timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_throttle_rules'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION odoo_retail_guard.throttle_events_since(
	cursor bigint,
	OUT event_id bigint,
	OUT event_time timestamptz,
	OUT kind text,
	OUT rule_id integer,
	OUT rule_name text,
	OUT pid integer,
	OUT database text,
	OUT role text,
	OUT application_name text,
	OUT worker_class text,
	OUT gap boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_throttle_events'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW odoo_retail_guard.throttle_rules AS
SELECT r.rule_id,
	   r.name,
	   r.application_name,
	   r.role,
	   r.database,
	   r.worker_class,
	   r.max_connections,
	   r.current_connections,
	   r.refused,
	   CASE WHEN r.drain_idle_s > 0 THEN make_interval(secs => r.drain_idle_s) END
		   AS drain_idle_in_transaction,
	   r.drained,
	   r.reason,
	   r.set_by,
	   r.created,
	   r.expires,
	   greatest(r.expires - clock_timestamp(), interval '0') AS remaining
FROM odoo_retail_guard.throttle_rules_internal() r;

COMMENT ON VIEW odoo_retail_guard.throttle_rules IS
	'Active throttle rules: match, limit, connections admitted under the rule and still open, refusals, expiry.';

CREATE VIEW odoo_retail_guard.throttle_events AS
SELECT e.event_id, e.event_time, e.kind, e.rule_id, e.rule_name, e.pid,
	   e.database, e.role, e.application_name, e.worker_class
FROM odoo_retail_guard.throttle_events_since(0) e;

COMMENT ON VIEW odoo_retail_guard.throttle_events IS
	'Recent connections refused and sessions drained by throttle rules, oldest first.';

-- Changing rules: odoo_retail_guard_admin or superuser.  Reading: pg_monitor
-- or odoo_retail_guard_reader.
REVOKE ALL ON FUNCTION odoo_retail_guard.throttle(text, integer, interval, text, text, text, text, text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.release(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.drain() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.throttle_rules_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.throttle_events_since(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.throttle(text, integer, interval, text, text, text, text, text, interval),
	odoo_retail_guard.release(text), odoo_retail_guard.drain()
	TO odoo_retail_guard_admin;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.throttle_rules_internal(),
	odoo_retail_guard.throttle_events_since(bigint)
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;
REVOKE ALL ON odoo_retail_guard.throttle_rules, odoo_retail_guard.throttle_events FROM PUBLIC;
GRANT SELECT ON odoo_retail_guard.throttle_rules, odoo_retail_guard.throttle_events
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;
