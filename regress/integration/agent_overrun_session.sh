#!/usr/bin/env bash
# A poll past its deadline keeps the node's session: the agent cancels the
# query and reads its answer when the next poll starts, on the same
# backend.  Dropping the session made every next poll of an overloaded
# server pay for a new backend (fork, authentication, cold caches, a full
# snapshot's first call), which kept hundreds of nodes overloaded.  The
# agent's backend is frozen with SIGSTOP past the deadline, then let go
# before the next poll: the next polls succeed on the same backend pid.
# Frozen past the next poll's start too, the session is given up and a new
# one serves the polls (the cancelled query never ended).
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start overrun
org_psql overrun -d postgres -c "CREATE DATABASE shop" >/dev/null
org_psql overrun -d shop -c "CREATE EXTENSION odoo_retail_guard" >/dev/null
frozen=""
trap 'rc=$?; [ -n "$frozen" ] && kill -CONT "$frozen" 2>/dev/null; (exit $rc); agent_cleanup_all' EXIT

port=$(org_free_port) || org_die "no free port"
cat >"$ORG_TMP/agent.conf" <<CONF
[agent]
interval = 6s
node_timeout = 1s
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$port

[node store1]
conninfo = $(org_conn overrun) dbname=shop
cluster = shop
CONF
metric() { curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" | awk -v m="$1" '!f && $1 ~ "^"m"({|$)" {print $NF; f = 1}'; }
at_least() { local v; v=$(metric "$1") && [ -n "$v" ] && [ "${v%.*}" -ge "$2" ]; }
agent_pid_in_db() {
	org_psql overrun -d postgres -Atc "SELECT pid FROM pg_stat_activity
		WHERE application_name = 'orguard-agent' AND datname = 'shop' ORDER BY backend_start DESC LIMIT 1"
}
agent_sessions() {
	org_psql overrun -d postgres -Atc "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'orguard-agent' AND datname = 'shop'"
}

agent_start agent "$ORG_TMP/agent.conf"
tap_ok "the agent polls the node" org_wait_until 60 "a snapshot" at_least orguard_node_snapshots_total 1
first=$(agent_pid_in_db)
tap_ok "on one backend" test -n "$first"

# frozen for the deadline, let go right after it: the next poll is 5 s away
polls0=$(metric orguard_node_polls_total)
org_wait_until 30 "the next poll to start" at_least orguard_node_polls_total $((${polls0%.*} + 1)) ||
	org_die "no poll"
overruns_before=$(metric orguard_node_deadline_overruns_total)
overruns_before=${overruns_before:-0}
kill -STOP "$first" && frozen=$first
tap_ok "a poll overran its deadline" \
	org_wait_until 30 "an overrun" at_least orguard_node_deadline_overruns_total $((${overruns_before%.*} + 1))
kill -CONT "$first" && frozen=""
snaps=$(metric orguard_node_snapshots_total)
tap_ok "the polls after it succeed" \
	org_wait_until 30 "a snapshot after the overrun" at_least orguard_node_snapshots_total $((${snaps%.*} + 1))
tap_ok "on the same backend: the session was kept" test "$(agent_pid_in_db)" = "$first"
tap_ok "and no other session was opened" test "$(agent_sessions)" = 1

# frozen past the next poll's start: the cancelled query never ended, a new session serves
overruns_before=$(metric orguard_node_deadline_overruns_total)
polls0=$(metric orguard_node_polls_total)
org_wait_until 30 "the next poll to start" at_least orguard_node_polls_total $((${polls0%.*} + 1)) ||
	org_die "no poll"
kill -STOP "$first" && frozen=$first
org_wait_until 30 "an overrun" at_least orguard_node_deadline_overruns_total $((${overruns_before%.*} + 1)) ||
	org_die "no overrun"
snaps=$(metric orguard_node_snapshots_total)
tap_ok "still frozen at the next poll: a new session polls" \
	org_wait_until 30 "a snapshot on a new session" at_least orguard_node_snapshots_total $((${snaps%.*} + 1))
second=$(agent_pid_in_db)
tap_ok "on another backend" bash -c "[ -n '$second' ] && [ '$second' != '$first' ]"
kill -CONT "$first" && frozen=""
gone() { [ "$(org_psql overrun -d postgres -Atc "SELECT count(*) FROM pg_stat_activity WHERE pid = $first")" = 0 ]; }
tap_ok "the old backend ends once it runs again (its client let go)" org_wait_until 30 "the old backend gone" gone
tap_ok "the agent is still alive" agent_alive agent
tap_done
