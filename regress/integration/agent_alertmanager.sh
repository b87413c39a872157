#!/usr/bin/env bash
# orguard-agent against a real Alertmanager (Debian prometheus-alertmanager)
# on loopback: alerts from the connection figures (connection_usage,
# node_unreachable) and from a snapshot (lock_wait with model, root blocker
# and duration) show up firing, then resolved; /metrics passes promtool;
# SIGHUP keeps alert state; SIGTERM stops cleanly.
#
# The extension's snapshot() is not needed: the test database gets a plain
# SQL function of the same name that returns an encoded Snapshot from a
# table, so the agent's real libpq fetch, decoding, ir_model mapping, rule
# engine, spool and pager all run.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

# ---- a cluster with an Odoo-like database and a stand-in snapshot() ----
org_cluster_start am_node
org_psql am_node -d postgres -c "CREATE DATABASE odoo" >/dev/null
org_psql am_node -d odoo >/dev/null <<'SQL'
CREATE TABLE ir_model (id serial PRIMARY KEY, model varchar NOT NULL);
INSERT INTO ir_model (model) VALUES ('stock.quant'), ('sale.order'), ('res.partner');
CREATE SCHEMA odoo_retail_guard;
CREATE TABLE odoo_retail_guard.fake_snapshot (data bytea);
INSERT INTO odoo_retail_guard.fake_snapshot VALUES (NULL);
CREATE FUNCTION odoo_retail_guard.snapshot(since_cursor bigint DEFAULT 0) RETURNS bytea
LANGUAGE sql AS $$ SELECT data FROM odoo_retail_guard.fake_snapshot $$;
SQL

# set_snapshot TEXTPROTO: encode with protoc and store it for snapshot()
set_snapshot() {
	local hex
	hex=$(printf '%s\n' "$1" | protoc --encode=odoo_retail_guard.Snapshot -Iproto \
		proto/odoo_retail_guard.proto | od -An -v -tx1 | tr -d ' \n')
	org_psql am_node -d odoo -c "UPDATE odoo_retail_guard.fake_snapshot SET data = '\\x$hex'" >/dev/null
}
# a 42 s wait on stock_quant; the extension's model guess is empty, ir_model maps it
set_snapshot 'schema_version: 1
next_cursor: 5
blocking_chains {
  waiter_pid: 601 database: "odoo" relation: "stock_quant" model: ""
  lock_type: "transactionid" mode: "ShareLock" wait_ms: 42000
  chain: 400 root_pid: 400 root_application_name: "odoo-cron"
  root_state: "idle in transaction" root_xact_age_ms: 65000
  root_query: "UPDATE stock_quant SET quantity = $1 WHERE id = $2"
}'

# ---- Alertmanager ----
alertmanager_start "global:
  resolve_timeout: 5m
route:
  receiver: 'null'
  group_by: [alertname, node]
  group_wait: 1s
receivers:
  - name: 'null'"

# ---- the agent ----
metrics_port=$(org_free_port)
dead_port=$(org_free_port)
conf="$ORG_TMP/agent.conf"
cat >"$conf" <<EOF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$metrics_port

[node store1]
conninfo = $(org_conn am_node) dbname=odoo
cluster = retail-test
store = 0042
region = eu

[node ghost]
conninfo = host=127.0.0.1 port=$dead_port user=postgres connect_timeout=1
cluster = retail-test

[pager am]
type = alertmanager
url = $am_url
backoff_initial = 200ms
backoff_max = 2s

# Alertmanager forgets an alert at its endsAt (now + alert_ttl): the agent
# must re-post a firing alert well within alert_ttl, whatever renotify says
[pager am_short_ttl]
type = alertmanager
url = $am_url
alert_ttl = 6s

[rule node_unreachable]
for = 0
renotify = 0
pagers = am_short_ttl

[rule connection_usage]
threshold = 5%
clear = 4%
for = 0
pagers = am

[rule lock_wait]
threshold = 30s
clear = 20s
pagers = am
EOF

# am_has MATCHER...: an active alert matches every MATCHER (label="value")
am_has() {
	local out args=() m
	for m in "$@"; do args+=(--data-urlencode "filter=$m"); done
	out=$(curl -fsS --max-time 5 -G "$am_url/api/v2/alerts" "${args[@]}") || return 1
	[ "$(printf '%s' "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -gt 0 ]
}
am_lacks() { ! am_has "$@"; }

