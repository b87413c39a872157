#!/usr/bin/env bash
# Alert state survives a restart of the agent.  A lock wait fires in a real
# Alertmanager and at a webhook; the agent is killed with SIGKILL in the
# middle of the incident, the wait grows (its duration label would differ),
# and a new agent starts on the same spool: it restores the alert instead
# of paging again, so exactly one alert stays active in Alertmanager, and
# when the wait ends it resolves that same alert (same label set, same
# dedup_key at the webhook): nothing stays active.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

# ---- a node with a stand-in snapshot() ----
org_cluster_start rr_node
org_psql rr_node -d postgres >/dev/null <<'SQL'
CREATE SCHEMA odoo_retail_guard;
CREATE TABLE odoo_retail_guard.fake_snapshot (data bytea);
INSERT INTO odoo_retail_guard.fake_snapshot VALUES (NULL);
CREATE FUNCTION odoo_retail_guard.snapshot(since_cursor bigint DEFAULT 0) RETURNS bytea
LANGUAGE sql AS $$ SELECT data FROM odoo_retail_guard.fake_snapshot $$;
SQL
set_snapshot() {
	local hex
	hex=$(printf '%s\n' "$1" | protoc --encode=odoo_retail_guard.Snapshot -Iproto \
		proto/odoo_retail_guard.proto | od -An -v -tx1 | tr -d ' \n')
	org_psql rr_node -d postgres -c "UPDATE odoo_retail_guard.fake_snapshot SET data = '\\x$hex'" >/dev/null
}
# wait_snapshot MS: a lock wait of MS milliseconds on stock_quant
wait_snapshot() {
	set_snapshot "schema_version: 1
next_cursor: 1
blocking_chains {
  waiter_pid: 601 database: \"postgres\" relation: \"stock_quant\" model: \"stock.quant\"
  lock_type: \"transactionid\" mode: \"ShareLock\" wait_ms: $1
  chain: 400 root_pid: 400 root_application_name: \"odoo-cron\"
  root_state: \"idle in transaction\" root_xact_age_ms: 65000
  root_query: \"UPDATE stock_quant SET quantity = \$1 WHERE id = \$2\"
}"
}
wait_snapshot 42000

# ---- Alertmanager and a webhook receiver ----
alertmanager_start
received="$ORG_TMP/received.jsonl"
touch "$received"
agent_receiver receiver "$received"
rport=$RECEIVER_PORT

metrics_port=$(org_free_port)
conf="$ORG_TMP/agent.conf"
cat >"$conf" <<CONF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$metrics_port

[node store1]
conninfo = $(org_conn rr_node) dbname=postgres
cluster = rr

[pager am]
type = alertmanager
url = $am_url
backoff_initial = 200ms
backoff_max = 2s

[pager hook]
type = webhook
url = http://127.0.0.1:$rport/hook
backoff_initial = 200ms
backoff_max = 2s

[rule lock_wait]
threshold = 30s
clear = 20s
CONF

am_count() { # MATCHER...: number of active alerts matching
	local args=() m
	for m in "$@"; do args+=(--data-urlencode "filter=$m"); done
	curl -fsS --max-time 5 -G "$am_url/api/v2/alerts" "${args[@]}" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
am_has() { [ "$(am_count "$@")" -gt 0 ]; }
am_none() { [ "$(am_count "$@")" -eq 0 ]; }
# hook_count STATUS: webhook notifications of the lock_wait alert with STATUS
hook_count() {
	python3 -c 'import json,sys
n = 0
for l in open(sys.argv[1]):
    b = json.loads(l)
    if b.get("rule") == "lock_wait" and b["status"] == sys.argv[2]:
        n += 1
print(n)' "$received" "$1"
}
hook_has() { [ "$(hook_count "$1")" -ge 1 ]; }
polls() {
	http_get "http://127.0.0.1:$metrics_port/metrics" |
		awk '/^orguard_node_polls_total/ { print $NF; exit }'
}
polls_reached() { [ "$(polls)" -ge "$1" ] 2>/dev/null; }

agent_start agent1 "$conf"
tap_ok "lock_wait fires in Alertmanager" \
	org_wait_until 60 "lock_wait" am_has 'alertname="lock_wait"' 'model="stock.quant"'
tap_ok "and at the webhook" org_wait_until 30 "webhook firing" hook_has firing
tap_ok "the alert state is on disk" grep -q 'lock_wait' "$ORG_TMP/spool/alerts.json"

# ---- kill -9 in the middle of the incident; the wait goes on and grows ----
agent_kill agent1 KILL
wait_snapshot 50000
agent_start agent2 "$conf"
tap_ok "the new agent restores the firing alert" \
	org_wait_until 30 "restore" grep -q 'alert state restored: 1 firing' "$ORG_TMP/agent2.log"
tap_ok "it polls the node a few times" org_wait_until 60 "5 polls" polls_reached 5
tap_ok "exactly one lock_wait alert is active in Alertmanager" \
	test "$(am_count 'alertname="lock_wait"')" -eq 1
tap_ok "the restarted agent does not page again" \
	bash -c "! grep -q 'alert firing: rr/store1/lock_wait' '$ORG_TMP/agent2.log'"

# ---- the wait ends ----
set_snapshot 'schema_version: 1
next_cursor: 2'
tap_ok "the alert resolves in Alertmanager: none stays active" \
	org_wait_until 30 "lock_wait resolved" am_none 'alertname="lock_wait"'
tap_ok "the webhook gets the resolution" org_wait_until 30 "webhook resolved" hook_has resolved
tap_ok "one firing and one resolved notification at the webhook" \
	test "$(hook_count firing) $(hook_count resolved)" = "1 1"
keys=$(python3 -c 'import json,sys
print(len({json.loads(l)["dedup_key"] for l in open(sys.argv[1])}))' "$received")
tap_ok "both carry the same dedup_key" test "$keys" -eq 1

tap_done
