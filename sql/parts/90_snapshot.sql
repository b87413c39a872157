-- The agent's snapshot: every tracker's state as one protobuf message
-- (proto/odoo_retail_guard.proto).  Ring entries newer than since_cursor
-- only; pass the snapshot's next_cursor back on the next call.

CREATE FUNCTION odoo_retail_guard.snapshot(since_cursor bigint DEFAULT 0)
RETURNS bytea
AS 'MODULE_PATHNAME', 'org_snapshot'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION odoo_retail_guard.snapshot(bigint) IS
	'Protobuf-encoded state of every tracker (odoo_retail_guard.Snapshot); query texts only for pg_read_all_stats.';

REVOKE ALL ON FUNCTION odoo_retail_guard.snapshot(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.snapshot(bigint)
	TO pg_monitor, odoo_retail_guard_reader;
