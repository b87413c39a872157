#!/usr/bin/env bash
# runbook_progress.sh: the long runbook steps report pg_basebackup -P style
# progress on a terminal (a pty from script(1)): the base backup, the
# restore copy and recovery replay against an LSN target, on a real cluster
# with a few hundred MB of data and WAL; the journal stays bounded (a step
# under 30 s writes no progress record); stdout keeps the steps only.
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
	rb_kill_jobs
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir rb)
org_as_owner mkdir -p "$W/archive" "$W/backups"
org_cluster_start src "$(org_archive_conf "$W/archive")
max_wal_size = 1GB"

conf="$W/agent.conf"
org_as_owner tee "$conf" >/dev/null <<CONF
[agent]
spool_dir = $W/spool

[node src]
conninfo = host=${ORG_SOCK[src]} port=${ORG_PORT[src]} user=postgres dbname=postgres
cluster = shop

[runbook pitr]
node = src
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $W
backup_max_rate = 64MB
archive_timeout = 60s
start_timeout = 60s
recovery_timeout = 120s
CONF

q() { PGCONNECT_TIMEOUT=5 org_psql src -d postgres -Atc "$1"; }
# on a pseudo-terminal, as an operator types it; stderr and stdout both come back
on_tty() { org_as_owner script -qefc "$(printf '%q ' "$AGENT" -c "$conf" runbook "$@")" /dev/null; }
# progress WHAT STEP OUTPUT [PATTERN]: a figure line of WHAT drawn in place
# (PATTERN after "WHAT: "), unless STEP took under 1.5 s: a terminal gets
# its first figure after a second
progress() {
	local took
	took=$(grep -a "^$2 .* ok " <<<"$3" | tr -d '\r' | sed -n 's/.* \([0-9.]*\) s\( after start\)\?$/\1/p' | tail -1)
	grep -aq $'\r'"$1: ${4:-[0-9]*/[0-9]* kB ([0-9]*%), elapsed}" <<<"$3" ||
		{ echo "# $2 took ${took:-?} s"; awk -v t="${took:-99}" 'BEGIN { exit !(t < 1.5) }'; }
}

# about 200 MB: at backup_max_rate 64MB the transfer takes at least 3 s, so
# pg_basebackup -P has figures to draw however fast the machine is
q "CREATE TABLE pad AS SELECT g, repeat(md5(g::text), 30) AS filler FROM generate_series(1, 200000) g" >/dev/null
pad_mb=$(q "SELECT pg_total_relation_size('pad') / 1048576")
out=$(on_tty backup 2>&1)
rc=$?
check "backup on a terminal succeeds" [ $rc -eq 0 ]
check "it draws pg_basebackup -P figures in place" \
	grep -aq $'\r'"base backup: [0-9]*/[0-9]* kB ([0-9]*%), elapsed" <<<"$out"
took=$(grep -a "^base-backup .* ok " <<<"$out" | tr -d '\r' | sed -n 's/.* in \([0-9.]*\) s$/\1/p')
check "backup_max_rate paces pg_basebackup: ${pad_mb} MB at 64 MB/s in ${took:-?} s" \
	awk -v t="${took:-0}" -v mb="$pad_mb" 'BEGIN { exit !(mb >= 150 && t >= 0.9 * mb / 64) }'
check "the step names the limit" grep -aq "^base-backup .* started .*--max-rate=65536k" <<<"$out"
grep -a "^base-backup .* ok " <<<"$out" | tr -d '\r' | sed 's/^/# /'
[ $rc -eq 0 ] || sed 's/^/# /' <<<"$out" | tr '\r' '\n' | tail -20

# WAL to replay after the backup, then the target
q "CREATE TABLE more AS SELECT g, repeat(md5(g::text), 30) AS filler FROM generate_series(1, 200000) g" >/dev/null
lsn=$(q "SELECT pg_current_wal_insert_lsn()")
q "SELECT pg_switch_wal()" >/dev/null
out=$(on_tty pitr --target-lsn "$lsn" --restore-dir "$W/r" --restore-port "$(org_free_port)" 2>&1)
rc=$?
check "pitr on a terminal succeeds" [ $rc -eq 0 ]
check "the restore copy draws its progress" progress "restore copy" copy-backup "$out"
check "recovery replay draws the LSN reached against the target $lsn" \
	progress "recovery replay" recovery "$out" "[0-9A-F]*/[0-9A-F]* of $lsn ([0-9]*%), elapsed"
grep -a "^copy-backup .* ok \|^recovery .* ok " <<<"$out" | tr -d '\r' | sed 's/^/# /'
[ $rc -eq 0 ] || sed 's/^/# /' <<<"$out" | tr '\r' '\n' | tail -20
org_as_owner "$ORG_BINDIR/pg_ctl" -D "$W/r" -m immediate stop >/dev/null 2>&1

# not a terminal: the steps on stdout, no progress there; the journal bounded
out=$(org_as_owner "$AGENT" -c "$conf" runbook backup 2>/dev/null)
check "without a terminal, stdout has the steps and no progress figures" \
	eval 'grep -q "^base-backup .* ok " <<<"$out" && ! grep -q "kB (" <<<"$out"'
check "the journal's progress records are bounded: none before 30 s, at most 12 per step" python3 -c '
import collections, json, re, sys
n = collections.Counter()
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["result"] != "progress":
        continue
    n[(o["run"], o["step"])] += 1
    m = re.search(r"elapsed ([0-9.]+) (s|min|h)", o["detail"])
    assert m and float(m.group(1)) * {"s": 1, "min": 60, "h": 3600}[m.group(2)] >= 30, l
assert all(v <= 12 for v in n.values()), n' "$W/journal"

echo "1..$n"
[ $fails -eq 0 ]
