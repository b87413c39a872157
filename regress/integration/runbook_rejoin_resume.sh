#!/usr/bin/env bash
# runbook_rejoin_resume.sh: a resumed rejoin checks its guards again.  The
# old primary p is stopped and its standby s1 promoted; `runbook rejoin p`
# starts p as a standby of s1 and is killed (kill -9) while it waits for p
# to stream (s1 refuses p's replication connection meanwhile).  An
# operator then starts p as a primary again and writes a row.  The same
# command run again must refuse (p runs, and not as this run's standby):
# without the re-check it stopped p and rewound it onto s1's timeline,
# throwing the row away.  Bounded: a watchdog ends the script after
# ORG_RB_TIMEOUT seconds (default 150).
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
q() { PGCONNECT_TIMEOUT=5 org_psql "$1" -d postgres -Atc "$2"; }
not() { ! "$@"; }

# pg_rewind needs full page writes and hint-bit logging
org_cluster_start p "wal_keep_size = '128MB'
full_page_writes = on
wal_log_hints = on"
org_standby_create s1 p
org_wait_until 30 "s1 streams" org_standby_streaming p s1 || org_die "s1 does not stream"
q p "CREATE TABLE t (id int); INSERT INTO t VALUES (1)" >/dev/null
org_wait_until 30 "s1 replays" bash -c "[ \"\$(PGCONNECT_TIMEOUT=5 psql -X -h '${ORG_SOCK[s1]}' -p '${ORG_PORT[s1]}' -U postgres -d postgres -Atc 'SELECT count(*) FROM t' 2>/dev/null)\" = 1 ]"

# the failover, by hand: p stops, s1 is promoted
org_cluster_stop p
q s1 "SELECT pg_promote()" >/dev/null
org_wait_until 30 "s1 promoted" bash -c "[ \"\$(psql -X -h '${ORG_SOCK[s1]}' -p '${ORG_PORT[s1]}' -U postgres -d postgres -Atc 'SELECT pg_is_in_recovery()')\" = f ]"
# s1 refuses p's replication connection: the rejoin waits for p to stream
org_as_owner sed -i '1i local replication all reject' "${ORG_DATA[s1]}/pg_hba.conf"
q s1 "SELECT pg_reload_conf()" >/dev/null
# the harness passes the port on the command line; a real node has it in its configuration
org_as_owner tee -a "${ORG_DATA[p]}/postgresql.conf" >/dev/null <<<"port = ${ORG_PORT[p]}"

conf="$W/agent.conf"
org_as_owner tee "$conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool
[node p]
conninfo = host=${ORG_SOCK[p]} port=${ORG_PORT[p]} user=postgres dbname=postgres
cluster = shop
[node s1]
conninfo = host=${ORG_SOCK[s1]} port=${ORG_PORT[s1]} user=postgres dbname=postgres
cluster = shop
[runbook promote]
primary = s1
standbys = p
fence_command = none
journal = $W/journal
bin_dir = $ORG_BINDIR
data_dir.p = ${ORG_DATA[p]}
catchup_timeout = 15s
command_timeout = 10s
EOF

args=(-c "$conf" runbook rejoin p)
if [ "$(id -u)" -eq 0 ]; then
	setpriv --reuid=postgres --regid=postgres --init-groups -- "$AGENT" "${args[@]}" >"$W/rejoin-1.out" 2>&1 &
else
	"$AGENT" "${args[@]}" >"$W/rejoin-1.out" 2>&1 &
fi
victim=$!
org_wait_until 60 "p started as a standby" grep -q '^start .* ok ' "$W/rejoin-1.out"
kill -9 "$victim"
wait "$victim" 2>/dev/null
sed 's/^/# /' "$W/rejoin-1.out"
check "the first rejoin was killed while p ran as its standby" \
	eval 'not grep -q "^runbook .* done " "$W/rejoin-1.out" && [ "$(q p "SELECT pg_is_in_recovery()")" = t ]'

# the operator makes p a primary again and writes to it
org_cluster_stop p
org_as_owner rm -f "${ORG_DATA[p]}/standby.signal"
org_as_owner "$ORG_BINDIR/pg_ctl" -D "${ORG_DATA[p]}" -l "$W/p.log" -w -t 60 start >/dev/null
org_wait_until 30 "p writable" bash -c "[ \"\$(psql -X -h '${ORG_SOCK[p]}' -p '${ORG_PORT[p]}' -U postgres -d postgres -Atc 'SELECT pg_is_in_recovery()')\" = f ]"
q p "INSERT INTO t VALUES (42)" >/dev/null

out=$(org_as_owner "$AGENT" "${args[@]}" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "the resumed rejoin checks again and refuses: p runs as a primary" \
	eval '[ $rc -eq 3 ] && grep -q "^runbook .* resumed " <<<"$out" && grep -q "stopped: the old primary is running" <<<"$out"'
check "the resumed rejoin neither stopped nor rewound p" not grep -q '^stop \|^rewind ' <<<"$out"
check "p still runs as a primary with the row written meanwhile" \
	eval '[ "$(q p "SELECT pg_is_in_recovery()")" = f ] && [ "$(q p "SELECT count(*) FROM t WHERE id = 42")" = 1 ]'

echo "1..$n"
[ $fails -eq 0 ]
