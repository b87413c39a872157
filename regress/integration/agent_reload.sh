#!/usr/bin/env bash
# SIGHUP with a broken configuration: the running agent keeps the
# configuration it has (still serving /metrics and polling its nodes under
# the old names) and logs why; a later valid file is taken.  The broken
# file is the one that once crashed the parser: a second [agent] section
# after one that set top_n or remote_write_url badly.  And a reload that
# cuts the interval from an hour to half a second polls again within
# seconds, not at the end of the old hour; and /metrics on a new address
# serves the last figures at once, not only after the next cycle.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start reload_node
port=$(org_free_port) || org_die "no free port"
conf="$ORG_TMP/agent.conf"
log="$ORG_TMP/agent.log"
base() { # NODE-NAME
	printf '[agent]\ninterval = 500ms\nspool_dir = %s/spool\nlisten = 127.0.0.1:%s\n' "$ORG_TMP" "$port"
	printf '[node %s]\nconninfo = %s dbname=postgres\n' "$1" "$(org_conn reload_node)"
}
base old_name >"$conf"

polls() { # NODE: orguard_node_polls_total of that node, or nothing
	curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" |
		awk -v n="node=\"$1\"" '/^orguard_node_polls_total\{/ && index($0, n) { print $NF; exit }'
}
polls_above() { local p; p=$(polls "$1"); [ -n "$p" ] && [ "${p%.*}" -gt "$2" ]; }
# logged_at_least N WHAT: the log holds WHAT N times; a function, so a wait re-reads the log
logged_at_least() { [ "$(grep -c "$2" "$log" 2>/dev/null)" -ge "$1" ]; }

agent_start agent "$conf"
wait_for_http "http://127.0.0.1:$port/healthz" 60 || org_die "agent did not serve /healthz"
tap_ok "the agent polls its node" org_wait_until 30 "polls" polls_above old_name 1
# what the agent itself costs, as Prometheus's process collector names it
tap_ok "/metrics carries the agent's resident memory and CPU time" bash -c "curl -fsS --max-time 5 http://127.0.0.1:$port/metrics |
	awk '\$1 == \"process_resident_memory_bytes\" && \$2 > 1000000 {r = 1} \$1 == \"process_cpu_seconds_total\" && \$2 >= 0 {c = 1} END {exit !(r && c)}'"

n=0
for broken in 'top_n = 0' 'top_n = 1e300' 'remote_write_url = ftp://x'; do
	n=$((n + 1))
	{
		printf '[agent]\n%s\n' "$broken"
		base new_name
	} >"$conf"
	"$AGENT_BIN" --config "$conf" check-config >"$ORG_TMP/check.out" 2>&1
	rc=$?
	tap_ok "check-config reports \"$broken\" before a second [agent] (exit 2, not a crash)" \
		bash -c "[ $rc -eq 2 ] && grep -q ':3: duplicate section \[agent\]' '$ORG_TMP/check.out'"
	before=$(polls old_name)
	kill -HUP "${AGENT_PIDS[agent]}"
	tap_ok "SIGHUP with \"$broken\": the error is logged" org_wait_until 30 "log" logged_at_least $n 'configuration has errors; keeping the running one'
	tap_ok "the agent is still alive" agent_alive agent
	tap_ok "it still polls the node under its old name" org_wait_until 30 "polls" polls_above old_name "${before%.*}"
	tap_ok "the new name was not taken" bash -c "[ -z \"\$(curl -fsS --max-time 5 http://127.0.0.1:$port/metrics | grep 'node=\"new_name\"')\" ]"
done

# a valid file is taken on the next SIGHUP, so the checks above could fail
base new_name >"$conf"
kill -HUP "${AGENT_PIDS[agent]}"
tap_ok "a valid file is taken: the node is polled under its new name" org_wait_until 30 "polls" polls_above new_name 0
tap_ok "the reload is logged" grep -q 'configuration reloaded' "$log"

# a new listen address that cannot be bound: the old one keeps serving
busy_port=$(org_free_port) || org_die "no free port"
agent_bg squatter python3 -c "import socket, time
s = socket.socket(); s.bind(('127.0.0.1', $busy_port)); s.listen(); time.sleep(300)"
org_wait_listener "${AGENT_PIDS[squatter]}" "$busy_port" "squatter" 60 || org_die "squatter did not bind"
base new_name | sed "s/^listen = .*/listen = 127.0.0.1:$busy_port/" >"$conf"
kill -HUP "${AGENT_PIDS[agent]}"
tap_ok "a listen address in use is logged" org_wait_until 30 "log" grep -q "reload: cannot listen on 127.0.0.1:$busy_port; keeping 127.0.0.1:$port" "$log"
tap_ok "and /metrics still answers on the old address" \
	org_wait_until 30 "old listener" curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz"
tap_ok "the agent is still alive" agent_alive agent

# an hour's interval cut to 500 ms: the next poll does not wait out the hour
# on a new address too: it serves the last figures at once, not nothing for the hour
port=$(org_free_port) || org_die "no free port"
base new_name | sed 's/^interval = .*/interval = 1h/' >"$conf"
kill -HUP "${AGENT_PIDS[agent]}"
tap_ok "reloaded with a 1 h interval" org_wait_until 30 "log" logged_at_least 3 'configuration reloaded'
tap_ok "the new listener serves the node's figures before the next cycle" \
	org_wait_until 15 "figures on the new address" polls_above new_name 0
# the cycle under way at the reload ends, then no poll for the hour: two looks 1.5 s apart agree
steady() { local a b; a=$(polls new_name); sleep 1.5; b=$(polls new_name); [ -n "$a" ] && [ "$a" = "$b" ]; }
org_wait_until 30 "polls to stop under the 1 h interval" steady || org_die "polls did not settle"
settled=$(polls new_name)
base new_name >"$conf"
kill -HUP "${AGENT_PIDS[agent]}"
tap_ok "cut back to 500 ms: it polls again within seconds" org_wait_until 15 "polls" polls_above new_name "$((${settled%.*} + 2))"
tap_done
