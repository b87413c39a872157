# regress/lib/agent.sh: helpers for the agent's integration tests and
# benchmarks.  Source after regress/lib/cluster.sh and org_harness_init.
#
#   agent_bg NAME CMD...       start a background process, stopped on exit
#   agent_kill NAME [SIG]      stop one of them (TERM by default) and reap it
#   agent_start NAME CONF      run orguard-agent with CONF in the background
#   tap_ok DESC CMD...         run CMD; print "ok N - DESC" or "not ok N - DESC"
#   tap_done                   exit status: non-zero when a check failed
#   http_get URL               curl with a deadline, body on stdout
#   spool_count DIR            entries waiting in a spool directory

AGENT_BIN=${AGENT_BIN:-$ORG_SRC_DIR/agent/orguard-agent}
declare -A AGENT_PIDS
TAP_N=0
TAP_FAILED=0

agent_cleanup_all() {
	local rc=$? name
	for name in "${!AGENT_PIDS[@]}"; do
		# its children first: an agent started under strace or a wrapper outlived a killed parent
		pkill -KILL -P "${AGENT_PIDS[$name]}" 2>/dev/null
		kill -KILL "${AGENT_PIDS[$name]}" 2>/dev/null
		{ wait "${AGENT_PIDS[$name]}"; } 2>/dev/null
	done
	(exit $rc)
	org_harness_cleanup
}
trap agent_cleanup_all EXIT

agent_bg() {
	local name=$1
	shift
	"$@" >>"$ORG_TMP/$name.log" 2>&1 &
	AGENT_PIDS[$name]=$!
}

# agent_receiver NAME LOG [receiver.py options]: regress/lib/receiver.py on
# a free port, checked to be the process listening there (a port taken
# between choice and bind gets a new choice).  Sets RECEIVER_PORT.
agent_receiver() {
	local name=$1 log=$2 try
	shift 2
	touch "$log"
	for try in 1 2 3 4 5; do
		RECEIVER_PORT=$(org_free_port) || org_die "no free port"
		agent_bg "$name" python3 "$ORG_SRC_DIR/regress/lib/receiver.py" "$RECEIVER_PORT" "$log" "$@"
		org_wait_listener "${AGENT_PIDS[$name]}" "$RECEIVER_PORT" "$name" 60 && return 0
		agent_kill "$name" KILL
	done
	org_die "$name could not listen after $try tries"
}

# agent_start_listening NAME WRITE_CONF [ARGS...]: an agent whose [agent]
# listen port is checked to be its own.  WRITE_CONF ARGS... PORT writes the
# configuration for that port and prints its path; a port taken between
# choice and bind (or an agent that exits) gets a new choice, its log shown.
# Sets AGENT_PORT.
agent_start_listening() {
	local name=$1 try conf
	shift
	for try in 1 2 3 4 5; do
		AGENT_PORT=$(org_free_port) || org_die "no free port"
		conf=$("$@" "$AGENT_PORT") || org_die "$name: cannot write its configuration"
		agent_start "$name" "$conf"
		org_wait_listener "${AGENT_PIDS[$name]}" "$AGENT_PORT" "$name" 60 && return 0
		tail -5 "$ORG_TMP/$name.log" 2>/dev/null | sed 's/^/# /'
		agent_kill "$name" KILL
	done
	org_die "$name could not listen after $try tries"
}

agent_kill() {
	local name=$1 sig=${2:-TERM} pid=${AGENT_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	# bounded: escalate to KILL after 10 s
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	unset "AGENT_PIDS[$name]"
}

agent_alive() { kill -0 "${AGENT_PIDS[$1]}" 2>/dev/null; }

agent_start() {
	local name=$1 conf=$2
	agent_bg "$name" "$AGENT_BIN" --config "$conf" run
}

tap_ok() {
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

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

http_get() { curl -fsS --max-time 5 "$1"; }

spool_count() {
	find "$1" -maxdepth 1 -name '*.json' 2>/dev/null | wc -l
}

# wait_for_http URL SECS: until the URL answers 2xx
wait_for_http() {
	org_wait_until "$2" "$1" curl -fsS --max-time 2 -o /dev/null "$1"
}

# service_ready NAME URL SECS: waits until URL (of a service started with
# agent_bg NAME) answers; otherwise prints the end of its log and ends the
# script
service_ready() {
	wait_for_http "$2" "$3" && return 0
	echo "---- $1: $ORG_TMP/$1.log (last 20 lines)" >&2
	tail -n 20 "$ORG_TMP/$1.log" >&2 2>/dev/null
	org_die "$1 did not start"
}

# alertmanager_start [CONFIG]: a real Alertmanager (Debian
# prometheus-alertmanager) on a free loopback port, clustering off, with
# CONFIG (YAML text) or a single "null" receiver that keeps the alerts for
# its API; sets am_url
alertmanager_start() {
	local port
	port=$(org_free_port) || org_die "no free port"
	mkdir -p "$ORG_TMP/am"
	printf '%s\n' "${1:-$(printf 'route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"')}" \
		>"$ORG_TMP/am/am.yml"
	agent_bg alertmanager prometheus-alertmanager --config.file="$ORG_TMP/am/am.yml" \
		--storage.path="$ORG_TMP/am/data" --web.listen-address="127.0.0.1:$port" --cluster.listen-address=
	am_url="http://127.0.0.1:$port"
	service_ready alertmanager "$am_url/-/ready" 120
}

# am_annotated ALERTNAME NAME=REGEX...: an active alert named ALERTNAME in
# the Alertmanager at am_url has every annotation NAME matching its REGEX
# (whole value); values such as pids and durations are annotations, not labels
am_annotated() {
	local name=$1
	shift
	curl -fsS --max-time 5 -G "$am_url/api/v2/alerts" --data-urlencode "filter=alertname=\"$name\"" |
		python3 -c 'import json, re, sys
want = [a.split("=", 1) for a in sys.argv[1:]]
ok = any(all(k in al.get("annotations", {}) and re.fullmatch(rx, al["annotations"][k], re.S) is not None
             for k, rx in want) for al in json.load(sys.stdin))
sys.exit(0 if ok else 1)' "$@"
}
