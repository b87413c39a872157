#!/usr/bin/env bash
# runbook_pitr_resume.sh: a resumed point-in-time recovery never destroys a
# data directory it did not create, and no child of a killed run goes on
# writing.  On a real cluster with WAL archiving:
#   - an in-place restore is killed (kill -9) during its backup copy; its
#     copy child dies with it; the operator moves the kept data directory
#     back, starts it and writes a row; the same command run again is
#     refused (the source runs) and the live cluster keeps its row; once
#     stopped, the re-run moves it aside again (kept, with the row), throws
#     away its own cut-short copy and restores;
#   - a side-by-side restore is killed the same way, and a directory an
#     operator put at the restore path meanwhile is refused, untouched;
#   - a side-by-side restore whose socket directory holds a backslash and
#     a quote starts and answers there (postgresql.auto.conf and conninfo
#     quoting as PostgreSQL and libpq read them);
#   - a secret in the agent's environment is not in the environment of the
#     postmaster the runbook started (/proc/PID/environ).
# Bounded: a watchdog ends the script after ORG_RB_TIMEOUT seconds (default 150).
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
	local rc=$?
	touch "$W/cp.go" 2>/dev/null   # never leave a stalled copy behind
	rb_kill_jobs
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir rb)
org_as_owner mkdir -p "$W/archive" "$W/backups" "$W/slowbin"
SECRET="orguard-test-secret-$$-$RANDOM"

org_cluster_start src "$(org_archive_conf "$W/archive")"
data=${ORG_DATA[src]}
port=${ORG_PORT[src]}

conf="$W/agent.conf"
org_as_owner tee "$conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool

[node src]
conninfo = host=${ORG_SOCK[src]} port=$port user=postgres dbname=postgres
cluster = shop

[runbook pitr]
node = src
backup_dir = $W/backups
archive_dir = $W/archive
data_dir = $data
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $W
archive_timeout = 30s
start_timeout = 60s
recovery_timeout = 60s
EOF

