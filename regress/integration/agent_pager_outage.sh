#!/usr/bin/env bash
# orguard-agent's durable spool against a local HTTP receiver standing in
# for PagerDuty (and two webhooks): the receiver is down while alerts fire
# and resolve, the agent is killed with SIGKILL while retrying and again in
# the middle of a delivery stream, and every event still arrives, in order
# per deduplication key.  A receiver that answers 400 gets no retries; its
# events land in the dead-letter directory.  A receiver that answers 429
# with Retry-After is not retried before that.  Webhook HMAC signatures verify.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

# ---- the receiver: logs every POST as one JSON line ----
cat >"$ORG_TMP/receiver.py" <<'PY'
import hashlib, hmac, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path, delay, key = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4].encode()
log = open(log_path, "a", buffering=1)
busy = {"answered": 0}
busy_lock = threading.Lock()

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(delay)
        if self.path == "/busy":
            # the first two requests are told to come back in 2 s
            with busy_lock:
                n = busy["answered"]
                busy["answered"] += 1
            log.write(json.dumps({"path": "/busy", "t": time.time(), "n": n, "body": {}}) + "\n")
            if n < 2:
                self.send_response(429); self.send_header("Retry-After", "2"); self.end_headers()
                return
            self.send_response(202); self.end_headers()
            return
        if self.path == "/reject":
            self.send_response(400); self.end_headers()
            self.wfile.write(b'{"status":"invalid event","message":"Event object is invalid"}')
            return
        sig = self.headers.get("X-Orguard-Signature", "")
        ts = self.headers.get("X-Orguard-Timestamp", "").encode()
        good = "sha256=" + hmac.new(key, ts + b"." + body, hashlib.sha256).hexdigest()
        log.write(json.dumps({"path": self.path, "sig_ok": hmac.compare_digest(sig, good),
                              "body": json.loads(body)}) + "\n")
        self.send_response(202); self.end_headers()
        self.wfile.write(b'{"status":"success","message":"Event processed"}')

ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY

rport=$(org_free_port)
export ORG_TEST_PD_KEY="R0UTINGKEY$(date +%s%N | sha256sum | cut -c1-22)"
export ORG_TEST_HMAC_KEY="hmac-test-key"
receiver_start() { # LOGFILE DELAY
	agent_bg receiver python3 "$ORG_TMP/receiver.py" "$rport" "$1" "$2" "$ORG_TEST_HMAC_KEY"
	org_wait_listener "${AGENT_PIDS[receiver]}" "$rport" "receiver" 60
}

# ---- ten nodes on one cluster, so one restart makes ten alerts ----
org_cluster_start po_node
node_port=${ORG_PORT[po_node]}
node_stop() { org_as_owner "$ORG_BINDIR/pg_ctl" -D "${ORG_DATA[po_node]}" -m immediate -w stop >/dev/null 2>&1; }
node_start() {
	org_as_owner "$ORG_BINDIR/pg_ctl" -D "${ORG_DATA[po_node]}" -l "$ORG_TMP/po_node/server.log" \
		-o "-p $node_port" -w -t 60 start >/dev/null 2>&1
}

spool="$ORG_TMP/spool"
conf="$ORG_TMP/agent.conf"
{
	cat <<EOF
[agent]
interval = 500ms
node_timeout = 400ms
reconnect_max = 1s
spool_dir = $spool
listen = off

[pager pd]
type = pagerduty
url = http://127.0.0.1:$rport/v2/enqueue
routing_key_env = ORG_TEST_PD_KEY
backoff_initial = 100ms
backoff_max = 1s

[pager hook]
type = webhook
url = http://127.0.0.1:$rport/hook
hmac_key_env = ORG_TEST_HMAC_KEY
backoff_initial = 100ms
backoff_max = 1s

[pager reject]
type = webhook
url = http://127.0.0.1:$rport/reject
backoff_initial = 100ms
backoff_max = 1s

[pager busy]
type = webhook
url = http://127.0.0.1:$rport/busy
backoff_initial = 100ms
backoff_max = 10s

[rule node_unreachable]
for = 0
flap_count = 0
renotify = 0

[rule connection_usage]
enabled = false

# ten [node]s on one server without the extension: no identity to tell
# they are one server, and this test is about node_unreachable only
[rule two_primaries]
enabled = false
EOF
	for i in $(seq 0 9); do
		printf '[node n%d]\nconninfo = %s dbname=postgres connect_timeout=1\ncluster = outage\n\n' "$i" "$(org_conn po_node)"
	done
} >"$conf"

# distinct EVENTS: "dedup_key action" pairs seen by the PagerDuty stand-in in LOG
pd_distinct() {
	python3 - "$1" <<'PY'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] == "/v2/enqueue":
        seen.add((r["body"]["dedup_key"], r["body"]["event_action"]))
print(len(seen))
PY
}
# every resolve of a key comes after a trigger of that key
pd_ordered() {
	python3 - "$1" <<'PY'
import json, sys
triggered = set()
for line in open(sys.argv[1]):
    b = json.loads(line)["body"]
    if "event_action" not in b:
        continue
    if b["event_action"] == "trigger":
        triggered.add(b["dedup_key"])
    elif b["dedup_key"] not in triggered:
        sys.exit(1)
PY
}
at_least() { [ "$($1 "$2")" -ge "$3" ]; }
spool_at_least() { [ "$(spool_count "$spool/$1")" -ge "$2" ]; }
spool_empty() { [ "$(spool_count "$spool/$1")" -eq 0 ]; }

