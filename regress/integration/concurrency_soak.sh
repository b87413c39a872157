#!/usr/bin/env bash
# Randomized concurrency soak: many sessions call every SQL function and view
# of the extension while others create new statement shapes, hold LOCK
# pg_database, reset the trackers, set and lift throttle rules, and the test
# crash-restarts the cluster with kill -9 of a backend.  It checks:
#  - no hang: every statement ends within its statement_timeout (plus a
#    margin for a loaded machine);
#  - no crash but the ones it causes (the server log names every one);
#  - no event lost across the restarts: every DROP TABLE that finished after
#    a restart is in the destructive journal, read with a cursor as the
#    agent reads it (cursor back to 0 after each restart the test causes).
# Runs ORG_SOAK_SECONDS seconds of load (45 by default, for make test).
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
# shellcheck source=../lib/cluster.sh
. regress/lib/cluster.sh
# shellcheck source=../lib/sessions.sh
. regress/lib/sessions.sh

SOAK_S=${ORG_SOAK_SECONDS:-45}
STMT_TIMEOUT_S=5
HANG_S=$((STMT_TIMEOUT_S + 15))
# crash-restarts: at a third and two thirds of a default run, every 20 s in longer ones
CRASH_EVERY_S=${ORG_SOAK_CRASH_EVERY:-$((SOAK_S < 60 ? SOAK_S / 3 : 20))}

org_harness_init
workers=()
stop_workers() {
	local p
	for p in "${workers[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${workers[@]}"; do wait "$p" 2>/dev/null; done
	workers=()
}
trap 'rc=$?; stop_workers; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT
# texts up to 64 kB: ring payloads as large as the settings allow
org_cluster_start soak "
odoo_retail_guard.query_text_length = 65536
odoo_retail_guard.slow_samples = 2000
odoo_retail_guard.destructive_events = 5000
odoo_retail_guard.lock_wait_event_threshold = 0
odoo_retail_guard.lock_sample_interval = 50
odoo_retail_guard.max_queries = 200
restart_after_crash = on
"
LOG=$(org_server_log soak)
W="$ORG_TMP/soak"
mkdir -p "$W"
chmod 777 "$W"

org_psql soak -d postgres -c "CREATE DATABASE soak" -c "CREATE EXTENSION odoo_retail_guard" >/dev/null
org_psql soak -d soak -c "CREATE EXTENSION odoo_retail_guard" \
	-c "CREATE TABLE soak_t (a int PRIMARY KEY, b int)" \
	-c "INSERT INTO soak_t SELECT g, g FROM generate_series(1, 200) g" \
	-c "CREATE ROLE soak_app LOGIN" \
	-c "GRANT ALL ON soak_t TO soak_app" \
	-c "GRANT CREATE ON SCHEMA public TO soak_app" \
	-c "ALTER ROLE soak_app SET odoo_retail_guard.slow_query_ms = 0" >/dev/null

# every read function (no argument, or a bigint cursor) and every view
org_query soak soak "
SELECT CASE WHEN p.proretset THEN 'SELECT count(*) FROM ' ELSE 'SELECT ' END
	|| 'odoo_retail_guard.' || p.proname
	|| CASE WHEN p.pronargs = 0 THEN '()' ELSE '(CURSOR)' END
	|| CASE WHEN p.proretset THEN '' ELSE ' IS NOT NULL' END
FROM pg_proc p
WHERE p.pronamespace = 'odoo_retail_guard'::regnamespace
  AND p.proname NOT IN ('reset', 'reset_lock_stats', 'throttle', 'release', 'drain')
  AND (p.pronargs = 0 OR p.proargtypes::text = '20')
UNION ALL
SELECT 'SELECT count(*) FROM odoo_retail_guard.' || c.relname
FROM pg_class c
WHERE c.relnamespace = 'odoo_retail_guard'::regnamespace AND c.relkind = 'v'
ORDER BY 1" >"$W/calls"
ncalls=$(wc -l <"$W/calls")
ok "the soak calls $ncalls read functions and views" test "$ncalls" -ge 20

now_s() { date +%s.%N; }
end_at=$(($(date +%s) + SOAK_S))
running() { [ "$(date +%s)" -lt "$end_at" ]; }

