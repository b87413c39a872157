#!/usr/bin/env bash
# runbook_promote_guards.sh: the native promotion runbook's guards against
# making things worse, on a primary q0 with three standbys q1, q2, q3
# (pg_basebackup -R) under quorum commit, synchronous_standby_names =
# 'ANY 1 (q1, q2)' (q3 is asynchronous; three standbys let the promotion
# lease have its majority with one of them down):
#
#  - with require_sync, a quorum standby whose WAL receiver was stopped
#    (SIGSTOP) while the primary committed 30 MB through the other one is
#    not promoted when the primary crashes: sync_state quorum is no proof
#    of having the commits, only its position against the primary's last
#    flush position is;
#  - a standby promoted by hand next to the dead primary makes a run refuse
#    (other_primary, exit 3, journaled) instead of promoting a second one.
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"
# shellcheck source=../lib/runbook_test.sh
. "$ORG_SRC_DIR/regress/lib/runbook_test.sh"

org_harness_init
rb_watchdog "${ORG_RB_TIMEOUT:-120}"
rb_cleanup() {
	local rc=$?
	# a WAL receiver stopped by a failed check must be able to stop
	[ -n "${walrcv:-}" ] && kill -CONT "$walrcv" 2>/dev/null
	rb_kill_jobs
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir rb)
q() { PGCONNECT_TIMEOUT=5 PGOPTIONS='-c statement_timeout=20s' org_psql "$1" -d postgres -Atc "$2"; }
# a node crash: the postmaster and every process it started, by id
crash() {
	local pm
	pm=$(head -n 1 "${ORG_DATA[$1]}/postmaster.pid")
	kill -9 "$pm" $(ps -o pid= --ppid "$pm") 2>/dev/null
}
journal_last() { tail -n 1 "$W/journal"; }
node_conf() { echo "conninfo = host=${ORG_SOCK[$1]} port=${ORG_PORT[$1]} user=postgres dbname=postgres"; }
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
# 1. quorum commit, synchronous_standby_names = 'ANY 1 (q1, q2)': both
#    standbys show sync_state quorum, but q2's WAL receiver is stopped, so
#    only q1 confirms the commits of a 30 MB table.  q1 goes down, then the
#    primary crashes: q2 is quorum but far behind, and must not be promoted
#    (q3, asynchronous, does not count with require_sync).
org_cluster_start q0 "wal_keep_size = '256MB'
log_connections = on
wal_receiver_status_interval = 1s"
org_standby_create q1 q0
org_standby_create q2 q0
org_standby_create q3 q0
q q0 "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (q1, q2)'" >/dev/null
q q0 "SELECT pg_reload_conf()" >/dev/null
quorum_both() { [ "$(q q0 "SELECT string_agg(application_name || ':' || sync_state, ',' ORDER BY application_name) FROM pg_stat_replication WHERE application_name IN ('q1', 'q2')")" = "q1:quorum,q2:quorum" ]; }
org_wait_until 30 "q1 and q2 stream as quorum standbys" quorum_both || org_die "no quorum standbys"
org_wait_until 30 "q3 streams" org_standby_streaming q0 q3 || org_die "q3 does not stream"
write_qconf() { # write_qconf [EXTRA]: the nodes' ports change when they restart
	org_as_owner tee "$W/q.conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool
[node q0]
$(node_conf q0)
cluster = quorum
[node q1]
$(node_conf q1)
cluster = quorum
[node q2]
$(node_conf q2)
cluster = quorum
[node q3]
$(node_conf q3)
cluster = quorum
[runbook promote]
primary = q0
standbys = q1, q2, q3
probes = 3
probe_interval = 1s
probe_timeout = 2s
fence_command = none
journal = $W/journal
command_timeout = 30s
${1:-}
EOF
}
write_qconf "require_sync = on"
walrcv=$(q q2 "SELECT pid FROM pg_stat_wal_receiver")
kill -STOP "$walrcv"
q q0 "CREATE TABLE committed AS SELECT g, repeat(md5(g::text), 30) AS pad FROM generate_series(1, 30000) g" >/dev/null
q_flush=$(q q0 "SELECT pg_current_wal_flush_lsn()")
org_cluster_stop q1
agent_probes() { grep -c 'connection authorized:.*application_name=orguard-agent runbook' "$(org_server_log q0)"; }
probes_before=$(agent_probes)
start_watch "$W/q.conf" "$W/watch-q.out"
# two probes logged: the first one's sample (flush position, quorum standbys) is taken
org_wait_until 20 "the agent sampled q0" eval '[ "$(agent_probes)" -ge $((probes_before + 2)) ]'
check "q2 is still listed as a quorum standby while stalled" \
	[ "$(q q0 "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'q2'")" = quorum ]
crash q0
kill -CONT "$walrcv"
wait_watch 40
rc=$?
sed 's/^/# /' "$W/watch-q.out"
check "quorum standby behind the primary's flush position: refused (exit 3)" [ $rc -eq 3 ]
check "journal: no standby proven synchronous, q2 behind $q_flush" \
	grep -q '"result":"refused","detail":"candidate: no reachable standby that was synchronous: q2 was a quorum standby but received up to' <<<"$(journal_last)"
check "q2 and q3 were not promoted" [ "$(q q2 'SELECT pg_is_in_recovery()')$(q q3 'SELECT pg_is_in_recovery()')" = tt ]
check "q2 lacks the committed table that only q1 confirmed" \
	[ "$(q q2 "SELECT count(*) FROM pg_class WHERE relname = 'committed'")" = 0 ]

# ---------------------------------------------------------------------
# 2. q1 comes back and is promoted by hand next to the dead q0: a run told
#    q0's last position (without require_sync) must not promote q3, which
#    has every commit, as well (other_primary)
org_cluster_start q1
org_wait_until 30 "q1 answers" q q1 "SELECT 1"
write_qconf
q q1 "SELECT pg_promote(true, 60)" >/dev/null
check "q1 is a primary" [ "$(q q1 'SELECT pg_is_in_recovery()')" = f ]
out=$(org_as_owner "$AGENT" -c "$W/q.conf" runbook promote --last-primary-lsn "$q_flush" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "refused next to another primary (exit 3)" [ $rc -eq 3 ]
check "journal names the other_primary guard and q1" \
	grep -q '"result":"refused","detail":"other_primary: q1 answers as a primary' <<<"$(journal_last)"
check "q2 and q3 stay standbys: one primary" [ "$(q q2 'SELECT pg_is_in_recovery()')$(q q3 'SELECT pg_is_in_recovery()')" = tt ]

echo "1..$n"
[ $fails -eq 0 ]
