#!/usr/bin/env bash
# bench/pitr_restore.sh [RUNS]: point-in-time restore-and-promote of a
# ~0.5 GB database with the agent's pitr runbook, native backend and
# pgBackRest backend side by side (prints, never fails on time; the target
# is a total under 15 s).
#
# One source cluster archives every WAL segment both into a directory (for
# the native backend) and into a local pgBackRest repository; pgbench -i
# -s 35 fills it, the agent takes one base backup with each backend, some
# pgbench traffic writes WAL after them, and the target is an LSN in the
# middle of that WAL.  Each run restores side by side into a new directory
# and port, waits for promotion and verification, then stops the node and
# removes it.  Figures: median, min and max of the agent's total and of
# its copy (pgBackRest: restore) / start / recovery parts.
set -uo pipefail

RUNS=${1:-5}
SCALE=${ORG_BENCH_SCALE:-35}
ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../regress/lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../regress/lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"

command -v pgbackrest >/dev/null || { echo "pgbackrest is not installed"; exit 1; }
org_harness_init
AGENT="$ORG_SRC_DIR/agent/orguard-agent"
[ -x "$AGENT" ] || make -s -C "$ORG_SRC_DIR" agent >/dev/null || org_die "cannot build the agent"
W=$(org_scratch_dir rb)
org_as_owner mkdir -p "$W/archive" "$W/backups" "$W/repo" "$W/lock" "$W/log" "$W/spool"

q() { PGCONNECT_TIMEOUT=5 org_psql "$1" -d postgres -Atc "$2"; }
stats() { # stats LABEL < numbers: n, median, min, max
	sort -n | awk -v l="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { printf "  %-22s no samples\n", l; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "  %-22s n=%d  median %6.2f s  min %6.2f s  max %6.2f s\n", l, NR, m, v[1], v[NR] }'
}

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
process-max=2
compress-type=lz4
EOF
# every segment goes to both archives; pgbackrest archive-push accepts a
# segment it already holds, so a retry after a partial failure is safe
org_cluster_start src "wal_level = replica
archive_mode = on
archive_command = '(test -f $W/archive/%f || cp %p $W/archive/%f) && pgbackrest --config=$BR_CONF --stanza=shop archive-push %p'
max_wal_size = 2GB
checkpoint_timeout = 30min"
org_as_owner tee -a "$BR_CONF" >/dev/null <<EOF

[shop]
pg1-path=${ORG_DATA[src]}
pg1-socket-path=${ORG_SOCK[src]}
pg1-port=${ORG_PORT[src]}
EOF
org_as_owner pgbackrest --config="$BR_CONF" --stanza=shop stanza-create >/dev/null || org_die "stanza-create failed"

org_as_owner tee "$W/agent.conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool
[node src]
conninfo = host=${ORG_SOCK[src]} port=${ORG_PORT[src]} user=postgres dbname=postgres
[runbook native]
kind = pitr
node = src
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $W
archive_timeout = 120s
[runbook br]
kind = pitr
backend = pgbackrest
stanza = shop
pgbackrest_config = $BR_CONF
node = src
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $W
archive_timeout = 120s
EOF
agent() { org_as_owner "$AGENT" -c "$W/agent.conf" runbook "$@"; }

t0=$SECONDS
"$ORG_BINDIR/pgbench" -q -i -s "$SCALE" -h "${ORG_SOCK[src]}" -p "${ORG_PORT[src]}" -U postgres postgres >"$W/init.out" 2>&1 ||
	{ cat "$W/init.out"; org_die "pgbench -i failed"; }
echo "database: $(q src "SELECT pg_size_pretty(pg_database_size('postgres'))") (pgbench -i -s $SCALE in $((SECONDS - t0)) s)"
for b in native br; do
	agent backup "$b" >"$W/backup-$b.out" 2>&1 || { cat "$W/backup-$b.out"; org_die "backup with $b failed"; }
	echo "base backup ($b): $(grep -o 'backup [^ ]* in [0-9.]* s' "$W/backup-$b.out" | tail -1)"
done
echo "backup sizes: native $(du -sh "$W/backups" | cut -f1), pgBackRest repository $(du -sh "$W/repo" | cut -f1) (lz4)"
pgb() { "$ORG_BINDIR/pgbench" -n -c 2 -t "$1" -h "${ORG_SOCK[src]}" -p "${ORG_PORT[src]}" -U postgres postgres >/dev/null 2>&1; }
w0=$(q src "SELECT pg_current_wal_lsn()")
pgb 20000
lsn=$(q src "SELECT pg_current_wal_lsn()")
pgb 2000
echo "WAL after the backups: $(q src "SELECT pg_size_pretty(pg_wal_lsn_diff('$lsn', '$w0'))") up to the target $lsn, more after it"

: >"$W/native.tsv"
: >"$W/br.tsv"
for run in $(seq 1 "$RUNS"); do
	for b in native br; do
		port=$(org_free_port)
		dir="$W/r-$b-$run"
		agent pitr "$b" --target-lsn "$lsn" --restore-dir "$dir" --restore-port "$port" >"$dir.out" 2>&1
		[ -d "$dir" ] && org_adopt_cluster "r-$b-$run" "$dir" "$W" "$port"
		line=$(grep -o 'in [0-9.]* s (copy [0-9.]* s, start [0-9.]* s, recovery [0-9.]* s)' "$dir.out")
		if [ -n "$line" ]; then
			sed 's/in \([0-9.]*\) s (copy \([0-9.]*\) s, start \([0-9.]*\) s, recovery \([0-9.]*\) s)/\1\t\2\t\3\t\4/' <<<"$line" >>"$W/$b.tsv"
			echo "run $run $b: $line"
		else
			echo "run $run $b: failed"
			tail -n 5 "$dir.out" | sed 's/^/  /'
		fi
		org_cluster_stop "r-$b-$run"
		rm -rf "$dir"
	done
done

echo
for b in native br; do
	case $b in
		native) echo "== native: pg_basebackup copy (cp -a) + WAL archive directory, side by side, to an LSN ==" ;;
		br) echo "== pgBackRest 2.45: restore --type=lsn (process-max 2, lz4) + archive-get, side by side, to an LSN ==" ;;
	esac
	cut -f1 "$W/$b.tsv" | stats "restore-and-promote"
	cut -f2 "$W/$b.tsv" | stats "copy / restore"
	cut -f3 "$W/$b.tsv" | stats "start"
	cut -f4 "$W/$b.tsv" | stats "recovery to promoted"
done
