#!/usr/bin/env bash
# runbook_promote_race.sh: two agents, as on two hosts (each its own
# journal, lock file and spool), watch one cluster (a primary and two
# standbys) with identical sections and race to fail it over when the
# primary goes down.  RUNS (default 20) times: exactly one of them
# promotes, the other is refused (exit 3, by the cluster-wide lease or
# because a standby already answers as a primary), and exactly one node
# of the cluster is a primary afterwards.  Nothing in this setup demotes a
# node while the agents run, so a second promotion at any moment shows in
# the end state.  The primary stops with a fast shutdown (the agents
# cannot tell it from a crash: it does not answer and the standbys lose
# it), so that it can then follow the new primary without a rewind: the
# next run starts from three healthy nodes in new roles.
set -uo pipefail

RUNS=${RUNS:-20}
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"
# shellcheck source=../lib/runbook_test.sh
. "$ORG_SRC_DIR/regress/lib/runbook_test.sh"

org_harness_init
# about 5 s a run on a loaded 2-core machine; bounded as a whole
rb_watchdog "${ORG_RB_TIMEOUT:-$((90 + 12 * RUNS))}"
rb_cleanup() {
	local rc=$?
	rb_kill_jobs
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir rb)
q() { PGCONNECT_TIMEOUT=5 PGOPTIONS='-c statement_timeout=20s' org_psql "$1" -d postgres -Atc "$2"; }
pg_ctl_node() { # pg_ctl_node NAME start|stop: on the node's own port
	org_as_owner "$ORG_BINDIR/pg_ctl" -D "${ORG_DATA[$1]}" -l "$ORG_TMP/$1/server.log" -o "-p ${ORG_PORT[$1]}" \
		-m fast -w -t 60 "$2" >/dev/null 2>&1
}
# the stopped old primary becomes a standby of NEW (the last primary_conninfo
# of postgresql.auto.conf wins over what an earlier ALTER SYSTEM wrote there)
follow() { # follow OLD NEW
	org_as_owner tee -a "${ORG_DATA[$1]}/postgresql.auto.conf" >/dev/null \
		<<<"primary_conninfo = 'host=${ORG_SOCK[$2]} port=${ORG_PORT[$2]} user=postgres application_name=$1'"
	org_as_owner touch "${ORG_DATA[$1]}/standby.signal"
	pg_ctl_node "$1" start
}
as_owner_bg() { # as_owner_bg OUT CMD...: $! is the command itself
	local out=$1
	shift
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@" >"$out" 2>&1 &
	else
		"$@" >"$out" 2>&1 &
	fi
}
node_conf() { echo "conninfo = host=${ORG_SOCK[$1]} port=${ORG_PORT[$1]} user=postgres dbname=postgres"; }
write_conf() { # write_conf FILE AGENT PRIMARY S1 S2
	org_as_owner tee "$1" >/dev/null <<CONF
[agent]
spool_dir = $W/spool-$2

[node $3]
$(node_conf "$3")
cluster = shop
[node $4]
$(node_conf "$4")
cluster = shop
[node $5]
$(node_conf "$5")
cluster = shop

[runbook promote]
primary = $3
standbys = $4, $5
probes = 2
probe_interval = 500ms
probe_timeout = 2s
fence_command = none
journal = $W/journal-$2
command_timeout = 20s
CONF
}
wait_exit() { # wait_exit PID SECS: its exit status, 124 on timeout
	local deadline=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			kill -TERM "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			return 124
		fi
		sleep 0.1
	done
	wait "$1"
}
primaries() { # the nodes among "$@" that answer as a primary
	local x
	for x in "$@"; do
		[ "$(q "$x" 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && echo "$x"
	done
}

# (copied by every pg_basebackup) a repointed standby retries its new
# upstream within 200 ms instead of 5 s
org_cluster_start n0 "wal_keep_size = '64MB'
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 200ms"
org_standby_create n1 n0
org_standby_create n2 n0
primary=n0 sa=n1 sb=n2
promoted_total=0 two=0 by_lease=0 by_other=0
t_start=$SECONDS
for run in $(seq 1 "$RUNS"); do
	t_run=$SECONDS
	org_wait_until 60 "$sa and $sb stream from $primary" \
		eval "org_standby_streaming $primary $sa && org_standby_streaming $primary $sb" ||
		{ not_ok "run $run: standbys of $primary do not stream"; tail -n 5 "$ORG_TMP/$sb/server.log" | sed 's/^/# /'; break; }
	write_conf "$W/a.conf" a "$primary" "$sa" "$sb"
	write_conf "$W/b.conf" b "$primary" "$sa" "$sb"
	as_owner_bg "$W/a.out" "$AGENT" -c "$W/a.conf" runbook promote --watch
	pa=$!
	org_wait_until 10 "agent a watches" grep -q '^watching' "$W/a.out"
	# jitter, so that the two agents probe on different phases from run to run
	sleep "0.$((RANDOM % 5))"
	as_owner_bg "$W/b.out" "$AGENT" -c "$W/b.conf" runbook promote --watch
	pb=$!
	# each has sampled the primary once: without that sample the data loss
	# cannot be bounded and the agent would rightly refuse
	org_wait_until 20 "agents a and b sampled $primary" \
		eval "grep -q '^probe: $primary answers (flush' '$W/a.out' && grep -q '^probe: $primary answers (flush' '$W/b.out'"
	pg_ctl_node "$primary" stop || { not_ok "run $run: $primary does not stop"; break; }
	wait_exit "$pa" 40
	ra=$?
	wait_exit "$pb" 40
	rb=$?
	now=$(primaries "$sa" "$sb")
	count=$(echo -n "$now" | grep -c .)
	if [ "$count" -ne 1 ]; then
		not_ok "run $run: agents exit $ra and $rb, primaries among $sa, $sb: ${now:-none}"
		sed 's/^/# a: /' "$W/a.out"
		sed 's/^/# b: /' "$W/b.out"
		[ "$count" -gt 1 ] && two=$((two + 1))
		break
	fi
	promoted_total=$((promoted_total + 1))
	loser=$W/b.out
	[ $ra -eq 3 ] && loser=$W/a.out
	if [ $((ra + rb)) -ne 3 ] || [ $((ra * rb)) -ne 0 ]; then
		not_ok "run $run: $now promoted, but the agents exit $ra and $rb (one 0, one 3 expected)"
		grep -h '^runbook\|^promote' "$W/a.out" "$W/b.out" | sed 's/^/# /'
	else
		grep -q 'refused.*lease:' "$loser" && by_lease=$((by_lease + 1))
		grep -q 'refused.*other_primary:' "$loser" && by_other=$((by_other + 1))
		ok "run $run: one agent promoted $now, the other was refused ($(grep -o 'refused *[a-z_]*:' "$loser" | head -n 1 | awk '{print $2}'))"
	fi
	# the next run: the new primary, the repointed standby and the old primary
	other=$sa
	[ "$now" = "$sa" ] && other=$sb
	follow "$primary" "$now" || { not_ok "run $run: $primary does not start as a standby"; break; }
	old=$primary
	primary=$now sa=$other sb=$old
	# the old primary came back by hand, not through `runbook rejoin`: start
	# each race with empty journals so that no fenced_primary refusal
	# (the journal's memory of it) keeps an agent out of the race
	cat "$W/journal-a" "$W/journal-b" >>"$W/journals" 2>/dev/null
	rm -f "$W/journal-a" "$W/journal-b"
	echo "# run $run: $((SECONDS - t_run)) s"
done
check "never two primaries in $RUNS races (a promotion each run: $promoted_total)" \
	eval '[ "$two" -eq 0 ] && [ "$promoted_total" -eq "$RUNS" ]'
echo "# $promoted_total races in $((SECONDS - t_start)) s; the loser was refused by the lease $by_lease times, by a standby already primary $by_other times"
echo "1..$n"
[ $fails -eq 0 ]
