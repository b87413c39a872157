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

-- Delta snapshots: statements, models, lock contention and autovacuum tables
-- changed after since_generation only, plus what was removed since; pass
-- the snapshot's generation back next time.  0, or a generation whose
-- removals are no longer known, gives the full picture (delta = false).
CREATE FUNCTION odoo_retail_guard.snapshot(since_cursor bigint, since_generation bigint)
RETURNS bytea
AS 'MODULE_PATHNAME', 'org_snapshot'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION odoo_retail_guard.snapshot(bigint, bigint) IS
	'As snapshot(bigint), with only the entries changed after since_generation (odoo_retail_guard.Snapshot.delta).';

REVOKE ALL ON FUNCTION odoo_retail_guard.snapshot(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.snapshot(bigint, bigint)
	TO pg_monitor, odoo_retail_guard_reader;

-- As snapshot(bigint, bigint); with statements => false it carries no
-- statement entry (the model sums still cover them all): what a reader
-- that keeps no statements asks for, a quarter of the bytes and of the
-- server's work at 5,000 statements (Snapshot.statements_omitted).
CREATE FUNCTION odoo_retail_guard.snapshot(since_cursor bigint, since_generation bigint,
	statements boolean)
RETURNS bytea
AS 'MODULE_PATHNAME', 'org_snapshot'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION odoo_retail_guard.snapshot(bigint, bigint, boolean) IS
	'As snapshot(bigint, bigint); statements => false leaves the statement entries out (odoo_retail_guard.Snapshot.statements_omitted).';

REVOKE ALL ON FUNCTION odoo_retail_guard.snapshot(bigint, bigint, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.snapshot(bigint, bigint, boolean)
	TO pg_monitor, odoo_retail_guard_reader;

-- The node's change generation now: one more than the generation the last
-- snapshot reported (for tools and benchmarks that do not decode snapshots).
CREATE FUNCTION odoo_retail_guard.snapshot_generation()
RETURNS bigint
AS 'MODULE_PATHNAME', 'org_snapshot_generation'
LANGUAGE C STRICT VOLATILE;

REVOKE ALL ON FUNCTION odoo_retail_guard.snapshot_generation() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.snapshot_generation()
	TO pg_monitor, odoo_retail_guard_reader;
