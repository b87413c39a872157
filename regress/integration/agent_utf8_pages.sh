#!/usr/bin/env bash
# Pages about a store with a long non-ASCII name, and names with invalid
# UTF-8, still reach on-call.  A lock wait in a database named with 150
# Cyrillic characters (its deduplication key is longer than 255 bytes and
# used to be cut in the middle of a character), in a node whose store
# label is that name, with a root blocker whose application name ends in
# half a character: a real Alertmanager and a webhook receive the alert
# (strict UTF-8 JSON), firing and then resolved under one key, nothing is
# dead-lettered, and /metrics stays valid UTF-8.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

store=$(python3 -c 'print("Ж" * 150)')

org_cluster_start u8_node
org_psql u8_node -d postgres >/dev/null <<'SQL'
CREATE SCHEMA odoo_retail_guard;
CREATE TABLE odoo_retail_guard.fake_snapshot (data bytea);
INSERT INTO odoo_retail_guard.fake_snapshot VALUES (NULL);
CREATE FUNCTION odoo_retail_guard.snapshot(since_cursor bigint DEFAULT 0) RETURNS bytea
LANGUAGE sql AS $$ SELECT data FROM odoo_retail_guard.fake_snapshot $$;
SQL
# protoc warns about the invalid UTF-8 on purpose and encodes it as given
set_snapshot() {
	local hex
	hex=$(printf '%s\n' "$1" | protoc --encode=odoo_retail_guard.Snapshot -Iproto \
		proto/odoo_retail_guard.proto 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
	org_psql u8_node -d postgres -c "UPDATE odoo_retail_guard.fake_snapshot SET data = '\\x$hex'" >/dev/null
}
set_snapshot "schema_version: 1
next_cursor: 1
blocking_chains {
  waiter_pid: 601 database: \"$store\" relation: \"stock_quant\" model: \"stock.quant\"
  lock_type: \"transactionid\" mode: \"ShareLock\" wait_ms: 42000
  chain: 400 root_pid: 400 root_application_name: \"odoo-\\320\"
  root_state: \"idle in transaction\" root_xact_age_ms: 65000
  root_query: \"UPDATE stock_quant SET name = '\\377' WHERE id = \$1\"
}"

alertmanager_start
received="$ORG_TMP/received.jsonl"
touch "$received"
agent_receiver receiver "$received"
rport=$RECEIVER_PORT

metrics_port=$(org_free_port)
conf="$ORG_TMP/agent.conf"
# the cluster name makes the Cyrillic start at an odd byte: byte 238 falls inside a character
cat >"$conf" <<CONF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$metrics_port

[node store1]
conninfo = $(org_conn u8_node) dbname=postgres
cluster = utf
store = $store

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

am_count() {
	local args=() m
	for m in "$@"; do args+=(--data-urlencode "filter=$m"); done
	curl -fsS --max-time 5 -G "$am_url/api/v2/alerts" "${args[@]}" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
am_has() { [ "$(am_count "$@")" -gt 0 ]; }
am_none() { [ "$(am_count "$@")" -eq 0 ]; }
hook_has() { grep -q "\"status\": \"$1\"" "$received"; }

agent_start agent "$conf"
tap_ok "the lock_wait alert reaches Alertmanager with the Cyrillic store label" \
	org_wait_until 60 "lock_wait" am_has 'alertname="lock_wait"' "store=\"$store\""
tap_ok "the webhook receives it as strict UTF-8 JSON" org_wait_until 30 "webhook firing" hook_has firing
check_key() {
	python3 - "$received" "$store" <<'PY'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
key = docs[0]["dedup_key"]
raw = key.encode("utf-8")
assert len(raw) <= 255, len(raw)
assert key.startswith("utf/store1/lock_wait/" + sys.argv[2][:100]), key
assert "#" in key, key
assert docs[0]["labels"]["store"] == sys.argv[2]
assert "\ufffd" in docs[0]["annotations"]["root_application"], docs[0]["annotations"]
PY
}
tap_ok "its dedup_key is at most 255 bytes, cut on a character boundary" check_key
tap_ok "nothing was dead-lettered" test "$(find "$ORG_TMP/spool/dead-letter" -type f | wc -l)" -eq 0
metrics_utf8() {
	curl -fsS --max-time 5 "http://127.0.0.1:$metrics_port/metrics" |
		python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8")'
}
tap_ok "/metrics is valid UTF-8" metrics_utf8

set_snapshot 'schema_version: 1
next_cursor: 2'
tap_ok "the alert resolves in Alertmanager" org_wait_until 30 "resolved" am_none 'alertname="lock_wait"'
tap_ok "the webhook receives the resolution" org_wait_until 30 "webhook resolved" hook_has resolved
same_key() {
	python3 -c 'import json,sys
print(len({json.loads(l)["dedup_key"] for l in open(sys.argv[1])}))' "$received" | grep -qx 1
}
tap_ok "firing and resolved carry one dedup_key" same_key
tap_ok "still nothing dead-lettered" test "$(find "$ORG_TMP/spool/dead-letter" -type f | wc -l)" -eq 0

tap_done
