-- Destructive-change journal: DROP TABLE, TRUNCATE, and DELETE or UPDATE rows
-- summed per transaction and relation, each with the WAL insert LSN taken
-- before the first statement that made it (a recovery target).

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
	OUT cron_pid integer,
	OUT statements integer,
	OUT cause_event_id bigint)
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
	   e.userid,
	   e.statements,
	   e.cause_event_id
FROM odoo_retail_guard.destructive_events_since(0) e
LEFT JOIN pg_database d ON d.oid = e.dbid
LEFT JOIN pg_roles r ON r.oid = e.userid;

COMMENT ON VIEW odoo_retail_guard.destructive_events IS
	'DROP TABLE, TRUNCATE, and DELETE/UPDATE rows summed per committed transaction and relation, with the WAL LSN before the first statement: restore to lsn_before to undo it. rows: for DROP TABLE and TRUNCATE the planner estimate (NULL when never analyzed). cause_event_id: for cascaded rows, the event that caused them. origin: housekeeping (one of Odoo''s scheduled garbage-collection deletes), cron (run by a scheduled job, cron_job_id and cron_pid name it) or adhoc.';

REVOKE ALL ON FUNCTION odoo_retail_guard.destructive_events_since(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.destructive_events_since(bigint)
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;
REVOKE ALL ON odoo_retail_guard.destructive_events FROM PUBLIC;
GRANT SELECT ON odoo_retail_guard.destructive_events
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;

CREATE FUNCTION odoo_retail_guard.destructive_journal_stats(
	OUT events_written bigint,
	OUT rolled_back bigint,
	OUT untracked_relations bigint,
	OUT max_relations integer)
RETURNS record
AS 'MODULE_PATHNAME', 'org_destructive_journal_stats'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW odoo_retail_guard.destructive_journal AS
SELECT * FROM odoo_retail_guard.destructive_journal_stats();

COMMENT ON VIEW odoo_retail_guard.destructive_journal IS
	'The journal since start: events written, transactions over the threshold that rolled back (no event), relations past the per-transaction cap (not counted).';

REVOKE ALL ON FUNCTION odoo_retail_guard.destructive_journal_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.destructive_journal_stats()
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;
REVOKE ALL ON odoo_retail_guard.destructive_journal FROM PUBLIC;
GRANT SELECT ON odoo_retail_guard.destructive_journal
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;
