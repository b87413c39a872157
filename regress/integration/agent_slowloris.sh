#!/usr/bin/env bash
# /metrics under a slowloris: 64 connections from one address that trickle
# a header line each second (and reconnect when dropped) must not lock out
# a scraper or health check from another address.  Loopback clients all
# come from 127.0.0.1, so the healthy client binds 127.0.0.2.  The attack
# runs for a bounded time.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

port=$(org_free_port) || org_die "no free port"
dead_port=$(org_free_port) || org_die "no free port"
cat >"$ORG_TMP/agent.conf" <<CONF
[agent]
interval = 1s
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$port

[node gone]
conninfo = host=127.0.0.1 port=$dead_port dbname=postgres user=postgres connect_timeout=1
CONF
agent_start agent "$ORG_TMP/agent.conf"
wait_for_http "http://127.0.0.1:$port/healthz" 60 || org_die "agent did not serve /healthz"
curl -fsS --max-time 5 --interface 127.0.0.2 -o /dev/null "http://127.0.0.1:$port/healthz" ||
	org_die "cannot reach the agent from 127.0.0.2 (loopback alias missing?)"

# the attack: CONNS sockets, one header line each second, reconnecting any
# the server drops, for SECS seconds; "open N" lines go to the status file
cat >"$ORG_TMP/loris.py" <<'PY'
import socket, sys, time
port, conns, secs, status = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
end = time.monotonic() + secs
socks = []
reconnects = 0
def dial():
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    return s
while time.monotonic() < end:
    while len(socks) < conns:
        try:
            socks.append(dial())
            reconnects += 1
        except OSError:
            break
    alive = []
    for s in socks:
        try:
            s.sendall(b"X-Slow: 1\r\n")
            alive.append(s)
        except OSError:
            s.close()
    socks = alive
    with open(status, "a") as f:
        f.write("open %d dialed %d\n" % (len(socks), reconnects))
    time.sleep(1)
PY
agent_bg loris python3 "$ORG_TMP/loris.py" "$port" 64 40 "$ORG_TMP/loris.status"
tap_ok "the slowloris is running (its first round is sent)" \
	org_wait_until 20 "loris" test -s "$ORG_TMP/loris.status"

# ten health checks from the other address while the attack goes on, each
# within 2 s; the slowest is reported
slowest=0
failed=0
for _ in $(seq 1 10); do
	t=$(curl -fsS --max-time 2 --interface 127.0.0.2 -o /dev/null -w '%{time_total}' \
		"http://127.0.0.1:$port/healthz") || failed=$((failed + 1))
	ms=$(awk -v t="${t:-2}" 'BEGIN { printf "%d", t * 1000 }')
	[ "$ms" -gt "$slowest" ] && slowest=$ms
	agent_alive loris || break
done
tap_ok "/healthz from another address answers within 2 s during the attack (10 tries, $failed failed, slowest ${slowest} ms)" \
	test "$failed" -eq 0
tap_ok "/metrics from another address too" \
	curl -fsS --max-time 2 --interface 127.0.0.2 -o /dev/null "http://127.0.0.1:$port/metrics"
tap_ok "the attack was still running during the checks" agent_alive loris

# one connection that stops sending in the middle of its headers is closed
# by the server on its own
cat >"$ORG_TMP/stall.py" <<'PY'
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.2", 0)); s.settimeout(20)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
t0 = time.monotonic()
try:
    closed = s.recv(1) == b""
except (socket.timeout, OSError):
    closed = False
print("%.1f" % (time.monotonic() - t0) if closed else "open")
PY
stall=$(python3 "$ORG_TMP/stall.py" "$port")
tap_ok "a connection stalled mid-header is closed by the server (after ${stall} s)" \
	awk -v s="$stall" 'BEGIN { exit !(s ~ /^[0-9.]+$/ && s + 0 < 10) }'

agent_kill loris
tap_ok "after the attack, 127.0.0.1 is served again" \
	org_wait_until 30 "healthz" curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz"
tap_ok "the agent is alive" agent_alive agent
tap_done
