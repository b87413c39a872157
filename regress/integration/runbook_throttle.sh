#!/usr/bin/env bash
# runbook_throttle.sh: the connection throttle runbook in the daemon, on a
# real node with the extension.  A storm of Odoo cron connections plus a
# lock wait on stock_quant fires two rules that name the runbook; new cron
# connections to the Odoo database are then refused with SQLSTATE 53300
# while POS workers and cron/bus connections to the postgres database
# (Odoo's LISTEN cron_trigger / imbus) still connect; the throttle is
# released release_after the alerts clear.  An agent that does not pass
# the exempt-role guard refuses and says so; an agent killed while engaged
# leaves the throttle to the extension's TTL and closes the interrupted run
# when it comes back; in page-first mode nothing changes until the
# proposal is approved.
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
declare -A BG
rb_cleanup() {
	local rc=$? pid
	rb_kill_jobs
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir rb)
TTL=12
RELEASE_AFTER=3

# %e: the SQLSTATE of every logged error, to see the refusals' 53300
org_cluster_start n1 "max_connections = 40
log_line_prefix = '%m [%p] %e %a '"
org_psql n1 -d postgres >/dev/null <<'SQL'
CREATE ROLE odoo LOGIN;
CREATE ROLE watcher LOGIN IN ROLE pg_monitor;
CREATE DATABASE odoo OWNER odoo;
SQL
org_psql n1 -d odoo >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
GRANT odoo_retail_guard_admin, odoo_retail_guard_reader TO watcher;
SET ROLE odoo;
CREATE TABLE ir_model (id serial PRIMARY KEY, model varchar NOT NULL);
INSERT INTO ir_model (model) VALUES ('stock.quant');
CREATE TABLE stock_quant (id serial PRIMARY KEY, product_id int, quantity numeric);
INSERT INTO stock_quant (product_id, quantity) SELECT g, 10 FROM generate_series(1, 10) g;
SQL

q() { PGCONNECT_TIMEOUT=5 org_psql n1 -d odoo -Atc "$1"; }
# connects as Odoo's (non-superuser) role: APPNAME DB
connect_as() {
	PGCONNECT_TIMEOUT=5 PGAPPNAME=$1 psql -X -At -h "${ORG_SOCK[n1]}" -p "${ORG_PORT[n1]}" -U odoo \
		-d "$2" -c "SELECT 1" 2>&1
}
connects() { [ "$(connect_as "$1" "$2")" = 1 ]; }
refused_by_throttle() {
	local out
	out=$(connect_as "$1" "$2")
	[[ $out == *'connection refused by throttle rule "orguard_throttle_cron"'* ]]
}
rules_active() { q "SELECT count(*) FROM odoo_retail_guard.throttle_rules WHERE name LIKE 'orguard_throttle_%'"; }
no_rules() { [ "$(rules_active)" = 0 ]; }
have_rules() { [ "$(rules_active)" -ge 1 ]; }
jcount() { # jcount STEP RESULT: journal lines of the throttle with that step and result
	grep -c "\"runbook\":\"throttle\",\"step\":\"$1\",\"target\":\"store7\",\"result\":\"$2\"" "$W/journal" 2>/dev/null
}
j_at_least() { [ "$(jcount "$1" "$2")" -ge "$3" ]; }
pgb_step() { grep -q "\"runbook\":\"throttle\",\"step\":\"$1\",\"target\":\"odoo\",\"result\":\"ok\"" "$W/journal"; }
metric() { curl -fsS --max-time 3 "http://$listen/metrics" | awk -v m="$1" '$1 ~ "^"m"[{]" {print $2; exit}'; }
metric_at_least() { [ "$(metric "$1" | cut -d. -f1)" -ge "$2" ] 2>/dev/null; }
both_resolved() {
	grep -q "alert resolved: shop/store7/connection_usage" "$W/agent.log" &&
		grep -q "alert resolved: shop/store7/lock_wait" "$W/agent.log"
}

