#!/usr/bin/env bash
# The agent's status page in a real browser.  A primary and a streaming
# standby with an incident: an Odoo cron holds a stock_quant row idle in
# transaction while a POS worker waits on it, and the standby's replay is
# paused while the primary writes (lag).  Headless Chromium opens GET / of
# the agent and the DOM must show the blocking chain as a tree (root: the
# cron), the lock_wait alert and the standby's lag chart; a screenshot goes
# to the test's output directory; every request the browser made went
# through a recording proxy and none left loopback.  Then TLS and basic
# auth with curl, and check-config refusing an open non-loopback listener.
# A backup runbook run (the quickest run that journals real steps) must
# show on the page and in the JSON with its steps.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/replica.sh
. regress/lib/agent.sh
. regress/lib/runbook_nodes.sh

OUT=${ORG_TEST_OUT:-$ORG_SRC_DIR/regress/results/agent_status_page}
mkdir -p "$OUT"
command -v chromium >/dev/null || org_die "chromium is missing (packaging/deps/test.list)"
make -s agent >/dev/null || org_die "agent build failed"

W=$(org_scratch_dir rb)
org_as_owner mkdir -p "$W/archive" "$W/backups"
org_cluster_start sp_primary "$(org_archive_conf "$W/archive")
max_wal_senders = 5"
org_psql sp_primary -d postgres -c "CREATE DATABASE odoo" >/dev/null
org_psql sp_primary -d odoo >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE ir_model (id serial PRIMARY KEY, model varchar NOT NULL);
INSERT INTO ir_model (model) VALUES ('stock.quant');
CREATE TABLE stock_quant (id serial PRIMARY KEY, product_id int, quantity numeric);
INSERT INTO stock_quant (product_id, quantity) SELECT g, 10 FROM generate_series(1, 10) g;
SQL
org_standby_start sp_standby sp_primary
org_standby_wait_streaming sp_standby sp_primary 120 || org_die "the standby does not stream"

port=$(org_free_port)
conf="$ORG_TMP/agent.conf"
cat >"$conf" <<EOF2
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$port
[node store7]
conninfo = $(org_conn sp_primary) dbname=odoo
cluster = e2e
[node store7-standby]
conninfo = $(org_conn sp_standby) dbname=odoo
cluster = e2e
[rule lock_wait]
threshold = 2s
clear = 1s
for = 0
[rule connection_usage]
enabled = false
[runbook backup]
kind = pitr
node = store7
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal
bin_dir = $ORG_BINDIR
archive_timeout = 30s
EOF2
"$AGENT_BIN" --config "$conf" check-config >/dev/null || org_die "check-config refused the test's configuration"
agent_start agent "$conf"
base="http://127.0.0.1:$port"
tap_ok "/api/v1/status answers once the nodes were polled" \
	org_wait_until 30 "status json" bash -c "curl -fsS --max-time 5 '$base/api/v1/status' | grep -q '\"store7-standby\"'"

psql_bg() { # NAME APPNAME: a psql session in the background reading SQL from stdin
	PGAPPNAME=$2 agent_bg "$1" psql -X -q -h "${ORG_SOCK[sp_primary]}" -p "${ORG_PORT[sp_primary]}" -U postgres -d odoo
}
# the incident: replay paused on the standby while the primary writes ...
org_psql sp_standby -d postgres -Atc "SELECT pg_wal_replay_pause()" >/dev/null
org_psql sp_primary -d odoo -c "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g" >/dev/null
# ... and an Odoo cron (odoo/addons/base/models/ir_cron.py, 16.0: a job's
# work runs in a transaction that keeps its row locks until it commits)
# holding a stock_quant row while a POS worker's update waits on it
printf '%s\n' "BEGIN;" "SELECT id FROM stock_quant WHERE id IN (3) FOR NO KEY UPDATE;" '\! sleep 90' "COMMIT;" |
	psql_bg cron odoo-cron-2001
cron_idle() {
	[ "$(org_psql sp_primary -d odoo -Atc "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'odoo-cron-2001' AND state = 'idle in transaction'")" = 1 ]
}
org_wait_until 30 "cron holding the row" cron_idle || org_die "the cron did not take the row"
cron_pid=$(org_psql sp_primary -d odoo -Atc "SELECT pid FROM pg_stat_activity WHERE application_name = 'odoo-cron-2001'")
echo "UPDATE stock_quant SET quantity = quantity - 1 WHERE id = 3;" | psql_bg pos odoo-1001

status_has() { # PYTHON-EXPR over d (the status document)
	curl -fsS --max-time 5 "$base/api/v1/status" |
		python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"
}
tap_ok "the status JSON shows the chain rooted at the cron" org_wait_until 45 "chain" status_has \
	"any(c['root']['pid'] == $cron_pid and c['root']['worker_class'] == 'cron' and c['model'] == 'stock.quant'
	     for n in d['nodes'] for c in n['blocking_chains'])"
tap_ok "the status JSON shows the lock_wait alert firing" org_wait_until 45 "alert" status_has \
	"any(a['rule'] == 'lock_wait' and a['facts'].get('model') == 'stock.quant' for a in d['alerts'])"
