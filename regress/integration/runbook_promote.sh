#!/usr/bin/env bash
# runbook_promote.sh: the native promotion runbook on a real primary with
# two standbys (pg_basebackup -R): a crashed primary is fenced and the most
# advanced standby, the synchronous one, is promoted with every
# acknowledged commit; the other standby is repointed; a primary frozen
# briefly is not failed over, one frozen long is refused because its
# standby still streams from it; a standby behind max_lag_bytes is refused.
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
	local rc=$? name pm pid
	rb_kill_jobs
	# a node frozen by a failed check must be able to stop
	for name in "${ORG_CLUSTERS[@]}"; do
		pm=$(head -n 1 "${ORG_DATA[$name]}/postmaster.pid" 2>/dev/null)
		[ -n "$pm" ] && kill -CONT "$pm" 2>/dev/null
	done
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir rb)

# never hang on a frozen or half-dead server
q() { PGCONNECT_TIMEOUT=5 PGOPTIONS='-c statement_timeout=20s' org_psql "$1" -d postgres -Atc "$2"; }
not() { ! "$@"; }
not_streaming() { ! org_standby_streaming "$@"; }
no_wal_sender_for() { [ "$(q "$1" "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$2'")" = 0 ]; }
fence_before_promote() {
	local f p
	f=$(grep -n '"step":"fence"' "$W/journal" | head -n 1 | cut -d: -f1)
	p=$(grep -n '"step":"promote"' "$W/journal" | head -n 1 | cut -d: -f1)
	[ -n "$f" ] && [ -n "$p" ] && [ "$f" -lt "$p" ]
}
acked_at_least() { [ "$(cat "$W/acked" 2>/dev/null | wc -l)" -ge "$1" ]; }
has_row() { [ "$(q "$1" "SELECT count(*) FROM orders WHERE id = $2")" = 1 ]; }
postmaster_pid() { head -n 1 "${ORG_DATA[$1]}/postmaster.pid"; }
# a node crash: the postmaster and every process it started, by id
crash() {
	local pm
	pm=$(postmaster_pid "$1")
	kill -9 "$pm" $(ps -o pid= --ppid "$pm") 2>/dev/null
}
journal_last() { tail -n 1 "$W/journal"; }

# pg_rewind (rejoin) needs full page writes and hint-bit logging
common="wal_keep_size = '128MB'
wal_receiver_status_interval = 1s
full_page_writes = on
wal_log_hints = on"
org_cluster_start p "$common"
org_standby_create s1 p
org_standby_create s2 p
# only the primary waits for s1 (base backups copy postgresql.auto.conf too)
q p "ALTER SYSTEM SET synchronous_standby_names = 's1'" >/dev/null
q p "SELECT pg_reload_conf()" >/dev/null
org_wait_until 30 "s1 streams" org_standby_streaming p s1 || org_die "s1 does not stream"
org_wait_until 30 "s2 streams" org_standby_streaming p s2 || org_die "s2 does not stream"

node_conf() { echo "conninfo = host=${ORG_SOCK[$1]} port=${ORG_PORT[$1]} user=postgres dbname=postgres"; }

# the fence stops whatever is left of the old primary and leaves a mark
org_as_owner tee "$W/fence.sh" >/dev/null <<EOF
#!/bin/sh
echo "\$ORGUARD_OLD_PRIMARY -> \$ORGUARD_NEW_PRIMARY" >> "$W/fenced"
case "\$ORGUARD_OLD_PRIMARY" in
p) d="${ORG_DATA[p]}" ;;
s1) d="${ORG_DATA[s1]}" ;;
*) exit 1 ;;
esac
"$ORG_BINDIR/pg_ctl" -D "\$d" -m immediate stop >/dev/null 2>&1
echo "fenced \$ORGUARD_OLD_PRIMARY"
exit 0
EOF
chmod 755 "$W/fence.sh"

write_conf() { # write_conf FILE PRIMARY STANDBYS EXTRA
	org_as_owner tee "$1" >/dev/null <<EOF
[agent]
spool_dir = $W/spool

[node p]
$(node_conf p)
cluster = shop

[node s1]
$(node_conf s1)
cluster = shop

[node s2]
$(node_conf s2)
cluster = shop

[runbook promote]
primary = $2
standbys = $3
probes = 3
probe_interval = 1s
probe_timeout = 2s
fence_command = $W/fence.sh
journal = $W/journal
command_timeout = 30s
$4
EOF
}

