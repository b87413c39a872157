-- The sampler background worker's own status.

CREATE FUNCTION odoo_retail_guard.sampler_status_internal(
	OUT pid integer,
	OUT enabled boolean,
	OUT started_at timestamptz,
	OUT starts bigint,
	OUT lock_samples bigint,
	OUT replication_samples bigint,
	OUT errors bigint,
	OUT last_lock_sample timestamptz,
	OUT last_replication_sample timestamptz,
	OUT lock_sample_ms_total double precision,
	OUT replication_sample_ms_total double precision,
	OUT vacuum_samples bigint,
	OUT last_vacuum_sample timestamptz,
	OUT vacuum_sample_ms_total double precision,
	OUT vacuum_scans bigint,
	OUT vacuum_scan_cpu_ms_total double precision,
	OUT vacuum_skips bigint,
	OUT vacuum_scan_starts bigint,
	OUT vacuum_stat_passes bigint,
	OUT vacuum_evicted bigint,
	OUT vacuum_untracked_tables bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_sampler_status_fn'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW odoo_retail_guard.sampler_status AS
SELECT * FROM odoo_retail_guard.sampler_status_internal();

COMMENT ON VIEW odoo_retail_guard.sampler_status IS
	'The sampler process: pid (NULL while it is down), start count, samples taken, failed samples, time spent; CPU of the per-database vacuum scans and how many were started; statistics passes; tracked tables evicted for worse ones and tables left out by the caps; vacuum ticks skipped because pg_database was locked.';

REVOKE ALL ON FUNCTION odoo_retail_guard.sampler_status_internal() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.sampler_status_internal() TO pg_monitor, odoo_retail_guard_reader;
REVOKE ALL ON odoo_retail_guard.sampler_status FROM PUBLIC;
GRANT SELECT ON odoo_retail_guard.sampler_status TO pg_monitor, odoo_retail_guard_reader;
