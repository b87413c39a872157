#!/usr/bin/env bash
# End to end with the real extension: a TRUNCATE on an Odoo table is
# journaled by odoo_retail_guard, read by the agent through snapshot(), and
# reaches a real Alertmanager as a destructive_event alert carrying the kind,
# the table, its Odoo model (from ir_model) and the WAL position to restore
# to.  Paged once: later polls move past it with the cursor.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start e2e_node
org_psql e2e_node -d postgres -c "CREATE DATABASE odoo" >/dev/null
org_psql e2e_node -d odoo >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE ir_model (id serial PRIMARY KEY, model varchar NOT NULL);
INSERT INTO ir_model (model) VALUES ('pos.order'), ('stock.quant');
CREATE TABLE pos_order (id serial PRIMARY KEY, amount numeric);
INSERT INTO pos_order (amount) SELECT g FROM generate_series(1, 100) g;
ANALYZE pos_order;
SQL

alertmanager_start

mport=$(org_free_port)
conf="$ORG_TMP/agent.conf"
cat >"$conf" <<EOF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$mport
[node store9]
conninfo = $(org_conn e2e_node) dbname=odoo
cluster = e2e
store = 0009
[pager am]
type = alertmanager
url = $am_url
[rule connection_usage]
enabled = false
EOF
am_count() { # MATCHER...: number of active alerts matching
	local args=() m
	for m in "$@"; do args+=(--data-urlencode "filter=$m"); done
	curl -fsS --max-time 5 -G "$am_url/api/v2/alerts" "${args[@]}" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
am_has() { [ "$(am_count "$@")" -gt 0 ]; }

agent_start agent "$conf"
org_wait_until 30 "agent polling" grep -q "polling snapshots" "$ORG_TMP/agent.log"
tap_ok "the node's real snapshot() is read" grep -q "node store9: polling snapshots" "$ORG_TMP/agent.log"
lsn=$(org_psql e2e_node -d odoo -Atc "SELECT pg_current_wal_insert_lsn()")
org_psql e2e_node -d odoo -c "TRUNCATE pos_order" >/dev/null
tap_ok "the TRUNCATE reaches Alertmanager as destructive_event" \
	org_wait_until 30 "destructive_event" am_has 'alertname="destructive_event"'
tap_ok "it names the kind, table, Odoo model, store and severity" am_has 'alertname="destructive_event"' \
	'kind="truncate"' 'relation=~".*pos_order"' 'model="pos.order"' 'store="0009"' 'severity="critical"'
lsn_label=$(curl -fsS --max-time 5 -G "$am_url/api/v2/alerts" --data-urlencode 'filter=alertname="destructive_event"' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["annotations"].get("lsn_before", ""))')
tap_ok "it carries the WAL position to restore to (lsn_before $lsn_label >= $lsn)" python3 -c "
a = [int(x, 16) for x in '$lsn_label'.split('/')]
b = [int(x, 16) for x in '$lsn'.split('/')]
raise SystemExit(0 if (a[0] << 32 | a[1]) >= (b[0] << 32 | b[1]) else 1)"
polls() { curl -fsS --max-time 5 "http://127.0.0.1:$mport/metrics" | awk '/^orguard_node_polls_total/ {print $NF}'; }
polls_beyond() { local p; p=$(polls) && [ "${p:-0}" -ge "$1" ]; }
# let five more polls pass: the cursor must keep the event from coming back
tap_ok "the agent keeps polling" org_wait_until 30 "five more polls" polls_beyond $(($(polls) + 5))
tap_ok "paged once: the cursor moved past the event" \
	test "$(grep -c 'alert firing: e2e/store9/destructive_event' "$ORG_TMP/agent.log")" -eq 1
org_psql e2e_node -d odoo -c "DROP TABLE pos_order" >/dev/null
tap_ok "a second destructive statement is a second alert" \
	org_wait_until 30 "drop_table" am_has 'alertname="destructive_event"' 'kind="drop_table"'
tap_ok "two destructive alerts are active" test "$(am_count 'alertname="destructive_event"')" -eq 2

agent_kill agent
tap_done
