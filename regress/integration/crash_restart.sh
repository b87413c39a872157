#!/usr/bin/env bash
# A crash-restart between two agent polls.  kill -9 of one backend makes
# PostgreSQL re-initialize shared memory under the same postmaster: the
# event id sequence restarts at 1, the rings and the throttle rules are
# gone, and postmaster_start does not change.
#
#  - The extension reports a new shmem_incarnation (node_status, snapshot).
#  - A DROP TABLE written after the restart and before the agent's next
#    poll has an id below the agent's cursor; it is paged all the same,
#    because the agent sees the new incarnation and reads from 0 again
#    (logged, and counted in orguard_node_shmem_restarts_total).
#  - The throttle rule the agent's open run owns is set again, long before
#    its renewal would be due.
#
# The agent's role is made NOLOGIN before the crash and LOGIN again after
# the DROP TABLE, so no poll can slip in between (no race on timing).
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start crash_node "restart_after_crash = on"
org_psql crash_node -d postgres >/dev/null <<'SQL'
CREATE ROLE guard LOGIN SUPERUSER;
CREATE DATABASE odoo;
SQL
org_psql crash_node -d odoo >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE stock_move (id serial PRIMARY KEY, qty numeric);
SELECT format('CREATE TABLE scratch_%s (id int)', g) FROM generate_series(1, 8) g \gexec
SQL

q() { PGCONNECT_TIMEOUT=5 org_psql crash_node -d odoo -Atc "$1"; }

touch "$ORG_TMP/recv.log"
agent_receiver recv "$ORG_TMP/recv.log" --summary
rport=$RECEIVER_PORT

mport=$(org_free_port)
conf="$ORG_TMP/agent.conf"
# connection_usage fires at once (the agent's own session is 1 of 120):
# the throttle runbook engages and its run stays open; ttl and
# release_after are long, so nothing but a restore sets the rule again
cat >"$conf" <<EOF
[agent]
interval = 1s
node_timeout = 900ms
reconnect_max = 1s
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$mport
[node n1]
conninfo = host=${ORG_SOCK[crash_node]} port=${ORG_PORT[crash_node]} user=guard dbname=odoo
cluster = shop
[pager hook]
type = webhook
url = http://127.0.0.1:$rport/
[rule connection_usage]
threshold = 0.5%
clear = 0.1%
for = 0
runbook = throttle
[runbook throttle]
classes = cron
max_connections = 2
ttl = 1h
release_after = 1h
journal = $ORG_TMP/journal
EOF
metric() { curl -fsS --max-time 5 "http://127.0.0.1:$mport/metrics" | awk -v m="$1" '$1 ~ "^"m"[{]" {print $2; exit}'; }
paged() { grep -q "^firing destructive_event $1" "$ORG_TMP/recv.log"; }
pages() { grep -c "^firing destructive_event" "$ORG_TMP/recv.log"; }
rule_set() { [ "$(q "SELECT count(*) FROM odoo_retail_guard.throttle_rules WHERE name = 'orguard_throttle_cron'")" = 1 ]; }
no_rule() { [ "$(q "SELECT count(*) FROM odoo_retail_guard.throttle_rules")" = 0 ]; }
incarnation() { q "SELECT shmem_incarnation FROM odoo_retail_guard.node_status"; }

agent_start agent "$conf"
tap_ok "the throttle engages and sets its rule" org_wait_until 60 "throttle rule" rule_set

# eight destructive events: the agent's cursor moves to 8 or beyond
for i in $(seq 1 8); do q "TRUNCATE scratch_$i" >/dev/null; done
tap_ok "the eight TRUNCATEs are paged" org_wait_until 30 "eight pages" bash -c "[ \$(grep -c '^firing destructive_event truncate/odoo/scratch_' '$ORG_TMP/recv.log') -ge 8 ]"
inc1=$(incarnation)
tap_ok "node_status shows the shared-memory incarnation" test -n "$inc1" -a "$inc1" != 0

# no agent poll from here until the role may log in again
q "ALTER ROLE guard NOLOGIN" >/dev/null
agent_bg victim psql -X -h "${ORG_SOCK[crash_node]}" -p "${ORG_PORT[crash_node]}" -U postgres -d odoo \
	-c "SELECT pg_sleep(300)"
org_wait_until 30 "the victim session" bash -c "[ -n \"\$(PGCONNECT_TIMEOUT=5 psql -X -At -h '${ORG_SOCK[crash_node]}' \
	-p '${ORG_PORT[crash_node]}' -U postgres -d odoo -c \"SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(300)'\")\" ]"
victim=$(q "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(300)'")
kill -KILL "$victim"
restarted() { local i; i=$(incarnation) && [ -n "$i" ] && [ "$i" != "$inc1" ]; }
tap_ok "kill -9 of a backend: PostgreSQL crash-restarts with a new incarnation" \
	org_wait_until 60 "crash-restart" restarted
tap_ok "the server log shows the crash-restart" \
	grep -q "terminated by signal 9: Killed" "$(org_server_log crash_node)"
tap_ok "the agent's sessions are gone with it" \
	test "$(q "SELECT count(*) FROM pg_stat_activity WHERE usename = 'guard'")" = 0
tap_ok "and so is the throttle rule" no_rule

q "DROP TABLE stock_move" >/dev/null
drop_id=$(q "SELECT max(event_id) FROM odoo_retail_guard.destructive_events WHERE relation = 'stock_move'")
tap_ok "the DROP TABLE gets id $drop_id, below the agent's cursor (ids restarted at 1)" test "${drop_id:-99}" -lt 8
q "ALTER ROLE guard LOGIN" >/dev/null

tap_ok "the DROP TABLE written between the two polls is paged" \
	org_wait_until 45 "drop_table page" paged "drop_table/odoo/stock_move/$drop_id"
tap_ok "the agent says the node crash-restarted and reads its rings from the start" \
	grep -q "node n1: PostgreSQL crash-restarted (shared memory re-initialized, incarnation" "$ORG_TMP/agent.log"
tap_ok "counted in /metrics" org_wait_until 10 "metric" bash -c "[ \"\$(curl -fsS --max-time 5 \
	http://127.0.0.1:$mport/metrics | grep '^orguard_node_shmem_restarts_total{' | grep 'node=\"n1\"' | awk '{print \$2}')\" = 1 ]"
tap_ok "the throttle rule the agent owns is set again" org_wait_until 45 "rule back" rule_set
tap_ok "the journal records the restore" \
	grep -q '"runbook":"throttle","step":"restore","target":"n1","result":"ok"' "$ORG_TMP/journal"
tap_ok "no TRUNCATE was paged twice" test "$(grep -c '^firing destructive_event truncate/' "$ORG_TMP/recv.log")" -eq 8

agent_kill agent
agent_kill victim
tap_done
