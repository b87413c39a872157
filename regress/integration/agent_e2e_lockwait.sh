#!/usr/bin/env bash
# End to end with the real extension: an Odoo cron holds a stock_quant row
# idle in transaction, a POS worker waits on it; the extension's sampler sees
# the wait, the agent reads it through snapshot() and a real Alertmanager
# receives a lock_wait alert naming the model, the root blocker and the
# duration.  When the cron commits the alert resolves.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start lw_node
org_psql lw_node -d postgres -c "CREATE DATABASE odoo" >/dev/null
org_psql lw_node -d odoo >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE ir_model (id serial PRIMARY KEY, model varchar NOT NULL);
INSERT INTO ir_model (model) VALUES ('stock.quant');
CREATE TABLE stock_quant (id serial PRIMARY KEY, product_id int, quantity numeric);
INSERT INTO stock_quant (product_id, quantity) SELECT g, 10 FROM generate_series(1, 10) g;
SQL

alertmanager_start

conf="$ORG_TMP/agent.conf"
cat >"$conf" <<EOF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$(org_free_port)
[node store7]
conninfo = $(org_conn lw_node) dbname=odoo
cluster = e2e
store = 0007
[pager am]
type = alertmanager
url = $am_url
alert_ttl = 10m
[rule lock_wait]
threshold = 2s
clear = 1s
for = 0
[rule connection_usage]
enabled = false
EOF
am_count() { # MATCHER...: number of active alerts matching
	local args=() m
	for m in "$@"; do args+=(--data-urlencode "filter=$m"); done
	curl -fsS --max-time 5 -G "$am_url/api/v2/alerts" --data-urlencode "active=true" "${args[@]}" |
		python3 -c 'import json,sys; print(sum(1 for a in json.load(sys.stdin) if a["status"]["state"] == "active"))'
}
am_has() { [ "$(am_count "$@")" -gt 0 ]; }
am_lacks() { [ "$(am_count "$@")" -eq 0 ]; }
psql_bg() { # NAME APPNAME: a psql session in the background reading SQL from stdin
	PGAPPNAME=$2 agent_bg "$1" psql -X -q -h "${ORG_SOCK[lw_node]}" -p "${ORG_PORT[lw_node]}" -U postgres -d odoo
}

agent_start agent "$conf"
tap_ok "the agent polls the node's real snapshot()" \
	org_wait_until 30 "agent polling" grep -q "node store7: polling snapshots" "$ORG_TMP/agent.log"

# the cron takes the row and sits idle in transaction (psql runs a shell sleep)
printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ;" \
	"SELECT id FROM stock_quant WHERE id IN (3) FOR NO KEY UPDATE;" '\! sleep 60' "COMMIT;" |
	psql_bg cron odoo-cron-2001
cron_idle() {
	[ "$(org_psql lw_node -d odoo -Atc "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'odoo-cron-2001' AND state = 'idle in transaction'")" = 1 ]
}
org_wait_until 30 "cron holding the row" cron_idle || org_die "the cron did not take the row"
cron_pid=$(org_psql lw_node -d odoo -Atc "SELECT pid FROM pg_stat_activity WHERE application_name = 'odoo-cron-2001'")
t0=$SECONDS
echo "UPDATE stock_quant SET quantity = quantity - 1 WHERE id = 3;" | psql_bg pos odoo-1001

tap_ok "lock_wait reaches Alertmanager" org_wait_until 45 "lock_wait" am_has 'alertname="lock_wait"'
echo "# lock wait began -> alert in Alertmanager: $((SECONDS - t0)) s (threshold 2 s, interval 1 s)"
tap_ok "it names the Odoo model, the store and the node" \
	am_has 'alertname="lock_wait"' 'model="stock.quant"' 'store="0007"' 'node="store7"'
tap_ok "it names the root blocker: the cron, idle in transaction" \
	am_annotated lock_wait "root_pid=$cron_pid" 'root_application=odoo-cron-2001' \
	'root_worker_class=cron' 'root_state=idle in transaction'
tap_ok "it carries the wait's duration (an annotation)" \
	am_annotated lock_wait 'duration_seconds=[0-9.]+'

# let the wait grow well past the duration the alert fired with: the
# resolution must still name the very alert Alertmanager holds (same labels),
# which the 10 minute alert_ttl would not hide
grown() {
	[ "$(org_psql lw_node -d odoo -Atc "SELECT count(*) FROM odoo_retail_guard.blocking_chains
		WHERE root_pid = $cron_pid AND wait_ms >= 7000")" -ge 1 ]
}
org_wait_until 30 "the wait to grow" grown
# the cron ends its transaction: the wait ends and the alert resolves
org_psql lw_node -d odoo -Atc "SELECT pg_terminate_backend($cron_pid)" >/dev/null
tap_ok "the alert resolves in Alertmanager when the blocker goes away" \
	org_wait_until 45 "lock_wait resolved" am_lacks 'alertname="lock_wait"'
tap_ok "the agent logged firing then resolved" bash -c \
	"grep -q 'alert firing: e2e/store7/lock_wait' '$ORG_TMP/agent.log' &&
	 grep -q 'alert resolved: e2e/store7/lock_wait' '$ORG_TMP/agent.log'"

agent_kill agent
agent_kill pos
agent_kill cron
tap_done
