#!/usr/bin/env bash
# "A calm retail day": a few store hours of Odoo traffic from
# orguard-workload (POS tills, back office, invoicing on a no_gap journal,
# the websocket bus, the cron worker and its hourly jobs, then the night's
# ir.autovacuum housekeeping), watched by orguard-agent at its built-in rule
# pack with a real Alertmanager, gives zero pages.  Then a mistaken ORM mass
# unlink (search([], limit=5000).unlink() of sale orders: five 1000-id
# DELETE batches in one transaction) pages destructive_event critical, in
# Alertmanager within 2 s of its commit.
#
# A page is an alert of severity warning, error or critical; an info alert
# (a housekeeping delete recorded for the record) is not one.
#
# Environment: ORG_CALM_SECONDS (default 100): wall-clock length of the day.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

CALM_SECONDS=${ORG_CALM_SECONDS:-100}
WORKLOAD=$ORG_SRC_DIR/regress/workload/orguard-workload
make -s agent workload >/dev/null || org_die "build failed"

# ---- the store's database ----
org_cluster_start primary
org_psql primary -d postgres -c "CREATE DATABASE retail" >/dev/null
org_psql primary -d retail -c "CREATE EXTENSION odoo_retail_guard" >/dev/null
org_psql primary -d retail -q -f demo/schema.sql >/dev/null || org_die "loading demo/schema.sql failed"
conn="$(org_conn primary) dbname=retail"

# ---- Alertmanager and the agent at the built-in rule pack ----
# The agent's spool (every alert is fsynced there before it is posted) is
# on tmpfs when there is one: on a machine whose disk is shared with
# other work an fsync can take seconds, and the page's delay is measured
# for the extension, the agent and Alertmanager, not for that disk.
spool_dir="$ORG_TMP/spool"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	spool_dir=$(mktemp -d /dev/shm/orguard-calm.XXXXXX)
fi
calm_cleanup() {
	local rc=$?
	case "$spool_dir" in /dev/shm/orguard-calm.*) rm -rf "$spool_dir" ;; esac
	(exit $rc)
	agent_cleanup_all
}
trap calm_cleanup EXIT
alertmanager_start
metrics_port=$(org_free_port)
conf="$ORG_TMP/agent.conf"
# only the poll is quick (the 2 s budget); every rule keeps its defaults.
# The deadline leaves room for a reconnect on a loaded machine: each
# overrun drops the connection, and reconnects that keep overrunning it
# report the node unreachable for longer and longer (node_unreachable
# pages after 30 s of that)
printf '%s\n' "[agent]" "interval = 500ms" "node_timeout = 500ms" "spool_dir = $spool_dir" \
	"listen = 127.0.0.1:$metrics_port" "" "[node primary]" "conninfo = $conn" "cluster = retail-calm" \
	"store = 0001" "" "[pager am]" "type = alertmanager" "url = $am_url" >"$conf"
tap_ok "check-config accepts the configuration" "$AGENT_BIN" --config "$conf" check-config
agent_start agent "$conf"
tap_ok "the agent polls the store" wait_for_http "http://127.0.0.1:$metrics_port/ready" 60

# am_pages: the alerts Alertmanager holds that page (not info): name severity
am_pages() {
	curl -fsS --max-time 5 "$am_url/api/v2/alerts" |
		python3 -c 'import json, sys
for a in json.load(sys.stdin):
    l = a["labels"]
    if l.get("severity") != "info":
        print(l.get("alertname", "?"), l.get("severity", "?"), l.get("subject", ""))'
}
no_am_pages() { local p; p=$(am_pages) && [ -z "$p" ]; }
log_pages() { grep -E 'alert firing: .*\[(warning|error|critical)\]' "$ORG_TMP/agent.log"; }
poll_count() {
	http_get "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null |
		awk '/^orguard_node_polls_total/ && /node="primary"/ { s += $NF } END { print s + 0 }'
}
polls_since() { [ "$(poll_count)" -ge $(($1 + $2)) ]; }

# ---- the day ----
orders0=$(org_psql primary -d retail -Atc "SELECT max(id) FROM pos_order")
day_t0=$SECONDS
agent_bg day "$WORKLOAD" -d "$conn" --seed 42 --stores 3 --seconds "$CALM_SECONDS" --hours 8 --night day
day_pid=${AGENT_PIDS[day]}
: >"$ORG_TMP/am-during-day.txt"
while kill -0 "$day_pid" 2>/dev/null; do
	if [ $((SECONDS - day_t0)) -gt $((CALM_SECONDS + 90)) ]; then
		kill -TERM "$day_pid"
		break
	fi
	am_pages >>"$ORG_TMP/am-during-day.txt" 2>/dev/null
	sleep 1
