#!/usr/bin/env bash
# runbook_modes.sh: rule-triggered runbooks, page-first proposals and their
# approval, and the announcement of every step to the pagers, on a real
# cluster with WAL archiving and the extension loaded and a webhook
# receiver on loopback.  A destructive DELETE journaled by the extension
# triggers the pitr runbook in page-first mode: a proposal is paged with
# its plan and the approve command, nothing changes; approving runs the
# restore, whose steps and resolution reach the receiver; approving twice,
# an expired or an unknown proposal are refused.  With the receiver down a
# runbook still completes promptly; its announcements stay spooled and
# are delivered by the daemon and by the next run once it is back.
# Bounded: a watchdog ends the script after ORG_RB_TIMEOUT seconds
# (default 150).
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"
# shellcheck source=../lib/runbook_test.sh
. "$ORG_SRC_DIR/regress/lib/runbook_test.sh"

org_harness_init
rb_watchdog "${ORG_RB_TIMEOUT:-150}"
rb_cleanup() {
	local rc=$? pid
	rb_kill_jobs
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir rb)
org_as_owner mkdir -p "$W/archive" "$W/backups"

# ---- the receiver: logs every POST as one JSON line ----
cat >"$W/receiver.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path = int(sys.argv[1]), sys.argv[2]
log = open(log_path, "a", buffering=1)

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        log.write(json.dumps(json.loads(body)) + "\n")
        self.send_response(200); self.end_headers()

ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
pages="$W/pages.jsonl"
touch "$pages"
receiver=
rport=
# receiver_up: the receiver on its port, checked to be the one listening.
# The first start picks the port (again, if another process took it before
# the bind); later starts must get the port the configuration names.
receiver_up() {
	local try
	for try in 1 2 3 4 5; do
		[ -n "$rport" ] || rport=$(org_free_port)
		python3 "$W/receiver.py" "$rport" "$pages" >>"$W/receiver.log" 2>&1 &
		receiver=$!
		org_wait_listener "$receiver" "$rport" "webhook receiver" 60 && return 0
		kill "$receiver" 2>/dev/null
		[ -n "${conf:-}" ] && org_die "the webhook receiver cannot listen on port $rport again"
		rport=
	done
	org_die "no webhook receiver after $try tries"
}
receiver_down() {
	kill -TERM "$receiver" 2>/dev/null
	wait "$receiver" 2>/dev/null
	receiver=
}
# page EXPR: true when one page matches the python expression (p: the page, l: its labels)
page() {
	python3 - "$pages" "$1" <<'PY'
import json, sys
ps = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(eval(sys.argv[2], {}, {"p": p, "l": p.get("labels", {})}) for p in ps) else 1)
PY
}
spooled() { find "$W/spool/runbooks" -name '[0-9]*.json' 2>/dev/null | wc -l; }
last_done_run() {
	grep -o '"run":"[^"]*","runbook":"pitr","step":"runbook","target":"shop","result":"done"' "$W/journal" |
		tail -1 | cut -d'"' -f4
}

org_cluster_start src "$(org_archive_conf "$W/archive")
odoo_retail_guard.destructive_min_rows = 100
timezone = 'UTC'"
port1=$(org_free_port)
port2=$(org_free_port)
[ "$port2" = "$port1" ] && port2=$(org_free_port)
receiver_up

conf="$W/agent.conf"
org_as_owner tee "$conf" >/dev/null <<CONF
[agent]
interval = 500ms
spool_dir = $W/spool
listen = off

[node src]
conninfo = host=${ORG_SOCK[src]} port=${ORG_PORT[src]} user=postgres dbname=postgres
cluster = shop

[pager hook]
type = webhook
url = http://127.0.0.1:$rport/hook
timeout = 2s
backoff_initial = 100ms
backoff_max = 500ms

[runbook pitr]
node = src
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_dir = $W/restored
restore_port = $port1
restore_socket_dir = $W
archive_timeout = 30s
recovery_timeout = 60s
announce_timeout = 3s

[runbook quick]
kind = pitr
node = src
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_dir = $W/never
restore_port = $port1
approve_within = 1s

[runbook autopitr]
kind = pitr
mode = auto
node = src
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_dir = $W/auto
restore_port = $port2
restore_socket_dir = $W

