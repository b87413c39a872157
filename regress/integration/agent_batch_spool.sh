#!/usr/bin/env bash
# Alert events of nodes finishing together are spooled as one batch: one
# intent file and one save of the alert state per turn of the agent's
# loop, not per node.  40 nodes that all refuse connections fail in the
# same turn, each with a node_unreachable alert; the agent runs under
# strace and its fsync calls are counted until all 40 alerts fire.  Spooled
# node by node it made at least two synced writes per node (80 and more);
# on a slow disk those syncs held the loop for seconds while every other
# node's poll ran past its deadline.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
command -v strace >/dev/null || org_die "strace not installed (packaging/deps/test.list)"
closed=$(org_free_port) || org_die "no free port"
port=$(org_free_port) || org_die "no free port"
conf="$ORG_TMP/agent.conf"
{
	# interval = node_timeout: every poll starts at once, no spread
	printf '[agent]\ninterval = 3s\nnode_timeout = 3s\nspool_dir = %s/spool\nlisten = 127.0.0.1:%s\n' "$ORG_TMP" "$port"
	printf '[rule node_unreachable]\nfor = 0\n'
	for i in $(seq 1 40); do
		printf '[node store%d]\nconninfo = host=127.0.0.1 port=%s dbname=postgres user=postgres\ncluster = c%d\n' \
			"$i" "$closed" "$i"
	done
} >"$conf"

agent_bg traced strace -f -qq -e trace=fsync,fdatasync -o "$ORG_TMP/fsync.trace" "$AGENT_BIN" --config "$conf" run
firing() {
	local v
	v=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" |
		awk '!f && /^orguard_alerts\{/ && /rule="node_unreachable"/ && /state="firing"/ {print $NF; f = 1}')
	[ -n "$v" ] && [ "${v%.*}" -ge 40 ]
}
tap_ok "40 unreachable nodes: 40 alerts fire" org_wait_until 60 "40 firing alerts" firing
syncs=$(grep -cE '(fsync|fdatasync)\(' "$ORG_TMP/fsync.trace")
echo "# fsync calls until the 40 alerts fired: $syncs"
tap_ok "their events were spooled in batches: $syncs syncs, under one per node" test "$syncs" -lt 40
tap_ok "each alert was logged once" test "$(grep -c 'alert firing: .*node_unreachable' "$ORG_TMP/traced.log")" -eq 40
tap_done