done
wait "$day_pid"
day_rc=$?
unset "AGENT_PIDS[day]"
sed 's/^/# /' "$ORG_TMP/day.log"
tap_ok "the generator played the day and its night without an error" test "$day_rc" -eq 0
tap_ok "every store synced POS orders" \
	test "$(org_psql primary -d retail -Atc "SELECT count(DISTINCT config_id) FROM pos_order WHERE id > $orders0")" -eq 3
tap_ok "the cron worker ran jobs" grep -qE 'cron worker .* [1-9][0-9]* jobs run' "$ORG_TMP/day.log"
tap_ok "the night's housekeeping deleted bus messages and transient records" \
	grep -qE 'Auto-vacuum internal data.* rows_deleted=[1-9]' "$ORG_TMP/day.log"
# the agent has looked at the end of the night: a few polls after it
p0=$(poll_count)
tap_ok "the agent polled after the night" org_wait_until 30 "three more polls" polls_since "$p0" 3
tap_ok "no page in Alertmanager during the day" test ! -s "$ORG_TMP/am-during-day.txt"
tap_ok "no page in Alertmanager after the night" no_am_pages
tap_ok "no page in the agent's log" bash -c "! grep -qE 'alert firing: .*\[(warning|error|critical)\]' '$ORG_TMP/agent.log'"
if [ -s "$ORG_TMP/am-during-day.txt" ] || log_pages >/dev/null; then
	sort "$ORG_TMP/am-during-day.txt" | uniq -c | sed 's/^/# alertmanager: /'
	log_pages | sed 's/^/# agent: /'
fi

# ---- the mistake ----
# am_watch SECS: print the epoch time at which a critical destructive_event
# is first listed by Alertmanager (one process, polled every 20 ms)
am_watch() {
	python3 - "$am_url" "$1" <<'PY'
import json, sys, time, urllib.request
url, secs = sys.argv[1] + "/api/v2/alerts", float(sys.argv[2])
end = time.time() + secs
while time.time() < end:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            alerts = json.load(r)
    except Exception:
        alerts = []
    if any(a["labels"].get("alertname") == "destructive_event" and a["labels"].get("severity") == "critical"
           for a in alerts):
        print("%.3f" % time.time())
        sys.exit(0)
    time.sleep(0.02)
sys.exit(1)
PY
}
# the watcher starts first, so that nothing between the commit and its
# first look is counted
am_watch 40 >"$ORG_TMP/arrived.out" &
watch_pid=$!
sleep 0.5
"$WORKLOAD" -d "$conn" --seed 42 mass-unlink sale.order 5000 >"$ORG_TMP/unlink.out" 2>&1
unlink_rc=$?
sed 's/^/# /' "$ORG_TMP/unlink.out"
committed=$(sed -n 's/.*committed_at=\([0-9.]*\).*/\1/p' "$ORG_TMP/unlink.out")
wait "$watch_pid"
arrived=$(cat "$ORG_TMP/arrived.out")
# where the time went: the agent's firing line (its log clock is UTC)
fired=$(grep -m1 -E 'alert firing: .*destructive_event.*\[critical\]' "$ORG_TMP/agent.log" | cut -d' ' -f1)
if [ -n "$fired" ] && [ -n "$committed" ]; then
	echo "# the agent logged the page $(python3 -c 'import sys, datetime
f = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print("%.2f" % (f.timestamp() - float(sys.argv[2])))' "$fired" "$committed") s after the commit"
fi
tap_ok "the mistaken mass unlink deleted 5000 sale orders in five 1000-id batches, one commit" \
	bash -c "[ $unlink_rc -eq 0 ] && grep -q 'rows=5000 batches=5 ' '$ORG_TMP/unlink.out'"
tap_ok "destructive_event pages critical in Alertmanager" test -n "$arrived"
if [ -n "$arrived" ]; then
	delay=$(awk -v a="$arrived" -v c="$committed" 'BEGIN { printf "%.2f", a - c }')
	echo "# commit to Alertmanager: ${delay} s"
	tap_ok "within 2 s of the commit (${delay} s)" awk -v d="$delay" 'BEGIN { exit !(d <= 2.0) }'
else
	tap_ok "within 2 s of the commit (no alert within 40 s)" false
fi
tap_ok "the page is about sale_order" bash -c "grep -E 'alert firing: .*destructive_event' '$ORG_TMP/agent.log' | grep -q sale_order"

tap_done