now_ms() { date +%s%3N; }
secs_since() { echo "$(( ($(now_ms) - $1) / 1000 )).$(( ($(now_ms) - $1) % 1000 / 100 ))"; }
bg() { # bg NAME CMD...: a background process of this test
	"${@:2}" >>"$W/$1.log" 2>&1 &
	BG[$1]=$!
}
stop() { # stop NAME [SIG]
	local pid=${BG[$1]:-}
	[ -n "$pid" ] || return 0
	kill "-${2:-TERM}" $(ps -o pid= --ppid "$pid") "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	unset "BG[$1]"
}

# the storm: 12 cron workers connected, one of them holding a stock_quant
# row idle in transaction, and a POS worker waiting on that row
storm_start() {
	local i
	for i in $(seq 1 11); do
		bg "cron$i" env PGAPPNAME="odoo-cron-$((2000 + i))" psql -X -q -h "${ORG_SOCK[n1]}" \
			-p "${ORG_PORT[n1]}" -U odoo -d odoo -c "SELECT pg_sleep(600)"
	done
	printf '%s\n' "BEGIN;" "SELECT id FROM stock_quant WHERE id = 3 FOR UPDATE;" '\! sleep 600' "COMMIT;" |
		bg cronlock env PGAPPNAME=odoo-cron-2100 psql -X -q -h "${ORG_SOCK[n1]}" -p "${ORG_PORT[n1]}" -U odoo -d odoo
	org_wait_until 30 "the cron to hold the row" bash -c "[ \"\$(PGCONNECT_TIMEOUT=5 psql -X -At -h '${ORG_SOCK[n1]}' \
		-p '${ORG_PORT[n1]}' -U postgres -d odoo -c \"SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'odoo-cron-2100' AND state = 'idle in transaction'\")\" = 1 ]" ||
		org_die "the cron did not take the row"
	echo "UPDATE stock_quant SET quantity = quantity - 1 WHERE id = 3;" |
		bg pos env PGAPPNAME=odoo-pos-1001 psql -X -q -h "${ORG_SOCK[n1]}" -p "${ORG_PORT[n1]}" -U odoo -d odoo
}
storm_stop() {
	local i
	for i in $(seq 1 11); do stop "cron$i"; done
	stop cronlock
	stop pos
	q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'odoo'" >/dev/null 2>&1
}

write_conf() { # write_conf USER MODE
	cat >"$W/agent.conf" <<EOF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $W/spool
listen = $listen

[node store7]
conninfo = host=${ORG_SOCK[n1]} port=${ORG_PORT[n1]} user=$1 dbname=odoo
cluster = shop

# a node that never answers: its node_unreachable alert starts a promote
[node ghost]
conninfo = host=127.0.0.1 port=$ghost_port user=postgres dbname=odoo
cluster = ghost

[rule node_unreachable]
for = 0
runbook = promote

[runbook promote]
primary = ghost
standbys = store7
fence_command = none
journal = $W/journal

# 12 of 40 connections: the storm; below 8 it is over.  The rounds below
# play five storms within minutes, and the flap history outlives the agent's
# restarts (spool_dir/alerts.json): without flap_count = 0 the fourth storm
# would count as flapping and stay firing for flap_window.
[rule connection_usage]
threshold = 30%
clear = 20%
for = 0
flap_count = 0
runbook = throttle

[rule lock_wait]
threshold = 1s
clear = 500ms
for = 0
flap_count = 0
runbook = throttle

[runbook throttle]
classes = cron, queue_job
max_connections = 2
ttl = ${TTL}s
release_after = ${RELEASE_AFTER}s
mode = $2
journal = $W/journal
EOF
}
agent_start() { bg agent "$AGENT" -c "$W/agent.conf" run; }
agent_stop() { stop agent "${1:-TERM}"; }
listen="127.0.0.1:$(org_free_port)"
ghost_port=$(org_free_port)

# ---- the guard: an agent whose role could be refused does not throttle ----
write_conf watcher auto
"$AGENT" -c "$W/agent.conf" check-config >/dev/null 2>&1
check "check-config accepts a rule that names the throttle runbook" [ $? = 0 ]
sed 's/^classes = .*/classes = cron, pos/' "$W/agent.conf" >"$W/bad.conf"
"$AGENT" -c "$W/bad.conf" check-config >"$W/bad.out" 2>&1
bad_rc=$?
check "the daemon's check-config checks the runbooks rules start" \
	grep -q '\[runbook throttle\]: classes: "pos" is not a worker class' "$W/bad.out"
