#!/usr/bin/env bash
# agent_standby_twins.sh: two real standbys that connect with the same
# application_name (PostgreSQL's default "walreceiver") keep their own
# replay lag.  One of them pauses replay while the primary writes: /metrics
# shows two distinct series (application_name="walreceiver" with each connection as
# "client"), one far behind and one caught up, and passes promtool; the
# lag alert fires for the paused one only; the agent warns once that the
# name is shared.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh
. regress/lib/runbook_nodes.sh

make -s agent >/dev/null || org_die "agent build failed"

org_cluster_start p1
org_psql p1 -d postgres -c "CREATE EXTENSION odoo_retail_guard" >/dev/null || org_die "no extension"
for s in s1 s2; do
	org_standby_create "$s" p1
	# no application_name: the walreceiver's default, the same for both
	org_psql "$s" -d postgres -c "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=${ORG_PORT[p1]} user=postgres'" \
		-c "SELECT pg_reload_conf()" >/dev/null || org_die "cannot repoint $s"
done
q() { PGCONNECT_TIMEOUT=5 org_psql "$1" -d postgres -Atc "$2"; }
twins_streaming() {
	[ "$(q p1 "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'walreceiver' AND state = 'streaming'")" = 2 ]
}
org_wait_until 60 "two standbys streaming as walreceiver" twins_streaming || org_die "the standbys do not stream"

# s2 stops replaying; the primary writes about 4 MB of WAL
q s2 "SELECT pg_wal_replay_pause()" >/dev/null
q p1 "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 15000) g" >/dev/null
# the smaller lag first (an aggregate's ORDER BY 1 orders by the constant 1, i.e. not at all)
lags() { q p1 "SELECT string_agg(lag::text, ' ' ORDER BY lag) FROM (SELECT
	pg_wal_lsn_diff(pg_current_wal_flush_lsn(), replay_lsn)::bigint AS lag
	FROM pg_stat_replication WHERE application_name = 'walreceiver') l"; }
one_behind() {
	local l
	l=$(lags)
	read -r a b <<<"$l"
	[ -n "${b:-}" ] && [ "$a" = 0 ] && [ "$b" -gt 2000000 ]
}
org_wait_until 60 "one twin caught up, the other 2 MB behind" one_behind ||
	org_die "the lag did not appear: $(lags)"
# in one query, the paused twin first: the primary writes WAL of its own
# (bgwriter's running-xacts records), so "caught up" cannot be asked twice
read -r paused_port live_port <<<"$(q p1 "SELECT string_agg(client_port::text, ' ' ORDER BY replay_lsn)
	FROM pg_stat_replication WHERE application_name = 'walreceiver'")"
[ -n "${live_port:-}" ] || org_die "cannot tell the twins apart: ${paused_port:-none}"

listen="127.0.0.1:$(org_free_port)"
cat >"$ORG_TMP/agent.conf" <<EOF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = $listen

[node p1]
conninfo = host=${ORG_SOCK[p1]} port=${ORG_PORT[p1]} user=postgres dbname=postgres
cluster = shop

[rule replication_lag_bytes]
threshold = 1MB
clear = 512kB
for = 0
EOF

"$AGENT_BIN" --config "$ORG_TMP/agent.conf" once --format json >"$ORG_TMP/once.json" 2>/dev/null
# above VALUE MIN / below VALUE MAX: a number that is there and on that side
above() { [ -n "$1" ] && [ "$(printf '%.0f' "$1")" -gt "$2" ]; }
below() { [ -n "$1" ] && [ "$(printf '%.0f' "$1")" -lt "$2" ]; }
lag_of() { # lag_of SUBJECT: the replication_lag_bytes fact of `once`
	jq -r --arg s "$1" '.[0].facts[] | select(.kind == "replication_lag_bytes" and .subject == $s) | .value' \
		"$ORG_TMP/once.json"
}
tap_ok "once: the paused twin has its own lag fact" above "$(lag_of "walreceiver@127.0.0.1:$paused_port")" 2000000
tap_ok "once: and the live twin its own" below "$(lag_of "walreceiver@127.0.0.1:$live_port")" 1000000

agent_start agent "$ORG_TMP/agent.conf"
series() { http_get "http://$listen/metrics" | grep '^orguard_replication_replay_lag_bytes{'; }
two_series() { [ "$(series | grep -c 'application_name="walreceiver"')" = 2 ]; }
tap_ok "/metrics: two series for the twins" org_wait_until 30 "two series" two_series
http_get "http://$listen/metrics" >"$ORG_TMP/metrics.txt"
value_of() { # value_of PORT: the lag series of the twin on that client port
	grep '^orguard_replication_replay_lag_bytes{' "$ORG_TMP/metrics.txt" |
		grep "client=\"127.0.0.1:$1\"" | grep 'application_name="walreceiver"' | awk '{print $2}'
}
tap_ok "/metrics: the paused twin's series shows its lag" above "$(value_of "$paused_port")" 2000000
tap_ok "/metrics: the live twin's series shows none" below "$(value_of "$live_port")" 1000000
tap_ok "/metrics: no two samples share a label set" \
	bash -c "[ -z \"\$(grep -v '^#' '$ORG_TMP/metrics.txt' | sed 's/ [^ ]*\$//' | sort | uniq -d)\" ]"
tap_ok "/metrics passes promtool check metrics" \
	bash -c "grep -q '^orguard_node_up' '$ORG_TMP/metrics.txt' && promtool check metrics <'$ORG_TMP/metrics.txt' >'$ORG_TMP/promtool.out' 2>&1"
tap_ok "the lag alert fires for the paused twin" \
	org_wait_until 30 "alert" grep -q "alert firing: shop/p1/replication_lag_bytes/walreceiver@127.0.0.1:$paused_port " \
	"$ORG_TMP/agent.log"
tap_ok "and not for the live one" bash -c "! grep -q 'replication_lag_bytes/walreceiver@127.0.0.1:$live_port ' '$ORG_TMP/agent.log'"
tap_ok "the shared name is warned about" \
	grep -q 'node p1: several standbys connect with application_name "walreceiver"' "$ORG_TMP/agent.log"
# a few more polls: still one warning
org_wait_until 20 "three more polls" bash -c "[ \$(curl -fsS --max-time 2 http://$listen/metrics |
	awk '/^orguard_node_polls_total/ {print int(\$2)}') -ge 5 ]"
tap_ok "once, not every poll" [ "$(grep -c 'several standbys connect with application_name' "$ORG_TMP/agent.log")" = 1 ]
agent_kill agent
q s2 "SELECT pg_wal_replay_resume()" >/dev/null
tap_done