tap_ok "the status JSON has lag history for the standby, growing" org_wait_until 45 "lag" status_has \
	"any(s['standby'] == 'sp_standby' and len(s['points']) >= 3 and s['points'][-1][1] > 0 for s in d['replication_lag'])"
tap_ok "the standby node is listed as a standby, up" status_has \
	"any(n['name'] == 'store7-standby' and n['role'] == 'standby' and n['up'] for n in d['nodes'])"
tap_ok "before any run the journal shows as missing, not as an error" status_has \
	"[(j['path'], j['state']) for j in d['runbook_journals']] == [('$W/journal', 'missing')]"

# a runbook run: the page shows it with its steps once the journal has it
org_as_owner "$AGENT_BIN" --config "$conf" runbook backup >"$ORG_TMP/backup.out" 2>&1
tap_ok "the backup runbook ran" grep -q '"step":"runbook".*"result":"done"' "$W/journal"
rb_run=$(sed -n 's/.*"run":"\([^"]*\)".*"step":"runbook".*"result":"done".*/\1/p' "$W/journal" | tail -1)
tap_ok "the status JSON shows the run, done, with its steps" org_wait_until 30 "run in JSON" status_has \
	"any(r['run'] == '$rb_run' and r['runbook'] == 'backup' and r['result'] == 'done' and not r['in_progress']
	     and r['started'] and r['finished'] and [s['step'] for s in r['steps'] if s['result'] == 'ok'] == ['base-backup', 'archive-check']
	     for j in d['runbook_journals'] for r in j['runs'])"

# the page itself: no reference to anything outside the binary
curl -fsS --max-time 5 "$base/" >"$ORG_TMP/page.html"
tap_ok "GET / is one HTML page with the data inlined" grep -q 'id="status-data"' "$ORG_TMP/page.html"
tap_ok "the page links nothing external (only the SVG namespace has a scheme)" \
	bash -c "! grep -o '[a-z]*://[^\"]*' '$ORG_TMP/page.html' | grep -v '^http://www.w3.org/2000/svg$'"
tap_ok "the page is readable on a phone (viewport)" grep -q 'name="viewport" content="width=device-width' "$ORG_TMP/page.html"

# every request of the browser goes through a proxy that records it
agent_bg proxy python3 regress/lib/record_proxy.py "$ORG_TMP/proxy.port" "$ORG_TMP/proxy.requests"
org_wait_until 20 "proxy port" test -s "$ORG_TMP/proxy.port" || org_die "the recording proxy did not start"
browser() { # ARGS...: headless Chromium, isolated, all traffic through the proxy
	timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
		--user-data-dir="$ORG_TMP/chromium" --disable-background-networking --disable-component-update \
		--disable-sync --disable-default-apps --disable-extensions --metrics-recording-only --no-pings \
		--disable-domain-reliability --disable-client-side-phishing-detection \
		--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate \
		--proxy-server="http://127.0.0.1:$(cat "$ORG_TMP/proxy.port")" --proxy-bypass-list='<-loopback>' \
		--host-resolver-rules='MAP * ~NOTFOUND , EXCLUDE 127.0.0.1' "$@" 2>>"$ORG_TMP/chromium.log"
}
# Chromium talks to its own services (updates, accounts) whatever the page:
# a run on about:blank tells which hosts those are
browser --dump-dom about:blank >/dev/null
mv "$ORG_TMP/proxy.requests" "$ORG_TMP/proxy.baseline" 2>/dev/null || : >"$ORG_TMP/proxy.baseline"
browser --virtual-time-budget=3000 --dump-dom "$base/" >"$ORG_TMP/dom.html"
dom_has() { python3 - "$ORG_TMP/dom.html" "$@" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
sys.exit(0 if all(re.search(p, dom, re.S) for p in sys.argv[2:]) else 1)
PY
}
tap_ok "the DOM shows the chain as a tree, the cron's pid at the root" \
	dom_has "<ul class=\"tree chain\"><li class=\"root\"><div class=\"box\"><b>pid $cron_pid</b> cron · idle in transaction" \
	'<li class="waiter"><div class="box"><b>pid [0-9]+</b> http'
tap_ok "the DOM shows the lock_wait alert" dom_has '<tr class="alert [a-z]+"><td>[a-z]+</td><td>lock_wait</td><td>store7</td>'
tap_ok "the DOM shows the standby's lag chart (an SVG line)" \
	dom_has 'store7 → sp_standby</div><svg[^>]*class="lag-chart"[^>]*><path d="M[0-9.]+ [0-9.]+ L'
tap_ok "the DOM shows the backup run with its steps" \
	dom_has "<tr class=\"run done\"><td>backup</td><td><code>$rb_run</code></td><td>e2e</td>" \
	'<li class="step ok"><b>base-backup</b> [^<]*/backups/[^<]* · ok' '<li class="step ok"><b>archive-check</b>'
tap_ok "the DOM lists both nodes with their roles" \
	dom_has '<td>store7</td><td>primary</td><td><span class="up">up</span>' '<td>store7-standby</td><td>standby</td>'
