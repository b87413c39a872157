#!/usr/bin/env bash
# runbook_safety.sh: never two primaries.  Real PostgreSQL 15 nodes a and b
# (primary + one standby, pg_basebackup -R), the promotion runbook with its
# shipped defaults (3 probes 2 s apart) and the agent's daemon watching both:
#
#   (a) the primary's postmaster and backends frozen (SIGSTOP) for each of
#       FREEZES seconds (default "2 5"), then SIGCONT: never promoted;
#   (b) RUNS (default 20) kill -9 runs, alternating roles, synchronous
#       replication in odd runs: a writer commits numbered rows, a monitor
#       asks every node every 100 ms whether it takes a write; the agent
#       fences and promotes, the old primary is restarted (as an operator
#       or a crash loop would) and must come up read-only, then it rejoins
#       with `runbook rejoin` for the next run.  No monitor round may see
#       two writable nodes; in sync runs every acknowledged row must be on
#       the new primary; the daemon's two_primaries alert must stay quiet;
#       after the first promotion, the section that still names the old
#       primary is refused at once (fenced_primary);
#   (c) one more crash with fencing disabled (fence_command = none) and the
#       old primary restarted writable: the monitor must see the overlap
#       (so it can fail) and the daemon must fire two_primaries naming both
#       nodes and their timelines, and resolve it once the old one is down.
#
# The fence of this test (fence.sh) writes standby.signal into the old
# primary's data directory and stops whatever is left of it: any later
# start of that directory, by whoever, is a read-only standby until
# `runbook rejoin` makes it follow the new primary.
set -uo pipefail

RUNS=${RUNS:-20}
FREEZES=${FREEZES:-"2 5"}
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"
# shellcheck source=../lib/runbook_test.sh
. "$ORG_SRC_DIR/regress/lib/runbook_test.sh"

org_harness_init
# bounded as a whole (about 15 s per run on a loaded machine): on timeout,
# end the foreground command too so that the exit trap stops everything
rb_watchdog "${ORG_RB_TIMEOUT:-$((120 + 20 * RUNS))}"
rb_cleanup() {
	local rc=$? name pm pid
	[ -n "${W:-}" ] && touch "$W/stop" 2>/dev/null
	rb_kill_jobs
	# a node frozen by a failed check must be able to stop
	for name in "${ORG_CLUSTERS[@]}"; do
		pm=$(head -n 1 "${ORG_DATA[$name]}/postmaster.pid" 2>/dev/null)
		[ -n "$pm" ] && kill -CONT "$pm" $(ps -o pid= --ppid "$pm") 2>/dev/null
	done
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir rb)

