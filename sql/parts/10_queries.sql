-- Slow Odoo query tracking: per-statement stats, per-model stats, slow samples.

CREATE FUNCTION odoo_retail_guard.query_stats(
	OUT dbid oid,
	OUT userid oid,
	OUT worker_class text,
	OUT queryid bigint,
	OUT toplevel boolean,
	OUT model text,
	OUT relation text,
	OUT operation text,
	OUT row_lock boolean,
	OUT calls bigint,
	OUT total_ms double precision,
	OUT min_ms double precision,
	OUT max_ms double precision,
	OUT mean_ms double precision,
	OUT stddev_ms double precision,
	OUT p50_ms double precision,
	OUT p95_ms double precision,
	OUT p99_ms double precision,
	OUT rows bigint,
	OUT slow_calls bigint,
	OUT first_seen timestamptz,
	OUT last_seen timestamptz,
	OUT query text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_query_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.model_stats_internal(
	OUT dbid oid,
	OUT model text,
	OUT operation text,
	OUT statements bigint,
	OUT calls bigint,
	OUT total_ms double precision,
	OUT mean_ms double precision,
	OUT max_ms double precision,
	OUT p50_ms double precision,
	OUT p95_ms double precision,
	OUT p99_ms double precision,
	OUT rows bigint,
	OUT slow_calls bigint,
	OUT min_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_model_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.slow_query_samples_since(
	cursor bigint,
	OUT sample_id bigint,
	OUT sample_time timestamptz,
	OUT pid integer,
	OUT dbid oid,
	OUT userid oid,
	OUT application_name text,
	OUT worker_class text,
	OUT duration_ms double precision,
	OUT rows bigint,
	OUT model text,
	OUT relation text,
	OUT operation text,
	OUT queryid bigint,
	OUT query text,
	OUT gap boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_slow_query_samples'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.memory_internal(
	OUT area text,
	OUT capacity bigint,
	OUT used bigint,
	OUT evicted bigint,
	OUT stats_reset timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_memory'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.reset()
RETURNS void
AS 'MODULE_PATHNAME', 'org_reset'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION odoo_retail_guard.reset() IS
	'Forget all query statistics and slow samples (odoo_retail_guard_admin or superuser).';

CREATE VIEW odoo_retail_guard.slow_queries AS
SELECT d.datname AS database,
	   r.rolname AS role,
	   q.worker_class,
	   q.model,
	   q.relation,
	   q.operation,
	   q.row_lock,
	   q.calls,
	   round(q.total_ms::numeric, 3) AS total_ms,
	   round(q.mean_ms::numeric, 3) AS mean_ms,
	   round(q.p50_ms::numeric, 3) AS p50_ms,
	   round(q.p95_ms::numeric, 3) AS p95_ms,
	   round(q.p99_ms::numeric, 3) AS p99_ms,
	   round(q.min_ms::numeric, 3) AS min_ms,
	   round(q.max_ms::numeric, 3) AS max_ms,
	   round(q.stddev_ms::numeric, 3) AS stddev_ms,
	   q.rows,
	   q.slow_calls,
	   q.toplevel,
	   q.queryid,
	   q.first_seen,
	   q.last_seen,
	   q.query,
	   q.dbid,
	   q.userid
FROM odoo_retail_guard.query_stats() q
LEFT JOIN pg_database d ON d.oid = q.dbid
LEFT JOIN pg_roles r ON r.oid = q.userid;

COMMENT ON VIEW odoo_retail_guard.slow_queries IS
	'Per statement (database, role, Odoo worker class, query id): calls, timing, percentiles, slow count.';

CREATE VIEW odoo_retail_guard.model_stats AS
SELECT d.datname AS database,
	   m.model,
	   m.operation,
	   m.statements,
	   m.calls,
	   round(m.total_ms::numeric, 3) AS total_ms,
	   round(m.mean_ms::numeric, 3) AS mean_ms,
	   round(m.p50_ms::numeric, 3) AS p50_ms,
	   round(m.p95_ms::numeric, 3) AS p95_ms,
	   round(m.p99_ms::numeric, 3) AS p99_ms,
	   round(m.max_ms::numeric, 3) AS max_ms,
	   m.slow_calls,
	   m.rows,
	   m.dbid
FROM odoo_retail_guard.model_stats_internal() m
LEFT JOIN pg_database d ON d.oid = m.dbid;

COMMENT ON VIEW odoo_retail_guard.model_stats IS
	'Per Odoo model and operation: calls, total time, percentiles and slow count.';

CREATE VIEW odoo_retail_guard.slow_query_samples AS
SELECT s.sample_id,
	   s.sample_time,
	   s.pid,
	   d.datname AS database,
	   r.rolname AS role,
	   s.application_name,
	   s.worker_class,
	   round(s.duration_ms::numeric, 3) AS duration_ms,
	   s.rows,
	   s.model,
	   s.relation,
	   s.operation,
	   s.queryid,
	   s.query
FROM odoo_retail_guard.slow_query_samples_since(0) s
LEFT JOIN pg_database d ON d.oid = s.dbid
LEFT JOIN pg_roles r ON r.oid = s.userid;

COMMENT ON VIEW odoo_retail_guard.slow_query_samples IS
	'The most recent slow executions, oldest first; query text normalized (no constants).';

CREATE VIEW odoo_retail_guard.memory AS
SELECT * FROM odoo_retail_guard.memory_internal();

COMMENT ON VIEW odoo_retail_guard.memory IS
	'Configured sizes of the shared-memory tables, entries used and evictions.';

-- Reading needs pg_monitor or odoo_retail_guard_reader; texts are filtered
-- inside for pg_read_all_stats.
REVOKE ALL ON FUNCTION odoo_retail_guard.query_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.model_stats_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.slow_query_samples_since(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.memory_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.reset() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.query_stats() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.model_stats_internal() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.slow_query_samples_since(bigint) TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.memory_internal() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.reset() TO odoo_retail_guard_admin;
REVOKE ALL ON odoo_retail_guard.slow_queries, odoo_retail_guard.model_stats,
	odoo_retail_guard.slow_query_samples, odoo_retail_guard.memory FROM PUBLIC;
GRANT SELECT ON odoo_retail_guard.slow_queries, odoo_retail_guard.model_stats,
	odoo_retail_guard.slow_query_samples, odoo_retail_guard.memory
	TO pg_monitor, odoo_retail_guard_reader;
