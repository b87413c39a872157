#!/usr/bin/env bash
# runbook_pitr_pgbackrest.sh: the backup and point-in-time recovery
# runbooks with backend = pgbackrest, against a local pgBackRest
# repository in the test's temp dir (pgbackrest.conf, lock and log paths
# written here; the cluster archives with pgbackrest archive-push as the
# postgres user): stanza-create, the agent's backup, rows, a destructive
# DELETE that the extension journals, more rows; side-by-side restores to
# just before that event and to a time before it; a refusal when no backup
# precedes the target; an in-place restore that refuses while the source
# runs and, once it is stopped, restores into its data directory and port
# and keeps the old one.  Bounded: a watchdog ends the script after
# ORG_RB_TIMEOUT seconds (default 150).
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"
# shellcheck source=../lib/runbook_test.sh
. "$ORG_SRC_DIR/regress/lib/runbook_test.sh"

command -v pgbackrest >/dev/null || { echo "1..0 # SKIP pgbackrest is not installed"; exit 0; }

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
org_as_owner mkdir -p "$W/repo" "$W/lock" "$W/log" "$W/spool"

# a local repository, everything under the temp dir; the stanza section
# follows once the cluster has its port
BR_CONF="$W/pgbackrest.conf"
org_as_owner tee "$BR_CONF" >/dev/null <<EOF
[global]
repo1-path=$W/repo
repo1-retention-full=9
lock-path=$W/lock
log-path=$W/log
log-level-console=warn
log-level-file=off
start-fast=y
EOF
org_cluster_start src "wal_level = replica
archive_mode = on
archive_command = 'pgbackrest --config=$BR_CONF --stanza=shop archive-push %p'
odoo_retail_guard.destructive_min_rows = 100
timezone = 'UTC'"
org_as_owner tee -a "$BR_CONF" >/dev/null <<EOF

[shop]
pg1-path=${ORG_DATA[src]}
pg1-socket-path=${ORG_SOCK[src]}
pg1-port=${ORG_PORT[src]}
EOF
br() { org_as_owner pgbackrest --config="$BR_CONF" --stanza=shop "$@"; }
check "pgbackrest stanza-create" br stanza-create

conf="$W/agent.conf"
org_as_owner tee "$conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool

[node src]
conninfo = host=${ORG_SOCK[src]} port=${ORG_PORT[src]} user=postgres dbname=postgres
cluster = shop

[runbook pitr]
backend = pgbackrest
stanza = shop
pgbackrest_config = $BR_CONF
node = src
data_dir = ${ORG_DATA[src]}
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $W
archive_timeout = 30s
start_timeout = 60s
recovery_timeout = 90s
check_query = SELECT count(*) FILTER (WHERE batch = 3) = 0 AND count(*) = 150 FROM res_partner
EOF

agent() { org_as_owner "$AGENT" -c "$conf" runbook "$@"; }
journal_lines() { wc -l <"$W/journal" 2>/dev/null || echo 0; }
last_journal() { tail -n 1 "$W/journal"; }
q() { PGCONNECT_TIMEOUT=5 PGOPTIONS='-c statement_timeout=20s' org_psql "$1" -d postgres -Atc "$2"; }
# pitr_side NAME ARGS...: a side-by-side restore into $W/NAME on a free
# port (sets out, rc and port).  On this shared machine another process may
# take the port between the probe and the start: that run is abandoned and
# the restore tried again on another port.
pitr_side() {
	local name=$1 try
	shift
	for try in 1 2 3; do
		port=$(org_free_port)
		out=$(agent pitr "$@" --restore-dir "$W/$name" --restore-port "$port" 2>&1)
		rc=$?
		if [ $rc -ne 0 ] && grep -q "could not create any TCP/IP sockets\|Address already in use" <<<"$out"; then
			echo "# port $port was taken before the restored node started; again on another port"
			agent abandon pitr >/dev/null 2>&1
			org_as_owner rm -rf "$W/$name" "$W/$name.log"
			continue
		fi
		return 0
	done
}

