#!/usr/bin/env bash
# The agent must not add to an overload.
#
# Part 1, backoff: a node whose polls run past their deadline is polled
# less and less often, and normally again soon after the server recovers;
# a node beside it that answers is polled every interval all along.  The
# stand-in for a server too slow to answer: a session holds ACCESS
# EXCLUSIVE on the store's ir_model, so the agent's query that reads it
# waits past node_timeout (lock_timeout and statement_timeout are set
# above node_timeout, or the server would end the wait itself and the
# poll would fail in time instead).  The agent cancels the query at the
# deadline and keeps the session; before the backoff its next poll came
# one interval later and overran again, every interval.  The lock is held
# before the agent starts: an agent started while a server is overloaded.
#
# Part 2, sessions opened at once: 40 [node] entries on one cluster whose
# postmaster is stopped (SIGSTOP: the kernel still completes connections
# into its listen backlog, nothing answers them).  Every session the agent
# is opening is then an established TCP connection to the server's port
# (ss); at most 16 at any moment, where before all 40 were.  Let go, every
# node comes up.
#
# Part 3, no page for time not observed: at a 1 s interval the store
# overruns six polls in a row (0.5 to 16.5 s), so its next poll waits 16 s.
# The server answers again right after the sixth.  node_unreachable pages
# after 30 s: judged on the failure repeated while backing off, it paged at
# 30 s for a node that had answered since 17 s; the polls that do not ask
# now leave its alerts as they are, and the next poll that asks finds it up.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
command -v ss >/dev/null || org_die "ss (iproute2) is needed"
org_cluster_start overload
stopped=""
overload_cleanup() {
	local rc=$?
	[ -n "$stopped" ] && kill -CONT "$stopped" 2>/dev/null
	(exit $rc)
	agent_cleanup_all
}
trap overload_cleanup EXIT

# ir_model as Odoo creates it, reduced to what the agent reads: model is a
# required Char (odoo/addons/base/models/ir_model.py, class IrModel,
# "model = fields.Char(default='x_', required=True)", odoo/odoo master)
org_psql overload -d postgres -c "CREATE DATABASE shop" -c "CREATE DATABASE calm" >/dev/null
org_psql overload -d shop >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE ir_model (id serial PRIMARY KEY, model varchar NOT NULL);
INSERT INTO ir_model (model) VALUES ('sale.order'), ('stock.quant');
SQL
org_psql overload -d calm -c "CREATE EXTENSION odoo_retail_guard" >/dev/null

metrics_port=$(org_free_port) || org_die "no free port"
# metric NAME NODE: the node's value
metric() {
	curl -fsS --max-time 5 "http://127.0.0.1:$metrics_port/metrics" |
		awk -v m="$1{" -v n="node=\"$2\"" '!f && index($1, m) == 1 && index($1, n) {print $NF; f = 1}'
}
at_least() { local v; v=$(metric "$1" "$2") && [ -n "$v" ] && [ "${v%.*}" -ge "$3" ]; }
is_up() { [ "$(metric orguard_node_up "$1")" = 1 ]; }
held() {
	[ "$(org_psql overload -d shop -Atc "SELECT count(*) FROM pg_locks
		WHERE relation = 'public.ir_model'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ]
}
agent_backend() {
	org_psql overload -d postgres -Atc "SELECT pid FROM pg_stat_activity
		WHERE application_name = 'orguard-agent' AND datname = 'shop'"
}

# ---------------- part 1: backoff ----------------
# not an Odoo statement: the fault this test injects
PGAPPNAME=lockholder org_psql overload -d shop \
	-c "BEGIN; LOCK TABLE ir_model IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600)" >/dev/null 2>&1 &
holder=$!
org_wait_until 30 "the lock on ir_model" held || org_die "the lock was not taken"

reconnect_max=8
cat >"$ORG_TMP/agent.conf" <<CONF
[agent]
interval = 1s
node_timeout = 500ms
statement_timeout = 20s
lock_timeout = 20s
reconnect_max = ${reconnect_max}s
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$metrics_port

[node store]
conninfo = $(org_conn overload) dbname=shop
cluster = shop

[node calm]
conninfo = $(org_conn overload) dbname=calm
cluster = calm
CONF
agent_start agent "$ORG_TMP/agent.conf"
tap_ok "the agent's first poll of the store overruns" \
	org_wait_until 60 "an overrun" at_least orguard_node_deadline_overruns_total store 1
first=$(agent_backend)
polls0=$(metric orguard_node_polls_total store)
calm0=$(metric orguard_node_snapshots_total calm)
org_wait_until 90 "20 more poll cycles" at_least orguard_node_polls_total store $((${polls0%.*} + 20)) ||
	org_die "the agent stopped polling"
polls=$(( $(metric orguard_node_polls_total store | cut -d. -f1) - ${polls0%.*} ))
overruns=$(metric orguard_node_deadline_overruns_total store | cut -d. -f1)
calm=$(( $(metric orguard_node_snapshots_total calm | cut -d. -f1) - ${calm0%.*} ))
org_log "store: $overruns overruns in $((polls + 1)) polls while overloaded; calm: $calm snapshots"
# backoff 0.5, 1, 2, 4, 8 s: about 6 overruns in 21 cycles; without it, one per cycle
tap_ok "overrunning, it is polled less often ($overruns overruns in $((polls + 1)) cycles)" \
	test "$overruns" -le $(((polls + 1) / 2))
