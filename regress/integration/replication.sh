#!/usr/bin/env bash
# Replication tracker on a primary and a streaming standby: node status,
# per-standby positions and lags, slots, the standby's own view, and the
# history ring; lag grows while replay is paused and returns to zero.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
. "$ORG_SRC_DIR/regress/lib/sessions.sh"
. "$ORG_SRC_DIR/regress/lib/replica.sh"

org_harness_init
trap 'rc=$?; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT

P=primary
S=standby1
V=odoo_retail_guard
org_cluster_start $P "odoo_retail_guard.replication_sample_interval = 200
wal_receiver_status_interval = 1s"
org_psql $P -d postgres -c "CREATE EXTENSION odoo_retail_guard" >/dev/null
org_psql $P -d postgres -c "SELECT pg_create_physical_replication_slot('orphan', true)" >/dev/null
org_standby_start $S $P "odoo_retail_guard.replication_sample_interval = 200"
ok "the standby streams from the primary" org_standby_wait_streaming $S $P

# --- identity ---
is "$(org_query $P postgres "SELECT role || '|' || in_recovery || '|' || timeline || '|' || (replay_lsn IS NULL) FROM $V.node_status")" \
	"primary|false|1|true" "node_status on the primary"
is "$(org_query $S postgres "SELECT role || '|' || in_recovery || '|' || timeline || '|' || (replay_lsn IS NOT NULL) FROM $V.node_status")" \
	"standby|true|1|true" "node_status on the standby"
is "$(org_query $P postgres "SELECT system_identifier FROM $V.node_status")" \
	"$(org_query $S postgres "SELECT system_identifier FROM $V.node_status")" "both report the same system identifier"
is "$(org_query $P postgres "SELECT system_identifier::text FROM $V.node_status")" \
	"$(org_query $P postgres "SELECT system_identifier::text FROM pg_control_system()")" "system identifier matches pg_control_system()"
ok "the sampler runs on the standby too" org_wait_until 30 "standby sampler" org_true $S postgres \
	"SELECT pid IS NOT NULL AND replication_samples > 0 FROM $V.sampler_status"

# --- the primary's view of the standby ---
ok "replication_lag names the standby, its address, state and sync state" org_wait_until 30 "standby row" org_true $P postgres \
	"SELECT count(*) = 1 FROM $V.replication_lag WHERE application_name = '$S' AND client_addr = '127.0.0.1'
	 AND state = 'streaming' AND sync_state = 'async'"
ok "positions agree with pg_stat_replication" org_true $P postgres \
	"SELECT l.pid = r.pid AND l.sent_lsn <= pg_current_wal_flush_lsn() AND l.replay_lsn IS NOT NULL
	 FROM $V.replication_lag l JOIN pg_stat_replication r USING (pid)"
ok "slots: the standby's slot is active, the orphan slot is not" org_true $P postgres \
	"SELECT bool_and(CASE slot_name WHEN '$S' THEN active AND active_pid IS NOT NULL ELSE NOT active END)
	        AND count(*) = 2 AND bool_and(slot_type = 'physical' AND wal_status = 'reserved')
	 FROM $V.replication_slots"
ok "standby_status has no row on the primary" org_true $P postgres "SELECT count(*) = 0 FROM $V.standby_status"
ok "standby_status on the standby: receiver streaming, replay not paused" org_wait_until 30 "receiver" org_true $S postgres \
	"SELECT receiver_state = 'streaming' AND NOT replay_paused AND sender_port IS NOT NULL
	 AND slot_name = '$S' AND receive_lsn IS NOT NULL FROM $V.standby_status"
org_psql $P -d postgres -c "CREATE TABLE t (id int, pad text); INSERT INTO t VALUES (0, 'first');" >/dev/null
ok "caught up: no byte lag on either side" org_wait_until 60 "caught up" org_true $P postgres \
	"SELECT replay_lag_bytes = 0 AND flush_lag_bytes = 0 AND replay_age_ms = 0 FROM $V.replication_lag WHERE application_name = '$S'"

