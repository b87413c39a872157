#!/usr/bin/env bash
# An incident is one alert from start to end, whatever happens to the agent.
# A lock wait fires (severity warning) in a real Alertmanager, at a
# PagerDuty stand-in and at a webhook.  In the middle of the incident the
# agent is killed with SIGKILL and restarted while the wait grows and its
# root blocker changes (values: annotations, not labels); then a reload
# raises the rule's severity to critical, which changes the alert's label
# set: the warning is resolved and the critical one fired.  Exactly one
# lock_wait alert is active in Alertmanager throughout, and none once the
# wait ends; PagerDuty and the webhook see a single dedup_key.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

# ---- a node with a stand-in snapshot() ----
org_cluster_start ai_node
org_psql ai_node -d postgres >/dev/null <<'SQL'
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
	org_psql ai_node -d postgres -c "UPDATE odoo_retail_guard.fake_snapshot SET data = '\\x$hex'" >/dev/null
}
# wait_snapshot MS ROOT_PID: a lock wait of MS milliseconds on stock_quant behind ROOT_PID
# (the blocker's query is the shape of Odoo 17's stock.quant _update_available_quantity
# write, odoo/addons/stock/models/stock_quant.py, as the ORM sends it)
wait_snapshot() {
	set_snapshot "schema_version: 1
next_cursor: 1
blocking_chains {
  waiter_pid: 601 database: \"postgres\" relation: \"stock_quant\" model: \"stock.quant\"
  lock_type: \"transactionid\" mode: \"ShareLock\" wait_ms: $1
  chain: $2 root_pid: $2 root_application_name: \"odoo-cron\"
  root_state: \"idle in transaction\" root_xact_age_ms: 65000
  root_query: \"UPDATE \\\"stock_quant\\\" SET \\\"quantity\\\" = \$1 WHERE id IN (\$2)\"
}"
}
wait_snapshot 42000 400

# ---- Alertmanager, and one receiver for the PagerDuty stand-in and the webhook ----
alertmanager_start
received="$ORG_TMP/received.jsonl"
touch "$received"
agent_receiver receiver "$received" --with-path
rport=$RECEIVER_PORT

metrics_port=$(org_free_port)
conf="$ORG_TMP/agent.conf"
write_conf() { # SEVERITY
	cat >"$conf" <<CONF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$metrics_port
runbook_base_url = https://runbooks.example/rules.md

[node store1]
conninfo = $(org_conn ai_node) dbname=postgres
cluster = ai

[pager am]
type = alertmanager
url = $am_url
backoff_initial = 200ms
backoff_max = 2s

[pager pd]
type = pagerduty
url = http://127.0.0.1:$rport/v2/enqueue
routing_key_env = ORG_TEST_PD_KEY
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
severity = $1
CONF
}
write_conf warning
export ORG_TEST_PD_KEY=R0UTINGKEY0123456789abcdef012345

am_count() { # MATCHER...: number of active alerts matching
	local args=() m
	for m in "$@"; do args+=(--data-urlencode "filter=$m"); done
	curl -fsS --max-time 5 -G "$am_url/api/v2/alerts" "${args[@]}" |
		python3 -c 'import json,sys; print(len([a for a in json.load(sys.stdin) if a["status"]["state"] == "active"]))'
}
am_has() { [ "$(am_count "$@")" -gt 0 ]; }
am_none() { [ "$(am_count "$@")" -eq 0 ]; }
# received_count PATH_PREFIX STATUS: lock_wait notifications at the receiver
received_count() {
	python3 -c 'import json,sys
n = 0
for l in open(sys.argv[1]):
    b = json.loads(l)
    if not b["_path"].startswith(sys.argv[2]):
        continue
    st = b.get("status") or {"trigger": "firing", "resolve": "resolved"}.get(b.get("event_action"))
    if "lock_wait" in b.get("dedup_key", "") and st == sys.argv[3]:
        n += 1
print(n)' "$received" "$1" "$2"
}
received_has() { [ "$(received_count "$1" "$2")" -ge "${3:-1}" ]; }
polls() {
	http_get "http://127.0.0.1:$metrics_port/metrics" |
		awk '/^orguard_node_polls_total/ { n = $NF } END { print n }'
}
polls_reached() { [ "$(polls)" -ge "$1" ] 2>/dev/null; }
pd_and_hook_paged() { received_has /v2 firing && received_has /hook firing; }
one_active() { [ "$(am_count 'alertname="lock_wait"')" -eq 1 ]; }

