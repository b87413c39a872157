#!/usr/bin/env bash
# A SIGHUP that changes statement_timeout or lock_timeout reaches the
# sessions the agent keeps: before, a kept session went on with the
# timeouts it was opened with until it happened to be dropped, so a DBA who
# lowered statement_timeout to stop the agent's queries from piling up on
# a struggling server got nothing.  The server logs every statement of the
# agent's database; after the reload the agent's backend (the same pid: the
# session is kept) runs the new SET commands before its next poll.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start settings
org_psql settings -d postgres -c "CREATE DATABASE shop" >/dev/null
org_psql settings -d postgres -c "ALTER DATABASE shop SET log_statement = 'all'" >/dev/null
trap agent_cleanup_all EXIT

port=$(org_free_port) || org_die "no free port"
conf() { # STATEMENT_TIMEOUT LOCK_TIMEOUT
	printf '[agent]\ninterval = 1s\nnode_timeout = 1s\nstatement_timeout = %s\nlock_timeout = %s\n' "$1" "$2"
	printf 'spool_dir = %s/spool\nlisten = 127.0.0.1:%s\n' "$ORG_TMP" "$port"
	printf '[node store1]\nconninfo = %s dbname=shop\ncluster = shop\n' "$(org_conn settings)"
}
conf 3s 1s >"$ORG_TMP/agent.conf"
server_log=$(org_server_log settings)
agent_pid_in_db() {
	org_psql settings -d postgres -Atc "SELECT pid FROM pg_stat_activity
		WHERE datname = 'shop' AND application_name = 'orguard-agent'" 2>/dev/null | head -1
}
polls() {
	curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" |
		awk '!f && /^orguard_node_polls_total\{/ { print $NF; f = 1 }'
}
polls_above() { local p; p=$(polls); [ -n "$p" ] && [ "${p%.*}" -gt "$1" ]; }
# the SET commands a backend ran, from the server log (log_line_prefix '%m [%p] ...')
set_by() { # PID TEXT
	grep -F "[$1]" "$server_log" | grep -qF "$2"
}

agent_start agent "$ORG_TMP/agent.conf"
wait_for_http "http://127.0.0.1:$port/healthz" 60 || org_die "agent did not serve /healthz"
tap_ok "the agent polls its node" org_wait_until 30 "polls" polls_above 1
pid=$(agent_pid_in_db)
tap_ok "its session ran the first timeouts" \
	org_wait_until 20 "SET" set_by "$pid" "SET statement_timeout = 3000; SET lock_timeout = 1000"
conf 7s 2s >"$ORG_TMP/agent.conf"
kill -HUP "${AGENT_PIDS[agent]}"
tap_ok "the reload is taken" org_wait_until 30 "reload" grep -q 'configuration reloaded' "$ORG_TMP/agent.log"
tap_ok "the kept session runs the new timeouts" \
	org_wait_until 30 "SET" set_by "$pid" "SET statement_timeout = 7000; SET lock_timeout = 2000"
before=$(polls)
tap_ok "polls go on after the reload" org_wait_until 30 "polls" polls_above "$((${before%.*} + 2))"
tap_ok "on the same backend: the session was kept" bash -c "[ -n '$pid' ] && [ \"\$1\" = '$pid' ]" _ "$(agent_pid_in_db)"
tap_ok "the agent is still alive" agent_alive agent
tap_done