# --- pause replay, write on the primary ---
org_psql $S -d postgres -c "SELECT pg_wal_replay_pause()" >/dev/null
ok "the standby reports replay paused" org_wait_until 30 "paused" org_true $S postgres \
	"SELECT replay_paused AND replay_pause_state = 'paused' FROM $V.standby_status"
org_psql $P -d postgres -c "INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g" >/dev/null
ok "primary: replay byte lag appears while write/flush catch up" org_wait_until 60 "replay lag" org_true $P postgres \
	"SELECT replay_lag_bytes > 1000000 AND flush_lag_bytes = 0 FROM $V.replication_lag WHERE application_name = '$S'"
ok "standby: receive runs ahead of replay by the same WAL" org_wait_until 60 "standby bytes" org_true $S postgres \
	"SELECT replay_lag_bytes > 1000000 FROM $V.standby_status"
a=$(org_query $P postgres "SELECT replay_age_ms FROM $V.replication_lag WHERE application_name = '$S'")
b=$(org_query $S postgres "SELECT replay_delay_ms FROM $V.standby_status")
ok "primary: replay age grows while replay is paused" org_wait_until 30 "age grows" org_true $P postgres \
	"SELECT replay_age_ms > $a + 1000 FROM $V.replication_lag WHERE application_name = '$S'"
ok "standby: replay delay grows while replay is paused" org_wait_until 30 "delay grows" org_true $S postgres \
	"SELECT replay_delay_ms > $b + 1000 FROM $V.standby_status"
ok "primary history shows the byte lag" org_wait_until 30 "history" org_true $P postgres \
	"SELECT max(replay_lag_bytes) > 1000000 AND max(replay_age_ms) > 1000 FROM $V.replication_lag_history WHERE standby = '$S'"
ok "standby history shows its own replay lag" org_wait_until 30 "local history" org_true $S postgres \
	"SELECT bool_and(local) AND max(replay_lag_bytes) > 1000000 FROM $V.replication_lag_history"
ok "the orphan slot retains the new WAL" org_true $P postgres \
	"SELECT retained_bytes > 1000000 FROM $V.replication_slots WHERE slot_name = 'orphan'"

# --- resume: everything returns to zero ---
org_psql $S -d postgres -c "SELECT pg_wal_replay_resume()" >/dev/null
T=$(org_query $P postgres "INSERT INTO t VALUES (-1, 'after resume') RETURNING now()")
ok "primary: replay byte lag and age return to zero" org_wait_until 60 "primary zero" org_true $P postgres \
	"SELECT replay_lag_bytes = 0 AND replay_age_ms = 0 FROM $V.replication_lag WHERE application_name = '$S'"
ok "standby: replay catches up with receive and replays the new commit" org_wait_until 60 "standby zero" org_true $S postgres \
	"SELECT replay_lag_bytes = 0 AND NOT replay_paused AND last_replay_commit >= '$T'
	 AND replay_delay_ms < extract(epoch FROM now() - '$T'::timestamptz) * 1000 + 1 FROM $V.standby_status"
ok "history's latest sample is back to zero" org_wait_until 30 "history zero" org_true $P postgres \
	"SELECT replay_lag_bytes = 0 FROM $V.replication_lag_history WHERE standby = '$S' ORDER BY sample_time DESC LIMIT 1"
ok "the row replayed" org_wait_until 30 "row" org_true $S postgres "SELECT count(*) = 1 FROM t WHERE id = -1"
ok "memory lists the replication history" org_true $P postgres \
	"SELECT used > 0 AND capacity >= used FROM $V.memory WHERE area = 'replication_history'"
ok "no failed sample on the primary" org_true $P postgres "SELECT errors = 0 FROM $V.sampler_status"
ok "no failed sample on the standby" org_true $S postgres "SELECT errors = 0 FROM $V.sampler_status"

org_done
