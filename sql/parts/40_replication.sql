-- Replication: node identity, standbys of this primary, slots, this
-- standby's own state, and a history per standby filled by the sampler.

CREATE FUNCTION odoo_retail_guard.node_status_internal(
	OUT role text,
	OUT in_recovery boolean,
	OUT system_identifier numeric,
	OUT timeline bigint,
	OUT current_lsn pg_lsn,
	OUT flush_lsn pg_lsn,
	OUT replay_lsn pg_lsn,
	OUT server_version_num integer,
	OUT postmaster_start timestamptz,
	OUT shmem_incarnation bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_node_status_fn'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.replication_standbys_internal(
	OUT pid integer,
	OUT application_name text,
	OUT client_addr text,
	OUT state text,
	OUT sync_state text,
	OUT sync_priority integer,
	OUT current_lsn pg_lsn,
	OUT sent_lsn pg_lsn,
	OUT write_lsn pg_lsn,
	OUT flush_lsn pg_lsn,
	OUT replay_lsn pg_lsn,
	OUT sent_lag_bytes bigint,
	OUT write_lag_bytes bigint,
	OUT flush_lag_bytes bigint,
	OUT replay_lag_bytes bigint,
	OUT write_lag_ms double precision,
	OUT flush_lag_ms double precision,
	OUT replay_lag_ms double precision,
	OUT reply_time timestamptz,
	OUT replay_age_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_replication_standbys'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.replication_slots_internal(
	OUT slot_name text,
	OUT slot_type text,
	OUT dbid oid,
	OUT active boolean,
	OUT active_pid integer,
	OUT restart_lsn pg_lsn,
	OUT retained_bytes bigint,
	OUT wal_status text,
	OUT xmin xid,
	OUT catalog_xmin xid)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_replication_slots'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.standby_status_internal(
	OUT receive_lsn pg_lsn,
	OUT replay_lsn pg_lsn,
	OUT replay_lag_bytes bigint,
	OUT last_replay_commit timestamptz,
	OUT replay_delay_ms double precision,
	OUT replay_paused boolean,
	OUT replay_pause_state text,
	OUT receiver_state text,
	OUT receiver_pid integer,
	OUT last_msg_send_time timestamptz,
	OUT last_msg_receipt_time timestamptz,
	OUT latest_end_lsn pg_lsn,
	OUT latest_end_time timestamptz,
	OUT sender_host text,
	OUT sender_port integer,
	OUT slot_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_standby_status_fn'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION odoo_retail_guard.replication_history_internal(
	OUT sample_time timestamptz,
	OUT standby text,
	OUT local boolean,
	OUT pid integer,
	OUT current_lsn pg_lsn,
	OUT sent_lsn pg_lsn,
	OUT flush_lsn pg_lsn,
	OUT replay_lsn pg_lsn,
	OUT sent_lag_bytes bigint,
	OUT flush_lag_bytes bigint,
	OUT replay_lag_bytes bigint,
	OUT write_lag_ms double precision,
	OUT flush_lag_ms double precision,
	OUT replay_lag_ms double precision,
	OUT replay_age_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'org_replication_history'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW odoo_retail_guard.node_status AS
SELECT * FROM odoo_retail_guard.node_status_internal();

COMMENT ON VIEW odoo_retail_guard.node_status IS
	'This node: role, timeline, system identifier, current/flush/replay LSN, and the incarnation of the extension''s shared memory (changes at every start and crash-restart).';

CREATE VIEW odoo_retail_guard.replication_lag AS
SELECT * FROM odoo_retail_guard.replication_standbys_internal()
ORDER BY application_name, pid;

COMMENT ON VIEW odoo_retail_guard.replication_lag IS
	'Per standby streaming from this node: positions, byte lag per step against this node''s flushed WAL, time lag per step.';

CREATE VIEW odoo_retail_guard.replication_slots AS
SELECT s.slot_name,
	   s.slot_type,
	   d.datname AS database,
	   s.active,
	   s.active_pid,
	   s.restart_lsn,
	   s.retained_bytes,
	   s.wal_status,
	   s.xmin,
	   s.catalog_xmin
FROM odoo_retail_guard.replication_slots_internal() s
LEFT JOIN pg_database d ON d.oid = s.dbid
ORDER BY s.retained_bytes DESC NULLS LAST;

COMMENT ON VIEW odoo_retail_guard.replication_slots IS
	'Replication slots with the WAL they retain and whether a consumer is attached.';

CREATE VIEW odoo_retail_guard.standby_status AS
SELECT * FROM odoo_retail_guard.standby_status_internal();

COMMENT ON VIEW odoo_retail_guard.standby_status IS
	'On a standby: receive and replay positions, replay delay, WAL receiver state; no row on a primary.';

CREATE VIEW odoo_retail_guard.replication_lag_history AS
SELECT * FROM odoo_retail_guard.replication_history_internal()
ORDER BY standby, sample_time;

COMMENT ON VIEW odoo_retail_guard.replication_lag_history IS
	'Recent replication samples per standby (one per replication_sample_interval).';

REVOKE ALL ON FUNCTION odoo_retail_guard.node_status_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.replication_standbys_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.replication_slots_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.standby_status_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION odoo_retail_guard.replication_history_internal() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.node_status_internal() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.replication_standbys_internal() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.replication_slots_internal() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.standby_status_internal() TO pg_monitor, odoo_retail_guard_reader;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.replication_history_internal() TO pg_monitor, odoo_retail_guard_reader;
REVOKE ALL ON odoo_retail_guard.node_status, odoo_retail_guard.replication_lag,
	odoo_retail_guard.replication_slots, odoo_retail_guard.standby_status,
	odoo_retail_guard.replication_lag_history FROM PUBLIC;
GRANT SELECT ON odoo_retail_guard.node_status, odoo_retail_guard.replication_lag,
	odoo_retail_guard.replication_slots, odoo_retail_guard.standby_status,
	odoo_retail_guard.replication_lag_history
	TO pg_monitor, odoo_retail_guard_reader;