check "and fails on them: a configuration error (exit 2)" [ "$bad_rc" = 2 ]
agent_start
storm_start
check "not exempt: the engagement is refused and the journal names the guard" \
	org_wait_until 30 "refusal" grep -q '"result":"refused","detail":"exempt_role: the agent.s role watcher' "$W/journal"
check "the refusal reaches the pagers' route" \
	org_wait_until 10 "announcement" grep -q "alert firing: shop/store7/OrguardRunbook/" "$W/agent.log"
check "a refusal changes nothing" no_rules
agent_stop

# ---- round 1: auto, engaged by the storm, released after it ----
write_conf postgres auto
: >"$W/agent.log"
# another runbook holds the cluster (as a promote run does): the throttle waits
bg lockholder flock -x "$W/journal.shop.lock" sleep 600
org_wait_until 10 "the lock to be held" bash -c "! flock -n -x '$W/journal.shop.lock' true"
agent_start
check "while another runbook holds the cluster, the throttle skips its step" \
	org_wait_until 30 "skip" grep -q "another runbook holds cluster shop; throttle step skipped this poll" "$W/agent.log"
check "and changes nothing" no_rules
stop lockholder
t0=$(now_ms)
check "the storm fires the rules and the throttle engages" \
	org_wait_until 30 "engage" j_at_least engage ok 1
echo "# cluster lock released -> throttle engaged: $(secs_since $t0) s (interval 1 s)"
check "a promote runbook named by a rule starts as a child process" \
	grep -q "runbook promote: started (pid [0-9]*) by alert ghost/ghost/node_unreachable/node: orguard-agent -c $W/agent.conf runbook trigger promote --rule node_unreachable --node ghost --subject node" "$W/agent.log"
check "which the daemon reaps" org_wait_until 10 "reaped" grep -q "runbook promote (pid [0-9]*) exited with" "$W/agent.log"
check "and starts once while its alert fires" [ "$(grep -c "runbook promote: started" "$W/agent.log")" = 1 ]
check "the extension's rules are set for the Odoo database only" \
	[ "$(q "SELECT string_agg(name || ':' || worker_class || ':' || database || ':' || max_connections, ',' ORDER BY name)
		FROM odoo_retail_guard.throttle_rules")" = \
	"orguard_throttle_cron:cron:odoo:2,orguard_throttle_queue_job:queue_job:odoo:2" ]
check "a new cron connection is refused" refused_by_throttle odoo-cron-2999 odoo
# the backend has no application_name yet when it is refused: the log says [unknown]
check "with SQLSTATE 53300" grep -q ' 53300 \[unknown\] FATAL:  connection refused by throttle rule "orguard_throttle_cron"' \
	"$(org_server_log n1)"
check "a POS worker still connects" connects odoo-pos-1002 odoo
check "Odoo's cron_trigger listener on the postgres database still connects" connects odoo-cron-2998 postgres
check "Odoo's imbus listener on the postgres database still connects" connects odoo-bus-3001 postgres
check "the rules are renewed while the alerts fire (counted in /metrics)" \
	org_wait_until 30 "renewal" metric_at_least orguard_runbook_throttle_renewals_total 2
check "so they outlive their TTL ($TTL s) while the storm lasts" have_rules
check "one engagement, journaled once" [ "$(jcount engage ok)" = 1 ]
storm_stop
org_wait_until 30 "the alerts to resolve" both_resolved
t_clear=$(now_ms)
check "the throttle is released after the alerts clear" org_wait_until 30 "release" j_at_least release ok 1
t_release=$(now_ms)
echo "# alerts resolved -> released: $(secs_since $t_clear) s (release_after ${RELEASE_AFTER} s)"
# the resolution is seen up to one poll late here: allow a second
check "not before release_after" [ $((t_release - t_clear)) -ge $(((RELEASE_AFTER - 1) * 1000)) ]
check "the release lifted both rules itself (not their TTL)" \
	grep -q '"step":"release","target":"store7","result":"ok","detail":"2 rules lifted' "$W/journal"