tap_ok "check-config accepts the test configuration" "$AGENT_BIN" --config "$conf" check-config
agent_start agent "$conf"
tap_ok "/healthz answers" wait_for_http "http://127.0.0.1:$metrics_port/healthz" 30
tap_ok "/ready after the first poll" wait_for_http "http://127.0.0.1:$metrics_port/ready" 30
# both nodes polled: store1 up, the ghost down (the first cycle may still be connecting)
metrics_settled() {
	http_get "http://127.0.0.1:$metrics_port/metrics" >"$ORG_TMP/metrics.txt" &&
		grep -qE 'orguard_node_up\{cluster="retail-test",node="store1"[^}]*\} 1' "$ORG_TMP/metrics.txt" &&
		grep -qE 'orguard_node_up\{cluster="retail-test",node="ghost"[^}]*\} 0' "$ORG_TMP/metrics.txt"
}
tap_ok "/metrics reports the node up and the ghost down" org_wait_until 30 "node metrics" metrics_settled
tap_ok "/metrics passes promtool check metrics (lint included)" \
	bash -c "grep -q '^orguard_node_up' '$ORG_TMP/metrics.txt' && promtool check metrics <'$ORG_TMP/metrics.txt' >'$ORG_TMP/promtool.out' 2>&1"

tap_ok "node_unreachable fires in Alertmanager for the dead node" \
	org_wait_until 30 "node_unreachable" am_has 'alertname="node_unreachable"'
unreachable_fired=$(date +%s)
tap_ok "node_unreachable carries cluster and node labels" \
	am_has 'alertname="node_unreachable"' 'node="ghost"' 'cluster="retail-test"' 'severity="critical"'
tap_ok "lock_wait fires with model (from ir_model), root blocker and duration" \
	org_wait_until 30 "lock_wait" am_has \
	'alertname="lock_wait"' 'node="store1"' 'model="stock.quant"' 'store="0042"'
tap_ok "its root blocker and duration are annotations, with a description and runbook_url" \
	am_annotated lock_wait 'root_pid=400' 'root_application=odoo-cron' 'duration_seconds=42' \
	'description=.*root_pid: 400.*' 'runbook_url=.*#lock_wait'
tap_ok "no value is a label" am_lacks 'alertname="lock_wait"' 'root_pid=~".+"'
tap_ok "amtool lists the lock_wait alert" bash -c \
	"amtool --alertmanager.url='$am_url' alert query alertname=lock_wait 2>&1 | grep -q lock_wait"

# connection usage: 8 idle sessions on max_connections=120 is over 5 %
for i in $(seq 1 8); do
	agent_bg "sleeper$i" psql -X -q -h "${ORG_SOCK[am_node]}" -p "${ORG_PORT[am_node]}" -U postgres \
		-d postgres -c "SELECT pg_sleep(120)"
done
tap_ok "connection_usage fires when sessions pile up" \
	org_wait_until 30 "connection_usage" am_has 'alertname="connection_usage"' 'node="store1"'
org_psql am_node -d postgres -c \
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%'" >/dev/null
for i in $(seq 1 8); do agent_kill "sleeper$i"; done
tap_ok "connection_usage resolves when they are gone" \
	org_wait_until 30 "connection_usage resolved" am_lacks 'alertname="connection_usage"'

# reload keeps alert state: no new alert, the firing ones stay firing
kill -HUP "${AGENT_PIDS[agent]}"
# three alert_ttl periods after it fired, the never-renotified alert is still
# active in Alertmanager: the agent re-posted it
three_ttls_passed() { [ $(($(date +%s) - unreachable_fired)) -ge 19 ]; }
org_wait_until 30 "three alert_ttl periods" three_ttls_passed
tap_ok "a firing alert outlives its alert_ttl in Alertmanager (re-posted)" \
	am_has 'alertname="node_unreachable"' 'node="ghost"'

tap_ok "SIGHUP reloads the configuration" \
	org_wait_until 15 "reload" grep -q "configuration reloaded" "$ORG_TMP/agent.log"
tap_ok "alerts survive the reload" am_has 'alertname="lock_wait"' 'node="store1"'
tap_ok "no duplicate firing notification after reload" \
	test "$(grep -c 'alert firing: retail-test/store1/lock_wait' "$ORG_TMP/agent.log")" -eq 1

# the wait ends: the snapshot no longer shows a chain
set_snapshot 'schema_version: 1
next_cursor: 6'
tap_ok "lock_wait resolves in Alertmanager when the wait ends" \
	org_wait_until 30 "lock_wait resolved" am_lacks 'alertname="lock_wait"'
tap_ok "nothing left in the spool" test "$(spool_count "$ORG_TMP/spool/am")" -eq 0

kill -TERM "${AGENT_PIDS[agent]}"
tap_ok "SIGTERM stops the agent" org_wait_until 15 "agent exit" bash -c "! kill -0 ${AGENT_PIDS[agent]}"
wait "${AGENT_PIDS[agent]}"
tap_ok "the agent exited with status 0" test $? -eq 0
unset "AGENT_PIDS[agent]"
tap_ok "logs never show a password or routing key" bash -c "! grep -qi 'password=' '$ORG_TMP/agent.log'"

tap_done
