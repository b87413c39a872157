-- Lock contention: live blocking chains, accumulated contention per
-- relation, finished long waits, lock conflict errors per database.
-- Filled by the sampler background worker.

CREATE FUNCTION odoo_retail_guard.blocking_chains_internal(
	OUT waiter_pid integer,
	OUT dbid oid,
	OUT waiter_application_name text,
	OUT waiter_worker_class text,
	OUT lock_type text,
	OUT mode text,
	OUT relid oid,
	OUT relation text,
	OUT model text,
	OUT wait_start timestamptz,
	OUT wait_ms double precision,
	OUT chain integer[],
	OUT chain_cut boolean,
	OUT hard_blockers integer[],
	OUT soft_blockers integer[],
	OUT root_pid integer,
	OUT root_application_name text,
	OUT root_worker_class text,
	OUT root_state text,
	OUT root_xact_start timestamptz,
	OUT root_xact_age_ms double precision,
	OUT root_query text,
	OUT waiter_query text,
	OUT sampled_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_blocking_chains'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.lock_contention_internal(
	OUT dbid oid,
	OUT relid oid,
	OUT relation text,
	OUT model text,
	OUT lock_type text,
	OUT mode text,
	OUT waits bigint,
	OUT total_wait_ms double precision,
	OUT max_wait_ms double precision,
	OUT mean_wait_ms double precision,
	OUT distinct_waiters bigint,
	OUT first_seen timestamptz,
	OUT last_seen timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_lock_contention'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.lock_wait_events_since(
	cursor bigint,
	OUT event_id bigint,
	OUT event_time timestamptz,
	OUT wait_start timestamptz,
	OUT waiter_pid integer,
	OUT waiter_application_name text,
	OUT waiter_worker_class text,
	OUT root_pid integer,
	OUT root_application_name text,
	OUT root_worker_class text,
	OUT dbid oid,
	OUT relid oid,
	OUT relation text,
	OUT model text,
	OUT lock_type text,
	OUT mode text,
	OUT wait_ms double precision,
	OUT gap boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_lock_wait_events_fn'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.lock_conflicts_internal(
	OUT dbid oid,
	OUT deadlocks bigint,
	OUT deadlocks_logged bigint,
	OUT lock_not_available bigint,
	OUT serialization_failures bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_lock_conflicts'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.reset_lock_stats()
RETURNS void
AS 'MODULE_PATHNAME', 'org_reset_lock_stats'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION odoo_retail_guard.reset_lock_stats() IS
	'Forget accumulated lock contention, lock wait events and conflict counts (odoo_retail_guard_admin or superuser).';

CREATE VIEW odoo_retail_guard.blocking_chains AS
SELECT b.waiter_pid,
	   d.datname AS database,
	   b.waiter_application_name,
	   b.waiter_worker_class,
	   b.lock_type,
	   b.mode,
	   b.relation,
	   b.model,
	   round(b.wait_ms::numeric, 1) AS wait_ms,
	   b.wait_start,
	   b.chain,
	   b.root_pid,
	   b.root_application_name,
	   b.root_worker_class,
	   b.root_state,
	   round(b.root_xact_age_ms::numeric, 1) AS root_xact_age_ms,
	   b.root_xact_start,
	   b.root_query,
	   b.waiter_query,
	   b.hard_blockers,
	   b.soft_blockers,
	   b.chain_cut,
	   b.sampled_at,
	   b.dbid,
	   b.relid
FROM odoo_retail_guard.blocking_chains_internal() b
LEFT JOIN pg_database d ON d.oid = b.dbid
ORDER BY b.wait_ms DESC;

COMMENT ON VIEW odoo_retail_guard.blocking_chains IS
	'One row per backend waiting on a heavyweight lock at the last sample, with its chain of blockers up to the root.';

CREATE VIEW odoo_retail_guard.lock_contention AS
SELECT d.datname AS database,
	   c.relation,
	   c.model,
	   c.lock_type,
	   c.mode,
	   c.waits,
	   round(c.total_wait_ms::numeric, 1) AS total_wait_ms,
	   round(c.max_wait_ms::numeric, 1) AS max_wait_ms,
	   round(c.mean_wait_ms::numeric, 1) AS mean_wait_ms,
	   c.distinct_waiters,
	   c.first_seen,
	   c.last_seen,
	   c.dbid,
	   c.relid
FROM odoo_retail_guard.lock_contention_internal() c
LEFT JOIN pg_database d ON d.oid = c.dbid
ORDER BY c.total_wait_ms DESC;

COMMENT ON VIEW odoo_retail_guard.lock_contention IS
	'Lock waits seen by the sampler per (database, relation, lock type, mode) since the last reset.';

CREATE VIEW odoo_retail_guard.lock_wait_events AS
SELECT e.event_id,
	   e.event_time,
	   e.wait_start,
	   e.waiter_pid,
	   e.waiter_application_name,
	   e.waiter_worker_class,
	   e.root_pid,
	   e.root_application_name,
	   e.root_worker_class,
	   d.datname AS database,
	   e.relation,
	   e.model,
	   e.lock_type,
	   e.mode,
	   round(e.wait_ms::numeric, 1) AS wait_ms,
	   e.dbid,
	   e.relid
FROM odoo_retail_guard.lock_wait_events_since(0) e
LEFT JOIN pg_database d ON d.oid = e.dbid;

COMMENT ON VIEW odoo_retail_guard.lock_wait_events IS
	'Finished lock waits at least lock_wait_event_threshold long, oldest first.';

CREATE VIEW odoo_retail_guard.lock_conflicts AS
SELECT d.datname AS database,
	   c.deadlocks,
	   c.deadlocks_logged,
	   c.lock_not_available,
	   c.serialization_failures,
	   c.dbid
FROM odoo_retail_guard.lock_conflicts_internal() c
LEFT JOIN pg_database d ON d.oid = c.dbid;

COMMENT ON VIEW odoo_retail_guard.lock_conflicts IS
	'Per database: deadlocks (PostgreSQL statistics) and 40P01 / 55P03 / 40001 errors seen in the error stream.';

REVOKE ALL ON FUNCTION odoo_retail_guard.blocking_chains_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.lock_contention_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.lock_wait_events_since(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.lock_conflicts_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.reset_lock_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.blocking_chains_internal() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.lock_contention_internal() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.lock_wait_events_since(bigint) TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.lock_conflicts_internal() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.reset_lock_stats() TO odoo_retail_guard_admin;
REVOKE ALL ON odoo_retail_guard.blocking_chains, odoo_retail_guard.lock_contention,
	odoo_retail_guard.lock_wait_events, odoo_retail_guard.lock_conflicts FROM PUBLIC;
GRANT SELECT ON odoo_retail_guard.blocking_chains, odoo_retail_guard.lock_contention,
	odoo_retail_guard.lock_wait_events, odoo_retail_guard.lock_conflicts
	TO pg_monitor, odoo_retail_guard_reader;
