#!/usr/bin/env bash
# runbook_patroni.sh: the promotion runbook with backend = patroni against a
# real Patroni 3.0 cluster of three (etcd 3.4, v3 API) on loopback.  The
# agent never promotes by itself: it asks Patroni's REST API.
#
#   refusals   a live leader without --switchover; a candidate beyond
#              max_lag_bytes; no REST API answering; wrong credentials;
#              --dry-run: each changes nothing
#   switchover --switchover --candidate m2: Patroni hands over, m2 takes
#              writes, the old leader follows as a replica
#   failover   maintenance mode (pause), the leader's PostgreSQL killed:
#              without a named candidate the agent refuses; a replica
#              promoted by hand (its Patroni dead) makes it refuse
#              (other_primary);
#              with a named candidate it sends /failover and Patroni
#              promotes it, with every row committed before
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"
# shellcheck source=../lib/runbook_test.sh
. "$ORG_SRC_DIR/regress/lib/runbook_test.sh"
# shellcheck source=../lib/patroni.sh
. "$ORG_SRC_DIR/regress/lib/patroni.sh"

org_patroni_harness_init
rb_watchdog "${ORG_RB_TIMEOUT:-150}"
rb_cleanup() {
	local rc=$? pid
	kill -KILL "$watchdog" 2>/dev/null
	{ wait "$watchdog"; } 2>/dev/null
	# a walreceiver stopped by a failed check must be able to stop
	[ -n "${stopped_pid:-}" ] && kill -CONT "$stopped_pid" 2>/dev/null
	org_patroni_stop_all
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir rb)

org_etcd_start
org_patroni_start m1
org_patroni_wait_leader 120 || org_die "no Patroni leader"
org_patroni_start m2
org_patroni_start m3
org_patroni_wait_streaming 90 2 || org_die "Patroni replicas do not stream"
leader0=$(org_patroni_leader)
check "Patroni cluster up: $leader0 leads, two replicas stream" [ "$leader0" = m1 ]

dead_url="http://127.0.0.1:$(org_free_port)"
write_conf() { # write_conf FILE URLS AUTH_FILE EXTRA
	org_as_owner tee "$1" >/dev/null <<EOF
[agent]
spool_dir = $W/spool

[node shop]
conninfo = host=127.0.0.1 port=${ORG_PATRONI_PGPORT[m1]} user=postgres dbname=postgres
cluster = shop

[runbook promote]
backend = patroni
patroni_url = $2
patroni_auth_file = $3
node = shop
journal = $W/journal
api_timeout = 3s
promote_timeout = 60s
$4
EOF
}
# the first URL answers nothing: the agent goes on to the next
write_conf "$W/a.conf" "$dead_url, ${ORG_PATRONI_API[m1]}, ${ORG_PATRONI_API[m2]}" "$ORG_PATRONI_AUTH_FILE" ""
org_as_owner tee "$W/bad-auth" >/dev/null <<<"orguard:wrong"
write_conf "$W/badauth.conf" "${ORG_PATRONI_API[m1]}" "$W/bad-auth" ""
write_conf "$W/dead.conf" "$dead_url, http://127.0.0.1:$(org_free_port)" "$ORG_PATRONI_AUTH_FILE" ""
agent() { org_as_owner "$AGENT" -c "$@"; }
journal_last() { tail -n 1 "$W/journal"; }
journal_has() { grep -q "$1" "$W/journal"; }
leader_is() { [ "$(org_patroni_leader 2>/dev/null)" = "$1" ]; }
role_is() { [ "$(org_patroni_role "$1" 2>/dev/null)" = "$2" ] && [ "$(org_patroni_state "$1" 2>/dev/null)" = running ]; }

check "settings validate" agent "$W/a.conf" runbook check-config
write_conf "$W/wrong.conf" "localhost:8008" "$ORG_PATRONI_AUTH_FILE" "fence_command = /bin/true"
out=$(agent "$W/wrong.conf" runbook check-config 2>&1)
check "check-config names what is wrong (URL, native-only key)" eval \
	'grep -q "patroni_url: \"localhost:8008\" is not an http:// or https:// URL" <<<"$out" &&
	 grep -q "fence_command: is a setting of the native backend" <<<"$out"'

