#!/usr/bin/env bash
# The agent under systemd's Type=notify protocol and journald, without a
# systemd: NOTIFY_SOCKET points at a datagram socket this script reads, and
# stderr is a file whose device:inode is given as JOURNAL_STREAM.
#   - READY=1 once the configuration is loaded and /metrics listens, then
#     WATCHDOG=1 at least every WATCHDOG_USEC (4s) while polls complete;
#   - SIGHUP: RELOADING=1 then READY=1; SIGTERM: STOPPING=1;
#   - a poll that hangs (a node that accepts TCP and never answers) starves
#     the watchdog for longer than its period, and the agent warns at start
#     that node_timeout is too long for the watchdog;
#   - log lines carry <6>/<4>/<3> priorities on the journal stream, none
#     when JOURNAL_STREAM names another file;
#   - `run` with a configuration error exits 2 (RestartPreventExitStatus=2).
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start sd_node

# notify_listen NAME: a datagram socket $ORG_TMP/NAME.sock; each message is
# one line of $ORG_TMP/NAME.msgs: "<monotonic seconds> <fields joined by |>"
notify_listen() {
	local sock="$ORG_TMP/$1.sock" out="$ORG_TMP/$1.msgs"
	: >"$out"
	agent_bg "$1-listener" python3 -c '
import os, socket, sys, time
sock, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock)
with open(out, "a") as f:
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        f.write("%.3f %s\n" % (time.monotonic(), msg.replace("\n", "|")))
        f.flush()
' "$sock" "$out"
	org_wait_until 30 "$1 socket" test -S "$sock" || org_die "notify listener did not start"
}
msgs() { cat "$ORG_TMP/$1.msgs"; }
count() { grep -c -- "$2" "$ORG_TMP/$1.msgs"; }
count_at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }
# the largest gap in seconds between consecutive WATCHDOG=1 messages
watchdog_max_gap() {
	awk '/ WATCHDOG=1/ { if (p != "") { g = $1 - p; if (g > m) m = g } p = $1 } END { printf "%.3f\n", m }' \
		"$ORG_TMP/$1.msgs"
}
# the agent's stderr file, created first so that its device:inode is known
stream_of() { : >"$ORG_TMP/$1.log"; stat -c '%d:%i' "$ORG_TMP/$1.log"; }

# ---- a healthy agent ----
port=$(org_free_port) || org_die "no free port"
conf="$ORG_TMP/agent.conf"
printf '[agent]\ninterval = 500ms\nnode_timeout = 400ms\nspool_dir = %s/spool\nlisten = 127.0.0.1:%s\n[node sd_node]\nconninfo = %s dbname=postgres\n' \
	"$ORG_TMP" "$port" "$(org_conn sd_node)" >"$conf"
notify_listen n1
js=$(stream_of agent)
agent_bg agent env NOTIFY_SOCKET="$ORG_TMP/n1.sock" WATCHDOG_USEC=4000000 JOURNAL_STREAM="$js" \
	"$AGENT_BIN" --config "$conf" run
tap_ok "READY=1 is sent" org_wait_until 60 "READY=1" count_at_least n1 'READY=1' 1
tap_ok "/metrics listens when READY=1 has been sent" curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$port/metrics"
tap_ok "the first message is READY=1 (nothing before readiness)" bash -c '[[ "$(head -n1 "$1")" == *" READY=1|"* ]]' _ "$ORG_TMP/n1.msgs"
tap_ok "WATCHDOG=1 follows while the polls complete" org_wait_until 30 "WATCHDOG=1 x4" count_at_least n1 'WATCHDOG=1' 4
gap=$(watchdog_max_gap n1)
tap_ok "WATCHDOG=1 comes within WATCHDOG_USEC=4s (largest gap ${gap}s)" \
	awk -v g="$gap" 'BEGIN { exit !(g > 0 && g < 4) }'