agent_start agent1 "$conf"
tap_ok "lock_wait fires in Alertmanager, severity warning" \
	org_wait_until 60 "lock_wait" am_has 'alertname="lock_wait"' 'severity="warning"'
tap_ok "its labels are identity only: model, no pid or duration" \
	am_has 'alertname="lock_wait"' 'model="stock.quant"' 'database="postgres"' 'root_pid!~".+"' 'duration_seconds!~".+"'
tap_ok "the values are annotations, with a description and the rule's runbook_url" \
	am_annotated lock_wait 'root_pid=400' 'duration_seconds=42' 'description=.*root_query: UPDATE.*' \
	'runbook_url=https://runbooks\.example/rules\.md#lock_wait'
tap_ok "PagerDuty and the webhook are paged" \
	org_wait_until 30 "pd and hook firing" pd_and_hook_paged

# ---- kill -9 in the middle of the incident; the wait grows, the blocker changes ----
agent_kill agent1 KILL
wait_snapshot 50000 401
agent_start agent2 "$conf"
tap_ok "the new agent restores the firing alert" \
	org_wait_until 30 "restore" grep -q 'alert state restored: 1 firing' "$ORG_TMP/agent2.log"
tap_ok "it polls the node a few times" org_wait_until 60 "5 polls" polls_reached 5
tap_ok "after the restart exactly one lock_wait alert is active" \
	test "$(am_count 'alertname="lock_wait"')" -eq 1

# ---- a reload raises the severity mid-incident ----
write_conf critical
kill -HUP "${AGENT_PIDS[agent2]}"
tap_ok "the reload is taken" org_wait_until 30 "reload" grep -q 'configuration reloaded' "$ORG_TMP/agent2.log"
tap_ok "the critical alert is active" \
	org_wait_until 30 "critical" am_has 'alertname="lock_wait"' 'severity="critical"'
tap_ok "the warning one is resolved: exactly one lock_wait alert is active" \
	org_wait_until 30 "one alert" one_active
hook_resolved_then_fired() {
	python3 -c 'import json,sys
seq = [b["status"] + "/" + b["severity"] for b in map(json.loads, open(sys.argv[1])) if b["_path"] == "/hook"]
i = seq.index("firing/critical")
sys.exit(0 if "resolved/warning" in seq[:i] else 1)' "$received"
}
tap_ok "at the webhook the warning was resolved before the critical one fired" \
	org_wait_until 30 "webhook order" hook_resolved_then_fired
after=$(( $(polls) + 3 ))
tap_ok "a few polls later" org_wait_until 30 "3 more polls" polls_reached "$after"
tap_ok "still exactly one lock_wait alert is active, the critical one" \
	bash -c "test $(am_count 'alertname="lock_wait"') -eq 1 && test $(am_count 'alertname="lock_wait"' 'severity="critical"') -eq 1"

# ---- the wait ends ----
set_snapshot 'schema_version: 1
next_cursor: 2'
tap_ok "the alert resolves in Alertmanager: none stays active" \
	org_wait_until 30 "lock_wait resolved" am_none 'alertname="lock_wait"'
tap_ok "PagerDuty gets the resolution" org_wait_until 30 "pd resolved" received_has /v2 resolved 2
tap_ok "the webhook gets it too" org_wait_until 30 "hook resolved" received_has /hook resolved 2
keys=$(python3 -c 'import json,sys
print(len({json.loads(l)["dedup_key"] for l in open(sys.argv[1]) if "lock_wait" in json.loads(l).get("dedup_key", "")}))' "$received")
tap_ok "PagerDuty and the webhook saw one dedup_key from start to end ($keys)" test "$keys" -eq 1
hook_ann=$(python3 -c 'import json,sys
b = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["_path"] == "/hook"][-1]
print(b.get("annotations", {}).get("root_pid", ""))' "$received")
tap_ok "the webhook body carries the annotations (root_pid $hook_ann)" test "$hook_ann" = 401

tap_done
