#!/usr/bin/env bash
# runbook_throttle_pgbouncer.sh: the throttle's pgbouncer cap when RECONNECT
# is not enough.  Five clients of Debian's pgbouncer (transaction pooling)
# each keep a server connection busy in a long transaction, so RECONNECT
# cannot close them and the pool stays over the cap: the runbook PAUSEs
# the database after pgbouncer_reconnect_timeout, KILLs it after
# pgbouncer_pause_timeout (the PAUSE waits for those transactions in vain)
# and RESUMEs it; POS clients then come back through at most the cap of
# server connections.  On release pgbouncer's settings are restored and the
# database is not left paused.
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
declare -A BG
rb_cleanup() {
	local rc=$?
	# pgbouncer runs under runuser: a KILLed job would leave it behind
	[ -s "${W:-}/pgbouncer.pid" ] && kill "$(cat "$W/pgbouncer.pid")" 2>/dev/null
	rb_kill_jobs
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir rbpgb)
[ -n "$W" ] && [ -d "$W" ] || org_die "no scratch directory"
CAP=3
RECONNECT_TIMEOUT=2
PAUSE_TIMEOUT=3
RELEASE_AFTER=3

# client_connection_check_interval: a backend whose pgbouncer link was
# KILLed ends even in the middle of its pg_sleep
org_cluster_start n1 "max_connections = 40
client_connection_check_interval = 1s"
org_psql n1 -d postgres >/dev/null <<'SQL'
CREATE ROLE odoo LOGIN;
CREATE DATABASE odoo OWNER odoo;
SQL
org_psql n1 -d odoo -c "CREATE EXTENSION odoo_retail_guard" >/dev/null

bg() { # bg NAME CMD...: a background process of this test
	"${@:2}" >>"$W/$1.log" 2>&1 &
	BG[$1]=$!
}
stop() { # stop NAME: the process and its children
	local pid=${BG[$1]:-}
	[ -n "$pid" ] || return 0
	kill -TERM $(ps -o pid= --ppid "$pid") "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	unset "BG[$1]"
}
now_ms() { date +%s%3N; }
secs_since() { echo "$(( ($(now_ms) - $1) / 1000 )).$(( ($(now_ms) - $1) % 1000 / 100 ))"; }
pgq() { PGCONNECT_TIMEOUT=5 org_psql n1 -d odoo -Atc "$1"; }

# ---- pgbouncer in front of the Odoo database ----
pb_port=$(org_free_port)
printf '"odoo" ""\n"postgres" ""\n' >"$W/userlist.txt"
cat >"$W/pgbouncer.ini" <<EOF
[databases]
odoo = host=${ORG_SOCK[n1]} port=${ORG_PORT[n1]} dbname=odoo
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pb_port
unix_socket_dir =
auth_type = trust
auth_file = $W/userlist.txt
pidfile = $W/pgbouncer.pid
admin_users = postgres
pool_mode = transaction
default_pool_size = 20
max_db_connections = 0
EOF
chown "$(org_owner_name)" "$W/pgbouncer.ini" "$W/userlist.txt" 2>/dev/null
bg pgbouncer org_as_owner /usr/sbin/pgbouncer "$W/pgbouncer.ini"
admin() { PGCONNECT_TIMEOUT=5 timeout 10 psql -X -At -F ' ' -h 127.0.0.1 -p "$pb_port" -U postgres -d pgbouncer -c "$1"; }
org_wait_until 30 "pgbouncer" admin "SHOW VERSION" || org_die "pgbouncer did not start"
pb_config() { admin "SHOW CONFIG" | awk '$1 == "default_pool_size" || $1 == "max_db_connections" {printf "%s=%s ", $1, $2}'; }
pb_servers() { admin "SHOW SERVERS" | awk '$3 == "odoo"' | wc -l; }
servers_at_most() { [ "$(pb_servers)" -le "$1" ]; }
servers_at_least() { [ "$(pb_servers)" -ge "$1" ]; }
pb_xacts() { admin "SHOW STATS" | awk '$1 == "odoo" {print $2}'; }
xacts_past() { [ "$(pb_xacts)" -ge "$1" ]; }
# a client of pgbouncer: psql ARGS... (bounded: a paused database would hold it)
via_pgb() { PGCONNECT_TIMEOUT=5 timeout 10 psql -X -q -At -h 127.0.0.1 -p "$pb_port" -U odoo -d odoo "$@"; }
busy_backends() { pgq "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(598)%'"; }
no_busy_backend() { [ "$(busy_backends)" = 0 ]; }

# five long transactions, each holding its server connection busy
for i in $(seq 1 5); do
	bg "busy$i" psql -X -q -h 127.0.0.1 -p "$pb_port" -U odoo -d odoo \
		-c "BEGIN" -c "SELECT pg_sleep(598)" -c "COMMIT"
done
# six POS clients, a new connection for each short transaction (so they outlive KILL)
for i in $(seq 1 6); do
	bg "pos$i" bash -c "while :; do PGCONNECT_TIMEOUT=5 psql -X -q -h 127.0.0.1 -p $pb_port -U odoo -d odoo \
		-o /dev/null -c 'SELECT pg_sleep(0.2)'; sleep 0.05; done"
