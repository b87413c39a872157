#!/usr/bin/env bash
# No page for time the agent did not observe.  After failed connections
# the agent tries a node again with a backoff (0.5 s doubling up to
# reconnect_max); the cycles in between report the last failure again.
# At a 1 s interval a server that is down for about 17 s is tried at 0,
# 1, 2, 4, 8 and 16 s, then not before 32 s.  node_unreachable pages after
# 30 s: judged on the failure repeated while backing off, it paged at 30 s
# for a server that had been answering since 18 s.  The polls that do not
# ask now leave the node's alerts as they are; the next attempt finds it up
# and nobody is paged.  A server that stays down still pages.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start flaky
trap agent_cleanup_all EXIT

metrics_port=$(org_free_port) || org_die "no free port"
hook_port=$(org_free_port) || org_die "no free port"
cat >"$ORG_TMP/agent.conf" <<CONF
[agent]
interval = 1s
node_timeout = 1s
reconnect_max = 16s
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$metrics_port

[node store]
conninfo = $(org_conn flaky) dbname=postgres
cluster = shop

# nothing listens here: a page is counted when it is written to the spool
[pager hook]
type = webhook
url = http://127.0.0.1:$hook_port/hook
CONF
metric() {
	curl -fsS --max-time 5 "http://127.0.0.1:$metrics_port/metrics" |
		awk -v m="$1" '!f && ($1 == m || index($1, m "{") == 1) {print $NF; f = 1}'
}
at_least() { local v; v=$(metric "$1") && [ -n "$v" ] && [ "${v%.*}" -ge "$2" ]; }
is_up() { [ "$(metric orguard_node_up)" = 1 ]; }
restart() {
	org_as_owner "$ORG_BINDIR/pg_ctl" -D "${ORG_DATA[flaky]}" -l "$ORG_TMP/flaky/server.log" \
		-o "-p ${ORG_PORT[flaky]}" -w -t 60 start >/dev/null 2>&1
}

agent_start agent "$ORG_TMP/agent.conf"
tap_ok "the node is up" org_wait_until 60 "the node up" is_up
failures0=$(metric orguard_node_poll_failures_total)
org_cluster_stop flaky
tap_ok "six attempts in a row fail (0 to 16 s)" \
	org_wait_until 60 "six failures" at_least orguard_node_poll_failures_total $((${failures0%.*} + 6))
tap_ok "the server starts again" restart
tap_ok "the next attempt (32 s) finds the node up" org_wait_until 40 "the node up" is_up
tap_ok "and nobody was paged for it (notifications: $(metric orguard_pager_events_queued_total))" \
	test "$(metric orguard_pager_events_queued_total)" = 0
# down for good: the page comes at the first attempt after 30 s
org_cluster_stop flaky
tap_ok "a server that stays down is paged" \
	org_wait_until 90 "a page" at_least orguard_pager_events_queued_total 1
tap_ok "the agent is still alive" agent_alive agent
agent_kill agent
tap_done