[runbook busy]
kind = pitr
node = src
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_dir = $W/archive
restore_port = $port1
CONF

agent() { org_as_owner "$AGENT" -c "$conf" runbook "$@"; }
# a port taken at once: the machine is shared, a port chosen early may be gone
refresh_port() { # VARNAME: a new free port, replacing the old one in the configuration
	local old=${!1} new
	new=$(org_free_port)
	[ "$new" = "$port1" ] || [ "$new" = "$port2" ] && new=$(org_free_port)
	org_as_owner sed -i "s/^restore_port = $old\$/restore_port = $new/" "$conf"
	printf -v "$1" '%s' "$new"
}
q() { PGCONNECT_TIMEOUT=5 PGOPTIONS='-c statement_timeout=20s' org_psql "$1" -d postgres -Atc "$2"; }
not() { ! "$@"; }

check "runbook settings validate (mode, approve_within, announce_timeout)" agent check-config

q src "CREATE EXTENSION odoo_retail_guard" >/dev/null
q src "CREATE TABLE res_partner (id serial PRIMARY KEY, name text, batch int);
       INSERT INTO res_partner (name, batch) SELECT 'partner ' || g, 1 FROM generate_series(1, 150) g;" >/dev/null
out=$(agent backup pitr 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "a base backup to restore from" [ $rc -eq 0 ]
backup_run=$(last_done_run)
check "the backup's steps and resolution were announced" \
	org_wait_until 10 "backup pages" page "p['subject'] == '$backup_run' and p['status'] == 'resolved'"

q src "DELETE FROM res_partner WHERE id % 10 <> 0" >/dev/null     # 135 rows, journaled
q src "INSERT INTO res_partner (name, batch) SELECT 'late ' || g, 3 FROM generate_series(1, 20) g;" >/dev/null
event=$(q src "SELECT event_id FROM odoo_retail_guard.destructive_events
               WHERE kind = 'delete' AND relation LIKE '%res_partner' AND rows = 135 ORDER BY event_id DESC LIMIT 1")
subject="delete/postgres/public.res_partner/$event"
check "the extension journaled the DELETE" [ -n "$event" ]

# --- a rule that names no point in time cannot trigger a restore ---
out=$(agent trigger pitr --rule lock_wait --node src --subject postgres/res.partner 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "pitr triggered by lock_wait is refused (exit 3), naming the guard" \
	eval '[ $rc -eq 3 ] && grep -q "target: rule lock_wait does not name a point in time" <<<"$out"'
check "the refusal is announced, critical" \
	org_wait_until 10 "refusal page" page "l.get('result') == 'refused' and p['severity'] == 'critical' and 'lock_wait' in p['summary']"

# --- page-first: the destructive_event rule proposes ---
lines_before=$(wc -l <"$W/journal")
out=$(agent trigger pitr --rule destructive_event --node src --subject "$subject" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
pid=$(grep -o '^proposal p[^:]*' <<<"$out" | cut -d' ' -f2)
check "trigger in page-first mode proposes (exit 0)" eval '[ $rc -eq 0 ] && [ -n "$pid" ]'
check "the proposal is journaled pending with the runbook's arguments" \
	grep -q "\"run\":\"$pid\",\"runbook\":\"pitr\",\"step\":\"proposal\",\"target\":\"src\",\"result\":\"pending\",\"detail\":\"--before-event $event\"" "$W/journal"
check "the proposal printed the plan (the dry run)" grep -q "recovery_target_inclusive = off" <<<"$out"
check "the receiver got the plan with the approve command" \
	org_wait_until 10 "proposal page" page "p['subject'] == '$pid' and p['status'] == 'firing' and 'runbook approve $pid' in p['summary'] and 'before event $event' in p['summary']"
check "proposing changed nothing (no restore, one journal line)" \
	eval '[ ! -e "$W/restored" ] && [ "$(wc -l <"$W/journal")" -eq $((lines_before + 1)) ]'
out=$(agent trigger pitr --rule destructive_event --node src --subject "$subject" 2>&1)
rc=$?
check "the alert firing again while it waits does not propose twice" \
	eval '[ $rc -eq 0 ] && grep -q "proposal $pid: .* already pending" <<<"$out" && [ "$(grep -c "\"step\":\"proposal\"" "$W/journal")" -eq 1 ]'
out=$(agent proposals 2>&1)
echo "$out" | sed 's/^/# /'
check "proposals lists it with its age" grep -q "^$pid  pitr --before-event $event  node src  age [0-9]*s" <<<"$out"

# --- approve: the restore runs, announced step by step ---
refresh_port port1
t0=$SECONDS
out=$(agent approve "$pid" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ -d "$W/restored" ] && org_adopt_cluster restored "$W/restored" "$W" "$port1"
run=$(last_done_run)
check "approve runs the restore (exit 0)" eval '[ $rc -eq 0 ] && [ -n "$run" ] && [ "$run" != "$backup_run" ]'
check "the restored node has the deleted rows and none of the later" \
	[ "$(q restored "SELECT count(*) FILTER (WHERE batch = 1) || '/' || count(*) FILTER (WHERE batch = 3) FROM res_partner")" = 150/0 ]
check "the approval is journaled" grep -q "\"run\":\"$pid\",.*\"result\":\"approved\"" "$W/journal"
check "the receiver saw the restore's steps" \
	page "p['subject'] == '$run' and l.get('step') == 'copy-backup' and l.get('result') == 'ok'"
check "the receiver saw the run resolve" page "p['subject'] == '$run' and p['status'] == 'resolved'"
check "the proposal's page resolved" page "p['subject'] == '$pid' and p['status'] == 'resolved'"
echo "# approve + restore: $((SECONDS - t0)) s"

out=$(agent approve "$pid" 2>&1)
rc=$?
check "approving again is refused (exit 3)" eval '[ $rc -eq 3 ] && grep -q "already approved" <<<"$out"'
out=$(agent approve p20000101T000000Z-1 2>&1)
rc=$?
check "an unknown proposal is refused (exit 2)" eval '[ $rc -eq 2 ] && grep -q "no proposal p20000101T000000Z-1" <<<"$out"'

# --- reject ---
out=$(agent trigger pitr --rule destructive_event --node src --subject "$subject" 2>&1)
pid2=$(grep -o '^proposal p[^:]*' <<<"$out" | cut -d' ' -f2)
out=$(agent reject "$pid2" 2>&1)
rc=$?
check "reject closes a pending proposal" eval '[ $rc -eq 0 ] && [ -n "$pid2" ] && grep -q "\"run\":\"$pid2\",.*\"result\":\"rejected\"" "$W/journal"'
out=$(agent approve "$pid2" 2>&1)
rc=$?
check "a rejected proposal cannot be approved (exit 3)" eval '[ $rc -eq 3 ] && grep -q "already rejected" <<<"$out"'

# --- two people approve at once: one decision, one run ---
out=$(agent trigger busy --rule destructive_event --node src --subject "$subject" 2>&1)
pid4=$(grep -o '^proposal p[^:]*' <<<"$out" | cut -d' ' -f2)
agent approve "$pid4" >"$W/approve-a.out" 2>&1 &
a=$!
agent approve "$pid4" >"$W/approve-b.out" 2>&1 &
b=$!
wait "$a"
wait "$b"
sed 's/^/# a: /' "$W/approve-a.out"
sed 's/^/# b: /' "$W/approve-b.out"
check "concurrent approvals: one is recorded, the other refused as already approved" \
	eval '[ -n "$pid4" ] && [ "$(grep -c "\"run\":\"$pid4\",.*\"result\":\"approved\"" "$W/journal")" -eq 1 ] &&
	      [ "$(cat "$W/approve-a.out" "$W/approve-b.out" | grep -c "already approved")" -eq 1 ]'
check "...and the runbook ran once, refused by its own guard (restore_dir exists)" \
	[ "$(cat "$W/approve-a.out" "$W/approve-b.out" | grep -c "refused *restore_dir: .* already exists")" -eq 1 ]

# --- expiry: approve_within = 1s ---
out=$(agent trigger quick --rule destructive_event --node src --subject "$subject" 2>&1)
pid3=$(grep -o '^proposal p[^:]*' <<<"$out" | cut -d' ' -f2)
check "a proposal of the quick runbook" [ -n "$pid3" ]
pending_listed() { agent proposals | grep -q "^$pid3 "; }
org_wait_until 10 "proposal $pid3 expired" not pending_listed
out=$(agent approve "$pid3" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "an expired proposal is refused (exit 3), naming approve_within" \
	eval '[ $rc -eq 3 ] && grep -q "approve_within: proposal $pid3" <<<"$out" && [ ! -e "$W/never" ]'
check "the expiry is journaled" grep -q "\"run\":\"$pid3\",.*\"result\":\"expired\"" "$W/journal"

# --- auto mode: the trigger runs the runbook ---
refresh_port port2
out=$(agent trigger autopitr --rule destructive_event --node src --subject "$subject" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ -d "$W/auto" ] && org_adopt_cluster auto "$W/auto" "$W" "$port2"
check "in auto mode the trigger restores to before the event at once" \
	eval '[ $rc -eq 0 ] && grep -q "^runbook .* done .*before event $event" <<<"$out" && not grep -q "^proposal " <<<"$out"'
check "the auto restore has the deleted rows" \
	[ "$(q auto "SELECT count(*) FILTER (WHERE batch = 1) || '/' || count(*) FILTER (WHERE batch = 3) FROM res_partner")" = 150/0 ]

# --- the receiver is down: the runbook does not wait, nothing is lost ---
receiver_down
t0=$(date +%s%N)
out=$(agent backup pitr 2>&1)
rc=$?
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
echo "$out" | sed 's/^/# /'
down_run=$(last_done_run)
echo "# backup with the receiver down: ${elapsed_ms} ms (announce_timeout 3s)"
check "with the receiver down the backup completes (exit 0)" [ $rc -eq 0 ]
check "...promptly (under 20 s: it waits at most announce_timeout for its pages)" [ "$elapsed_ms" -lt 20000 ]
check "...and says its announcements stay spooled" grep -q "not delivered yet; kept in" <<<"$out"
check "the announcements are on disk" [ "$(spooled)" -gt 0 ]

# the daemon delivers what the CLI left, once the receiver is back
receiver_up
# started without runuser in between, so that $! is the daemon itself
if [ "$(id -u)" -eq 0 ]; then
	setpriv --reuid=postgres --regid=postgres --init-groups -- "$AGENT" -c "$conf" run >"$W/daemon.log" 2>&1 &
else
	"$AGENT" -c "$conf" run >"$W/daemon.log" 2>&1 &
fi
daemon=$!
check "the daemon delivers them once the receiver is back" \
	org_wait_until 20 "down run resolved" page "p['subject'] == '$down_run' and p['status'] == 'resolved'"
check "...and removes the drained spool" \
	org_wait_until 10 "spool drained" bash -c "[ \$(find '$W/spool/runbooks' -mindepth 2 -maxdepth 2 -type d | wc -l) -eq 0 ]"
kill -TERM "$daemon" 2>/dev/null
wait "$daemon" 2>/dev/null
check "the daemon stopped" not kill -0 "$daemon" 2>/dev/null

# the next CLI run on the cluster delivers them too
receiver_down
agent backup pitr >/dev/null 2>&1
down_run2=$(last_done_run)
check "a second run with the receiver down leaves its announcements spooled" [ "$(spooled)" -gt 0 ]
receiver_up
agent backup pitr >/dev/null 2>&1
rc=$?
next_run=$(last_done_run)
check "the next run delivers the earlier run's announcements and its own" \
	eval '[ $rc -eq 0 ] && page "p[\"subject\"] == \"$down_run2\" and p[\"status\"] == \"resolved\"" && page "p[\"subject\"] == \"$next_run\" and p[\"status\"] == \"resolved\""'
check "nothing is left spooled" [ "$(spooled)" -eq 0 ]

# --- a dry run announces nothing ---
before=$(wc -l <"$pages")
agent pitr --target-lsn 0/3000000 --restore-dir "$W/dry" --restore-port "$(org_free_port)" --dry-run >/dev/null 2>&1
check "a dry run announces nothing and spools nothing" eval '[ "$(wc -l <"$pages")" -eq "$before" ] && [ "$(spooled)" -eq 0 ]'

kill "$watchdog" 2>/dev/null
echo "1..$n"
[ $fails -eq 0 ]
