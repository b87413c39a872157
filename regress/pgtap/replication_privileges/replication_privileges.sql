-- What odoo_retail_guard_reader sees of the standbys: the walsender's pid,
-- and nothing that pg_stat_replication hides from roles without
-- pg_read_all_stats (application_name, client address, state, LSNs, lags),
-- in replication_lag, replication_lag_history and the snapshot.  A logical
-- subscription of this cluster to itself provides the walsender.
\set ON_ERROR_STOP 1
\o /dev/null
CREATE EXTENSION pgtap;
CREATE EXTENSION odoo_retail_guard;
CREATE EXTENSION dblink;
CREATE ROLE org_t_reader IN ROLE odoo_retail_guard_reader;
CREATE ROLE org_t_monitor IN ROLE pg_monitor;
CREATE TABLE stock_move (id serial PRIMARY KEY, qty numeric);
CREATE PUBLICATION org_t_pub;
SELECT pg_create_logical_replication_slot('org_t_sub', 'pgoutput');
CREATE DATABASE org_t_subscriber;

CREATE FUNCTION conninfo(db text) RETURNS text LANGUAGE sql AS $$
	SELECT format('host=%s port=%s dbname=%s user=postgres',
				  current_setting('unix_socket_directories'), current_setting('port'), db)
$$;

CREATE FUNCTION wait_for(cond text, secs float8 DEFAULT 30)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + make_interval(secs => secs);
	ok boolean;
BEGIN
	LOOP
		PERFORM pg_stat_clear_snapshot();
		EXECUTE cond INTO ok;
		IF ok THEN RETURN true; END IF;
		IF clock_timestamp() > deadline THEN RETURN false; END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

SELECT dblink_exec(conninfo('org_t_subscriber'),
	format('CREATE SUBSCRIPTION org_t_sub CONNECTION %L PUBLICATION org_t_pub
			WITH (create_slot = false, slot_name = ''org_t_sub'', copy_data = false)',
		   conninfo(current_database()) || ' application_name=org_t_standby'));
\o

SELECT plan(12);

SELECT ok(wait_for($$SELECT count(*) = 1 FROM odoo_retail_guard.replication_lag
	WHERE application_name = 'org_t_standby' AND state = 'streaming' AND sent_lsn IS NOT NULL$$),
	'a superuser sees the walsender with its name, state and positions');
SELECT ok(wait_for($$SELECT count(*) >= 1 FROM odoo_retail_guard.replication_lag_history
	WHERE standby = 'org_t_standby'$$), 'and its history');

SET ROLE org_t_monitor;
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.replication_lag
	WHERE application_name = 'org_t_standby' AND client_addr IS NOT NULL AND flush_lsn IS NOT NULL), 1,
	'pg_monitor (which includes pg_read_all_stats) sees the details');
RESET ROLE;

SET ROLE org_t_reader;
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.replication_lag), 1,
	'odoo_retail_guard_reader sees that a walsender runs...');
SELECT is((SELECT pid FROM odoo_retail_guard.replication_lag),
	(SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'org_t_sub'),
	'... with its pid');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.replication_lag
	WHERE application_name IS NULL AND client_addr IS NULL AND state IS NULL
	  AND sync_state IS NULL AND sync_priority IS NULL), 1,
	'but not its application_name, client address or state');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.replication_lag
	WHERE current_lsn IS NULL AND sent_lsn IS NULL AND write_lsn IS NULL AND flush_lsn IS NULL
	  AND replay_lsn IS NULL), 1, 'nor its LSNs');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.replication_lag
	WHERE sent_lag_bytes IS NULL AND flush_lag_bytes IS NULL AND replay_lag_bytes IS NULL
	  AND write_lag_ms IS NULL AND replay_lag_ms IS NULL AND reply_time IS NULL
	  AND replay_age_ms IS NULL), 1, 'nor its lags');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.replication_lag_history
	WHERE standby IS NOT NULL OR sent_lsn IS NOT NULL OR replay_lsn IS NOT NULL
	   OR flush_lag_bytes IS NOT NULL), 0,
	'replication_lag_history hides the name and positions too');
SELECT cmp_ok((SELECT count(*)::int FROM odoo_retail_guard.replication_lag_history), '>=', 1,
	'while still showing that samples exist');
SELECT is((SELECT position('org_t_standby'::bytea IN odoo_retail_guard.snapshot(0))), 0,
	'the snapshot carries no standby name for the reader');
RESET ROLE;
SELECT cmp_ok((SELECT position('org_t_standby'::bytea IN odoo_retail_guard.snapshot(0))), '>', 0,
	'but does for a superuser');

SELECT * FROM finish();
\o /dev/null
SELECT dblink_exec(conninfo('org_t_subscriber'), 'ALTER SUBSCRIPTION org_t_sub DISABLE');
SELECT dblink_exec(conninfo('org_t_subscriber'), 'ALTER SUBSCRIPTION org_t_sub SET (slot_name = NONE)');
SELECT dblink_exec(conninfo('org_t_subscriber'), 'DROP SUBSCRIPTION org_t_sub');
SELECT wait_for($$SELECT NOT active FROM pg_replication_slots WHERE slot_name = 'org_t_sub'$$);
SELECT pg_drop_replication_slot('org_t_sub');