# --- refusals: nothing changes -------------------------------------------
org_patroni_psql m1 "CREATE TABLE orders (id int PRIMARY KEY)" >/dev/null
org_patroni_psql m1 "INSERT INTO orders SELECT generate_series(1, 100)" >/dev/null
out=$(agent "$W/a.conf" runbook promote 2>&1)
rc=$?
check "refused while the leader runs, without --switchover (exit 3)" [ $rc -eq 3 ]
check "journal names the leader_alive guard" grep -q '"result":"refused","detail":"leader_alive: m1 leads and runs' <<<"$(journal_last)"
check "journal: the cluster was read through the second URL" journal_has "\"step\":\"cluster\",\"target\":\"${ORG_PATRONI_API[m1]}\""
check "m1 still leads" leader_is m1

# the chosen candidate is the replica with the least lag (then the name):
# wait until both replay the inserts so that the plan names m2
replicas_caught_up() {
	org_patroni_cluster | python3 -c 'import json, sys
ms = [m for m in json.load(sys.stdin)["members"] if m.get("role") in ("replica", "sync_standby")]
sys.exit(0 if len(ms) == 2 and all(m.get("lag") == 0 for m in ms) else 1)'
}
org_wait_until 30 "replicas caught up" replicas_caught_up
out=$(agent "$W/a.conf" runbook promote --switchover --dry-run 2>&1)
rc=$?
check "dry run of a switchover plans it (exit 0)" eval '[ $rc -eq 0 ] && grep -q "plan: POST /switchover {\"leader\":\"m1\",\"candidate\":\"m2\"}" <<<"$out"'
[ $rc -eq 0 ] || printf '# %s\n' "$out" | head -20
check "dry run changed nothing" eval 'leader_is m1 && role_is m2 replica && role_is m3 replica'

out=$(agent "$W/dead.conf" runbook promote --switchover 2>&1)
rc=$?
check "refused when no REST API answers (exit 4, unreachable)" eval '[ $rc -eq 4 ] && grep -q "node_reachable: no Patroni member answers" <<<"$(journal_last)"'

out=$(agent "$W/badauth.conf" runbook promote --switchover --candidate m3 2>&1)
rc=$?
check "wrong REST credentials: failed (exit 1), Patroni did nothing" eval \
	'[ $rc -eq 1 ] && grep -q "refused the credentials" <<<"$out" && leader_is m1'

# m3 falls behind: its WAL receiver frozen while the leader moves on a segment
m3_lag_over() {
	org_patroni_cluster | python3 -c 'import json, sys
m = [x for x in json.load(sys.stdin)["members"] if x["name"] == "m3"][0]
sys.exit(0 if isinstance(m.get("lag"), int) and m["lag"] > 1048576 else 1)'
}
stopped_pid=$(ps -o pid=,args= --ppid "$(org_patroni_postmaster m3)" | awk '/walreceiver/ { print $1 }')
if [ -n "$stopped_pid" ]; then
	kill -STOP "$stopped_pid"
	org_patroni_psql m1 "INSERT INTO orders SELECT generate_series(101, 200); SELECT pg_switch_wal()" >/dev/null
	org_patroni_psql m1 "INSERT INTO orders VALUES (201)" >/dev/null
	org_wait_until 30 "m3's lag above 1 MB in /cluster" m3_lag_over
	out=$(agent "$W/a.conf" runbook promote --switchover --candidate m3 2>&1)
	rc=$?
	check "refused: m3 beyond max_lag_bytes (exit 3)" eval \
		'[ $rc -eq 3 ] && grep -q "\"detail\":\"max_lag_bytes: m3 is [0-9]* bytes behind" <<<"$(journal_last)"'
	check "m1 still leads after the lag refusal" leader_is m1
	kill -CONT "$stopped_pid"
	stopped_pid=""
else
	not_ok "m3's walreceiver not found"
fi
org_patroni_wait_streaming 60 2 || org_log "replicas did not catch up"