check "the run closes done" j_at_least runbook done 1
check "cron workers connect again" connects odoo-cron-2997 odoo
check "the release reaches the pagers' route" org_wait_until 10 "announcement" grep -q "alert resolved: shop/store7/OrguardRunbook/" "$W/agent.log"

# ---- round 2: drain on reload; the agent dies while engaged: the TTL ends the throttle ----
echo "drain_idle_in_transaction = 2s" >>"$W/agent.conf"
kill -HUP "${BG[agent]}"
check "the agent reloads with a drain" org_wait_until 10 "reload" grep -q "configuration reloaded" "$W/agent.log"
storm_start
t_storm=$(now_ms)
check "the storm engages the throttle again" org_wait_until 30 "engage" j_at_least engage ok 2
echo "# storm on -> throttle engaged: $(secs_since $t_storm) s (interval 1 s, connection_usage for 0)"
lock_holder_gone() { [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'odoo-cron-2100'")" = 0 ]; }
check "the cron idle in transaction on the stock_quant row is drained" \
	org_wait_until 20 "drain" j_at_least drain ok 1
check "its session is gone, and its lock with it" lock_holder_gone
check "drained sessions are counted in /metrics (at its next publish)" \
	org_wait_until 10 "drained in /metrics" metric_at_least orguard_runbook_throttle_drained_total 1
agent_stop KILL
t_kill=$(now_ms)
check "the agent is gone, the throttle still holds" refused_by_throttle odoo-cron-2996 odoo
check "the extension's TTL ends the throttle without the agent" org_wait_until $((TTL + 10)) "TTL" no_rules
echo "# agent killed -> rules expired: $(secs_since $t_kill) s (ttl $TTL s, renewed at half)"
check "cron workers connect again although the storm goes on" connects odoo-cron-2995 odoo
storm_stop
: >"$W/agent.log"
agent_start
check "a restarted agent takes over the interrupted run" org_wait_until 30 "resumed" j_at_least runbook resumed 1
check "and closes it once the alerts are gone" org_wait_until 30 "done" j_at_least runbook done 2
agent_stop

# ---- round 3: page-first: a proposal, nothing changes until it is approved ----
write_conf postgres page-first
: >"$W/agent.log"
agent_start
storm_start
check "page-first: a pending proposal is journaled" org_wait_until 30 "proposal" j_at_least proposal pending 1
prop=$(grep '"step":"proposal"' "$W/journal" | tail -n 1 | sed 's/.*"run":"\([^"]*\)".*/\1/')
check "its detail names the node and the rule" grep -q "\"run\":\"$prop\",\"runbook\":\"throttle\",\"step\":\"proposal\",\"target\":\"store7\",\"result\":\"pending\",\"detail\":\"node=store7 rule=[a-z_]*\"" "$W/journal"
# three more polls without an approval
polls=$(metric orguard_node_polls_total)
check "the agent polls on while the proposal waits" \
	org_wait_until 15 "three polls" metric_at_least orguard_node_polls_total $((${polls:-0} + 3))
check "nothing is throttled while the proposal waits" no_rules
check "cron workers still connect" connects odoo-cron-2994 odoo
"$AGENT" -c "$W/agent.conf" runbook approve "$prop" >"$W/approve.out" 2>&1
check "runbook approve records the approval (exit 0)" [ $? = 0 ]
check "the journal holds the approval" grep -q "\"run\":\"$prop\",\"runbook\":\"throttle\",\"step\":\"proposal\",\"target\":\"store7\",\"result\":\"approved\"" "$W/journal"
t_appr=$(now_ms)
check "approved: the throttle engages" org_wait_until 30 "engage" j_at_least engage ok 3
echo "# approval -> engaged: $(secs_since $t_appr) s"
check "the run records the approved proposal" grep -q "\"result\":\"started\",\"detail\":\"node=store7 rule=[a-z_]* approved=$prop\"" "$W/journal"
check "a new cron connection is refused" refused_by_throttle odoo-cron-2993 odoo
storm_stop
# the third release: round 1, the run taken over in round 2, this one
check "released after the storm" org_wait_until 30 "release" j_at_least release ok 3
agent_stop