start_watch() { # start_watch CONF OUT; $watcher is the agent's own pid
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- \
			"$AGENT" -c "$1" runbook promote --watch >"$2" 2>&1 &
	else
		"$AGENT" -c "$1" runbook promote --watch >"$2" 2>&1 &
	fi
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

# ---------------------------------------------------------------------
# 1. refusals of a dry run and of a live primary change nothing
write_conf "$W/a.conf" p "s1, s2" "require_sync = on
max_lag_bytes = 0
traffic_command = echo \"\$ORGUARD_NEW_PRIMARY\" > $W/traffic"
check "promote settings validate" org_as_owner "$AGENT" -c "$W/a.conf" runbook check-config
out=$(org_as_owner "$AGENT" -c "$W/a.conf" runbook promote 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "refuses while the primary answers (exit 3)" [ $rc -eq 3 ]
check "refusal names the primary_dead guard" grep -q '"result":"refused","detail":"primary_dead: p answers' <<<"$(journal_last)"

# ---------------------------------------------------------------------
# 2. crash of the primary: sync standby s1 is ahead of s2, gets promoted
q p "CREATE TABLE orders (id int PRIMARY KEY, note text)" >/dev/null
q s2 "ALTER SYSTEM SET primary_conninfo = ''" >/dev/null
q s2 "SELECT pg_reload_conf()" >/dev/null
org_wait_until 20 "s2 disconnected" not_streaming p s2
q p "INSERT INTO orders SELECT g, 'before' FROM generate_series(1, 200) g" >/dev/null

start_watch "$W/a.conf" "$W/watch-a.out"
# a writer that records every commit the primary acknowledged
(
	i=1000
	while q p "INSERT INTO orders VALUES ($i, 'acked')" >/dev/null 2>&1; do
		echo $i >>"$W/acked"
		i=$((i + 1))
	done
) &
writer=$!
org_wait_until 20 "writes acknowledged" acked_at_least 20
t_kill=$(date +%s.%N)
crash p
wait "$writer" 2>/dev/null
wait_watch 60
rc=$?
t_write=""
for _ in $(seq 1 100); do
	if q s1 "INSERT INTO orders VALUES (-1, 'after failover')" >/dev/null 2>&1; then
		t_write=$(date +%s.%N)
		break
	fi
	sleep 0.1
done
sed 's/^/# /' "$W/watch-a.out"
check "watcher promoted (exit 0)" [ $rc -eq 0 ]
check "s1, the synchronous and most advanced standby, takes writes" [ -n "$t_write" ]
check "s1 is out of recovery" [ "$(q s1 'SELECT pg_is_in_recovery()')" = f ]
acked_max=$(tail -n 1 "$W/acked")
missing=$(q s1 "SELECT count(*) FROM unnest(ARRAY[$(paste -sd, "$W/acked")]) a(id) WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = a.id)")
check "every acknowledged commit ($(wc -l <"$W/acked"), last id $acked_max) is on s1" [ "$missing" = 0 ]
check "the old primary was fenced before the promotion" grep -q '^p -> s1$' "$W/fenced"
check "journal: fence before promote" fence_before_promote
check "traffic hook ran for s1" grep -qx s1 "$W/traffic"
check "s2 was repointed and streams from s1" grep -q '"step":"repoint","target":"s2","result":"ok"' "$W/journal"
check "s2 follows the new primary" org_wait_until 30 "s2 replays the post-failover row" has_row s2 -1
check "the old primary stays down until rejoined" not pg_isready -q -h "${ORG_SOCK[p]}" -p "${ORG_PORT[p]}"
failover=$(awk -v a="$t_kill" -v b="${t_write:-0}" 'BEGIN { printf "%.2f", b - a }')
echo "# failover: crash to first write on s1 ${failover} s; $(grep -o '[0-9.]* s from the first failed probe to writable' "$W/watch-a.out")"

# ---------------------------------------------------------------------
# 2b. the fenced old primary rejoins as a standby of s1 with pg_rewind
org_as_owner tee "$W/r.conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool
[node p]
$(node_conf p)
cluster = shop
[node s1]
$(node_conf s1)
cluster = shop
[node s2]
$(node_conf s2)
cluster = shop
[runbook promote]
primary = s1
standbys = p, s2
fence_command = none
journal = $W/journal
bin_dir = $ORG_BINDIR
data_dir.p = ${ORG_DATA[p]}
command_timeout = 30s
EOF
# the harness passes the port on the command line; a real node has it in its configuration
org_as_owner tee -a "${ORG_DATA[p]}/postgresql.conf" >/dev/null <<<"port = ${ORG_PORT[p]}"
out=$(org_as_owner "$AGENT" -c "$W/r.conf" runbook rejoin p --dry-run 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "rejoin dry run plans pg_rewind and changes nothing" \
	eval '[ $rc -eq 0 ] && grep -q "pg_rewind" <<<"$out" && not pg_isready -q -h "${ORG_SOCK[p]}" -p "${ORG_PORT[p]}"'
out=$(org_as_owner "$AGENT" -c "$W/r.conf" runbook rejoin p 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "rejoin of the old primary succeeds" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -n 20 "${ORG_DATA[p]}/orguard-rejoin.log" | sed 's/^/# p: /'
check "p is now a standby" [ "$(q p 'SELECT pg_is_in_recovery()')" = t ]
check "p streams from s1" org_wait_until 20 "p streams from s1" org_standby_streaming s1 p
check "p has the row written after the failover" org_wait_until 20 "p replays" has_row p -1
out=$(org_as_owner "$AGENT" -c "$W/r.conf" runbook rejoin p 2>&1)
rc=$?
check "rejoin refuses a node that runs" eval '[ $rc -eq 3 ] && grep -q "stopped: the old primary is running" <<<"$out"'
echo "# rejoin: $(grep -o 'rejoined as a standby .*' <<<"$(grep 'rejoined' "$W/journal" | tail -1)" | cut -d'"' -f1)"

# ---------------------------------------------------------------------
# 3. a primary frozen briefly (SIGSTOP 2.5 s) is not failed over
write_conf "$W/b.conf" s1 s2 "max_lag_bytes = 1MB"
start_watch "$W/b.conf" "$W/watch-b.out"
sleep 1.5
pm=$(postmaster_pid s1)
kill -STOP "$pm"
sleep 2.5
kill -CONT "$pm"
org_wait_until 15 "probes answer again" grep -q 'answers again' "$W/watch-b.out"
sleep 3
check "watcher saw the freeze and did not act" kill -0 "$watcher"
kill -TERM "$watcher"
wait_watch 10
rc=$?
sed 's/^/# /' "$W/watch-b.out"
check "watcher stops cleanly on SIGTERM" eval '[ $rc -eq 0 ] && grep -q "no action taken" "$W/watch-b.out"'
check "s1 is still the primary" [ "$(q s1 'SELECT pg_is_in_recovery()')" = f ]
check "s2 is still a standby" [ "$(q s2 'SELECT pg_is_in_recovery()')" = t ]

# ---------------------------------------------------------------------
# 4. a primary frozen long enough to count as dead, while its standby
#    still streams from it: the standby's view wins, no promotion
start_watch "$W/b.conf" "$W/watch-c.out"
sleep 1
pm=$(postmaster_pid s1)
kill -STOP "$pm"
wait_watch 30
rc=$?
kill -CONT "$pm"
sed 's/^/# /' "$W/watch-c.out"
check "refused: s2's WAL receiver still streams from s1 (exit 3)" [ $rc -eq 3 ]
check "journal names the upstream_gone guard" grep -q '"result":"refused","detail":"upstream_gone' <<<"$(journal_last)"
check "no second fencing" [ "$(wc -l <"$W/fenced")" -eq 1 ]
org_wait_until 10 "s1 answers" q s1 "SELECT 1"
check "s1 is still the primary and s2 a standby" \
	[ "$(q s1 'SELECT pg_is_in_recovery()')$(q s2 'SELECT pg_is_in_recovery()')" = ft ]

# ---------------------------------------------------------------------
# 5. s2 is cut off and misses ~2 MB; the primary crashes: refused
write_conf "$W/c.conf" s1 s2 "max_lag_bytes = 64kB"
q s2 "ALTER SYSTEM SET primary_conninfo = ''" >/dev/null
q s2 "SELECT pg_reload_conf()" >/dev/null
org_wait_until 20 "s2 disconnected" no_wal_sender_for s1 s2
q s1 "INSERT INTO orders SELECT g, repeat('x', 200) FROM generate_series(100000, 110000) g" >/dev/null
start_watch "$W/c.conf" "$W/watch-d.out"
sleep 1.5
crash s1
wait_watch 30
rc=$?
sed 's/^/# /' "$W/watch-d.out"
check "refused beyond max_lag_bytes (exit 3)" [ $rc -eq 3 ]
check "journal names the max_lag_bytes guard" grep -q '"result":"refused","detail":"max_lag_bytes: best standby s2' <<<"$(journal_last)"
check "refusal changed nothing: s2 still in recovery, no fencing" \
	eval '[ "$(q s2 "SELECT pg_is_in_recovery()")" = t ] && [ "$(wc -l <"$W/fenced")" -eq 1 ]'

# ---------------------------------------------------------------------
# 6. s2 is promoted by hand although s1 wrote 3 MB more: s1 went past the
#    switch point, so rejoining it takes a pg_rewind
q s2 "SELECT pg_promote(true, 60)" >/dev/null
org_as_owner tee "$W/rw.conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool
[node p]
$(node_conf p)
[node s1]
$(node_conf s1)
[node s2]
$(node_conf s2)
[runbook promote]
primary = s2
standbys = s1, p
fence_command = none
journal = $W/journal
bin_dir = $ORG_BINDIR
data_dir.s1 = ${ORG_DATA[s1]}
cluster = shop
command_timeout = 30s
EOF
org_as_owner tee -a "${ORG_DATA[s1]}/postgresql.conf" >/dev/null <<<"port = ${ORG_PORT[s1]}"
out=$(org_as_owner "$AGENT" -c "$W/rw.conf" runbook rejoin s1 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "rejoin of a diverged old primary succeeds" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -n 25 "${ORG_DATA[s1]}/orguard-rejoin.log" | sed 's/^/# s1: /'
check "it needed and ran pg_rewind" grep -q '^rewind .* ok ' <<<"$out"
check "s1 streams from s2 as a standby" org_wait_until 20 "s1 streams from s2" org_standby_streaming s2 s1
check "s1 lost the rows s2 never had" org_wait_until 20 "s1 replays" eval '[ "$(q s1 "SELECT count(*) FROM orders WHERE id >= 100000")" = 0 ]'

echo "1..$n"
[ $fails -eq 0 ]
