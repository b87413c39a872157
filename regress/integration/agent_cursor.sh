#!/usr/bin/env bash
# Ring cursors: a destructive event is paged once, not again after the
# agent is killed with SIGKILL and restarted (the cursor is kept on disk),
# and a node restart (new postmaster start time, ring ids from 1 again) or
# crash-restart (same start time, new shared-memory incarnation) is noticed
# so that its new events are not skipped.
#
# The stand-in snapshot() honours since_cursor like the extension's: it
# returns the stored message for that cursor, else an empty one.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start cur_node
org_psql cur_node -d postgres >/dev/null <<'SQL'
CREATE SCHEMA odoo_retail_guard;
CREATE TABLE odoo_retail_guard.fake (since bigint PRIMARY KEY, data bytea);
CREATE TABLE odoo_retail_guard.fake_default (data bytea);
CREATE FUNCTION odoo_retail_guard.snapshot(since_cursor bigint DEFAULT 0) RETURNS bytea
LANGUAGE sql AS $$
	SELECT coalesce((SELECT data FROM odoo_retail_guard.fake WHERE since = since_cursor),
	                (SELECT data FROM odoo_retail_guard.fake_default))
$$;
SQL
encode() { protoc --encode=odoo_retail_guard.Snapshot -Iproto proto/odoo_retail_guard.proto | od -An -v -tx1 | tr -d ' \n'; }
put() { # SINCE TEXT (SINCE "default" for the fallback)
	local hex
	hex=$(printf '%s\n' "$2" | encode)
	if [ "$1" = default ]; then
		org_psql cur_node -d postgres -c "DELETE FROM odoo_retail_guard.fake_default;
			INSERT INTO odoo_retail_guard.fake_default VALUES ('\\x$hex')" >/dev/null
	else
		org_psql cur_node -d postgres -c "INSERT INTO odoo_retail_guard.fake VALUES ($1, '\\x$hex')
			ON CONFLICT (since) DO UPDATE SET data = excluded.data" >/dev/null
	fi
}
ident() { echo "node { system_identifier: 7 postmaster_start_us: $1 shmem_incarnation: ${2:-0} }"; }
# first life of the node: one TRUNCATE with id 1
put 0 "schema_version: 1 next_cursor: 1 $(ident 1000)
destructive_events { id: 1 kind: \"truncate\" database: \"postgres\" relation: \"pos_order\" role: \"odoo\" rows: 500 }"
put default "schema_version: 1 next_cursor: 1 $(ident 1000)"

agent_receiver recv "$ORG_TMP/recv.log" --summary
rport=$RECEIVER_PORT
touch "$ORG_TMP/recv.log"

mport=$(org_free_port)
conf="$ORG_TMP/agent.conf"
cat >"$conf" <<EOF
[agent]
interval = 500ms
node_timeout = 450ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$mport
[node n1]
conninfo = $(org_conn cur_node) dbname=postgres
[pager hook]
type = webhook
url = http://127.0.0.1:$rport/
[rule connection_usage]
enabled = false
EOF
fired() { [ "$(grep -c "^firing destructive_event $1" "$ORG_TMP/recv.log")" -ge 1 ]; }
fired_count() { grep -c "^firing destructive_event" "$ORG_TMP/recv.log"; }
polls() { curl -fsS --max-time 5 "http://127.0.0.1:$mport/metrics" | awk '/^orguard_node_polls_total/ {print $NF}'; }
polls_beyond() { local p; p=$(polls) && [ "${p:-0}" -ge "$1" ]; }

agent_start agent "$conf"
tap_ok "the destructive event is paged" org_wait_until 30 "first page" fired "truncate/postgres/pos_order/1"
tap_ok "the cursor is kept on disk" \
	org_wait_until 15 "cursor saved" grep -q "^n1 7 1000 1$" "$ORG_TMP/spool/cursors"
agent_kill agent KILL
agent_start agent "$conf"
org_wait_until 30 "agent back" polls_beyond 10
tap_ok "after kill -9 and restart the event is not paged again" test "$(fired_count)" -eq 1

# the node restarts: new start time, ring ids from 1 again, a new event
put 0 "schema_version: 1 next_cursor: 1 $(ident 2000)
destructive_events { id: 1 kind: \"drop_table\" database: \"postgres\" relation: \"stock_move\" role: \"odoo\" }"
put default "schema_version: 1 next_cursor: 1 $(ident 2000)"
tap_ok "after a node restart its new event is read from the start of the ring" \
	org_wait_until 30 "second page" fired "drop_table/postgres/stock_move/1"
tap_ok "the restart was noticed" grep -q "restarted or replaced; reading its event rings from the start" "$ORG_TMP/agent.log"
tap_ok "the cursor file follows the new node life" \
	org_wait_until 15 "cursor saved" grep -q "^n1 7 2000 1$" "$ORG_TMP/spool/cursors"
tap_ok "two pages in all" test "$(fired_count)" -eq 2

# the node reports its shared-memory incarnation: kept in the cursor file
put default "schema_version: 1 next_cursor: 1 $(ident 2000 555)"
tap_ok "the cursor file keeps the shared-memory incarnation" \
	org_wait_until 15 "cursor saved" grep -q "^n1 7 2000 1 555$" "$ORG_TMP/spool/cursors"
# the agent is down while the node crash-restarts: same postmaster start,
# new incarnation, ids from 1 again (below the agent's cursor)
agent_kill agent KILL
put 0 "schema_version: 1 next_cursor: 1 $(ident 2000 777)
destructive_events { id: 1 kind: \"drop_table\" database: \"postgres\" relation: \"stock_quant\" role: \"odoo\" }"
put default "schema_version: 1 next_cursor: 1 $(ident 2000 777)"
agent_start agent "$conf"
tap_ok "after a crash-restart its new event is read from the start of the ring" \
	org_wait_until 30 "third page" fired "drop_table/postgres/stock_quant/1"
tap_ok "the crash-restart was noticed" grep -q "node n1: PostgreSQL crash-restarted" "$ORG_TMP/agent.log"
tap_ok "the cursor file follows the new incarnation" \
	org_wait_until 15 "cursor saved" grep -q "^n1 7 2000 1 777$" "$ORG_TMP/spool/cursors"
tap_ok "three pages in all" test "$(fired_count)" -eq 3

agent_kill agent
tap_done
