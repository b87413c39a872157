#!/usr/bin/env bash
# orguard-agent's command line and per-node robustness: --help, --version,
# check-config (the sample in packaging/ and file:line errors), and `once`
# against nodes that lack the snapshot function, whose snapshot() fails or
# returns garbage, or hangs past the node deadline while the others answer.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

tap_ok "--version prints the version" bash -c "'$AGENT_BIN' --version | grep -q '^orguard-agent [0-9]'"
tap_ok "--help lists the commands" bash -c "'$AGENT_BIN' --help | grep -q check-config"
tap_ok "an unknown command exits 2" bash -c "'$AGENT_BIN' frobnicate 2>/dev/null; [ \$? -eq 2 ]"
tap_ok "the sample configuration in packaging/ is valid" \
	env ORGUARD_PAGERDUTY_KEY=k ORGUARD_STORE_0042_PASSWORD=p "$AGENT_BIN" --config packaging/agent.conf check-config
printf '[agent]\ninterval = soon\n[node a]\nconninfo = host=x password=hunter2\n[rule lock_wait]\nthreshold = 1s\nclear = 5s\n' \
	>"$ORG_TMP/bad.conf"
"$AGENT_BIN" --config "$ORG_TMP/bad.conf" check-config >"$ORG_TMP/bad.out" 2>&1
rc=$?
tap_ok "check-config fails on errors with exit 2" test $rc -eq 2
tap_ok "each error names file:line" bash -c "grep -q '^$ORG_TMP/bad.conf:2: interval' '$ORG_TMP/bad.out' &&
	grep -q '^$ORG_TMP/bad.conf:4: conninfo: must not contain a password' '$ORG_TMP/bad.out' &&
	grep -q '^$ORG_TMP/bad.conf:5: \[rule lock_wait\]: clear' '$ORG_TMP/bad.out'"
tap_ok "the password is not echoed" bash -c "! grep -q hunter2 '$ORG_TMP/bad.out'"
# a duration past a week would overflow the watch deadline: refused as usage
env ORGUARD_PAGERDUTY_KEY=k ORGUARD_STORE_0042_PASSWORD=p "$AGENT_BIN" --config packaging/agent.conf \
	runbook promote store-0042 --watch --watch-for 1e300s >"$ORG_TMP/watch.out" 2>&1
rc=$?
tap_ok "runbook promote --watch-for 1e300s exits 2 with a clear error" \
	bash -c "[ $rc -eq 2 ] && grep -q -- '--watch-for: \"1e300s\" is not a duration between 1s and 7d' '$ORG_TMP/watch.out'"

# ---- one cluster, four databases, each a different kind of trouble ----
org_cluster_start cli_node
for db in plain failing garbage slow; do
	org_psql cli_node -d postgres -c "CREATE DATABASE $db" >/dev/null
done
org_psql cli_node -d failing -c "CREATE SCHEMA odoo_retail_guard;
CREATE FUNCTION odoo_retail_guard.snapshot(bigint DEFAULT 0) RETURNS bytea LANGUAGE plpgsql
AS \$\$ BEGIN RAISE EXCEPTION 'shared memory not initialised'; END \$\$" >/dev/null
org_psql cli_node -d garbage -c "CREATE SCHEMA odoo_retail_guard;
CREATE FUNCTION odoo_retail_guard.snapshot(bigint DEFAULT 0) RETURNS bytea LANGUAGE sql
AS \$\$ SELECT '\\xffffffffffff'::bytea \$\$" >/dev/null
org_psql cli_node -d slow -c "CREATE SCHEMA odoo_retail_guard;
CREATE FUNCTION odoo_retail_guard.snapshot(bigint DEFAULT 0) RETURNS bytea LANGUAGE sql
AS \$\$ SELECT pg_sleep(20); SELECT ''::bytea \$\$" >/dev/null

conf="$ORG_TMP/cli.conf"
{
	printf '[agent]\ninterval = 4s\nnode_timeout = 3s\nstatement_timeout = 60s\nspool_dir = %s/spool\n' "$ORG_TMP"
	for db in plain failing garbage slow; do
		printf '[node %s]\nconninfo = %s dbname=%s\n' "$db" "$(org_conn cli_node)" "$db"
	done
} >"$conf"

