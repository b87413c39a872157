#!/usr/bin/env bash
# Webhook signatures against a real receiver that runs the verification
# code printed in docs/agent.md (taken from the page itself, so the page
# stays right): the agent's signed request is accepted; the same request
# with another timestamp or another body is refused; replayed verbatim
# once it is older than the receiver's window, it is refused too.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

# the documented verification function, out of docs/agent.md
awk '/^```python$/ { on = 1; next } on && /^```$/ { exit } on' docs/agent.md >"$ORG_TMP/orguard_verify.py"
grep -q '^def orguard_verify' "$ORG_TMP/orguard_verify.py" || org_die "no orguard_verify in docs/agent.md"

cat >"$ORG_TMP/receiver.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
sys.path.insert(0, sys.argv[4])
from orguard_verify import orguard_verify

port, log_path, max_age = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
key = open(sys.argv[5], "rb").read().strip()
log = open(log_path, "a", buffering=1)

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = orguard_verify(key, self.headers, body, max_age=max_age)
        log.write(json.dumps({"ok": ok, "ts": self.headers.get("X-Orguard-Timestamp"),
                              "sig": self.headers.get("X-Orguard-Signature"),
                              "body": body.decode()}) + "\n")
        self.send_response(202 if ok else 401)
        self.end_headers()

ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY

rport=$(org_free_port) || org_die "no free port"
dead_port=$(org_free_port) || org_die "no free port"
printf 'k3y-%s\n' "$(date +%s%N | sha256sum | cut -c1-24)" >"$ORG_TMP/hmac.key"
chmod 600 "$ORG_TMP/hmac.key"
# a 3 s window stands in for the documented 5 minutes
agent_bg receiver python3 "$ORG_TMP/receiver.py" "$rport" "$ORG_TMP/recv.jsonl" 3 "$ORG_TMP" "$ORG_TMP/hmac.key"
org_wait_listener "${AGENT_PIDS[receiver]}" "$rport" "receiver" 60 ||
	org_die "receiver did not start"

# a node on a closed port: node_unreachable fires at once
cat >"$ORG_TMP/agent.conf" <<CONF
[agent]
interval = 500ms
node_timeout = 400ms
spool_dir = $ORG_TMP/spool
listen = off

[node gone]
conninfo = host=127.0.0.1 port=$dead_port dbname=postgres user=postgres connect_timeout=1

[pager hook]
type = webhook
url = http://127.0.0.1:$rport/hook
hmac_key_file = $ORG_TMP/hmac.key
backoff_initial = 100ms
backoff_max = 1s

[rule node_unreachable]
for = 0
CONF
agent_start agent "$ORG_TMP/agent.conf"

accepted() { grep -q '"ok": true' "$ORG_TMP/recv.jsonl" 2>/dev/null; }
tap_ok "the agent's signed webhook is accepted by the documented check" \
	org_wait_until 60 "accepted webhook" accepted
tap_ok "no request of the agent was refused" bash -c "! grep -q '\"ok\": false' '$ORG_TMP/recv.jsonl'"
spool_empty() { [ "$(spool_count "$ORG_TMP/spool/hook")" -eq 0 ]; }
tap_ok "the hook spool drains" org_wait_until 30 "spool empty" spool_empty
agent_kill agent

# resend TS-DELTA BODY-SUFFIX: posts the first accepted request again with
# its timestamp shifted and its body extended; prints the HTTP status
resend() {
	python3 - "$ORG_TMP/recv.jsonl" "$rport" "$1" "$2" <<'PY'
import json, sys, urllib.request, urllib.error
r = next(x for x in map(json.loads, open(sys.argv[1])) if x["ok"])
req = urllib.request.Request("http://127.0.0.1:%s/hook" % sys.argv[2],
                             data=(r["body"] + sys.argv[4]).encode(), method="POST",
                             headers={"Content-Type": "application/json",
                                      "X-Orguard-Timestamp": str(int(r["ts"]) + int(sys.argv[3])),
                                      "X-Orguard-Signature": r["sig"]})
try:
    print(urllib.request.urlopen(req, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
ts_fresh() {
	python3 - "$ORG_TMP/recv.jsonl" <<'PY'
import json, sys, time
r = next(x for x in map(json.loads, open(sys.argv[1])) if x["ok"])
sys.exit(0 if abs(time.time() - int(r["ts"])) < 120 else 1)
PY
}
tap_ok "the timestamp is the send time" ts_fresh
tap_ok "the same signature with another timestamp is refused (the timestamp is signed)" \
	test "$(resend -1 '')" = 401
tap_ok "the same signature with another body is refused" test "$(resend 0 ' ')" = 401
refused_late() { [ "$(resend 0 '')" = 401 ]; }
tap_ok "the request replayed verbatim after the window is refused" \
	org_wait_until 30 "replay refused" refused_late
tap_done
