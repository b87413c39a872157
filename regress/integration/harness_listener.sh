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

T=$(mktemp -d "${TMPDIR:-/tmp}/orguard-listener.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

TAP_N=0
TAP_FAILED=0
check() {
	local desc=$1
	shift
	TAP_N=$((TAP_N + 1))
	if "$@"; then
		echo "ok $TAP_N - $desc"
	else
		echo "not ok $TAP_N - $desc"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}
not() { ! "$@"; }

# listen PORT: a listener like the tests' receivers (exits when the port is taken)
listen() {
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(120)' "$1" 2>>"$T/listen.log" &
	pids+=($!)
}

port=$(org_free_port)
listen "$port"
mine=$!
check "a listener that bound its port is found" org_wait_listener "$mine" "$port" listener 60
check "...and only as its own: the shell does not hold it" not org_pid_listens $$ "$port"

# a squatter takes the port first; the test's receiver then cannot bind
port2=$(org_free_port)
listen "$port2"
squatter=$!
org_wait_listener "$squatter" "$port2" squatter 60 || echo "# squatter did not start"
listen "$port2"
receiver=$!
t0=$SECONDS
check "a receiver whose port was taken is reported, not waited for" \
	not org_wait_listener "$receiver" "$port2" receiver 60
check "...at once (it exited), not after the deadline" [ $((SECONDS - t0)) -lt 30 ]
check "a knock on the port would have taken the squatter for the receiver" \
	bash -c "(exec 3<>/dev/tcp/127.0.0.1/$port2) 2>/dev/null"

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
