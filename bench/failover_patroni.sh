#!/usr/bin/env bash
# bench/failover_patroni.sh [RUNS]: Patroni's own failover time beside the
# native runbook's, on the same machine (prints figures, never fails on
# time).
#
#   patroni  three members (etcd 3.4, Patroni's default ttl 30, loop_wait 10,
#            retry_timeout 10), RUNS times: crash of the leader node (kill -9
#            of its Patroni, then of its PostgreSQL); time from the crash to
#            the first write accepted by a surviving member.  The killed
#            member is started again and rejoins while the next run begins.
#   native   bash bench/runbook_failover.sh RUNS (its "crash -> first write"
#            line)
#
# Both are printed side by side at the end.
set -uo pipefail

RUNS=${1:-10}
ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../regress/lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../regress/lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"
# shellcheck source=../regress/lib/patroni.sh
. "$ORG_SRC_DIR/regress/lib/patroni.sh"

org_patroni_harness_init
W=$(org_scratch_dir bench)
stats() { # stats LABEL < numbers: n, median, p95, min, max
	sort -n | awk -v l="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { printf "%-48s no samples\n", l; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		i = int(0.95 * NR + 0.999); if (i < 1) i = 1; if (i > NR) i = NR
		printf "%-48s n=%d  median %.2f s  p95 %.2f s  min %.2f s  max %.2f s\n", l, NR, m, v[i], v[1], v[NR] }'
}

# one write on whichever surviving member takes it
first_write() { # first_write DEAD
	local m
	for m in "${ORG_PATRONI_MEMBERS[@]}"; do
		[ "$m" = "$1" ] && continue
		PGCONNECT_TIMEOUT=2 PGOPTIONS='-c statement_timeout=2s' \
			org_patroni_psql "$m" "INSERT INTO t VALUES (1)" >/dev/null 2>&1 && return 0
	done
	return 1
}

org_etcd_start
org_patroni_start m1 30 10 10
org_patroni_wait_leader 90 || org_die "no Patroni leader"
org_patroni_start m2 30 10 10
org_patroni_start m3 30 10 10
org_patroni_wait_streaming 120 2 || org_die "Patroni replicas do not stream"
org_patroni_psql "$(org_patroni_leader)" "CREATE TABLE t (id int)" >/dev/null

: >"$W/patroni.tsv"
for run in $(seq 1 "$RUNS"); do
	# a leader with at least one replica streaming at no lag
	if ! org_patroni_wait_leader 90 || ! org_patroni_wait_streaming 90 1; then
		echo "patroni run $run: no leader with a streaming replica; stopping"
		break
	fi
	leader=$(org_patroni_leader)
	t0=$(date +%s.%N)
	org_patroni_kill "$leader"
	t1=""
	deadline=$((SECONDS + 120))
	while [ $SECONDS -lt $deadline ]; do
		if first_write "$leader"; then
			t1=$(date +%s.%N)
			break
		fi
		sleep 0.1
	done
	if [ -n "$t1" ]; then
		total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		echo "$total" >>"$W/patroni.tsv"
		echo "patroni run $run: $leader crashed; $(org_patroni_leader) took a write after ${total} s"
	else
		echo "patroni run $run: no write within 120 s"
	fi
	# the crashed member comes back and rejoins while the next run starts
	org_patroni_restart "$leader"
done

echo
echo "== Patroni 3.0.2 failover (3 members, ttl 30, loop_wait 10, retry_timeout 10, loopback) =="
stats "crash -> first write" <"$W/patroni.tsv"
patroni_line=$(stats "x" <"$W/patroni.tsv")
org_patroni_stop_all

echo
echo "== native runbook: bash bench/runbook_failover.sh $RUNS =="
bash "$ORG_SRC_DIR/bench/runbook_failover.sh" "$RUNS" 2>&1 | tee "$W/native.out" | grep -v '^harness:'
native_line=$(grep -m 1 '^crash -> first write' "$W/native.out")

row() { # row LABEL STATS-LINE
	local n med p95 min max
	n=$(grep -o 'n=[0-9]*' <<<"$2" | cut -d= -f2)
	med=$(grep -o 'median [0-9.]*' <<<"$2" | cut -d' ' -f2)
	p95=$(grep -o 'p95 [0-9.]*' <<<"$2" | cut -d' ' -f2)
	min=$(grep -o 'min [0-9.]*' <<<"$2" | cut -d' ' -f2)
	max=$(grep -o 'max [0-9.]*' <<<"$2" | cut -d' ' -f2)
	printf '%-52s %4s %9s %9s %9s %9s\n' "$1" "${n:--}" "${med:--}" "${p95:--}" "${min:--}" "${max:--}"
}
echo
echo "== failover: crash of the primary -> first write on the new primary (seconds) =="
printf '%-52s %4s %9s %9s %9s %9s\n' "" runs median p95 min max
row "Patroni defaults (ttl 30, loop_wait 10, retry 10)" "$patroni_line"
row "orguard-agent native (probes 3 x 1 s, --watch)" "$native_line"