# never hang on a frozen or dead server
q() { PGCONNECT_TIMEOUT=5 PGOPTIONS='-c statement_timeout=20s' org_psql "$1" -d postgres -Atc "$2"; }
not() { ! "$@"; }
pm_pid() { head -n 1 "${ORG_DATA[$1]}/postmaster.pid" 2>/dev/null; }
# the postmaster and every process it started, by id
crash() { local pm; pm=$(pm_pid "$1"); kill -9 "$pm" $(ps -o pid= --ppid "$pm") 2>/dev/null; }
freeze() { local pm; pm=$(pm_pid "$1"); kill -STOP "$pm" $(ps -o pid= --ppid "$pm"); }
thaw() { local pm; pm=$(pm_pid "$1"); kill -CONT "$pm" $(ps -o pid= --ppid "$pm"); }
running() { org_as_owner "$ORG_BINDIR/pg_ctl" -D "${ORG_DATA[$1]}" status >/dev/null 2>&1; }
pg_ctl_as_operator() { # pg_ctl_as_operator NODE start|stop [MODE]
	org_as_owner "$ORG_BINDIR/pg_ctl" -D "${ORG_DATA[$1]}" -l "$ORG_TMP/$1/server.log" \
		${3:+-m $3} -w -t 30 "$2" >/dev/null 2>&1
}
in_recovery() { [ "$(q "$1" 'SELECT pg_is_in_recovery()')" = t ]; }
streams_sync() { [ "$(q "$1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$2' AND state = 'streaming'")" = "$3" ]; }
acked_at_least() { [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
as_owner_bg() { # as_owner_bg OUT CMD...: $! is the command itself
	local out=$1
	shift
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@" >"$out" 2>&1 &
	else
		"$@" >"$out" 2>&1 &
	fi
}

common="wal_keep_size = '256MB'
wal_receiver_status_interval = 1s
full_page_writes = on
wal_log_hints = on"
org_cluster_start a "$common"
q a "CREATE EXTENSION odoo_retail_guard" >/dev/null || org_die "the extension does not install"
q a "CREATE TABLE orders (id bigint PRIMARY KEY, run int NOT NULL)" >/dev/null
q a "CREATE TABLE monitor_probe (node text, at timestamptz)" >/dev/null
org_standby_create b a
# a node started by pg_ctl alone (an operator, rejoin) needs its own port
for x in a b; do
	org_as_owner tee -a "${ORG_DATA[$x]}/postgresql.conf" >/dev/null <<<"port = ${ORG_PORT[$x]}"
done
org_wait_until 30 "b streams" streams_sync a b async || org_die "b does not stream"

node_conf() { echo "conninfo = host=${ORG_SOCK[$1]} port=${ORG_PORT[$1]} user=postgres dbname=postgres"; }

# the fence: the old primary's data directory can only start as a standby
org_as_owner tee "$W/fence.sh" >/dev/null <<EOF
#!/bin/sh
case "\$ORGUARD_OLD_PRIMARY" in
a) d="${ORG_DATA[a]}" ;;
b) d="${ORG_DATA[b]}" ;;
*) echo "unknown node \$ORGUARD_OLD_PRIMARY"; exit 1 ;;
esac
: > "\$d/standby.signal" || exit 1
"$ORG_BINDIR/pg_ctl" -D "\$d" -m immediate -w stop >/dev/null 2>&1
echo "\$ORGUARD_OLD_PRIMARY -> \$ORGUARD_NEW_PRIMARY" >> "$W/fenced"
echo "fenced \$ORGUARD_OLD_PRIMARY: standby.signal"
EOF
chmod 755 "$W/fence.sh"

promote_conf() { # promote_conf FILE PRIMARY STANDBY FENCE
	org_as_owner tee "$1" >/dev/null <<EOF
[agent]
spool_dir = $W/spool
[node a]
$(node_conf a)
cluster = shop
[node b]
$(node_conf b)
cluster = shop
[runbook promote]
primary = $2
standbys = $3
fence_command = $4
journal = $W/journal
bin_dir = $ORG_BINDIR
data_dir.a = ${ORG_DATA[a]}
data_dir.b = ${ORG_DATA[b]}
EOF
}

start_watch() { # start_watch CONF OUT
	as_owner_bg "$2" "$AGENT" -c "$1" runbook promote --watch
	watcher=$!
	org_wait_until 10 "watcher probes" grep -q '^watching' "$2"
}
wait_watch() { # wait_watch SECS: exit status of the watcher, 124 on timeout
	local deadline=$((SECONDS + $1))
	while kill -0 "$watcher" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			kill -TERM "$watcher" 2>/dev/null
			wait "$watcher" 2>/dev/null
			return 124
		fi
		sleep 0.1
	done
	wait "$watcher"
}
journal_lines() { if [ -f "$W/journal" ]; then wc -l <"$W/journal"; else echo 0; fi; }

# ---------------------------------------------------------------------
# (a) brief freezes of the primary are never failed over
promote_conf "$W/freeze.conf" a b "$W/fence.sh"
check "promote settings with the shipped probe defaults validate" \
	org_as_owner "$AGENT" -c "$W/freeze.conf" runbook check-config
for secs in $FREEZES; do
	before=$(journal_lines)
	start_watch "$W/freeze.conf" "$W/freeze-$secs.out"
	grep '^watching' "$W/freeze-$secs.out" | sed 's/^/# /'
	sleep 1
	freeze a
	sleep "$secs"
	thaw a
	# observe two more probe intervals after the thaw
	org_wait_until 10 "a answers" q a "SELECT 1"
	sleep 4.5
	alive=0
	kill -0 "$watcher" 2>/dev/null && alive=1
	kill -TERM "$watcher" 2>/dev/null
	wait_watch 10
	sed 's/^/# /' "$W/freeze-$secs.out"
	check "frozen ${secs} s: the watcher kept watching (primary not declared dead)" [ $alive = 1 ]
	check "frozen ${secs} s: nothing journaled, a is the primary, b a standby" \
		eval '[ "$(journal_lines)" = "$before" ] && not in_recovery a && in_recovery b && [ ! -e "$W/fenced" ]'
done

# ---------------------------------------------------------------------
# (b) kill the primary RUNS times; a monitor and the daemon watch both nodes

# writable NODE: takes a write now (commits locally: a synchronous standby
# that is gone must not make the probe hang)
writable() {
	PGCONNECT_TIMEOUT=1 PGOPTIONS='-c statement_timeout=1000 -c synchronous_commit=local' \
		psql -X -q -h "${ORG_SOCK[$1]}" -p "${ORG_PORT[$1]}" -U postgres -d postgres -Atc \
		"INSERT INTO monitor_probe VALUES ('$1', now()) RETURNING NOT pg_is_in_recovery()" 2>/dev/null | grep -qx t
}
(
	while [ ! -e "$W/stop" ]; do
		ra=- rb=-
		writable a && ra=W
		writable b && rb=W
		echo "$(date +%s.%N) $ra $rb" >>"$W/monitor"
		sleep 0.1
	done
) &
monitor_rounds() { wc -l <"$W/monitor" 2>/dev/null || echo 0; }
# two_writable FROM: rounds after line FROM where both nodes took a write
two_writable() { tail -n +"$(($1 + 1))" "$W/monitor" | awk '$2 == "W" && $3 == "W"' | wc -l; }
monitor_past() { [ "$(monitor_rounds)" -ge "$1" ]; }

org_as_owner tee "$W/daemon.conf" >/dev/null <<EOF
[agent]
interval = 1s
node_timeout = 800ms
reconnect_max = 1s
spool_dir = $W/daemon-spool
listen = off
[node a]
$(node_conf a)
cluster = shop
[node b]
$(node_conf b)
cluster = shop
EOF
org_as_owner mkdir -p "$W/daemon-spool"
as_owner_bg "$W/daemon.log" "$AGENT" -c "$W/daemon.conf" run
daemon=$!
org_wait_until 20 "monitor and daemon running" \
	eval '[ "$(monitor_rounds)" -ge 3 ] && grep -q "node b" "$W/daemon.log"' || org_die "monitor or daemon did not start"
check "monitor: a takes writes, b does not" eval 'tail -n 1 "$W/monitor" | grep -q " W -$"'

# reclone NODE FROM: NODE becomes a fresh standby of FROM (pg_basebackup),
# same directory, socket and port (the monitor and the daemon know them)
reclone() {
	local d=${ORG_DATA[$1]}
	org_as_owner "$ORG_BINDIR/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$d"
	org_as_owner "$ORG_BINDIR/pg_basebackup" -d "$(org_conn "$2") application_name=$1" \
		-D "$d" -R -X stream -c fast --no-sync >"$W/reclone.log" 2>&1 || return 1
	printf "\n# --- test harness: re-cloned from %s ---\nunix_socket_directories = '%s'\nport = %s\n" \
		"$2" "${ORG_SOCK[$1]}" "${ORG_PORT[$1]}" | org_as_owner tee -a "$d/postgresql.conf" >/dev/null
	pg_ctl_as_operator "$1" start
}

writer() { # writer NODE RUN ACKED: numbered rows until the node fails
	local i=$((1000000 * $2))
	while q "$1" "INSERT INTO orders VALUES ($i, $2)" >/dev/null 2>&1; do
		echo $i >>"$3"
		i=$((i + 1))
	done
}

P=a S=b
: >"$W/failover.tsv"
run_ok=0
reclones=0
for run in $(seq 1 "$RUNS"); do
	mode=async
	[ $((run % 2)) = 1 ] && mode=sync
	why="" total=""
	from=$(monitor_rounds)
	# replication mode of this run: only the primary names a synchronous standby
	q "$S" "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null
	q "$S" "SELECT pg_reload_conf()" >/dev/null
	q "$P" "ALTER SYSTEM SET synchronous_standby_names = '$([ $mode = sync ] && echo "$S")'" >/dev/null
	q "$P" "SELECT pg_reload_conf()" >/dev/null
	org_wait_until 30 "$S streams ($mode)" streams_sync "$P" "$S" "$mode" || why="$S does not stream ($mode)"
	promote_conf "$W/run$run.conf" "$P" "$S" "$W/fence.sh"
	start_watch "$W/run$run.conf" "$W/run$run.out"
	acked="$W/acked$run"
	: >"$acked"
	writer "$P" "$run" "$acked" &
	wpid=$!
	org_wait_until 20 "rows acknowledged" acked_at_least "$acked" 10 || why="${why:+$why; }no writes acknowledged"
	t0=$(date +%s.%N)
	crash "$P"
	wait "$wpid" 2>/dev/null
	wait_watch 60
	rc=$?
	t1=""
	for _ in $(seq 1 100); do
		if writable "$S"; then t1=$(date +%s.%N); break; fi
		sleep 0.1
	done
	[ $rc = 0 ] || why="${why:+$why; }watcher exit $rc"
	[ -n "$t1" ] || why="${why:+$why; }$S takes no writes"
	if [ $mode = sync ] && [ -s "$acked" ]; then
		missing=$(q "$S" "SELECT count(*) FROM unnest(ARRAY[$(paste -sd, "$acked")]::bigint[]) a(id) WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = a.id)")
		[ "$missing" = 0 ] || why="${why:+$why; }$missing acknowledged rows missing on $S"
	fi
	grep -q "^$P -> $S\$" "$W/fenced" 2>/dev/null || why="${why:+$why; }$P was not fenced"
	# an operator or a crash loop starts the old primary again: read-only
	if pg_ctl_as_operator "$P" start; then
		mark=$(($(monitor_rounds) + 5))
		org_wait_until 20 "monitor rounds after the restart" monitor_past "$mark"
		in_recovery "$P" || why="${why:+$why; }restarted $P is not in recovery"
		writable "$P" && why="${why:+$why; }restarted $P takes writes"
		pg_ctl_as_operator "$P" stop fast || why="${why:+$why; }cannot stop $P"
	else
		why="${why:+$why; }restarted $P did not start: $(tail -n 2 "$ORG_TMP/$P/server.log" | tr '\n' ' ')"
	fi
	# the section that promoted still names the old primary: stale until it rejoins
	if [ "$run" = 1 ]; then
		lines=$(journal_lines)
		out=$(org_as_owner "$AGENT" -c "$W/run$run.conf" runbook promote --watch 2>&1)
		rc=$?
		echo "$out" | sed 's/^/# /'
		check "promote with the stale section refuses at once: fenced_primary (exit 3)" \
			eval '[ $rc = 3 ] && [ "$(tail -n 1 "$W/journal" | grep -c "\"result\":\"refused\",\"detail\":\"fenced_primary: $P was fenced")" = 1 ]'
		check "the refusal changed nothing: only its own two journal lines, $S primary, $P stopped" \
			eval '[ "$(journal_lines)" = $((lines + 2)) ] && not in_recovery "$S" && not running "$P"'
	fi
	overlap=$(two_writable "$from")
	[ "$overlap" = 0 ] || why="${why:+$why; }$overlap monitor rounds with two writable nodes"
	# rejoin the old primary as a standby of the new one, for the next run;
	# when the rejoin fails, re-clone it (and say so: the rejoin is not what
	# this test is about, but a failure of it is worth seeing)
	promote_conf "$W/rejoin$run.conf" "$S" "$P" none
	rejoined=rejoined
	if ! org_as_owner "$AGENT" -c "$W/rejoin$run.conf" runbook rejoin "$P" >"$W/rejoin$run.out" 2>&1; then
		rejoined="re-cloned after a failed rejoin ($(grep -o 'runbook .* failed .*' "$W/rejoin$run.out" | tail -n 1 | sed 's/  */ /g'))"
		reclones=$((reclones + 1))
		grep -E ' (failed|refused) ' "$W/rejoin$run.out" | sed 's/^/# rejoin: /'
		reclone "$P" "$S" || why="${why:+$why; }re-clone of $P failed: $(tail -n 2 "$W/reclone.log" | tr '\n' ' ')"
	fi
	org_wait_until 30 "$P streams from $S" streams_sync "$S" "$P" async || why="${why:+$why; }$P does not stream from $S"
	if [ -n "$t1" ]; then
		total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
		echo "$total" >>"$W/failover.tsv"
	fi
	rewound=$(grep -q '^rewind .* ok ' "$W/rejoin$run.out" && echo " with pg_rewind" || true)
	if [ -z "$why" ]; then
		run_ok=$((run_ok + 1))
		ok "run $run ($mode): $P killed, $S writable after ${total:-?} s, $(wc -l <"$acked") rows acknowledged, restarted $P read-only, $rejoined$rewound"
	else
		not_ok "run $run ($mode): $why"
		sed 's/^/#   /' "$W/run$run.out"
	fi
	tmp=$P P=$S S=$tmp
done
rounds=$(monitor_rounds)
check "no monitor round saw two writable nodes in $RUNS kill runs ($rounds rounds)" [ "$(two_writable 0)" = 0 ]
check "every run promoted and fenced ($run_ok of $RUNS)" [ "$run_ok" = "$RUNS" ]
check "the daemon never raised two_primaries" not grep -q 'alert firing: .*two_primaries' "$W/daemon.log"
echo "# old primaries rejoined: $((RUNS - reclones)) of $RUNS (re-cloned after a failed rejoin: $reclones)"
sort -n "$W/failover.tsv" | awk '{ v[NR] = $1 } END { if (NR) { i = int(0.95 * NR + 0.999); if (i > NR) i = NR;
	printf "# crash -> first write: n=%d median %.2f s p95 %.2f s max %.2f s\n", NR, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[i], v[NR] } }'

