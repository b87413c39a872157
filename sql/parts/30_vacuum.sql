-- Autovacuum lag per table of every tracked database, and the holders of
-- the xmin horizon.

CREATE FUNCTION odoo_retail_guard.autovacuum_lag_internal(
	OUT dbid oid,
	OUT relid oid,
	OUT relation text,
	OUT model text,
	OUT live_tuples bigint,
	OUT dead_tuples bigint,
	OUT reltuples double precision,
	OUT threshold double precision,
	OUT dead_over_threshold double precision,
	OUT over_threshold boolean,
	OUT over_threshold_since timestamptz,
	OUT lag_s double precision,
	OUT autovacuum_enabled boolean,
	OUT last_vacuum timestamptz,
	OUT last_autovacuum timestamptz,
	OUT last_analyze timestamptz,
	OUT last_autoanalyze timestamptz,
	OUT vacuum_running boolean,
	OUT vacuum_pid integer,
	OUT vacuum_phase text,
	OUT xid_age bigint,
	OUT mxid_age bigint,
	OUT freeze_max_age bigint,
	OUT scanned_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_autovacuum_lag'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.vacuum_horizon_internal(
	OUT holder_kind text,
	OUT pid integer,
	OUT dbid oid,
	OUT application_name text,
	OUT worker_class text,
	OUT state text,
	OUT xmin xid,
	OUT xmin_age bigint,
	OUT since timestamptz,
	OUT age_s double precision,
	OUT name text,
	OUT query text,
	OUT oldest boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_vacuum_horizon'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE VIEW odoo_retail_guard.autovacuum_lag AS
SELECT d.datname AS database,
	   l.relation,
	   l.model,
	   l.live_tuples,
	   l.dead_tuples,
	   round(l.threshold::numeric, 1) AS threshold,
	   round(l.dead_over_threshold::numeric, 3) AS dead_over_threshold,
	   l.over_threshold,
	   l.over_threshold_since,
	   round(l.lag_s::numeric, 1) AS lag_s,
	   l.autovacuum_enabled,
	   l.vacuum_running,
	   l.vacuum_pid,
	   l.vacuum_phase,
	   l.last_vacuum,
	   l.last_autovacuum,
	   l.last_analyze,
	   l.last_autoanalyze,
	   l.xid_age,
	   l.mxid_age,
	   l.freeze_max_age,
	   round((l.xid_age::numeric / nullif(l.freeze_max_age, 0)), 3) AS xid_age_over_freeze_max,
	   l.reltuples,
	   l.scanned_at,
	   l.dbid,
	   l.relid
FROM odoo_retail_guard.autovacuum_lag_internal() l
LEFT JOIN pg_database d ON d.oid = l.dbid
ORDER BY l.over_threshold DESC, l.lag_s DESC, l.dead_over_threshold DESC, l.xid_age DESC;

COMMENT ON VIEW odoo_retail_guard.autovacuum_lag IS
	'Per table of every tracked database: dead tuples against the autovacuum threshold, since when over it, vacuum progress, freeze ages; worst first.';

CREATE VIEW odoo_retail_guard.vacuum_horizon AS
SELECT h.holder_kind,
	   h.pid,
	   d.datname AS database,
	   h.application_name,
	   h.worker_class,
	   h.state,
	   h.xmin,
	   h.xmin_age,
	   h.since,
	   round((h.age_s)::numeric, 1) AS age_s,
	   h.name,
	   h.query,
	   h.oldest,
	   h.dbid
FROM odoo_retail_guard.vacuum_horizon_internal() h
LEFT JOIN pg_database d ON d.oid = h.dbid;

COMMENT ON VIEW odoo_retail_guard.vacuum_horizon IS
	'Everything that holds back the xmin horizon (backends, prepared transactions, slots, standby feedback), oldest first.';

REVOKE ALL ON FUNCTION odoo_retail_guard.autovacuum_lag_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.vacuum_horizon_internal() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.autovacuum_lag_internal() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.vacuum_horizon_internal() TO pg_monitor, odoo_retail_guard_reader;
REVOKE ALL ON odoo_retail_guard.autovacuum_lag, odoo_retail_guard.vacuum_horizon FROM PUBLIC;
GRANT SELECT ON odoo_retail_guard.autovacuum_lag, odoo_retail_guard.vacuum_horizon
	TO pg_monitor, odoo_retail_guard_reader;