start=$(date +%s%N)
"$AGENT_BIN" --config "$conf" once --format json >"$ORG_TMP/once.json" 2>"$ORG_TMP/once.err"
rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
field() { # NODE KEY: one field of once's JSON
	python3 -c "import json,sys; d={n['node']: n for n in json.load(open('$ORG_TMP/once.json'))}; print(d['$1'].get('$2', ''))"
}
tap_ok "once exits 4 when a node could not be read" test $rc -eq 4
tap_ok "once returns within the node deadline, not the slow query's 20 s ($elapsed_ms ms)" test "$elapsed_ms" -lt 9000
plain_ok() {
	[ "$(field plain reachable)" = True ] &&
		field plain snapshot_error | grep -q 'function odoo_retail_guard.snapshot(bigint) not found in database plain'
}
failing_ok() { field failing snapshot_error | grep -q 'snapshot() failed: ERROR: shared memory not initialised'; }
garbage_ok() { field garbage snapshot_error | grep -q 'do not decode as a Snapshot'; }
slow_ok() { [ "$(field slow reachable)" = False ] && field slow error | grep -q 'node deadline'; }
facts_ok() { [ "$(field plain max_connections)" = 120 ] && [ "$(field failing max_connections)" = 120 ]; }
no_snapshot_running() {
	[ "$(org_psql cli_node -d postgres -Atc "SELECT count(*) FROM pg_stat_activity
		WHERE query LIKE '%odoo_retail_guard.snapshot%' AND pid <> pg_backend_pid()")" -eq 0 ]
}
tap_ok "a node without snapshot() is reachable with a clear error" plain_ok
tap_ok "a failing snapshot() is reported per node" failing_ok
tap_ok "undecodable bytes are reported per node" garbage_ok
tap_ok "the hanging node hits its deadline" slow_ok
tap_ok "connection facts still come from every reachable node" facts_ok
tap_ok "the hanging query was cancelled on the server (statement_timeout is 60 s)" \
	org_wait_until 10 "cancel" no_snapshot_running
"$AGENT_BIN" --config "$conf" once >"$ORG_TMP/once.txt" 2>/dev/null
tap_ok "the table output lists every node" test "$(grep -cE '^(plain|failing|garbage|slow) ' "$ORG_TMP/once.txt")" -eq 4

# JSON lines logging: every line of a short run parses as an object with ts, level, msg
sed 's/^\[agent\]$/[agent]\nlog_format = json\nlisten = off/' "$conf" >"$ORG_TMP/json.conf"
agent_start jsonlog "$ORG_TMP/json.conf"
org_wait_until 30 "a node warning" grep -q 'node slow' "$ORG_TMP/jsonlog.log"
# a broken configuration on SIGHUP is explained and the running one kept
printf '[agent]\ninterval = never\n' >>"$ORG_TMP/json.conf"
kill -HUP "${AGENT_PIDS[jsonlog]}"
org_wait_until 15 "reload refused" grep -q 'keeping the running one' "$ORG_TMP/jsonlog.log"
tap_ok "a broken reload is refused with file:line and the agent keeps running" bash -c \
	"grep -q 'json.conf:[0-9]*: interval: invalid duration' '$ORG_TMP/jsonlog.log' && kill -0 ${AGENT_PIDS[jsonlog]}"
agent_kill jsonlog
tap_ok "log_format = json writes one JSON object per line" python3 -c "
import json, sys
lines = open('$ORG_TMP/jsonlog.log').read().splitlines()
ok = lines and all(set(json.loads(l)) == {'ts', 'level', 'msg'} for l in lines)
sys.exit(0 if ok else 1)"

# /metrics on the IPv6 loopback
v6_port=$(org_free_port)
sed "s/^\[agent\]\$/[agent]\nlisten = [::1]:$v6_port/" "$conf" >"$ORG_TMP/v6.conf"
agent_start v6 "$ORG_TMP/v6.conf"
tap_ok "listen = [::1]:PORT serves /healthz over IPv6" wait_for_http "http://[::1]:$v6_port/healthz" 30
agent_kill v6

tap_done
