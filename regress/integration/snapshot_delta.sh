#!/usr/bin/env bash
# Delta snapshots, poll by poll: a state fed only by
# snapshot(0, generation) and merged with the agent's own merge
# (agent/collect/snapshot_merge.c) holds, after every step, exactly the statements,
# models, lock contention and autovacuum tables of a full snapshot(0) taken
# right after it.  The steps: a first poll (full), statements changing a
# little, nothing changing, evictions (max_queries = 100), a lock wait, a
# dropped table, reset() (a full answer: removals unknown) and a
# crash-restart (a full answer: the generation belongs to the old shared
# memory).  Also: a steady-state delta is small, and the agent asks for deltas.
# Beside it, a second state fed by snapshot(0, generation, false), the form
# that leaves the statements out and that the agent asks for: after every
# step it holds no statement and exactly the full snapshot's other sets.
#
# The statements are synthetic, on tables named as Odoo names its models'
# tables (the merge does not depend on their shape; no Odoo statement is
# reproduced here).
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init

n=0
check() { # check DESC CMD...
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fi
}

make -s agent >/dev/null || org_die "agent build failed"
drv="$ORG_TMP/snapshot_delta_compare"
# shellcheck disable=SC2046
cc -std=c11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iagent \
	$(pkg-config --cflags libpq libprotobuf-c jansson) -o "$drv" regress/integration/snapshot_delta_compare.c \
	agent/collect/snapshot_merge.c agent/collect/entry_record.c agent/collect/name_pool.c agent/common/util.c agent/common/log.c agent/common/utf8.c \
	agent/odoo_retail_guard.pb-c.c \
	$(pkg-config --libs libpq libprotobuf-c jansson) || org_die "comparison driver build failed"

org_cluster_start delta "odoo_retail_guard.max_queries = 100
odoo_retail_guard.vacuum_sample_interval = 200
odoo_retail_guard.lock_sample_interval = 50
autovacuum = off
restart_after_crash = on
track_functions = all"
org_psql delta -d postgres -c "CREATE DATABASE retail" >/dev/null
q() { PGCONNECT_TIMEOUT=5 org_psql delta -d retail -Atc "$1"; }
org_psql delta -d retail >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE stock_quant (id int PRIMARY KEY, quantity numeric);
CREATE TABLE sale_order (id int PRIMARY KEY, state text);
CREATE TABLE res_partner (id int PRIMARY KEY, name text);
INSERT INTO stock_quant SELECT g, g FROM generate_series(1, 200) g;
INSERT INTO sale_order SELECT g, 'draft' FROM generate_series(1, 200) g;
INSERT INTO res_partner SELECT g, 'p' || g FROM generate_series(1, 200) g;
SQL

# statements FIRST..LAST on TABLE: "id IN (1..k)" has a queryid of its own for every k
shapes() {
	local table=$1 first=$2 last=$3 k
	for k in $(seq "$first" "$last"); do
		echo "SELECT count(*) FROM $table WHERE id IN ($(seq -s, 1 "$k"));"
	done | PGAPPNAME=odoo-4242 org_psql delta -d retail >/dev/null
}

coproc DRV { "$drv" "$(org_conn delta) dbname=retail"; }
# step NAME: one comparison; the driver's line lands in $out
step() {
	echo "$1" >&"${DRV[1]}"
	out=""
	read -r -t 120 out <&"${DRV[0]}" || out="STEP $1 error=timeout"
	echo "# $out"
}
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$out"; }
is_equal() { [ "$(kv equal)" = yes ]; }
# statements left out: no statement, no statement removal, and the rest equal to the full snapshot's
lean_ok() { [ "$(kv lean_equal)" = yes ] && [ "$(kv lean_statements)" = 0 ] && [ "$(kv lean_omitted)" = yes ]; }