done
check "pgbouncer holds five busy server connections and the POS clients' ones" \
	org_wait_until 20 "servers" servers_at_least 8
check "the five long transactions run on the server" org_wait_until 10 "busy" bash -c "[ \"\$(PGCONNECT_TIMEOUT=5 \
	psql -X -At -h '${ORG_SOCK[n1]}' -p '${ORG_PORT[n1]}' -U postgres -d odoo -c \"SELECT count(*) FROM pg_stat_activity
	WHERE query LIKE 'SELECT pg_sleep(598)%'\")\" = 5 ]"

# ---- the agent: a storm of direct cron connections fires connection_usage ----
listen="127.0.0.1:$(org_free_port)"
cat >"$W/agent.conf" <<EOF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $W/spool
listen = $listen

[node store7]
conninfo = host=${ORG_SOCK[n1]} port=${ORG_PORT[n1]} user=postgres dbname=odoo
cluster = shop

[rule connection_usage]
threshold = 60%
clear = 40%
for = 0
runbook = throttle

[runbook throttle]
classes = cron
max_connections = 2
ttl = 30s
release_after = ${RELEASE_AFTER}s
journal = $W/journal
pgbouncer_admin = host=127.0.0.1 port=$pb_port dbname=pgbouncer user=postgres
pgbouncer_db = odoo
pgbouncer_pool_size = $CAP
pgbouncer_reconnect_timeout = ${RECONNECT_TIMEOUT}s
pgbouncer_pause_timeout = ${PAUSE_TIMEOUT}s
EOF
"$AGENT" -c "$W/agent.conf" check-config >"$W/check.out" 2>&1
check "check-config accepts the pgbouncer timeouts" [ $? = 0 ]
bg agent "$AGENT" -c "$W/agent.conf" run
pgb_line() { grep "\"runbook\":\"throttle\",\"step\":\"pgbouncer-$1\",\"target\":\"odoo\",\"result\":\"$2\"" "$W/journal"; }
pgb_step() { pgb_line "$1" "$2" >/dev/null 2>&1; }

# 15 direct cron connections: with the pgbouncer ones, over 60% of 40
for i in $(seq 1 15); do
	bg "cron$i" env PGAPPNAME="odoo-cron-$((2000 + i))" psql -X -q -h "${ORG_SOCK[n1]}" \
		-p "${ORG_PORT[n1]}" -U odoo -d odoo -c "SELECT pg_sleep(600)"
done
check "the storm engages the throttle and caps pgbouncer" org_wait_until 30 "cap" pgb_step cap ok
t_cap=$(now_ms)
check "pgbouncer's pool is lowered to the cap" [ "$(pb_config)" = "default_pool_size=$CAP max_db_connections=$CAP " ]
check "RECONNECT leaves the busy servers over the cap: journaled with the count" \
	org_wait_until $((RECONNECT_TIMEOUT + 10)) "reconnect timeout" pgb_step reconnect timeout
pgb_line reconnect timeout | grep -q '"detail":"[5-9][0-9]* server connections still over the cap 3 [0-9.]*s after RECONNECT; PAUSE odoo"'
check "the reconnect step names the servers over the cap" [ $? = 0 ]
check "PAUSE waits for the long transactions in vain and times out" \
	org_wait_until $((PAUSE_TIMEOUT + 10)) "pause timeout" pgb_step pause timeout
check "KILL odoo follows" org_wait_until 10 "kill" pgb_step kill ok
check "then RESUME odoo" org_wait_until 10 "resume" pgb_step resume ok
t_resume=$(now_ms)
echo "# pgbouncer capped -> RESUMEd after PAUSE and KILL: $(secs_since "$t_cap") s seen by the test"
detail=$(pgb_line resume ok | sed 's/.*"detail":"\([^"]*\)".*/\1/')
echo "# agent's figures: $detail"
total=$(sed 's/.*, \([0-9.]*\)s after RECONNECT/\1/' <<<"$detail")
check "RECONNECT to RESUME within the two timeouts plus 2 s ($total s)" \
	awk -v t="$total" -v m="$((RECONNECT_TIMEOUT + PAUSE_TIMEOUT + 2))" 'BEGIN { exit !(t >= '"$((RECONNECT_TIMEOUT + PAUSE_TIMEOUT))"' && t <= m) }'
check "each step is announced to the pagers' route" \
	org_wait_until 10 "announcement" grep -q "runbook throttle (run [^)]*): pgbouncer-kill odoo: ok" "$W/agent.log"
check "the busy clients lost their connection to KILL" org_wait_until 10 "busy clients" \
	bash -c "for i in 1 2 3 4 5; do grep -qi 'server closed the connection\|connection to server was lost\|terminat' '$W/busy'\$i.log || exit 1; done"