# --- (a) switchover to a named candidate ---------------------------------
out=$(agent "$W/a.conf" runbook promote --switchover --candidate m2 2>&1)
rc=$?
check "switchover to m2 done (exit 0)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' <<<"$out"
check "Patroni made m2 the leader" leader_is m2
check "m2 takes writes" eval '[ "$(org_patroni_psql m2 "INSERT INTO orders VALUES (202) RETURNING id")" = 202 ]'
check "m2 has every row committed before" eval '[ "$(org_patroni_psql m2 "SELECT count(*) FROM orders")" = 202 ]'
org_wait_until 60 "m1 runs as a replica" role_is m1 replica
check "the old leader m1 follows as a replica" role_is m1 replica
check "journal: cluster, choose, request, leader, verify, done" eval \
	'journal_has "\"step\":\"choose\",\"target\":\"m2\",\"result\":\"ok\"" &&
	 journal_has "\"step\":\"request\",\"target\":\"m2\",\"result\":\"ok\",\"detail\":\"POST .*/switchover" &&
	 journal_has "\"step\":\"leader\",\"target\":\"m2\",\"result\":\"ok\"" &&
	 journal_has "\"step\":\"verify\",\"target\":\"m2\",\"result\":\"ok\"" &&
	 grep -q "\"result\":\"done\",\"detail\":\"m2 leads" <<<"$(journal_last)"'
echo "# switchover: $(grep -o 'm2 leads; [^"]*' <<<"$(journal_last)")"

# --- (b) failover in maintenance mode ------------------------------------
org_patroni_wait_streaming 60 2 || org_log "replicas do not stream after the switchover"
org_patroni_api m2 PATCH /config '{"pause": true}' >/dev/null
org_wait_until 30 "Patroni paused" eval 'org_patroni_cluster | grep -q "\"pause\": true"'
org_patroni_psql m2 "INSERT INTO orders SELECT generate_series(203, 300)" >/dev/null
org_wait_until 30 "m3 replays every row" eval '[ "$(org_patroni_psql m3 "SELECT count(*) FROM orders")" = 300 ]'
org_patroni_kill_postgres m2
org_wait_until 30 "no live leader in /cluster" eval '! org_patroni_has_leader' || org_die "m2 still leads"
out=$(agent "$W/a.conf" runbook promote 2>&1)
rc=$?
check "paused without a candidate: refused (exit 3)" eval \
	'[ $rc -eq 3 ] && grep -q "\"detail\":\"paused: Patroni is paused" <<<"$(journal_last)"'
check "still no leader after the refusal" eval '! org_patroni_has_leader'
# m1's Patroni dies and its PostgreSQL is promoted by hand: /cluster still
# lists m1 as a running replica (its member key lives for ttl, 20 s), so
# only asking m1 itself shows that promoting m3 would make two primaries
# (with its Patroni alive, Patroni would take the leader key for m1)
pid=${ORG_PATRONI_PID[m1]:-}
[ -n "$pid" ] && { kill -9 "$pid"; wait "$pid"; } 2>/dev/null
ORG_PATRONI_PID[m1]=""
org_patroni_psql m1 "SELECT pg_promote(true, 60)" >/dev/null
out=$(agent "$W/a.conf" runbook promote --candidate m3 2>&1)
rc=$?
check "a member promoted by hand: refused (exit 3, other_primary)" eval \
	'[ $rc -eq 3 ] && grep -q "\"detail\":\"other_primary: m1 answers as a primary" <<<"$(journal_last)"'
[ $rc -eq 3 ] || sed 's/^/# /' <<<"$out"
check "m3 is still a standby after the refusal" \
	eval '[ "$(org_patroni_psql m3 "SELECT pg_is_in_recovery()")" = t ]'
# take the rogue primary down
org_patroni_kill_postgres m1
org_wait_until 30 "m1 does not answer" eval '! org_patroni_psql m1 "SELECT 1"'
out=$(agent "$W/a.conf" runbook promote --candidate m3 2>&1)
rc=$?
check "failover to m3 done (exit 0)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' <<<"$out"
check "journal: POST /failover with the candidate" \
	journal_has '"step":"request","target":"m3","result":"ok","detail":"POST [^ ]*/failover {\\"candidate\\":\\"m3\\"}'
check "Patroni made m3 the leader" leader_is m3
check "m3 has every row committed before the crash" eval '[ "$(org_patroni_psql m3 "SELECT count(*) FROM orders")" = 300 ]'
check "m3 takes writes" eval '[ "$(org_patroni_psql m3 "INSERT INTO orders VALUES (301) RETURNING id")" = 301 ]'
echo "# failover: $(grep -o 'm3 leads; [^"]*' <<<"$(journal_last)")"

kill -KILL "$watchdog" 2>/dev/null
{ wait "$watchdog"; } 2>/dev/null
echo "1..$n"
[ $fails -eq 0 ]
