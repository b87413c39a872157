-- Odoo scheduled jobs running now: the cron cursor (idle in transaction
-- after acquiring the job's ir_cron row) and the job connection(s) of the
-- same Odoo process.  Read live from the backend status entries.

CREATE FUNCTION odoo_retail_guard.odoo_jobs_internal(
	OUT cron_pid integer,
	OUT job_pids integer[],
	OUT job_connections integer,
	OUT dbid oid,
	OUT application_name text,
	OUT job_id bigint,
	OUT started timestamptz,
	OUT running_s double precision,
	OUT job_state text,
	OUT job_query text,
	OUT job_model text,
	OUT holds_horizon boolean,
	OUT xmin_age bigint,
	OUT blocked_sessions bigint,
	OUT kind text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_odoo_jobs'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW odoo_retail_guard.odoo_jobs AS
SELECT j.cron_pid,
	   j.job_pids,
	   j.job_connections,
	   d.datname AS database,
	   j.application_name,
	   j.job_id,
	   j.started,
	   round(j.running_s::numeric, 1) AS running_s,
	   j.job_state,
	   j.job_query,
	   j.job_model,
	   j.holds_horizon,
	   j.xmin_age,
	   j.blocked_sessions,
	   j.kind,
	   j.dbid
FROM odoo_retail_guard.odoo_jobs_internal() j
LEFT JOIN pg_database d ON d.oid = j.dbid
ORDER BY j.running_s DESC;

COMMENT ON VIEW odoo_retail_guard.odoo_jobs IS
	'Odoo scheduled jobs running now: the cron cursor (do not terminate it: that releases the job''s lock while the job goes on) and the job connection(s) of the same process. Empty job_pids: no live job connection.';

REVOKE ALL ON FUNCTION odoo_retail_guard.odoo_jobs_internal() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.odoo_jobs_internal()
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;
REVOKE ALL ON odoo_retail_guard.odoo_jobs FROM PUBLIC;
GRANT SELECT ON odoo_retail_guard.odoo_jobs
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;
