#!/usr/bin/env bash
# runbook_pitr.sh: the native backup and point-in-time recovery runbooks on
# a real cluster with WAL archiving and the extension loaded: base backup,
# rows, a destructive DELETE that the extension journals, more rows;
# side-by-side restores to just before that event (--before-event) and to
# a time taken before the DELETE; a run killed mid-way and resumed; an
# in-place restore into the stopped source's directory;
# refusals that change nothing; dry run; --format json of list-backups,
# proposals and dry-run plans.  Bounded: a watchdog ends the
# script after ORG_RB_TIMEOUT seconds (default 150).
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"
# shellcheck source=../lib/runbook_test.sh
. "$ORG_SRC_DIR/regress/lib/runbook_test.sh"

org_harness_init
# the whole script is bounded: on timeout, end the foreground command too
# so that the exit trap runs and stops every cluster
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

# the extension journals DELETEs over 100 rows
org_cluster_start src "$(org_archive_conf "$W/archive")
odoo_retail_guard.destructive_min_rows = 100
timezone = 'UTC'"

conf="$W/agent.conf"
org_as_owner tee "$conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool

[node src]
conninfo = host=${ORG_SOCK[src]} port=${ORG_PORT[src]} user=postgres dbname=postgres
cluster = shop

[runbook pitr]
node = src
backup_dir = $W/backups
archive_dir = $W/archive
data_dir = ${ORG_DATA[src]}
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $W
archive_timeout = 30s
start_timeout = 60s
recovery_timeout = 120s
check_query = SELECT count(*) FILTER (WHERE batch = 3) = 0 AND count(*) = 150 FROM res_partner
EOF

agent() { org_as_owner "$AGENT" -c "$conf" runbook "$@"; }
journal_lines() { wc -l <"$W/journal" 2>/dev/null || echo 0; }
last_journal() { tail -n 1 "$W/journal"; }
q() { PGCONNECT_TIMEOUT=5 PGOPTIONS='-c statement_timeout=20s' org_psql "$1" -d postgres -Atc "$2"; }
not() { ! "$@"; }

check "runbook settings validate" agent check-config

q src "CREATE EXTENSION odoo_retail_guard" >/dev/null
q src "CREATE TABLE res_partner (id serial PRIMARY KEY, name text, batch int);
       INSERT INTO res_partner (name, batch) SELECT 'partner ' || g, 1 FROM generate_series(1, 100) g;" >/dev/null

# --- backup ---
out=$(agent backup 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "backup runbook succeeds" [ $rc -eq 0 ]
check "backup is catalogued with its stop LSN" grep -q '"stop_lsn"' "$W"/backups/*/backup.json
check "backup checked WAL archiving" grep -q '"step":"archive-check".*"result":"ok"' "$W/journal"
label=$(basename "$(dirname "$(ls "$W"/backups/*/backup.json | head -1)")")