shapes stock_quant 1 20
shapes sale_order 1 10
# The sampler has taken in the tables made above (and the catalog's, dirtied
# by making them): on a loaded machine it may not have yet, and their first
# appearance would then land in a later delta, not in the first full answer.
# A table enters autovacuum_lag through a catalog scan of its database,
# started by the sampler at most once a second when a database's statistics
# entries change; so the tables are in when no scan is running and neither
# the tracked tables nor the scan starts have moved over at least three
# statistics passes and a second and a half (more than the gap between two
# scan starts).
settle_prev="" settle_since=0
settled() {
	local c p s f now
	c=$(q "SELECT count(*) FROM odoo_retail_guard.autovacuum_lag") || return 1
	read -r p s f < <(q "SELECT vacuum_stat_passes, vacuum_scan_starts, vacuum_scans FROM odoo_retail_guard.sampler_status" | tr '|' ' ') || return 1
	now=$(date +%s%N)
	if [ "$c/$s" != "${settle_prev%/*}" ] || [ "$s" != "$f" ]; then
		settle_prev="$c/$s/$p" settle_since=$now
		return 1
	fi
	[ "$p" -ge $((${settle_prev##*/} + 3)) ] && [ $((now - settle_since)) -ge 1500000000 ]
}
org_wait_until 120 "the sampler to take in the tables" settled || org_die "the sampler did not settle"
step first
check "first poll: a full snapshot" test "$(kv kind)" = full
check "first poll: merged state equals the full snapshot" is_equal
check "first poll: the lean state equals the full snapshot less its statements" lean_ok
check "first poll: statements of three models" test "$(kv full)" -ge 30

shapes stock_quant 1 3
step changed
check "three statements ran again: a delta" test "$(kv kind)" = delta
check "the delta carries them and their model, not the other statements" test "$(kv sent_statements)" -le 6
check "merged state equals the full snapshot" is_equal
check "the lean state equals the full snapshot less its statements" lean_ok
delta_bytes=$(kv bytes) full_bytes=$(kv full_bytes)
check "the delta is under 20 % of the full snapshot's bytes ($delta_bytes of $full_bytes)" \
	test $((delta_bytes * 5)) -lt "$full_bytes"
lean_bytes=$(kv lean_bytes)
check "and without its statements it is smaller still ($lean_bytes)" test "$lean_bytes" -lt "$delta_bytes"

step quiet
check "nothing ran: a delta without statements" test "$(kv kind)" = delta -a "$(kv sent_statements)" = 0
check "merged state equals the full snapshot" is_equal
check "the lean state equals the full snapshot less its statements" lean_ok

# max_queries = 100: 120 new statements evict the least used
shapes res_partner 1 120
step evicted
check "evictions: a delta with removals" test "$(kv kind)" = delta -a "$(kv removed)" -gt 0
check "after evictions the merged state equals the full snapshot" is_equal
check "after evictions the lean state equals the full snapshot less its statements" lean_ok

# a lock wait long enough for the sampler to count it
q "CREATE TABLE account_move (id int PRIMARY KEY)" >/dev/null
q "INSERT INTO account_move VALUES (1)" >/dev/null
psql -X -q -h "${ORG_SOCK[delta]}" -p "${ORG_PORT[delta]}" -U postgres -d retail \
	-c "BEGIN; UPDATE account_move SET id = 1 WHERE id = 1; SELECT pg_sleep(1.5); COMMIT" >/dev/null &
holder=$!
org_wait_until 30 "the row lock holder" bash -c "[ \"\$(psql -X -At -h '${ORG_SOCK[delta]}' -p '${ORG_PORT[delta]}' -U postgres -d retail \
	-c \"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'BEGIN; UPDATE account_move%'\")\" = 1 ]"
q "UPDATE account_move SET id = 1 WHERE id = 1" >/dev/null
wait "$holder"
org_wait_until 30 "lock contention on account_move" \
	bash -c "[ \"\$(psql -X -At -h '${ORG_SOCK[delta]}' -p '${ORG_PORT[delta]}' -U postgres -d retail \
	-c \"SELECT count(*) FROM odoo_retail_guard.lock_contention WHERE relation = 'account_move'\")\" -ge 1 ]"
step locked
check "after a lock wait the merged state equals the full snapshot" is_equal
check "after a lock wait the lean state equals the full snapshot less its statements" lean_ok

# a table leaves autovacuum_lag when it is dropped
lagged() { [ "$(q "SELECT count(*) FROM odoo_retail_guard.autovacuum_lag WHERE relation = '$1'")" "$2" 1 ]; }
org_wait_until 60 "sale_order in autovacuum_lag" lagged sale_order -eq
step vacuum_seen
check "tables in autovacuum_lag: merged state equals the full snapshot" is_equal
check "tables in autovacuum_lag: the lean state equals the full snapshot less its statements" lean_ok
q "DROP TABLE sale_order" >/dev/null
org_wait_until 60 "sale_order gone from autovacuum_lag" lagged sale_order -lt
step dropped
check "a dropped table: a delta with its removal" test "$(kv kind)" = delta -a "$(kv removed)" -ge 1
check "after the drop the merged state equals the full snapshot" is_equal
check "after the drop the lean state equals the full snapshot less its statements" lean_ok

q "SELECT odoo_retail_guard.reset()" >/dev/null
shapes stock_quant 1 5
step reset
check "reset(): a full snapshot, removals unknown" \
	test "$(kv kind)" = full -a "$(kv reason)" = removals_unknown
check "after reset() the merged state equals the full snapshot" is_equal
check "after reset() the lean state equals the full snapshot less its statements" lean_ok

# crash-restart: kill -9 of one backend re-initializes shared memory
inc() { q "SELECT shmem_incarnation FROM odoo_retail_guard.node_status"; }
inc1=$(inc)
psql -X -h "${ORG_SOCK[delta]}" -p "${ORG_PORT[delta]}" -U postgres -d retail -c "SELECT pg_sleep(300)" \
	>/dev/null 2>&1 &
org_wait_until 30 "the victim session" bash -c "[ -n \"\$(psql -X -At -h '${ORG_SOCK[delta]}' -p '${ORG_PORT[delta]}' \
	-U postgres -d retail -c \"SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(300)'\")\" ]"
kill -KILL "$(q "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(300)'")"
restarted() { local i; i=$(inc) && [ -n "$i" ] && [ "$i" != "$inc1" ]; }
org_wait_until 60 "crash-restart" restarted
shapes stock_quant 1 4
step crashed
check "after a crash-restart: a full snapshot (the generation is the old memory's)" \
	test "$(kv kind)" = full -a "$(kv reason)" = unknown_generation
check "after a crash-restart the merged state equals the full snapshot" is_equal
check "after a crash-restart the lean state equals the full snapshot less its statements" lean_ok
shapes stock_quant 1 2
step after_crash
check "and deltas again after it" test "$(kv kind)" = delta
check "merged state equals the full snapshot" is_equal
check "the lean state equals the full snapshot less its statements" lean_ok

exec {DRV[1]}>&-
wait "$DRV_PID" 2>/dev/null

# the agent asks for deltas and merges them; with snapshot_deltas = off it never does
. regress/lib/agent.sh
agent_conf() { # agent_conf NAME DELTAS PORT: writes NAME.conf, prints its path
	cat >"$ORG_TMP/$1.conf" <<CONF
[agent]
interval = 500ms
node_timeout = 450ms
spool_dir = $ORG_TMP/spool-$1
listen = 127.0.0.1:$3
snapshot_deltas = $2
full_snapshot_every = 1h
[node store1]
conninfo = $(org_conn delta) dbname=retail
cluster = delta
CONF
	echo "$ORG_TMP/$1.conf"
}
# calls of each form of snapshot(), from the statistics of the server's functions
fn_calls() {
	q "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions f JOIN pg_proc p ON p.oid = f.funcid
	   WHERE f.schemaname = 'odoo_retail_guard' AND f.funcname = 'snapshot' AND p.pronargs = $1"
}
calls_before="$(fn_calls 1) $(fn_calls 2) $(fn_calls 3)"
agent_start_listening agent_on agent_conf on true
port_on=$AGENT_PORT
agent_start_listening agent_off agent_conf off false
port_off=$AGENT_PORT
metric() { http_get "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m"[{]" {print $2; exit}'; }
deltas_at_least() { local v; v=$(metric "$port_on" orguard_node_snapshot_deltas_total) && [ "${v:-0}" -ge "$1" ]; }
check "the agent merges delta snapshots" org_wait_until 60 "five deltas" deltas_at_least 5 ||
	{ http_get "http://127.0.0.1:$port_on/metrics" | grep -E '^orguard_node_(snap|polls)' | sed 's/^/# /'
	  tail -20 "$ORG_TMP/agent_on.log" | sed 's/^/# /'; }
check "after one full snapshot" test "$(metric "$port_on" orguard_node_snapshot_fulls_total)" = 1
check "and reads a whole snapshot every poll" test "$(metric "$port_on" orguard_node_snapshot_ok)" = 1
polled_off() { local v; v=$(metric "$port_off" orguard_node_polls_total) && [ "${v:-0}" -ge 5 ]; }
org_wait_until 60 "five polls with deltas off" polled_off
check "with snapshot_deltas = false: no deltas" \
	test -z "$(metric "$port_off" orguard_node_snapshot_deltas_total)"
check "the agent refused no delta" bash -c "test -s '$ORG_TMP/agent_on.log' && ! grep -q 'asking for a full snapshot next' '$ORG_TMP/agent_on.log'"
agent_kill agent_on
agent_kill agent_off
# both agents ask for the form without statements, never for the others
read -r c1 c2 c3 <<<"$calls_before"
lean_asked() { [ "$(fn_calls 3)" -ge $((c3 + 10)) ]; }
check "the agents ask for snapshots without statements" org_wait_until 60 "statistics of the lean calls" lean_asked
check "and never for the forms with statements" test "$(fn_calls 1) $(fn_calls 2)" = "$c1 $c2"

# bad configuration: a clear error, nothing started
printf '[agent]\nsnapshot_deltas = maybe\nfull_snapshot_every = 0s\n[node n]\nconninfo = host=/nonexistent\n' >"$ORG_TMP/bad.conf"
bad=$("$AGENT_BIN" --config "$ORG_TMP/bad.conf" check-config 2>&1)
bad_rc=$?
check "check-config refuses snapshot_deltas = maybe" \
	bash -c "[ $bad_rc -ne 0 ] && grep -q 'snapshot_deltas: expected true or false' <<<'$bad'"
check "and a full_snapshot_every under 1s" grep -q "full_snapshot_every must be at least 1s" <<<"$bad"

# bad input: a clear error
err=$(q "SELECT odoo_retail_guard.snapshot(0, -1)" 2>&1)
check "a negative generation is refused with a clear error" grep -q "since_generation must not be negative" <<<"$err"
echo "1..$n"
