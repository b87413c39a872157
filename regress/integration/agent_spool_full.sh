#!/usr/bin/env bash
# A full disk under the spool loses no page.  The spool lives on a small
# tmpfs that is filled up while a destructive event arrives: the alert is
# not marked as sent, the node's ring cursor does not move past the event,
# /metrics counts orguard_spool_write_failures_total and /healthz fails.
# Once space returns the page reaches a real HTTP receiver, once, and
# /healthz recovers.  Needs root (mount); skipped otherwise.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP mounting a tmpfs needs root"
	exit 0
fi
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

# the small file system; the agent stops before it is unmounted
fs="$ORG_TMP/spoolfs"
mkdir -p "$fs"
spool_fs_cleanup() {
	local rc=$? name
	for name in "${!AGENT_PIDS[@]}"; do
		kill -KILL "${AGENT_PIDS[$name]}" 2>/dev/null
		{ wait "${AGENT_PIDS[$name]}"; } 2>/dev/null
	done
	mountpoint -q "$fs" && umount "$fs"
	(exit $rc)
	agent_cleanup_all
}
trap spool_fs_cleanup EXIT
mount -t tmpfs -o size=1m,mode=0700 orguard-spool-test "$fs" || org_die "cannot mount a tmpfs"

# ---- a node whose stand-in snapshot() records the cursor it was asked for ----
org_cluster_start sf_node
org_psql sf_node -d postgres >/dev/null <<'SQL'
CREATE SCHEMA odoo_retail_guard;
CREATE TABLE odoo_retail_guard.fake_snapshot (data bytea);
INSERT INTO odoo_retail_guard.fake_snapshot VALUES (NULL);
CREATE TABLE odoo_retail_guard.calls (n bigserial, since bigint);
CREATE FUNCTION odoo_retail_guard.snapshot(since_cursor bigint DEFAULT 0) RETURNS bytea
LANGUAGE sql AS $$
  INSERT INTO odoo_retail_guard.calls (since) VALUES (since_cursor);
  SELECT data FROM odoo_retail_guard.fake_snapshot
$$;
SQL
set_snapshot() {
	local hex
	hex=$(printf '%s\n' "$1" | protoc --encode=odoo_retail_guard.Snapshot -Iproto \
		proto/odoo_retail_guard.proto | od -An -v -tx1 | tr -d ' \n')
	org_psql sf_node -d postgres -c "UPDATE odoo_retail_guard.fake_snapshot SET data = '\\x$hex'" >/dev/null
}
sql() { org_psql sf_node -d postgres -Atc "$1"; }
# asked_for CURSOR: snapshot() was called with it
asked_for() { [ "$(sql "SELECT count(*) FROM odoo_retail_guard.calls WHERE since = $1")" -gt 0 ]; }
not_asked_for() { ! asked_for "$1"; }
last_call() { sql 'SELECT max(n) FROM odoo_retail_guard.calls'; }
# polls_after N K: K more calls after call N
polls_after() { [ "$(sql "SELECT count(*) FROM odoo_retail_guard.calls WHERE n > $1")" -ge "$2" ]; }
set_snapshot 'schema_version: 1
next_cursor: 5'

# ---- a webhook receiver: one JSON line per POST ----
received="$ORG_TMP/received.jsonl"
touch "$received"
agent_receiver receiver "$received"
rport=$RECEIVER_PORT

metrics_port=$(org_free_port)
conf="$ORG_TMP/agent.conf"
cat >"$conf" <<CONF
[agent]
interval = 500ms
node_timeout = 450ms
spool_dir = $fs/spool
listen = 127.0.0.1:$metrics_port

[node store1]
conninfo = $(org_conn sf_node) dbname=postgres
cluster = sf

[pager hook]
type = webhook
url = http://127.0.0.1:$rport/hook
backoff_initial = 200ms
backoff_max = 1s
CONF

base="http://127.0.0.1:$metrics_port"
agent_start agent "$conf"
tap_ok "the agent is ready" wait_for_http "$base/ready" 60
tap_ok "its cursor moves to the ring's next position" \
	org_wait_until 30 "cursor 5" asked_for 5

# ---- the disk fills up, then a DROP TABLE happens ----
dd if=/dev/zero of="$fs/filler" bs=4k >/dev/null 2>&1
tap_ok "the spool's file system is full" bash -c "! echo x >'$fs/probe' 2>/dev/null"
rm -f "$fs/probe"
set_snapshot 'schema_version: 1
next_cursor: 9
destructive_events {
  id: 6 time_us: 1795435200000000 kind: "drop_table" database: "postgres"
  role: "odoo" relation: "stock_quant" model: "stock.quant" rows: 0
}'
healthz_fails() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/healthz")" = 503 ]; }
tap_ok "/healthz fails while the spool cannot be written" org_wait_until 30 "healthz 503" healthz_fails
failures_counted() {
	[ "$(http_get "$base/metrics" | awk '/^orguard_spool_write_failures_total/ { print $NF }')" -gt 0 ] 2>/dev/null
}
tap_ok "/metrics counts orguard_spool_write_failures_total" \
	org_wait_until 30 "failure counter" failures_counted
tap_ok "the failure is logged" grep -q "could not be spooled; held back" "$ORG_TMP/agent.log"
# several more polls while full: each one still asks for the entries after cursor 5
tap_ok "the agent keeps polling" org_wait_until 30 "3 polls" polls_after "$(last_call)" 3
tap_ok "the cursor stays before the event it could not spool" not_asked_for 9
tap_ok "nothing was delivered meanwhile" bash -c "! grep -q destructive_event '$received'"

# ---- space returns ----
rm -f "$fs/filler"
delivered() { [ "$(grep -c '"rule": "destructive_event".*"status": "firing"\|"status": "firing".*"rule": "destructive_event"' "$received")" -ge 1 ]; }
tap_ok "the page is delivered once space returns" org_wait_until 30 "delivery" delivered
tap_ok "/healthz recovers" wait_for_http "$base/healthz" 30
tap_ok "the cursor then moves past the event" org_wait_until 30 "cursor 9" asked_for 9
# a few more polls: still exactly one page for the event
org_wait_until 30 "3 polls" polls_after "$(last_call)" 3
tap_ok "exactly one page for the event" \
	test "$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("rule") == "destructive_event" and json.loads(l)["status"] == "firing"))' "$received")" -eq 1
tap_ok "nothing went to dead-letter" test "$(find "$fs/spool/dead-letter" -type f | wc -l)" -eq 0

tap_done
