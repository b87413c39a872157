#!/usr/bin/env bash
# /healthz tells a supervisor when the agent cannot do its job:
# - a pager whose receiver has been down longer than healthz_pager_stuck
#   (its spool holds undeliverable pages): 503 naming the pager, 200 again
#   once the receiver takes them;
# - a main loop that has completed no poll cycle within three intervals plus
#   a node deadline (the agent is frozen with SIGSTOP; the node is a socket
#   that accepts and never answers, so after SIGCONT no cycle can complete
#   before the node deadline and the first answer is the stale verdict):
#   503 "stuck", then 200 once cycles complete again.
# /ready stays as it was (200 after the first poll).
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

# a "node" that accepts connections and never says a word
silent_port=$(org_free_port)
agent_bg silent python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)' "$silent_port"
org_wait_listener "${AGENT_PIDS[silent]}" "$silent_port" "silent node" 60

hook_port=$(org_free_port)
metrics_port=$(org_free_port)
conf="$ORG_TMP/agent.conf"
cat >"$conf" <<CONF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$metrics_port
healthz_pager_stuck = 3s

[node silent]
conninfo = host=127.0.0.1 port=$silent_port dbname=postgres user=postgres connect_timeout=30
cluster = hz

[pager hook]
type = webhook
url = http://127.0.0.1:$hook_port/hook
backoff_initial = 200ms
backoff_max = 1s

[rule node_unreachable]
for = 0
CONF

healthz_code() { curl -s -o "$ORG_TMP/healthz.body" -w '%{http_code}' --max-time 20 "http://127.0.0.1:$metrics_port/healthz"; }
healthz_is() { [ "$(healthz_code)" = "$1" ]; }

agent_start agent "$conf"
tap_ok "/ready once the first poll is done" \
	org_wait_until 60 "ready" bash -c "curl -fsS --max-time 5 http://127.0.0.1:$metrics_port/ready | grep -q ready"

# ---- a receiver down past healthz_pager_stuck ----
tap_ok "node_unreachable is spooled for the webhook, which is down" \
	org_wait_until 30 "spooled" bash -c "ls '$ORG_TMP/spool/hook/' | grep -q json"
tap_ok "/healthz answers 503 once the pager is stuck for 3s" org_wait_until 30 "503" healthz_is 503
tap_ok "and names the pager" grep -q 'pager hook has not delivered' "$ORG_TMP/healthz.body"
cat >"$ORG_TMP/receiver.py" <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.end_headers()
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
agent_bg receiver python3 "$ORG_TMP/receiver.py" "$hook_port"
tap_ok "the receiver is back: /healthz answers 200" org_wait_until 30 "200" healthz_is 200

# ---- the main loop frozen past three intervals and a node deadline ----
kill -STOP "${AGENT_PIDS[agent]}"
frozen_until=$((SECONDS + 6))
outlasted() { [ "$SECONDS" -ge "$frozen_until" ]; }
org_wait_until 30 "the freeze to outlast the window (3 x 1s + 0.9s)" outlasted
healthz_code >"$ORG_TMP/stuck.code" &
asker=$!
org_wait_until 30 "the request to reach the frozen agent" \
	bash -c "ss -Htn state established '( dport = :$metrics_port )' | grep -q ."
kill -CONT "${AGENT_PIDS[agent]}"
wait "$asker"
tap_ok "the frozen loop is reported: 503 ($(cat "$ORG_TMP/stuck.code"))" test "$(cat "$ORG_TMP/stuck.code")" = 503
tap_ok "the reason says the loop is stuck" grep -q 'has not completed a poll cycle' "$ORG_TMP/healthz.body"
tap_ok "once it polls again: 200" org_wait_until 30 "200 again" healthz_is 200
tap_ok "/ready is unchanged" bash -c "curl -fsS --max-time 5 http://127.0.0.1:$metrics_port/ready | grep -q ready"

tap_done