browser --window-size=1280,1260 --virtual-time-budget=3000 --screenshot="$OUT/status-page.png" "$base/" >/dev/null
tap_ok "a screenshot was saved ($OUT/status-page.png)" \
	python3 -c "import sys; b=open('$OUT/status-page.png','rb').read(); sys.exit(0 if b[:8]==b'\x89PNG\r\n\x1a\n' and len(b) > 20000 else 1)"
# hosts the browser asked for while showing the page, beyond its own services
page_hosts() {
	python3 - "$ORG_TMP/proxy.baseline" "$ORG_TMP/proxy.requests" "127.0.0.1:$port" <<'PY'
import sys, urllib.parse
def hosts(path):
    out = set()
    for line in open(path):
        method, target = line.split()[:2]
        out.add(target if method == "CONNECT" else urllib.parse.urlsplit(target).netloc)
    return out
# Chromium's own services, also when the baseline run did not happen to call them
own = hosts(sys.argv[1]) | {"update.googleapis.com:443", "update.googleapis.com", "accounts.google.com:443",
                           "clients2.google.com"}
page = hosts(sys.argv[2])
extra = sorted(page - own - {sys.argv[3]})
print(" ".join(extra))
sys.exit(1 if extra or sys.argv[3] not in page else 0)
PY
}
echo "# browser requests: $(tr '\n' ';' <"$ORG_TMP/proxy.requests" 2>/dev/null)"
tap_ok "the page made the browser fetch nothing beyond the agent on loopback" page_hosts
agent_kill proxy
agent_kill pos
agent_kill cron
org_psql sp_standby -d postgres -Atc "SELECT pg_wal_replay_resume()" >/dev/null

# TLS and basic auth on a second listener
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$ORG_TMP/tls.key" -out "$ORG_TMP/tls.crt" >/dev/null 2>&1 || org_die "openssl failed"
hash=$(python3 -W ignore -c "import crypt; print(crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))")
printf 'basic_auth_users:\n  oncall: %s\n' "$hash" >"$ORG_TMP/users.yml"
sport=$(org_free_port)
sconf="$ORG_TMP/secure.conf"
sed -e "s|^listen = .*|listen = 127.0.0.1:$sport\nlisten_tls_cert_file = $ORG_TMP/tls.crt\nlisten_tls_key_file = $ORG_TMP/tls.key\nlisten_users_file = $ORG_TMP/users.yml|" \
	-e "s|^spool_dir = .*|spool_dir = $ORG_TMP/spool2|" "$conf" >"$sconf"
agent_start secure "$sconf"
code() { curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$ORG_TMP/tls.crt" "$@"; }
org_wait_until 30 "TLS listener" bash -c "[ \"\$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert '$ORG_TMP/tls.crt' https://127.0.0.1:$sport/metrics)\" = 401 ]"
tap_ok "TLS with the right password: 200" test "$(code -u oncall:s3cret "https://127.0.0.1:$sport/metrics")" = 200
tap_ok "the status JSON over TLS with the right password" org_wait_until 30 "status over TLS" bash -c \
	"curl -fsS --max-time 5 --cacert '$ORG_TMP/tls.crt' -u oncall:s3cret https://127.0.0.1:$sport/api/v1/status | grep -q store7-standby"
tap_ok "wrong password: 401" test "$(code -u oncall:wrong "https://127.0.0.1:$sport/")" = 401
tap_ok "no credentials: 401 with a Basic challenge" bash -c \
	"curl -sS -D - -o /dev/null --max-time 10 --cacert '$ORG_TMP/tls.crt' https://127.0.0.1:$sport/api/v1/status |
	 grep -qi '^WWW-Authenticate: Basic realm=\"orguard-agent\"'"
tap_ok "unknown user: 401" test "$(code -u root:s3cret "https://127.0.0.1:$sport/")" = 401
tap_ok "plain HTTP to the TLS listener gets no page" bash -c \
	"! curl -fsS --max-time 5 -u oncall:s3cret http://127.0.0.1:$sport/ >/dev/null 2>&1"
agent_kill secure

# a listener off loopback without TLS and auth is refused, by check-config and at start
oconf="$ORG_TMP/open.conf"
sed -e "s|^listen = .*|listen = 0.0.0.0:$(org_free_port)|" "$conf" >"$oconf"
tap_ok "check-config refuses a non-loopback listener without TLS and auth" bash -c \
	"! '$AGENT_BIN' --config '$oconf' check-config 2>'$ORG_TMP/cc.err' && grep -q 'is not a loopback address' '$ORG_TMP/cc.err'"
tap_ok "the agent refuses to start with it" bash -c "! timeout 20 '$AGENT_BIN' --config '$oconf' run >/dev/null 2>&1"
printf 'insecure_listen = true\n' >>"$oconf"
sed -i "0,/^\[agent\]$/s//[agent]\ninsecure_listen = true/" "$oconf" && sed -i '$d' "$oconf"
tap_ok "insecure_listen = true lets it through" "$AGENT_BIN" --config "$oconf" check-config

agent_kill agent
tap_done