q src "INSERT INTO res_partner (name, batch) SELECT 'partner ' || g, 2 FROM generate_series(101, 150) g;" >/dev/null
lsn_before=$(q src "SELECT pg_current_wal_lsn()")
time_before=$(q src "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 1.2
q src "DELETE FROM res_partner WHERE id % 10 <> 0" >/dev/null     # the destructive statement: 135 rows
sleep 1.2
q src "INSERT INTO res_partner (name, batch) SELECT 'late ' || g, 3 FROM generate_series(1, 30) g;" >/dev/null
event=$(q src "SELECT event_id || ' ' || lsn_before FROM odoo_retail_guard.destructive_events
               WHERE kind = 'delete' AND relation LIKE '%res_partner' AND rows = 135
               ORDER BY event_id DESC LIMIT 1")
event_lsn=${event#* }
event=${event%% *}
echo "# target lsn $lsn_before, time $time_before; event $event (lsn_before $event_lsn); backup $label"
check "the extension journaled the DELETE with its lsn_before" \
	eval '[ -n "$event" ] && [ "$(q src "SELECT '"'"'$event_lsn'"'"'::pg_lsn >= '"'"'$lsn_before'"'"'::pg_lsn")" = t ]'

# --- refusal: no base backup precedes the target ---
before=$(journal_lines)
out=$(agent pitr --target-lsn 0/1000000 --restore-dir "$W/never" --restore-port 1 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "refuses a target before every backup (exit 3)" [ $rc -eq 3 ]
check "refusal names the guard and lists the backups" grep -q "base_backup: no base backup precedes the target; backups: $label" <<<"$out"
check "refusal changed nothing" [ ! -e "$W/never" ]
check "journal records the refusal" grep -q '"result":"refused","detail":"base_backup' <<<"$(last_journal)"
check "journal grew by started + refused only" [ "$(journal_lines)" -eq $((before + 2)) ]

# --- dry run ---
port1=$(org_free_port)
before=$(journal_lines)
out=$(agent pitr --target-lsn "$lsn_before" --restore-dir "$W/r_lsn" --restore-port "$port1" --dry-run 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "dry run plans (exit 0)" [ $rc -eq 0 ]
check "dry run shows the backup and the recovery settings" grep -q "recovery_target_lsn = '$lsn_before'" <<<"$out"
check "dry run changed nothing" eval '[ ! -e "$W/r_lsn" ] && [ "$(journal_lines)" -eq "$before" ]'

# --- --format json: stdout is one JSON document and nothing else (stderr dropped here) ---
jget() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1:]: v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if not isinstance(v, str) else v)' "$@"; }
out=$(agent list-backups --format json 2>/dev/null)
rc=$?
echo "$out" | sed 's/^/# /'
check "list-backups --format json is valid JSON (exit 0)" eval '[ $rc -eq 0 ] && python3 -m json.tool <<<"$out" >/dev/null'
check "list-backups --format json names the backup with its LSNs and timeline" \
	eval '[ "$(jget 0 label <<<"$out")" = "$label" ] && [ "$(jget 0 timeline <<<"$out")" = 1 ] &&
		grep -Eq "^[0-9A-F]+/[0-9A-F]+$" <<<"$(jget 0 stop_lsn <<<"$out")"'
before=$(journal_lines)
out=$(agent pitr --target-lsn "$lsn_before" --restore-dir "$W/r_lsn" --restore-port "$port1" --dry-run --format json 2>/dev/null)
rc=$?
echo "$out" | sed 's/^/# /'
check "pitr --dry-run --format json is valid JSON (exit 0)" eval '[ $rc -eq 0 ] && python3 -m json.tool <<<"$out" >/dev/null'
check "the JSON plan: planned, the recovery settings, no step lines (native pitr plans have none)" \
	eval '[ "$(jget result <<<"$out")" = planned ] && [ "$(jget exit_status <<<"$out")" = 0 ] &&
		[ "$(jget dry_run <<<"$out")" = true ] && [ "$(jget cluster <<<"$out")" = shop ] &&
		grep -q "recovery_target_lsn = '"'"'$lsn_before'"'"'" <<<"$(jget plan <<<"$out")" &&
		[ "$(jget steps <<<"$out")" = "[]" ] && [ "$(jget notes <<<"$out")" = "[]" ]'
check "the JSON dry run changed nothing" eval '[ ! -e "$W/r_lsn" ] && [ "$(journal_lines)" -eq "$before" ]'
out=$(agent pitr --target-lsn 0/1000000 --restore-dir "$W/never" --restore-port 1 --dry-run --format json 2>/dev/null)
rc=$?
check "a refused JSON dry run exits 3 with result refused on stdout" \
	eval '[ $rc -eq 3 ] && [ "$(jget result <<<"$out")" = refused ] && [ "$(jget exit_status <<<"$out")" = 3 ] &&
		grep -q "^base_backup: " <<<"$(jget detail <<<"$out")" && [ "$(jget plan <<<"$out")" = null ]'
out=$(agent proposals --format json 2>/dev/null)
rc=$?
check "proposals --format json is an empty array when none is pending" eval '[ $rc -eq 0 ] && [ "$(jget <<<"$out")" = "[]" ]'
out=$(agent list-backups --format yaml 2>&1 >/dev/null)
rc=$?
check "an unknown --format is a usage error (exit 2) on stderr" eval '[ $rc -eq 2 ] && grep -q "format" <<<"$out"'
before=$(journal_lines)
out=$(agent backup --format json 2>&1)
rc=$?
check "--format json without --dry-run on an acting command is a usage error that does nothing" \
	eval '[ $rc -eq 2 ] && [ "$(journal_lines)" -eq "$before" ]'

out=$(agent pitr --before-event "$event" --restore-dir "$W/r_event" --restore-port "$port1" --dry-run 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "--before-event resolves the journaled event's lsn_before, not inclusive" \
	eval '[ $rc -eq 0 ] && grep -q "before event $event (lsn $event_lsn)" <<<"$out" && grep -q "recovery_target_inclusive = off" <<<"$out"'

# --- refusal: an event the extension never journaled ---
out=$(agent pitr --before-event $((${event:-0} + 1000)) --restore-dir "$W/r_event" --restore-port "$port1" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "an unknown event is refused" eval '[ $rc -eq 3 ] && grep -q "event: no destructive event" <<<"$out" && [ ! -e "$W/r_event" ]'

# --- restore to just before the journaled DELETE ---
t0=$SECONDS
out=$(agent pitr --before-event "$event" --restore-dir "$W/r_event" --restore-port "$port1" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ -d "$W/r_event" ] && org_adopt_cluster r_event "$W/r_event" "$W" "$port1"
check "pitr before the event succeeds" [ $rc -eq 0 ]
check "the target is the event's lsn_before, not inclusive" \
	grep -q "\"step\":\"runbook\".*before event $event (lsn $event_lsn)" "$W/journal"
check "restored node is out of recovery" [ "$(q r_event 'SELECT pg_is_in_recovery()')" = f ]
check "restored node has the deleted rows back" [ "$(q r_event 'SELECT count(*) FROM res_partner WHERE batch IN (1, 2)')" = 150 ]
check "restored node has none of the later rows" [ "$(q r_event 'SELECT count(*) FROM res_partner WHERE batch = 3')" = 0 ]
check "verify step saw the recovery stop line" grep -q '"step":"verify".*"result":"ok".*recovery stopping' "$W/journal"
check "source is untouched" [ "$(q src 'SELECT count(*) FROM res_partner')" = 45 ]
echo "# pitr before event: $((SECONDS - t0)) s wall; $(grep -o 'restored to .*' <<<"$out" | tail -1)"

# --- restore to the time before the DELETE ---
port2=$(org_free_port)
[ "$port2" = "$port1" ] && port2=$(org_free_port)
t0=$SECONDS
out=$(agent pitr --target-time "$time_before" --restore-dir "$W/r_time" --restore-port "$port2" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ -d "$W/r_time" ] && org_adopt_cluster r_time "$W/r_time" "$W" "$port2"
check "pitr to a time succeeds" [ $rc -eq 0 ]
check "time restore has the deleted rows and none of the later" \
	[ "$(q r_time "SELECT count(*) FILTER (WHERE batch IN (1, 2)) || '/' || count(*) FILTER (WHERE batch = 3) FROM res_partner")" = 150/0 ]
check "time restore stopped before a commit" grep -q "recovery stopping before commit" "$W/r_time.log"
check "time restore is on a new timeline" [ "$(q r_time 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')" != 00000001 ]
echo "# pitr to time: $((SECONDS - t0)) s wall; $(grep -o 'restored to .*' <<<"$out" | tail -1)"

# --- refusal: the restore directory exists ---
out=$(agent pitr --target-lsn "$lsn_before" --restore-dir "$W/r_event" --restore-port "$(org_free_port)" 2>&1)
rc=$?
check "refuses to restore over an existing directory" eval '[ $rc -eq 3 ] && grep -q "restore_dir: .* already exists" <<<"$out"'
check "the existing restored node still runs" [ "$(q r_event 'SELECT 1')" = 1 ]

# --- one runbook at a time per cluster ---
lockf="$W/journal.shop.lock"
org_as_owner flock "$lockf" sleep 3 &
holder=$!
org_wait_until 5 "lock taken" bash -c "! flock -n '$lockf' true"
out=$(agent pitr --target-lsn "$lsn_before" --restore-dir "$W/r_busy" --restore-port "$(org_free_port)" 2>&1)
rc=$?
wait "$holder" 2>/dev/null   # the lock goes with its holder
check "refuses while another runbook holds the cluster" eval '[ $rc -eq 3 ] && grep -q "another runbook is running on cluster shop" <<<"$out"'
check "journal records the lock refusal" grep -q '"result":"refused","detail":"lock: another runbook is running on cluster shop' <<<"$(last_journal)"

# --- a crash mid-way: the re-run resumes where the journal says ---
# a slow restore_command keeps the node in recovery long enough to kill the
# agent while it waits for the end of recovery
org_as_owner tee -a "$conf" >/dev/null <<EOF

[runbook slowpitr]
kind = pitr
node = src
backup_dir = $W/backups
restore_command = sleep 1; cp '$W/archive/%f' '%p'
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $W
recovery_timeout = 120s
EOF
port3=$(org_free_port)
resume_args=(-c "$conf" runbook pitr slowpitr --target-lsn "$lsn_before" --restore-dir "$W/r_resume" --restore-port "$port3")
if [ "$(id -u)" -eq 0 ]; then
	setpriv --reuid=postgres --regid=postgres --init-groups -- "$AGENT" "${resume_args[@]}" >"$W/resume-1.out" 2>&1 &
else
	"$AGENT" "${resume_args[@]}" >"$W/resume-1.out" 2>&1 &
fi
victim=$!
org_wait_until 60 "the restored node started" grep -q '^start .* ok ' "$W/resume-1.out"
kill -9 "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
sed 's/^/# /' "$W/resume-1.out"
[ -d "$W/r_resume" ] && org_adopt_cluster r_resume "$W/r_resume" "$W" "$port3"
check "the first run was killed while the node recovered" not grep -q '^runbook .* done ' "$W/resume-1.out"
out=$(agent pitr slowpitr --target-time "$time_before" --restore-dir "$W/r_other" --restore-port "$port3" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "other parameters while a run waits to be resumed: refused" \
	eval '[ $rc -eq 3 ] && grep -q "was interrupted with other parameters" <<<"$out" && [ ! -e "$W/r_other" ]'
check "journal records the unfinished_run refusal" grep -q '"result":"refused","detail":"unfinished_run: ' <<<"$(last_journal)"
out=$(org_as_owner "$AGENT" "${resume_args[@]}" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "the re-run resumes the interrupted run and finishes" eval '[ $rc -eq 0 ] && grep -q "^runbook .* resumed " <<<"$out" && grep -q "^runbook .* done " <<<"$out"'
check "the re-run neither copies nor starts again" not grep -q '^copy-backup\|^start ' <<<"$out"
check "the resumed node has the rows from before the DELETE" \
	[ "$(q r_resume "SELECT count(*) FILTER (WHERE batch IN (1, 2)) || '/' || count(*) FILTER (WHERE batch = 3) FROM res_partner")" = 150/0 ]

# --- in place: the stopped source's own directory and port, old data kept ---
data=${ORG_DATA[src]}
out=$(agent pitr pitr --in-place --target-lsn "$lsn_before" 2>&1)
rc=$?
check "in place refuses while the source runs" eval '[ $rc -eq 3 ] && grep -q "source_stopped: " <<<"$out" && [ "$(q src "SELECT 1")" = 1 ]'
org_cluster_stop src
out=$(agent pitr pitr --in-place --target-lsn "$lsn_before" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
aside=$(ls -d "$data".before-pitr-* 2>/dev/null | head -1)
check "in-place pitr succeeds and keeps the old data directory" eval '[ $rc -eq 0 ] && [ -f "$aside/PG_VERSION" ]'
check "the source's port serves the rows from before the DELETE" \
	[ "$(q src "SELECT count(*) FILTER (WHERE batch IN (1, 2)) || '/' || count(*) FILTER (WHERE batch = 3) FROM res_partner")" = 150/0 ]

check "every journal line is a JSON object with the audit fields" \
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    assert set(("time","run","runbook","step","target","result","detail")) <= set(o), l' "$W/journal"

echo "1..$n"
[ $fails -eq 0 ]
