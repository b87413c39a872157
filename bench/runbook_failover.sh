#!/usr/bin/env bash
# bench/runbook_failover.sh [RUNS]: figures for the native runbooks on
# loopback (prints, never fails on time).
#
#   failover  RUNS times: primary + standby (pg_basebackup -R), the agent
#             watching (probes 3 x 1 s), kill -9 of the primary and its
#             processes; time from the crash to the first write on the
#             promoted standby, and the agent's own detection/action split
#   pitr      RUNS/2 side-by-side restores of a base backup plus archive to
#             an LSN: the agent's total and its copy/start/recovery parts
set -uo pipefail

RUNS=${1:-10}
ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../regress/lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../regress/lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"

org_harness_init
bench_cleanup() {
	local rc=$? pid
	for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
	(exit $rc)
	org_harness_cleanup
}
trap bench_cleanup EXIT
AGENT="$ORG_SRC_DIR/agent/orguard-agent"
[ -x "$AGENT" ] || make -s -C "$ORG_SRC_DIR" agent >/dev/null || org_die "cannot build the agent"
W=$(org_scratch_dir rb)

q() { PGCONNECT_TIMEOUT=5 PGOPTIONS='-c statement_timeout=20s' org_psql "$1" -d postgres -Atc "$2"; }
crash() {
	local pm
	pm=$(head -n 1 "${ORG_DATA[$1]}/postmaster.pid")
	kill -9 "$pm" $(ps -o pid= --ppid "$pm") 2>/dev/null
}
as_owner_bg() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@" &
	else
		"$@" &
	fi
}
stats() { # stats LABEL < numbers: n, median, p95, min, max
	sort -n | awk -v l="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { printf "%-34s no samples\n", l; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		i = int(0.95 * NR + 0.999); if (i < 1) i = 1; if (i > NR) i = NR
		printf "%-34s n=%d  median %.2f s  p95 %.2f s  min %.2f s  max %.2f s\n", l, NR, m, v[i], v[1], v[NR] }'
}

: >"$W/failover.tsv"
for run in $(seq 1 "$RUNS"); do
	p="p$run" s="s$run"
	org_cluster_start "$p"
	org_standby_create "$s" "$p"
	org_wait_until 30 "standby streams" org_standby_streaming "$p" "$s" || continue
	q "$p" "CREATE TABLE t (id int)" >/dev/null
	org_as_owner tee "$W/f$run.conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool
[node $p]
conninfo = host=${ORG_SOCK[$p]} port=${ORG_PORT[$p]} user=postgres dbname=postgres
[node $s]
conninfo = host=${ORG_SOCK[$s]} port=${ORG_PORT[$s]} user=postgres dbname=postgres
[runbook promote]
primary = $p
standbys = $s
probes = 3
probe_interval = 1s
probe_timeout = 2s
fence_command = none
journal = $W/journal
EOF
	as_owner_bg "$AGENT" -c "$W/f$run.conf" runbook promote --watch >"$W/f$run.out" 2>&1
	watcher=$!
	org_wait_until 10 "watcher" grep -q '^watching' "$W/f$run.out"
	sleep 1.5
	t0=$(date +%s.%N)
	crash "$p"
	t1=""
	for _ in $(seq 1 300); do
		if q "$s" "INSERT INTO t VALUES (1)" >/dev/null 2>&1; then
			t1=$(date +%s.%N)
			break
		fi
		sleep 0.05
	done
	# bounded: a watcher that has not finished 30 s after the crash is ended
	for _ in $(seq 1 300); do
		kill -0 "$watcher" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$watcher" 2>/dev/null
	wait "$watcher"
	agent_line=$(grep -o '[0-9.]* s from the first failed probe to writable (decision [0-9.]* s, action [0-9.]* s)' "$W/f$run.out")
	if [ -n "$t1" ]; then
		total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		read -r first decision action <<<"$(sed 's/ s from.*decision / /; s/ s, action / /; s/ s)//' <<<"$agent_line")"
		printf '%s\t%s\t%s\t%s\n' "$total" "$first" "$decision" "$action" >>"$W/failover.tsv"
		echo "failover run $run: crash to first write ${total} s; agent: $agent_line"
	else
		echo "failover run $run: no write within 15 s"
		sed 's/^/  /' "$W/f$run.out"
	fi
	org_cluster_stop "$s"
	org_cluster_stop "$p"
done

# ---- pitr ----
org_as_owner mkdir -p "$W/archive" "$W/backups"
org_cluster_start src "$(org_archive_conf "$W/archive")"
q src "CREATE TABLE res_partner AS SELECT g AS id, repeat('x', 100) AS name FROM generate_series(1, 200000) g" >/dev/null
org_as_owner tee "$W/pitr.conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool
[node src]
conninfo = host=${ORG_SOCK[src]} port=${ORG_PORT[src]} user=postgres dbname=postgres
[runbook pitr]
node = src
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $W
EOF
org_as_owner "$AGENT" -c "$W/pitr.conf" runbook backup >"$W/backup.out" 2>&1 || cat "$W/backup.out"
grep -o 'backup .* in [0-9.]* s' "$W/backup.out" | tail -1 | sed 's/^/base backup: /'
q src "INSERT INTO res_partner SELECT g, 'later' FROM generate_series(200001, 250000) g" >/dev/null
lsn=$(q src "SELECT pg_current_wal_lsn()")
q src "DELETE FROM res_partner WHERE id % 2 = 0" >/dev/null
: >"$W/pitr.tsv"
for run in $(seq 1 $(((RUNS + 1) / 2))); do
	port=$(org_free_port)
	org_as_owner "$AGENT" -c "$W/pitr.conf" runbook pitr --target-lsn "$lsn" \
		--restore-dir "$W/r$run" --restore-port "$port" >"$W/r$run.out" 2>&1
	org_adopt_cluster "r$run" "$W/r$run" "$W" "$port"
	line=$(grep -o 'in [0-9.]* s (copy [0-9.]* s, start [0-9.]* s, recovery [0-9.]* s)' "$W/r$run.out")
	if [ -n "$line" ]; then
		sed 's/in \([0-9.]*\) s (copy \([0-9.]*\) s, start \([0-9.]*\) s, recovery \([0-9.]*\) s)/\1\t\2\t\3\t\4/' <<<"$line" >>"$W/pitr.tsv"
		echo "pitr run $run: $line"
	else
		echo "pitr run $run: failed"
		tail -n 5 "$W/r$run.out" | sed 's/^/  /'
	fi
	org_cluster_stop "r$run"
done

echo
echo "== native failover (primary + 1 standby, probes 3 x 1 s, loopback) =="
cut -f1 "$W/failover.tsv" | stats "crash -> first write"
cut -f2 "$W/failover.tsv" | stats "agent: first failed probe -> writable"
cut -f3 "$W/failover.tsv" | stats "agent: decision (dead rule)"
cut -f4 "$W/failover.tsv" | stats "agent: fence + promote + verify"
echo "== native PITR (side by side, $(du -sh "$W/backups" | cut -f1) backup dir, to an LSN) =="
cut -f1 "$W/pitr.tsv" | stats "restore total"
cut -f2 "$W/pitr.tsv" | stats "copy"
cut -f3 "$W/pitr.tsv" | stats "start"
cut -f4 "$W/pitr.tsv" | stats "recovery to promoted"
