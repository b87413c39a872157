-- Destructive-statement journal: DROP TABLE, TRUNCATE and large DELETE or
-- UPDATE, each with the WAL insert LSN taken before it ran (a recovery target).

CREATE FUNCTION odoo_retail_guard.destructive_events_since(
	cursor bigint,
	OUT event_id bigint,
	OUT event_time timestamptz,
	OUT kind text,
	OUT dbid oid,
	OUT userid oid,
	OUT application_name text,
	OUT relation text,
	OUT model text,
	OUT rows bigint,
	OUT lsn_before pg_lsn,
	OUT xid bigint,
	OUT pid integer,
	OUT query text,
	OUT gap boolean,
	OUT origin text,
	OUT cron_job_id bigint,
	OUT cron_pid integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_destructive_events'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW odoo_retail_guard.destructive_events AS
SELECT e.event_id,
	   e.event_time,
	   e.kind,
	   d.datname AS database,
	   r.rolname AS role,
	   e.application_name,
	   e.relation,
	   e.model,
	   e.rows,
	   e.lsn_before,
	   e.xid,
	   e.pid,
	   e.query,
	   e.origin,
	   e.cron_job_id,
	   e.cron_pid,
	   e.dbid,
	   e.userid
FROM odoo_retail_guard.destructive_events_since(0) e
LEFT JOIN pg_database d ON d.oid = e.dbid
LEFT JOIN pg_roles r ON r.oid = e.userid;

COMMENT ON VIEW odoo_retail_guard.destructive_events IS
	'DROP TABLE, TRUNCATE and large DELETE/UPDATE with the WAL LSN before each: restore to lsn_before to undo it. rows: for DROP TABLE and TRUNCATE the planner estimate (NULL when never analyzed). origin: housekeeping (one of Odoo''s scheduled garbage-collection deletes), cron (run by a scheduled job, cron_job_id and cron_pid name it) or adhoc.';

REVOKE ALL ON FUNCTION odoo_retail_guard.destructive_events_since(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.destructive_events_since(bigint)
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;
REVOKE ALL ON odoo_retail_guard.destructive_events FROM PUBLIC;
GRANT SELECT ON odoo_retail_guard.destructive_events
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;
