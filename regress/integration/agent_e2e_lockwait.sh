#!/usr/bin/env bash
# End to end with the real extension: an Odoo cron worker runs the stock
# scheduler, its cron cursor holds the job's ir_cron row idle in transaction
# (FOR NO KEY UPDATE, ir_cron.py 17.0 _acquire_one_job), and a request
# deleting that scheduled action waits on it (ir_cron.py 17.0 unlink ->
# _try_lock(lockfk=True)).  Both are orguard-workload's Odoo flows.  The
# extension's sampler sees the wait, the agent reads it through snapshot()
# and a real Alertmanager receives a lock_wait alert naming the model, the
# job, the root blocker and the duration.  When the job ends the alert
# resolves.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent workload >/dev/null || org_die "agent or workload build failed"
W=$ORG_SRC_DIR/regress/workload/orguard-workload
org_cluster_start lw_node
org_psql lw_node -d postgres -c "CREATE DATABASE odoo" >/dev/null
org_psql lw_node -d odoo -c "CREATE EXTENSION odoo_retail_guard" >/dev/null
ODOO="$(org_conn lw_node) dbname=odoo"
"$W" -d "$ODOO" schema minimal >/dev/null || org_die "orguard-workload schema minimal failed"

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

agent_start agent "$conf"
tap_ok "the agent polls the node's real snapshot()" \
	org_wait_until 30 "agent polling" grep -q "node store7: polling snapshots" "$ORG_TMP/agent.log"

# the cron worker acquires the job and runs it: its cron cursor sits idle in
# transaction on the ir_cron row while the job connection commits per batch
agent_bg cron "$W" -d "$ODOO" cron-job 'Procurement: run scheduler' 90
cron_cursor() {
	org_psql lw_node -d odoo -Atc "SELECT pid, application_name FROM pg_stat_activity
		WHERE datname = 'odoo' AND state = 'idle in transaction'
		  AND query LIKE '%FROM ir_cron WHERE%FOR NO KEY UPDATE SKIP LOCKED%'"
}
cron_idle() { [ "$(cron_cursor | wc -l)" = 1 ]; }
org_wait_until 30 "cron cursor holding the job" cron_idle || org_die "the cron worker did not acquire the job"
IFS='|' read -r cron_pid cron_app < <(cron_cursor)
job_pid=$(org_psql lw_node -d odoo -Atc "SELECT pid FROM pg_stat_activity
	WHERE datname = 'odoo' AND application_name = '$cron_app' AND pid <> $cron_pid")
[ -n "$job_pid" ] || org_die "no job connection beside the cron cursor"
t0=$SECONDS
# someone deletes the running scheduled action: the request waits on the cron cursor
agent_bg unlink "$W" -d "$ODOO" cron-unlink 'Procurement: run scheduler'

tap_ok "lock_wait reaches Alertmanager" org_wait_until 45 "lock_wait" am_has 'alertname="lock_wait"'
echo "# lock wait began -> alert in Alertmanager: $((SECONDS - t0)) s (threshold 2 s, interval 1 s)"
tap_ok "it names the Odoo model, the store and the node" \
	am_has 'alertname="lock_wait"' 'model="ir.cron"' 'store="0007"' 'node="store7"'
tap_ok "it names the job whose cron cursor is the root" \
	am_has 'alertname="lock_wait"' 'cron_job_id="1"' 'cron_job="Procurement: run scheduler"'
tap_ok "it names the root blocker: the cron, idle in transaction" \
	am_annotated lock_wait "root_pid=$cron_pid" "root_application=$cron_app" \
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
# the job is stopped as docs/rules.md says (terminate its job connection,
# never the cron cursor): Odoo fails the job and rolls back the cron cursor,
# the wait ends, the deletion commits and the alert resolves
org_psql lw_node -d odoo -Atc "SELECT pg_terminate_backend($job_pid)" >/dev/null
tap_ok "the alert resolves in Alertmanager when the blocker goes away" \
	org_wait_until 45 "lock_wait resolved" am_lacks 'alertname="lock_wait"'
tap_ok "the agent logged firing then resolved" bash -c \
	"grep -q 'alert firing: e2e/store7/lock_wait' '$ORG_TMP/agent.log' &&
	 grep -q 'alert resolved: e2e/store7/lock_wait' '$ORG_TMP/agent.log'"

tap_ok "the deletion went through once the job ended" \
	org_wait_until 30 "cron-unlink committed" grep -q 'cron-unlink name="Procurement: run scheduler" id=1 rows=1' "$ORG_TMP/unlink.log"

agent_kill agent
agent_kill unlink
agent_kill cron
tap_done
