#!/usr/bin/env bash
# A file in a pager's spool directory that is not one of its entries (a
# name with too few or too many digits, a directory with an entry's name)
# is moved to dead-letter/ with a log line, and the pager thread goes on
# waiting instead of spinning: the agent's CPU time stays small while the
# stray files are there.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

metrics_port=$(org_free_port)
dead_port=$(org_free_port)
spool="$ORG_TMP/spool"
conf="$ORG_TMP/agent.conf"
cat >"$conf" <<CONF
[agent]
interval = 500ms
node_timeout = 400ms
spool_dir = $spool
listen = 127.0.0.1:$metrics_port

[node ghost]
conninfo = host=127.0.0.1 port=$dead_port user=postgres connect_timeout=1

[pager hook]
type = webhook
url = http://127.0.0.1:$dead_port/hook

[rule node_unreachable]
enabled = false
CONF

agent_start agent "$conf"
tap_ok "the agent serves /ready" wait_for_http "http://127.0.0.1:$metrics_port/ready" 60

# cpu_ticks PID: user + system time in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
polls() {
	http_get "http://127.0.0.1:$metrics_port/metrics" |
		awk '/^orguard_node_polls_total/ { print $NF; exit }'
}
polls_reached() { [ "$(polls)" -ge "$1" ] 2>/dev/null; }

# the stray files: short, over-long and overflowing numeric names, an
# unrelated file, and a directory with an entry's name
echo '{}' >"$spool/hook/5.json"
echo '{}' >"$spool/hook/000000000000000000005.json"
echo '{}' >"$spool/hook/99999999999999999999.json"
echo 'x' >"$spool/hook/README"
mkdir "$spool/hook/00000000000000000003.json"

hook_empty() { [ -z "$(ls -A "$spool/hook")" ]; }
tap_ok "every stray file leaves the pager's directory" org_wait_until 20 "stray files moved" hook_empty
tap_ok "they are kept in dead-letter/" \
	test "$(find "$spool/dead-letter" -mindepth 1 -maxdepth 1 | wc -l)" -eq 5
tap_ok "each move is logged" \
	test "$(grep -c 'unexpected file' "$ORG_TMP/agent.log")" -ge 4
tap_ok "the unreadable entry is logged and dead-lettered" \
	grep -q 'spool entry 3 is unreadable' "$ORG_TMP/agent.log"

# CPU time over at least six more polls (about 3 s of wall time) with a
# stray file put back: a spinning pager thread would use a whole core
echo '{}' >"$spool/hook/7.json"
pid=${AGENT_PIDS[agent]}
t0=$(date +%s%N)
c0=$(cpu_ticks "$pid")
p0=$(polls)
org_wait_until 60 "six polls" polls_reached $((p0 + 6))
c1=$(cpu_ticks "$pid")
t1=$(date +%s%N)
hz=$(getconf CLK_TCK)
cpu_ms=$(((c1 - c0) * 1000 / hz))
wall_ms=$(((t1 - t0) / 1000000))
echo "# agent CPU ${cpu_ms} ms over ${wall_ms} ms of wall time"
tap_ok "the agent does not spin (CPU under a fifth of wall time)" test $((cpu_ms * 5)) -lt "$wall_ms"
tap_ok "the second stray file is moved too" org_wait_until 20 "7.json moved" hook_empty
tap_ok "the agent is still running" agent_alive agent

tap_done