# a cp that stalls until the test lets it go: the agent is killed while
# its copy child waits here
org_as_owner tee "$W/slowbin/cp" >/dev/null <<EOF
#!/bin/sh
echo \$\$ > "$W/cp.pid"
i=0
while [ ! -e "$W/cp.go" ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
exec /bin/cp "\$@"
EOF
chmod 755 "$W/slowbin/cp"

agent() { org_as_owner "$AGENT" -c "$conf" runbook "$@"; }
q() { PGCONNECT_TIMEOUT=5 org_psql "$1" -d postgres -Atc "$2"; }
pg_ctl_owner() { org_as_owner "$ORG_BINDIR/pg_ctl" "$@"; }
alive() { kill -0 "$1" 2>/dev/null; }
not() { ! "$@"; }
# the agent in the background with the stalling cp first in PATH and a
# secret in its environment; $victim is its pid
start_slow_agent() { # OUT ARGS...
	local out=$1
	shift
	rm -f "$W/cp.pid" "$W/cp.go"
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- \
			env PATH="$W/slowbin:$PATH" ORGUARD_TEST_SECRET="$SECRET" "$AGENT" -c "$conf" runbook "$@" >"$out" 2>&1 &
	else
		env PATH="$W/slowbin:$PATH" ORGUARD_TEST_SECRET="$SECRET" "$AGENT" -c "$conf" runbook "$@" >"$out" 2>&1 &
	fi
	victim=$!
}
# kill -9 the agent while its copy child stalls; true when the child died with it
kill_during_copy() { # OUT
	local cp_pid
	org_wait_until 60 "the copy started" test -s "$W/cp.pid" || return 1
	cp_pid=$(cat "$W/cp.pid")
	kill -9 "$victim"
	wait "$victim" 2>/dev/null
	sed 's/^/# /' "$1"
	org_wait_until 10 "the copy child is gone" not alive "$cp_pid"
	local gone=$?
	touch "$W/cp.go"   # a child that survived goes on now, as it would have
	return $gone
}

q src "CREATE TABLE t (id int, batch int); INSERT INTO t SELECT g, 1 FROM generate_series(1, 100) g" >/dev/null
check "backup" agent backup
q src "INSERT INTO t SELECT g, 2 FROM generate_series(1, 50) g" >/dev/null
lsn=$(q src "SELECT pg_current_wal_lsn()")
q src "INSERT INTO t SELECT g, 3 FROM generate_series(1, 10) g" >/dev/null
q src "SELECT pg_switch_wal()" >/dev/null
org_wait_until 30 "WAL archived" bash -c "[ -n \"\$(ls '$W/archive' | grep -v backup | tail -1)\" ]"

# --- side by side: killed during the copy; a directory put in its place is not ours ---
side="$W/side"
sport=$(org_free_port)
start_slow_agent "$W/side-1.out" pitr --target-lsn "$lsn" --restore-dir "$side" --restore-port "$sport"
check "side by side: the copy child dies with the killed agent" kill_during_copy "$W/side-1.out"
org_as_owner mkdir "$side"
echo "operator's file" | org_as_owner tee "$side/keep.txt" >/dev/null
out=$(agent pitr --target-lsn "$lsn" --restore-dir "$side" --restore-port "$sport" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "side by side: the resumed run refuses a directory it did not create" \
	eval '[ $rc -eq 3 ] && grep -q "restore_dir: .* already exists and is not this run.s restore" <<<"$out"'
check "side by side: the directory put there is untouched" grep -q "operator's file" "$side/keep.txt"
agent abandon pitr >/dev/null

# --- a socket directory with a backslash and a quote: written to
# postgresql.auto.conf (rb_conf_quote) and to the conninfo (rb_conninfo_quote)
# as PostgreSQL and libpq read them back ---
odd="$W/so\\ck'et"
org_as_owner mkdir "$odd"
org_as_owner tee -a "$conf" >/dev/null <<EOF

[runbook odd]
kind = pitr
node = src
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $odd
recovery_timeout = 60s
EOF
oport=$(org_free_port)
out=$(agent pitr odd --target-lsn "$lsn" --restore-dir "$W/odd" --restore-port "$oport" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ -d "$W/odd" ] && org_adopt_cluster odd "$W/odd" "$odd" "$oport"
check "a restore with a backslash and a quote in its socket directory starts and verifies" \
	eval '[ $rc -eq 0 ] && [ -S "$odd/.s.PGSQL.$oport" ]'
check "the restored node answers there with the rows up to the target" \
	[ "$(q odd "SELECT count(*) FILTER (WHERE batch IN (1, 2)) || '/' || count(*) FILTER (WHERE batch > 2) FROM t")" = 150/0 ]

# --- in place: killed during the copy, the kept directory moved back and started ---
org_cluster_stop src
start_slow_agent "$W/inplace-1.out" pitr pitr --in-place --target-lsn "$lsn"
check "in place: the copy child dies with the killed agent" kill_during_copy "$W/inplace-1.out"
aside=$(ls -d "$data".before-pitr-* 2>/dev/null | head -1)
check "in place: the source was moved aside before the copy" [ -f "$aside/PG_VERSION" ]
# the operator's way back: the kept directory in place, started, written to
[ -e "$data" ] && org_as_owner mv "$data" "$W/half-copy"
org_as_owner mv "$aside" "$data"
pg_ctl_owner -D "$data" -l "$W/live.log" -o "-p $port" -w -t 60 start >/dev/null
q src "INSERT INTO t VALUES (999, 9)" >/dev/null
out=$(agent pitr pitr --in-place --target-lsn "$lsn" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "in place: the re-run is refused while the live cluster runs" \
	eval '[ $rc -eq 3 ] && grep -q "source_stopped: a server runs on" <<<"$out"'
check "in place: the live cluster survives with its new row" [ "$(q src 'SELECT count(*) FROM t WHERE batch = 9')" = 1 ]
check "in place: no copy was written into the live directory" eval '[ ! -e "$data/data" ] && [ ! -e "$data/orguard-pitr.run" ]'

check "in place: the refused run took its cut-short copy with it, nothing else" \
	eval '[ -z "$(ls -d "$data".pitr-*.partial 2>/dev/null)" ] && [ -f "$data/PG_VERSION" ]'

# again, but the operator moves the kept directory back and leaves it
# stopped: the resumed run must not take it for its own copy
org_cluster_stop src
start_slow_agent "$W/inplace-2.out" pitr pitr --in-place --target-lsn "$lsn"
check "in place: killed again during the copy" kill_during_copy "$W/inplace-2.out"
aside=$(ls -d "$data".before-pitr-* 2>/dev/null | head -1)
org_as_owner mv "$aside" "$data"
start_slow_agent "$W/inplace-3.out" pitr pitr --in-place --target-lsn "$lsn"
touch "$W/cp.go"
wait "$victim"
rc=$?
out=$(cat "$W/inplace-3.out")
echo "$out" | sed 's/^/# /'
check "in place: the resumed run finishes" \
	eval '[ $rc -eq 0 ] && grep -q "^runbook .* resumed " <<<"$out" && grep -q "^runbook .* done " <<<"$out"'
check "in place: it moved the stopped directory put back aside again, never deleted it" \
	eval 'grep -q "^move-aside .* ok .*again" <<<"$out" && [ "$(ls -d "$data".before-pitr-* | wc -l)" -eq 1 ]'
check "in place: the restored node has the rows up to the target" \
	[ "$(q src "SELECT count(*) FILTER (WHERE batch IN (1, 2)) || '/' || count(*) FILTER (WHERE batch > 2) FROM t")" = 150/0 ]
check "in place: no marker and no staging directory are left" \
	eval '[ ! -e "$data/orguard-pitr.run" ] && [ -z "$(ls -d "$data".pitr-*.partial 2>/dev/null)" ]'
pm=$(head -1 "$data/postmaster.pid" 2>/dev/null)
check "a secret of the agent's environment is not in the postmaster's" \
	eval '[ -n "$pm" ] && [ -r "/proc/$pm/environ" ] && ! tr "\0" "\n" <"/proc/$pm/environ" | grep -q "$SECRET"'
check "the postmaster's environment is the minimal one (PATH, no ORGUARD_TEST_SECRET)" \
	eval 'tr "\0" "\n" <"/proc/$pm/environ" | grep -q "^PATH=" && ! tr "\0" "\n" <"/proc/$pm/environ" | grep -q "^ORGUARD_TEST_SECRET="'
aside=$(ls -d "$data".before-pitr-* 2>/dev/null | head -1)
aport=$(org_free_port)
org_adopt_cluster aside "$aside" "$W" "$aport"
pg_ctl_owner -D "$aside" -l "$W/aside.log" -o "-p $aport -k $W" -w -t 60 start >/dev/null
check "in place: the kept directory has the row written while it was live" \
	[ "$(q aside 'SELECT count(*) FROM t WHERE batch = 9')" = 1 ]

echo "1..$n"
[ $fails -eq 0 ]