# ---- round 4: pgbouncer's pool is capped too, and restored on release ----
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
admin_users = postgres
pool_mode = transaction
default_pool_size = 20
max_db_connections = 0
EOF
chown "$(org_owner_name)" "$W/pgbouncer.ini" "$W/userlist.txt" 2>/dev/null
bg pgbouncer org_as_owner /usr/sbin/pgbouncer "$W/pgbouncer.ini"
admin() { PGCONNECT_TIMEOUT=5 psql -X -At -F ' ' -h 127.0.0.1 -p "$pb_port" -U postgres -d pgbouncer -c "$1"; }
org_wait_until 30 "pgbouncer" admin "SHOW VERSION" || org_die "pgbouncer did not start"
pb_config() { admin "SHOW CONFIG" | awk '$1 == "default_pool_size" || $1 == "max_db_connections" {printf "%s=%s ", $1, $2}'; }
pb_servers() { admin "SHOW SERVERS" | awk '$3 == "odoo"' | wc -l; }
servers_at_most() { [ "$(pb_servers)" -le "$1" ]; }
servers_at_least() { [ "$(pb_servers)" -ge "$1" ]; }
# six POS clients through pgbouncer, one short transaction after another
yes 'SELECT pg_sleep(0.5);' | head -n 240 >"$W/pos-load.sql"
for i in $(seq 1 6); do
	bg "pb$i" env PGAPPNAME="odoo-pos-$((4000 + i))" psql -X -q -h 127.0.0.1 -p "$pb_port" -U odoo -d odoo \
		-o /dev/null -f "$W/pos-load.sql"
done
check "pgbouncer holds six server connections for the POS clients" org_wait_until 20 "6 servers" servers_at_least 6
sed -i "s/^mode = .*/mode = auto/" "$W/agent.conf"
printf '%s\n' "pgbouncer_admin = host=127.0.0.1 port=$pb_port dbname=pgbouncer user=postgres" \
	"pgbouncer_db = odoo" "pgbouncer_pool_size = 3" >>"$W/agent.conf"
agent_start
storm_start
check "the storm engages the throttle with pgbouncer" org_wait_until 30 "pgbouncer cap" pgb_step pgbouncer-cap
t_cap=$(now_ms)
check "the journal keeps pgbouncer's previous values" \
	grep -q '"step":"pgbouncer-cap","target":"odoo","result":"ok","detail":"saved default_pool_size=20 max_db_connections=0;' "$W/journal"
check "pgbouncer's pool is lowered" [ "$(pb_config)" = "default_pool_size=3 max_db_connections=3 " ]
check "RECONNECT: at most 3 server connections within 2 s" org_wait_until 2 "servers" servers_at_most 3
echo "# pgbouncer capped -> server connections at most 3: $(secs_since $t_cap) s"
check "the runbook saw the cap hold after RECONNECT: no PAUSE needed" \
	org_wait_until 10 "reconnect" pgb_step pgbouncer-reconnect
check "and sent none" bash -c "! grep -q '\"step\":\"pgbouncer-pause\"' '$W/journal'"
pb_xacts() { admin "SHOW STATS" | awk '$1 == "odoo" {print $2}'; }
xacts=$(pb_xacts)
check "the POS clients are still served, through the smaller pool" \
	org_wait_until 10 "transactions" bash -c "[ \$(PGCONNECT_TIMEOUT=5 psql -X -At -F ' ' -h 127.0.0.1 -p $pb_port \
		-U postgres -d pgbouncer -c 'SHOW STATS' | awk '\$1 == \"odoo\" {print \$2}') -ge $((xacts + 6)) ]"
check "and none of them saw an error" bash -c "! cat '$W'/pb?.log | grep -q ."
storm_stop
check "released: pgbouncer's values are restored" org_wait_until 30 "restore" pgb_step pgbouncer-restore
check "default_pool_size and max_db_connections as before" [ "$(pb_config)" = "default_pool_size=20 max_db_connections=0 " ]
agent_stop
for i in $(seq 1 6); do stop "pb$i"; done
stop pgbouncer

check "the journal is whole (every line is JSON)" python3 -c "
import json
for l in open('$W/journal'): json.loads(l)"

kill "$watchdog" 2>/dev/null
echo "1..$n"
[ "$fails" = 0 ]