tap_ok "it is reported down meanwhile" bash -c "[ '$(metric orguard_node_up store)' = 0 ]"
tap_ok "the node beside it is polled every interval ($calm snapshots in $polls cycles)" \
	test "$calm" -ge $((polls - 3))
tap_ok "and stays up" is_up calm

# the server recovers: polled normally again within reconnect_max and a margin
org_psql overload -d postgres -Atc "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	WHERE application_name = 'lockholder'" >/dev/null
wait "$holder" 2>/dev/null
tap_ok "up again within reconnect_max (${reconnect_max}s) and a margin" \
	org_wait_until $((reconnect_max + 12)) "the store up" is_up store
overruns=$(metric orguard_node_deadline_overruns_total store)
snaps=$(metric orguard_node_snapshots_total store)
tap_ok "then polled every interval" \
	org_wait_until 30 "5 snapshots" at_least orguard_node_snapshots_total store $((${snaps%.*} + 5))
tap_ok "without overrunning" test "$(metric orguard_node_deadline_overruns_total store)" = "$overruns"
tap_ok "on the session it kept all along (backend $first)" test "$(agent_backend)" = "$first"
agent_kill agent

# ---------------- part 2: sessions opened at once ----------------
nodes=40
port=${ORG_PORT[overload]}
{
	printf '%s\n' "[agent]" "interval = 2s" "node_timeout = 1500ms" "reconnect_max = 4s" \
		"spool_dir = $ORG_TMP/spool2" "listen = 127.0.0.1:$metrics_port" ""
	for i in $(seq 1 $nodes); do
		printf '%s\n' "[node n$i]" "conninfo = host=127.0.0.1 port=$port user=postgres dbname=calm" \
			"cluster = calm$i" ""
	done
} >"$ORG_TMP/agent2.conf"
postmaster=$(head -1 "${ORG_DATA[overload]}/postmaster.pid")
kill -STOP "$postmaster" && stopped=$postmaster
# the agent's established connections to the server: sessions it is opening
opening() { ss -Htn state established "( dport = :$port )" | wc -l; }
agent_start agent2 "$ORG_TMP/agent2.conf"
most=0
end=$((SECONDS + 10))
while [ $SECONDS -lt $end ]; do
	k=$(opening)
	[ "$k" -gt "$most" ] && most=$k
	sleep 0.1
done
org_log "at most $most sessions opening at once (of $nodes nodes)"
tap_ok "sessions being opened at once are bounded ($most, at most 16)" test "$most" -le 16
tap_ok "and the bound is used ($most)" test "$most" -ge 8
kill -CONT "$postmaster" && stopped=""
all_up() { [ "$(curl -fsS --max-time 5 "http://127.0.0.1:$metrics_port/metrics" |
	awk '$1 ~ /^orguard_node_up\{/ && $NF == 1' | wc -l)" -eq "$nodes" ]; }
tap_ok "once the server answers, all $nodes nodes come up" org_wait_until 60 "every node up" all_up
tap_ok "the agent is still alive" agent_alive agent2

# ---------------- part 3: no page for time not observed ----------------
agent_kill agent2
PGAPPNAME=lockholder org_psql overload -d shop \
	-c "BEGIN; LOCK TABLE ir_model IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600)" >/dev/null 2>&1 &
holder=$!
org_wait_until 30 "the lock on ir_model" held || org_die "the lock was not taken"
hook_port=$(org_free_port) || org_die "no free port"
cat >"$ORG_TMP/agent3.conf" <<CONF
[agent]
interval = 1s
node_timeout = 500ms
statement_timeout = 20s
lock_timeout = 20s
reconnect_max = 16s
spool_dir = $ORG_TMP/spool3
listen = 127.0.0.1:$metrics_port

[node store]
conninfo = $(org_conn overload) dbname=shop
cluster = shop

# nothing listens here: a page is counted when it is written to the spool
[pager hook]
type = webhook
url = http://127.0.0.1:$hook_port/hook
CONF
agent_start agent3 "$ORG_TMP/agent3.conf"
queued() {
	curl -fsS --max-time 5 "http://127.0.0.1:$metrics_port/metrics" |
		awk '!f && $1 ~ /^orguard_pager_events_queued_total\{/ {print $NF; f = 1}'
}
tap_ok "six polls in a row overrun" \
	org_wait_until 60 "six overruns" at_least orguard_node_deadline_overruns_total store 6
org_psql overload -d postgres -Atc "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	WHERE application_name = 'lockholder'" >/dev/null
wait "$holder" 2>/dev/null
tap_ok "the store is found up at its next poll" org_wait_until 40 "the store up" is_up store
tap_ok "and nobody was paged for it (notifications: $(queued))" test "$(queued)" = 0
tap_ok "the agent is still alive" agent_alive agent3
agent_kill agent3
tap_done