check "and their transactions are gone from the server" org_wait_until 10 "backends" no_busy_backend
xacts=$(pb_xacts)
check "the POS clients are served again after RESUME" org_wait_until 15 "transactions" xacts_past $((xacts + 12))
capped=1
for _ in $(seq 1 10); do
	servers_at_most "$CAP" || capped=0
	sleep 0.3
done
check "while they run, pgbouncer holds at most $CAP server connections (10 samples over 3 s)" [ "$capped" = 1 ]
check "the extension's rule is engaged as well" [ "$(pgq "SELECT count(*) FROM odoo_retail_guard.throttle_rules
	WHERE name = 'orguard_throttle_cron'")" = 1 ]

# ---- release: settings back, the database not paused ----
for i in $(seq 1 15); do stop "cron$i"; done
check "released: pgbouncer's settings are restored" org_wait_until 30 "restore" pgb_step restore ok
check "default_pool_size and max_db_connections as before" \
	[ "$(pb_config)" = "default_pool_size=20 max_db_connections=0 " ]
check "the restore RESUMEd odoo" pgb_line restore ok | grep -q "RESUME odoo"
check "a new client is served at once: odoo is not paused" [ "$(via_pgb -c "SELECT 42")" = 42 ]
check "the run closes done" grep -q '"step":"runbook","target":"store7","result":"done"' "$W/journal"

# ---- round 2: transactions that end while PAUSE waits: no KILL ----
# the busy clients wait for a shared advisory lock the test holds; once
# RECONNECT has timed out the test lets go, and PAUSE completes
printf '%s\n' "BEGIN;" "SELECT pg_advisory_xact_lock(4242);" '\! sleep 600' "COMMIT;" >"$W/holder.sql"
bg holder psql -X -q -h "${ORG_SOCK[n1]}" -p "${ORG_PORT[n1]}" -U postgres -d odoo -f "$W/holder.sql"
org_wait_until 10 "the lock" bash -c "[ \"\$(PGCONNECT_TIMEOUT=5 psql -X -At -h '${ORG_SOCK[n1]}' \
	-p '${ORG_PORT[n1]}' -U postgres -d odoo -c \"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	AND granted\")\" = 1 ]" || org_die "the test did not take its lock"
for i in $(seq 1 5); do
	bg "wait$i" psql -X -q -h 127.0.0.1 -p "$pb_port" -U odoo -d odoo \
		-o /dev/null -c "BEGIN" -c "SELECT pg_advisory_xact_lock_shared(4242)" -c "COMMIT"
done
waiting() { [ "$(pgq "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")" = 5 ]; }
check "five transactions through pgbouncer wait for the lock" org_wait_until 10 "waiters" waiting
pgb_count() { pgb_line "$1" "$2" | wc -l; }
pgb_count_is() { [ "$(pgb_count "$1" "$2")" = "$3" ]; }
for i in $(seq 1 15); do
	bg "cron$i" env PGAPPNAME="odoo-cron-$((2100 + i))" psql -X -q -h "${ORG_SOCK[n1]}" \
		-p "${ORG_PORT[n1]}" -U odoo -d odoo -c "SELECT pg_sleep(600)"
done
check "the storm engages again and RECONNECT times out again" \
	org_wait_until $((RECONNECT_TIMEOUT + 30)) "reconnect timeout" pgb_count_is reconnect timeout 2
stop holder
check "the transactions end within PAUSE's timeout: PAUSE completes" \
	org_wait_until $((PAUSE_TIMEOUT + 10)) "pause ok" pgb_step pause ok
echo "# $(pgb_line pause ok | sed 's/.*"detail":"\([^"]*\)".*/\1/')"
check "then RESUME" \
	org_wait_until 10 "resume" pgb_count_is resume ok 2
check "no KILL this time" pgb_count_is kill ok 1
no_advisory() { [ "$(pgq "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ]; }
org_wait_until 10 "the waiters to finish" no_advisory
waiters_ok=1
for i in $(seq 1 5); do
	timeout 10 tail --pid="${BG[wait$i]}" -f /dev/null
	wait "${BG[wait$i]}" || waiters_ok=0
	unset "BG[wait$i]"
	! grep -q . "$W/wait$i.log" || waiters_ok=0
done
check "the waiting transactions committed without an error" [ "$waiters_ok" = 1 ]
check "POS clients are served after the RESUME" org_wait_until 15 "transactions" xacts_past $(($(pb_xacts) + 12))
check "within the cap" servers_at_most "$CAP"
for i in $(seq 1 15); do stop "cron$i"; done
check "released again: settings restored" org_wait_until 30 "restore" pgb_count_is restore ok 2
check "as before" [ "$(pb_config)" = "default_pool_size=20 max_db_connections=0 " ]
check "and odoo is not paused" [ "$(via_pgb -c "SELECT 43")" = 43 ]

for i in $(seq 1 6); do stop "pos$i"; done
stop agent
stop pgbouncer

check "the journal is whole (every line is JSON)" python3 -c "
import json
for l in open('$W/journal'): json.loads(l)"

kill "$watchdog" 2>/dev/null
echo "1..$n"
[ "$fails" = 0 ]