# psql_in DB WORKER ROLE APP LIMIT ARGS...: statements in a fresh session.
# A session that runs past LIMIT seconds hangs: statement_timeout cannot
# reach a backend stuck on an LWLock, so only the outer timeout ends the
# client (and a crash-restart, hence the clock as well).
psql_in() {
	local db=$1 who=$2 role=$3 app=$4 limit=$5 t0=$SECONDS rc
	shift 5
	PGAPPNAME=$app PGOPTIONS="-c statement_timeout=${STMT_TIMEOUT_S}s" \
		timeout -k 5 "$limit" psql -X -q -A -t -h "${ORG_SOCK[soak]}" -p "${ORG_PORT[soak]}" \
		-U "$role" -d "$db" "$@" 2>>"$W/$who.err"
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ] || [ $((SECONDS - t0)) -gt "$limit" ]; then
		echo "$who: no answer within ${limit}s: $*" | cut -c1-300 >>"$W/hangs"
	fi
	return $rc
}
# sql WORKER ROLE APP SQL: one statement in database soak
sql() { psql_in soak "$1" "$2" "$3" "$HANG_S" -c "$4"; }
# sql_batch WORKER ROLE APP -c SQL...: several statements in one session,
# each in its own transaction with its own statement_timeout
sql_batch() {
	local who=$1 role=$2 app=$3
	shift 3
	psql_in soak "$who" "$role" "$app" $((HANG_S + STMT_TIMEOUT_S * ($# / 2 - 1))) "$@"
}
# pacing between statements of a load loop (not a wait for a condition)
pace() { sleep "0.$((RANDOM % ${1:-3}))$((RANDOM % 10))"; }

reader() { # every call in turn, in a random order, four per session
	local me=reader$1 i j cursor batch args
	mapfile -t calls <"$W/calls"
	calls+=("SELECT length(odoo_retail_guard.snapshot(CURSOR)) > 0")
	# the first pass starts at a different third for each reader, so the
	# three cover every call early even on a slow machine
	mapfile -t order < <(seq 0 $((${#calls[@]} - 1)) |
		awk -v k="$1" -v n="${#calls[@]}" '{print ($1 + int((k - 1) * n / 3)) % n}')
	while running; do
		for ((i = 0; i < ${#order[@]} && $(date +%s) < end_at; i += 4)); do
			args=()
			for ((j = i; j < i + 4 && j < ${#order[@]}; j++)); do
				cursor=$((RANDOM % 3 == 0 ? 0 : RANDOM))
				batch=${calls[order[j]]}
				args+=(-c "SELECT 'done:${order[j]}' FROM (${batch//CURSOR/$cursor}) s")
			done
			sql_batch "$me" postgres "soak-$me" "${args[@]}" | grep '^done:' >>"$W/$me.done"
		done
		mapfile -t order < <(seq 0 $((${#calls[@]} - 1)) | shuf)
	done
}

shaper() { # statement shapes nobody ran before: each needs a new entry
	local me=shaper$1 k terms
	while running; do
		k=$((RANDOM % 1500 + 1))
		terms=$(seq -s' OR a = ' 1 "$k")
		case $((RANDOM % 3)) in
		0) sql "$me" soak_app "odoo-$1" "SELECT count(*) FROM soak_t WHERE a = $terms" >/dev/null ;;
		1) sql "$me" soak_app "odoo-$1" "SELECT count(*) FROM soak_t WHERE b IN ($(seq -s, 1 "$k"))" >/dev/null ;;
		2) sql "$me" soak_app "odoo-$1" "SELECT $(seq -s' + ' 1 "$k") FROM soak_t LIMIT 1" >/dev/null ;;
		esac
	done
}

# drop_one NAME: a journaled DROP TABLE, logged "name started finished"
# once it committed
drop_one() {
	local t0
	t0=$(now_s)
	sql dropper soak_app odoo-dropper "CREATE TABLE $1 (a int); DROP TABLE $1" >/dev/null &&
		echo "$1 $t0 $(now_s)" >>"$W/dropped"
}

dropper() {
	local n=0
	while running; do
		n=$((n + 1))
		drop_one "soak_drop_${1}_$n" || pace 5
	done
}

catalog_locker() { # holds pg_database up to 1 s, then runs a new statement shape
	local k
	while running; do
		k=$((RANDOM % 2000 + 1))
		sql catalog_locker postgres soak-catalog-locker \
			"BEGIN; LOCK TABLE pg_database IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(0.$((RANDOM % 10)));
			 SELECT count(*) FROM soak_t WHERE b IN ($(seq -s, 1 "$k")); COMMIT" >/dev/null
		sleep "$((RANDOM % 3 + 1)).$((RANDOM % 10))"
	done
}

# snapshot() in fresh sessions of each database: its first name lookup of
# the other database misses the syscache and reads pg_database
hammer() {
	while running; do
		psql_in "$1" "hammer_$1" postgres "soak-hammer" "$HANG_S" \
			-c "SELECT pg_sleep(0.$((RANDOM % 10)))" \
			-c "SELECT length(odoo_retail_guard.snapshot(0)) > 0" >/dev/null
	done
}

row_locker() { # finished lock waits for the lock tracker's ring
	while running; do
		sql "row_locker$1" soak_app "odoo-row-$1" \
			"BEGIN; SELECT a FROM soak_t WHERE a = 1 FOR UPDATE; SELECT pg_sleep(0.3); COMMIT" >/dev/null
		pace
	done
}

controller_ops() { # resets and throttle changes; the throttled client
	while running; do
		case $((RANDOM % 6)) in
		0) sql resetter postgres soak-resetter "SELECT odoo_retail_guard.reset()" >/dev/null ;;
		1) sql resetter postgres soak-resetter "SELECT odoo_retail_guard.reset_lock_stats()" >/dev/null ;;
		2) sql resetter postgres soak-resetter "SELECT odoo_retail_guard.drain()" >/dev/null ;;
		3) sql resetter postgres soak-resetter "SELECT odoo_retail_guard.release('soak')" >/dev/null ;;
		*) sql resetter postgres soak-resetter \
			"SELECT odoo_retail_guard.throttle('soak', 0, '1 min', 'soak test', application_name => 'soak-refused')" >/dev/null ;;
		esac
		sql refused soak_app soak-refused "SELECT 1" >/dev/null
		pace 9
	done
}

reader 1 &
workers+=($!)
reader 2 &
workers+=($!)
reader 3 &
workers+=($!)
shaper 1 &
workers+=($!)
shaper 2 &
workers+=($!)
dropper 1 &
workers+=($!)
dropper 2 &
workers+=($!)
catalog_locker &
workers+=($!)
hammer soak &
workers+=($!)
hammer postgres &
workers+=($!)
row_locker 1 &
workers+=($!)
row_locker 2 &
workers+=($!)
controller_ops &
workers+=($!)

# The foreground follows the destructive journal as the agent does (cursor
# = highest id seen) and crash-restarts the cluster every CRASH_EVERY_S.
# Epoch e lasts from "ready" (the cluster answers again) to its last poll.
epoch=0
cursor=0
kills=0
echo "0 $(now_s)" >"$W/ready"
# the backend killed in each epoch: busy in snapshot() over and over, so the
# kill often lands while it holds one of the extension's locks
open_victim() {
	org_session_open "victim$1" soak soak soak-victim &&
		org_session_send "victim$1" "SELECT count(*) FROM generate_series(1, 100000) g,
			LATERAL (SELECT odoo_retail_guard.snapshot(0) IS NOT NULL, pg_sleep(0.2)) s;"
}
open_victim 0
poll() {
	local t rows
	t=$(now_s)
	rows=$(sql follower postgres soak-follower \
		"SELECT event_id, relation, gap FROM odoo_retail_guard.destructive_events_since($cursor) ORDER BY event_id") ||
		return 1
	echo "$epoch $t" >>"$W/polled"
	[ -n "$rows" ] || return 0
	echo "$rows" | sed "s/^/$epoch|/" >>"$W/events"
	cursor=$(echo "$rows" | tail -1 | cut -d'|' -f1)
}
starts_logged() { grep -c 'database system is ready to accept connections' "$LOG"; }
restarted_since() { [ "$(starts_logged)" -gt "$1" ]; }
next_crash=$(($(date +%s) + CRASH_EVERY_S))
while running; do
	poll || echo "$(now_s) poll failed" >>"$W/controller.log"
	if [ "$(date +%s)" -ge "$next_crash" ] && [ $(($(date +%s) + 5)) -lt "$end_at" ]; then
		victim=$(org_session_pid "victim$epoch")
		[ -n "$victim" ] || { org_session_close "victim$epoch"; open_victim "$epoch"; }
		starts=$(starts_logged)
		if [ -n "$victim" ] && poll && kill -9 "$victim" 2>/dev/null; then
			kills=$((kills + 1))
			echo "# epoch $epoch: kill -9 of backend $victim"
			# the epoch ends with the crash: wait for the restart to finish
			org_wait_until 120 "cluster restarted after kill -9" restarted_since "$starts"
			org_wait_until 60 "cluster answers after kill -9" \
				sql controller postgres soak-controller "SELECT odoo_retail_guard.snapshot(0) IS NOT NULL"
			epoch=$((epoch + 1))
			cursor=0
			echo "$epoch $(now_s)" >>"$W/ready"
			drop_one "soak_after_restart_$epoch"
			org_session_close "victim$((epoch - 1))"
			open_victim "$epoch"
			next_crash=$((next_crash + CRASH_EVERY_S))
		fi
	fi
	sleep 0.5
done
# the workers stop by themselves after their current statement (each one
# bounded by its timeout), so a hang near the end is still seen
for p in "${workers[@]}"; do wait "$p"; done
workers=()
poll

# ---- no hang ----
ok "no statement outlived its statement_timeout" test ! -s "$W/hangs"
[ -s "$W/hangs" ] && sed 's/^/# /' "$W/hangs" | head -20

# ---- no crash but ours ----
ok "the test crash-restarted the cluster ($kills kill -9)" test "$kills" -ge 1
is "$(grep -c 'was terminated by signal 9' "$LOG")" "$kills" "every crash in the log is one of ours"
others=$(grep -E 'terminated by signal [^9]|terminated by exception|PANIC|stuck spinlock|TRAP:|exited with exit code [^01]' "$LOG" | head -5)
ok "no other crash, PANIC or stuck spinlock in the server log" test -z "$others"
[ -n "$others" ] && echo "$others" | sed 's/^/# /'

# ---- every function and view answered at least once ----
answered=$(cat "$W"/reader*.done 2>/dev/null | sort -u | wc -l)
is "$answered" $((ncalls + 1)) "every read function and view, and snapshot(), answered under load"

# ---- no event lost across the restarts ----
# A DROP TABLE started after epoch e was ready and finished before e's last
# poll must be in the journal as read in epoch e.
touch "$W/dropped" "$W/events"
awk -F'|' '{print $1 " " $3}' "$W/events" | sort -u >"$W/journaled"
awk '
	FILENAME == ARGV[1] { ready[$1] = $2; next }
	FILENAME == ARGV[2] { if ($2 > last[$1]) last[$1] = $2; next }
	{
		e = -1
		for (k in ready) if ($2 >= ready[k] && (e < 0 || ready[k] > ready[e])) e = k
		if (e >= 0 && $3 <= last[e]) print e " " $1
	}' "$W/ready" "$W/polled" "$W/dropped" | sort -u >"$W/required"
required=$(wc -l <"$W/required")
lost=$(comm -23 "$W/required" "$W/journaled")
ok "DROP TABLEs to check across $((epoch + 1)) epochs: $required" test "$required" -ge 3
ok "no journaled DROP TABLE lost across the restarts" test -z "$lost"
[ -n "$lost" ] && echo "$lost" | head -10 | sed 's/^/# lost: /'
ok "each epoch's restart left events readable after it" \
	test "$(cut -d' ' -f1 "$W/required" | sort -u | wc -l)" -ge $((kills > 0 ? 2 : 1))
is "$(awk -F'|' '$4 == "t"' "$W/events" | wc -l)" 0 "the journal reported no gap to the follower"
dups=$(awk -F'|' '{print $1 " " $2}' "$W/events" | sort | uniq -d | head -3)
ok "no journal entry was read twice within an epoch" test -z "$dups"

echo "# $(cat "$W"/reader*.done 2>/dev/null | wc -l) reads, $(wc -l <"$W/dropped") drops, $(wc -l <"$W/events") journal entries read, $kills crash-restarts in ${SOAK_S}s"
org_done
