#!/usr/bin/env bash
# The harness's wait for a local listener (receivers, stand-in servers)
# must know the listener is the process the test started.  Knocking on the
# port is not enough: on a shared machine another process can take a port
# between the moment the test picks it and the moment its receiver binds;
# the receiver then dies, the knock still succeeds, and the test's pages go
# nowhere.  Needs no cluster.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
# shellcheck source=../lib/cluster.sh
. regress/lib/cluster.sh
# shellcheck source=../lib/agent.sh
. regress/lib/agent.sh	# agent_bg (stopped on exit), tap_ok, tap_done

not() { ! "$@"; }

# listen NAME PORT: a listener like the tests' receivers (exits when the port is taken)
listen() {
	agent_bg "$1" python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(120)' "$2"
}

port=$(org_free_port)
listen mine "$port"
tap_ok "a listener that bound its port is found" org_wait_listener "${AGENT_PIDS[mine]}" "$port" listener 60
tap_ok "...and only as its own: the shell does not hold it" not org_pid_listens $$ "$port"

# a squatter takes the port first; the test's receiver then cannot bind
port2=$(org_free_port)
listen squatter "$port2"
org_wait_listener "${AGENT_PIDS[squatter]}" "$port2" squatter 60 || echo "# squatter did not start"
listen receiver "$port2"
t0=$SECONDS
tap_ok "a receiver whose port was taken is reported, not waited for" \
	not org_wait_listener "${AGENT_PIDS[receiver]}" "$port2" receiver 60
tap_ok "...at once (it exited), not after the deadline" [ $((SECONDS - t0)) -lt 30 ]
tap_ok "a knock on the port would have taken the squatter for the receiver" \
	bash -c "(exec 3<>/dev/tcp/127.0.0.1/$port2) 2>/dev/null"
tap_done