check "runbook settings validate" agent check-config

q src "CREATE EXTENSION odoo_retail_guard" >/dev/null
q src "CREATE TABLE res_partner (id serial PRIMARY KEY, name text, batch int);
       INSERT INTO res_partner (name, batch) SELECT 'partner ' || g, 1 FROM generate_series(1, 100) g;" >/dev/null

# --- backup ---
out=$(agent backup 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "backup runbook succeeds" [ $rc -eq 0 ]
check "backup ran pgbackrest with an immediate checkpoint" \
	grep -q '"step":"base-backup".*"result":"started".*--type=full --start-fast backup' "$W/journal"
check "backup checked archiving with pgbackrest check" grep -q '"step":"archive-check".*"result":"ok"' "$W/journal"
label=$(br --output=json info | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["backup"][-1]["label"])')
out=$(agent list-backups 2>&1)
echo "$out" | sed 's/^/# /'
check "list-backups shows the full backup from pgbackrest info" grep -q "^$label (full, timeline 1, lsn .*\.\..*, started .*, consistent by " <<<"$out"
out=$(agent list-backups --format json 2>/dev/null)
rc=$?
echo "$out" | sed 's/^/# /'
check "list-backups --format json: stdout is a JSON array with the full backup, its type and LSNs" \
	python3 -c 'import json,re,sys
a = json.loads(sys.argv[1])
b = [x for x in a if x["label"] == sys.argv[2]]
assert int(sys.argv[3]) == 0 and len(b) == 1, a
b = b[0]
assert b["type"] == "full" and b["timeline"] == 1, b
assert re.fullmatch("[0-9A-F]+/[0-9A-F]+", b["stop_lsn"]) and b["stop_time"].endswith("Z"), b
assert re.fullmatch("[0-9]+", b["system_identifier"]), b' "$out" "$label" "$rc"

# pgBackRest records whole seconds: a time target is only known to follow
# the backup from the second after its recorded stop
stop=$(br --output=json info | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["backup"][-1]["timestamp"]["stop"])')
org_wait_until 5 "the second after the backup's stop" bash -c "[ \$(date +%s) -ge $((stop + 1)) ]"
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
check "the extension journaled the DELETE" [ -n "$event" ]

# --- refusal: no base backup precedes the target ---
before=$(journal_lines)
out=$(agent pitr --target-lsn 0/1000000 --restore-dir "$W/never" --restore-port 1 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "refuses a target before every backup (exit 3)" [ $rc -eq 3 ]
check "refusal names the guard and lists pgbackrest's backups" \
	grep -q "base_backup: no base backup precedes the target; backups: $label (timeline 1" <<<"$out"
check "refusal changed nothing" eval '[ ! -e "$W/never" ] && [ "$(journal_lines)" -eq $((before + 2)) ]'

# --- dry run: the pgbackrest restore command line ---
port1=$(org_free_port)
out=$(agent pitr --before-event "$event" --restore-dir "$W/r_event" --restore-port "$port1" --dry-run 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "dry run shows pgbackrest restore to the event's LSN, exclusive, with the chosen set" \
	eval '[ $rc -eq 0 ] && grep -q -- "--set=$label --type=lsn --target=$event_lsn --target-exclusive --target-action=promote" <<<"$out" && [ ! -e "$W/r_event" ]'

# --- restore to just before the journaled DELETE ---
t0=$SECONDS
pitr_side r_event --before-event "$event"
echo "$out" | sed 's/^/# /'
[ -d "$W/r_event" ] && org_adopt_cluster r_event "$W/r_event" "$W" "$port"
check "pitr before the event succeeds" [ $rc -eq 0 ]
check "pgbackrest restored it (its restore_command is archive-get)" grep -q "archive-get" "$W/r_event/postgresql.auto.conf"
check "restored node is out of recovery" [ "$(q r_event 'SELECT pg_is_in_recovery()')" = f ]
check "restored node has the deleted rows and none of the later ones" \
	[ "$(q r_event "SELECT count(*) FILTER (WHERE batch IN (1, 2)) || '/' || count(*) FILTER (WHERE batch = 3) FROM res_partner")" = 150/0 ]
check "verify step saw the recovery stop line" grep -q '"step":"verify".*"result":"ok".*recovery stopping' "$W/journal"
check "source is untouched" [ "$(q src 'SELECT count(*) FROM res_partner')" = 45 ]
echo "# pitr before event: $((SECONDS - t0)) s wall; $(grep -o 'restored to .*' <<<"$out" | tail -1)"

# --- restore to the time before the DELETE ---
t0=$SECONDS
pitr_side r_time --target-time "$time_before"
echo "$out" | sed 's/^/# /'
[ -d "$W/r_time" ] && org_adopt_cluster r_time "$W/r_time" "$W" "$port"
check "pitr to a time succeeds" [ $rc -eq 0 ]
check "time restore has the deleted rows and none of the later" \
	[ "$(q r_time "SELECT count(*) FILTER (WHERE batch IN (1, 2)) || '/' || count(*) FILTER (WHERE batch = 3) FROM res_partner")" = 150/0 ]
check "time restore stopped before a commit" grep -q "recovery stopping before commit" "$W/r_time.log"
check "time restore is on a new timeline" [ "$(q r_time 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')" != 00000001 ]
echo "# pitr to time: $((SECONDS - t0)) s wall; $(grep -o 'restored to .*' <<<"$out" | tail -1)"

# --- in place ---
data=${ORG_DATA[src]}
out=$(agent pitr --in-place --target-lsn "$lsn_before" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "in place refuses while the source runs" eval '[ $rc -eq 3 ] && grep -q "source_stopped: " <<<"$out"'
check "the refusal left the source running and in place" \
	eval '[ "$(q src "SELECT count(*) FROM res_partner")" = 45 ] && [ -z "$(ls -d "$data".before-pitr-* 2>/dev/null)" ]'
org_cluster_stop src
out=$(agent pitr --in-place --before-event "$event" 2>&1)
rc=$?
check "in place refuses --before-event (the event is read from the running source)" \
	eval '[ $rc -eq 3 ] && grep -q "event: --before-event reads the event from the running source" <<<"$out"'
out=$(agent pitr --in-place --target-lsn "$lsn_before" --dry-run 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "in-place dry run plans the move aside and changes nothing" \
	eval '[ $rc -eq 0 ] && grep -q "move $data aside" <<<"$out" && [ -z "$(ls -d "$data".before-pitr-* 2>/dev/null)" ]'
t0=$SECONDS
out=$(agent pitr --in-place --target-lsn "$lsn_before" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
aside=$(ls -d "$data".before-pitr-* 2>/dev/null | head -1)
check "in-place pitr succeeds" [ $rc -eq 0 ]
check "the old data directory is kept aside" eval '[ -n "$aside" ] && [ -f "$aside/PG_VERSION" ] && [ -f "$data/PG_VERSION" ]'
check "the restored cluster answers on the source's port with the rows from before the DELETE" \
	[ "$(q src "SELECT count(*) FILTER (WHERE batch IN (1, 2)) || '/' || count(*) FILTER (WHERE batch = 3) FROM res_partner")" = 150/0 ]
check "the in-place node is out of recovery on a new timeline" \
	[ "$(q src "SELECT pg_is_in_recovery()::text || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")" != false00000001 ]
check "journal records move-aside, restore and verify" \
	eval 'grep -q "\"step\":\"move-aside\".*\"result\":\"ok\"" "$W/journal" && grep -q "\"step\":\"verify\",\"target\":\"$data\".*\"result\":\"ok\"" "$W/journal"'
echo "# pitr in place: $((SECONDS - t0)) s wall; $(grep -o 'restored to .*' <<<"$out" | tail -1)"

check "every journal line is a JSON object with the audit fields" \
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    assert set(("time","run","runbook","step","target","result","detail")) <= set(o), l' "$W/journal"

echo "1..$n"
[ $fails -eq 0 ]