# ---------------------------------------------------------------------
# (c) fencing disabled: the old primary comes back writable
from=$(monitor_rounds)
promote_conf "$W/nofence.conf" "$P" "$S" none
start_watch "$W/nofence.conf" "$W/nofence.out"
crash "$P"
wait_watch 60
rc=$?
sed 's/^/# /' "$W/nofence.out"
check "unfenced: $S promoted (exit 0)" [ $rc = 0 ]
check "unfenced: the old primary $P restarts writable" pg_ctl_as_operator "$P" start
check "monitor sees two writable nodes" org_wait_until 20 "overlap seen" eval '[ "$(two_writable "$from")" -gt 0 ]'
check "daemon raises two_primaries for cluster shop" \
	org_wait_until 20 "alert" grep -q 'alert firing: .*two_primaries.*\[critical\]' "$W/daemon.log"
line=$(grep 'alert firing: .*two_primaries' "$W/daemon.log" | head -n 1)
echo "# $line"
check "the alert names both nodes and their timelines" \
	eval 'grep -q "2 nodes of cluster shop accept writes: .*$P (timeline [0-9]*).*" <<<"$line" && grep -q "$S (timeline [0-9]*)" <<<"$line"'
pg_ctl_as_operator "$P" stop immediate
check "the alert resolves once the old primary is down" \
	org_wait_until 20 "resolved" grep -q 'alert resolved: .*two_primaries' "$W/daemon.log"

touch "$W/stop"
kill -TERM "$daemon" 2>/dev/null
wait "$daemon" 2>/dev/null
echo "1..$n"
[ $fails -eq 0 ]