kill -HUP "${AGENT_PIDS[agent]}"
tap_ok "SIGHUP: RELOADING=1 is sent" org_wait_until 30 "RELOADING=1" count_at_least n1 'RELOADING=1' 1
tap_ok "SIGHUP: RELOADING=1 carries MONOTONIC_USEC" bash -c 'grep -q "RELOADING=1|MONOTONIC_USEC=[0-9]" "$1"' _ "$ORG_TMP/n1.msgs"
tap_ok "SIGHUP: READY=1 again after the reload" org_wait_until 30 "second READY=1" count_at_least n1 'READY=1' 2
tap_ok "the order is READY, RELOADING, READY" bash -c \
	'[ "$(grep -o -e " READY=1" -e " RELOADING=1" "$1" | tr -d " " | paste -sd,)" = READY=1,RELOADING=1,READY=1 ]' \
	_ "$ORG_TMP/n1.msgs"
tap_ok "info lines carry <6> on the journal stream" grep -q '^<6>.* info: orguard-agent .* started' "$ORG_TMP/agent.log"
tap_ok "every line of the journal stream starts with a priority" \
	bash -c '! grep -qv "^<[3467]>" "$1"' _ "$ORG_TMP/agent.log"
agent_kill agent TERM
tap_ok "SIGTERM: STOPPING=1 is sent" org_wait_until 30 "STOPPING=1" count_at_least n1 'STOPPING=1' 1

# ---- a poll that never completes starves the watchdog ----
# a TCP port that accepts connections and never answers: libpq waits for
# the server's reply until node_timeout
hang_port=$(org_free_port) || org_die "no free port"
agent_bg blackhole python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$hang_port"
org_wait_listener "${AGENT_PIDS[blackhole]}" "$hang_port" "blackhole" 60 || org_die "blackhole did not listen"
conf2="$ORG_TMP/agent2.conf"
printf '[agent]\ninterval = 4s\nnode_timeout = 3s\nspool_dir = %s/spool2\nlisten = off\n[node stuck]\nconninfo = host=127.0.0.1 port=%s dbname=postgres user=postgres connect_timeout=30\n' \
	"$ORG_TMP" "$hang_port" >"$conf2"
notify_listen n2
: >"$ORG_TMP/agent2.log"
# JOURNAL_STREAM names another file: no priority prefixes
agent_bg agent2 env NOTIFY_SOCKET="$ORG_TMP/n2.sock" WATCHDOG_USEC=2000000 JOURNAL_STREAM=1:1 \
	"$AGENT_BIN" --config "$conf2" run
tap_ok "hanging node: READY=1 is sent" org_wait_until 60 "READY=1" count_at_least n2 'READY=1' 1
# each completed (timed-out) poll feeds twice (at its end, then once while
# idle): four feeds span a whole hanging poll
tap_ok "hanging node: polls time out and complete" org_wait_until 60 "four feeds" count_at_least n2 'WATCHDOG=1' 4
gap=$(watchdog_max_gap n2)
tap_ok "no WATCHDOG=1 while a poll hangs: a gap of ${gap}s, more than the 2s period" \
	awk -v g="$gap" 'BEGIN { exit !(g > 2.5) }'
tap_ok "the agent warns that node_timeout is too long for the watchdog" \
	grep -q 'node_timeout (3s) is more than half of the systemd watchdog' "$ORG_TMP/agent2.log"
tap_ok "JOURNAL_STREAM of another file: no priority prefixes" \
	bash -c 'grep -q " warning: node_timeout" "$1" && ! grep -q "^<[0-9]>" "$1"' _ "$ORG_TMP/agent2.log"
agent_kill agent2 TERM

# ---- a configuration error exits 2 ----
printf '[agent]\ninterval = often\n' >"$ORG_TMP/bad.conf"
js=$(stream_of bad)
JOURNAL_STREAM="$js" "$AGENT_BIN" --config "$ORG_TMP/bad.conf" run 2>>"$ORG_TMP/bad.log"
rc=$?
tap_ok "run with a configuration error exits 2, which the unit does not restart (exit $rc)" test "$rc" -eq 2
tap_ok "the configuration error is logged at priority 3 (err)" grep -q '^<3>.* error: .*interval' "$ORG_TMP/bad.log"

tap_done