# ---- phase A: the receiver is down while alerts fire and resolve ----
agent_start agent "$conf"
org_wait_until 30 "agent polling" grep -q "started" "$ORG_TMP/agent.log"
node_stop
tap_ok "ten triggers are spooled while the receiver is down" \
	org_wait_until 60 "10 spooled" spool_at_least pd 10
node_start
tap_ok "ten resolutions join them in the spool" \
	org_wait_until 60 "20 spooled" spool_at_least pd 20
tap_ok "the agent retries with backoff meanwhile" grep -q "pager pd: .*retrying in" "$ORG_TMP/agent.log"
agent_kill agent KILL
tap_ok "kill -9 leaves all twenty events in the spool" test "$(spool_count "$spool/pd")" -eq 20
receiver_start "$ORG_TMP/phase_a.jsonl" 0
agent_start agent "$conf"
tap_ok "after the restart all twenty events reach the receiver" \
	org_wait_until 60 "20 delivered" at_least pd_distinct "$ORG_TMP/phase_a.jsonl" 20
tap_ok "every resolve arrives after its trigger" pd_ordered "$ORG_TMP/phase_a.jsonl"
tap_ok "the PagerDuty spool drains" org_wait_until 30 "pd spool empty" spool_empty pd
tap_ok "the webhook spool drains" org_wait_until 30 "hook spool empty" spool_empty hook
tap_ok "webhook signatures verify" python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$ORG_TMP/phase_a.jsonl') if '\"/hook\"' in l]
sys.exit(0 if len(rows) >= 20 and all(r['sig_ok'] for r in rows) else 1)"
tap_ok "a 400 is not retried: events go to the dead-letter directory" \
	org_wait_until 30 "reject dead-lettered" bash -c \
	"[ \$(find '$spool/dead-letter' -name 'reject-*.json' | wc -l) -ge 20 ] && [ \$(find '$spool/reject' -name '*.json' | wc -l) -eq 0 ]"
# the pager waited as asked after each 429 (its own backoff is 100 ms)
busy_waited() {
	python3 - "$ORG_TMP/phase_a.jsonl" <<'PY'
import json, sys
t = [r["t"] for r in map(json.loads, open(sys.argv[1])) if r["path"] == "/busy"]
sys.exit(0 if len(t) >= 3 and t[1] - t[0] >= 1.8 and t[2] - t[1] >= 1.8 else 1)
PY
}
tap_ok "a 429 with Retry-After is retried no sooner than asked" \
	org_wait_until 30 "busy receiver retried" busy_waited
tap_ok "the refusal is logged with the receiver's answer" grep -q "pager reject: receiver refused .* HTTP 400" "$ORG_TMP/agent.log"

# ---- phase B: kill -9 in the middle of a slow delivery stream ----
agent_kill receiver
receiver_start "$ORG_TMP/phase_b.jsonl" 1.0
node_stop
tap_ok "deliveries are under way" org_wait_until 60 "3 delivered" at_least pd_distinct "$ORG_TMP/phase_b.jsonl" 3
agent_kill agent KILL
tap_ok "some events were still spooled at the kill" bash -c "[ \$(find '$spool' -path '*/pd/*' -name '*.json' | wc -l) -gt 0 ]"
agent_start agent "$conf"
node_start
tap_ok "all ten triggers and ten resolutions arrive after the restart" \
	org_wait_until 90 "20 delivered" at_least pd_distinct "$ORG_TMP/phase_b.jsonl" 20
tap_ok "order per key holds across the crash" pd_ordered "$ORG_TMP/phase_b.jsonl"
tap_ok "the spool drains again" org_wait_until 60 "pd spool empty" spool_empty pd
# a crash in the middle of a fan-out (one event, several spools) leaves
# spool/fanout.json behind: the next start spools its events again
agent_kill agent
python3 - "$spool/fanout.json" <<'PY'
import json, sys
ev = {"status": "firing", "dedup_key": "outage/crashed/node_unreachable/node", "rule": "node_unreachable",
      "cluster": "outage", "node": "crashed", "subject": "node", "summary": "interrupted fan-out",
      "severity": "critical", "value": 1.0, "labels": {"alertname": "node_unreachable"},
      "starts_at_us": 1, "ends_at_us": 0, "event_at_us": 1}
json.dump([{"pagers": ["pd", "hook"], "event": ev}], open(sys.argv[1], "w"))
PY
agent_start agent "$conf"
recovered() { grep -q '"dedup_key": "outage/crashed/node_unreachable/node"' "$ORG_TMP/phase_b.jsonl" &&
	[ "$(grep -c 'outage/crashed' "$ORG_TMP/phase_b.jsonl")" -ge 2 ]; }
tap_ok "an interrupted fan-out is spooled again for every pager at start" \
	org_wait_until 30 "fan-out recovered" recovered
# (a later fan-out may be under way at any moment: wait for a gap)
tap_ok "and cleared" org_wait_until 30 "fan-out cleared" test ! -e "$spool/fanout.json"
tap_ok "the routing key never appears in the log" bash -c "! grep -q '$ORG_TEST_PD_KEY' '$ORG_TMP/agent.log'"

agent_kill agent
tap_done
