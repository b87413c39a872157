# regress/lib/patroni.sh: a throwaway Patroni cluster (Debian's patroni and
# etcd-server) on loopback for the Patroni backend's tests and benchmark.
# Source it after cluster.sh.
#
#   org_patroni_harness_init          temp root and exit trap, like
#                                     org_harness_init but without staging the
#                                     extension (Patroni runs the system's
#                                     PostgreSQL)
#   org_etcd_start                    one etcd 3.4 member (v3 API), free ports
#   org_patroni_start NAME [TTL LOOP_WAIT RETRY_TIMEOUT]
#                                     one Patroni member with its own PostgreSQL
#                                     (bin_dir: the system's PostgreSQL 15)
#   org_patroni_restart NAME          start a killed member again (same config
#                                     and data: it rejoins as a replica)
#   org_patroni_wait_leader SECS      poll /cluster until a member leads and runs
#                                     (on failure, the members' logs to stderr)
#   org_patroni_wait_streaming SECS N poll until N replicas stream
#   org_patroni_cluster [NAME]        GET /cluster (JSON) from NAME or the first member
#   org_patroni_api NAME METHOD PATH [BODY]
#                                     one REST call with the harness's basic auth
#   org_patroni_role NAME             NAME's role in /cluster
#   org_patroni_kill NAME             kill -9 NAME's Patroni and its PostgreSQL
#   org_patroni_kill_postgres NAME    kill -9 only NAME's PostgreSQL
#   org_patroni_psql NAME SQL         psql on NAME's PostgreSQL (socket)
#   org_patroni_stop_all              stop every member and etcd (call it from
#                                     the exit trap, before org_harness_cleanup)
#
# Everything runs as the cluster owner (the postgres user under root), with
# its data under the harness's temp root.  The REST API requires basic auth
# for changes ($ORG_PATRONI_USER:$ORG_PATRONI_PASSWORD, also written to
# $ORG_PATRONI_AUTH_FILE).  Defaults are short timings for tests
# (ttl 20, loop_wait 2, retry_timeout 5: loop_wait + 2*retry_timeout <= ttl,
# as Patroni 3.2+ requires); the benchmark passes Patroni's own 30 10 10.

ORG_PATRONI_BINDIR=${ORG_PATRONI_BINDIR:-/usr/lib/postgresql/15/bin}
ORG_PATRONI_SCOPE=${ORG_PATRONI_SCOPE:-shop}
ORG_PATRONI_USER=orguard
ORG_PATRONI_PASSWORD=rest-secret
ORG_ETCD_PID=""
ORG_ETCD_PORT=""
ORG_PATRONI_AUTH_FILE=""
declare -A ORG_PATRONI_PID ORG_PATRONI_API ORG_PATRONI_PGPORT ORG_PATRONI_DIR
ORG_PATRONI_MEMBERS=()

org_patroni_harness_init() {
	ORG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/orguard.XXXXXX")
	chmod 755 "$ORG_TMP"
	trap 'org_patroni_stop_all; org_harness_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		org_die "the postgres system user is missing (install postgresql-15)"
	fi
	command -v patroni >/dev/null && command -v etcd >/dev/null ||
		org_die "patroni and etcd are needed (Debian: patroni, etcd-server)"
}

# a background process as the cluster owner; setpriv execs, so $! is its pid
org_patroni_bg() {
	local log=$1
	shift
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@" >"$log" 2>&1 &
	else
		"$@" >"$log" 2>&1 &
	fi
}

org_etcd_start() {
	local dir="$ORG_TMP/etcd" peer
	mkdir -p "$dir"
	chown "$(org_owner_name)" "$dir" 2>/dev/null || true
	ORG_ETCD_PORT=$(org_free_port) || org_die "no free port"
	peer=$(org_free_port) || org_die "no free port"
	org_patroni_bg "$dir/etcd.log" etcd --name e1 --data-dir "$dir/data" \
		--listen-client-urls "http://127.0.0.1:$ORG_ETCD_PORT" \
		--advertise-client-urls "http://127.0.0.1:$ORG_ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "e1=http://127.0.0.1:$peer" \
		--listen-metrics-urls "http://127.0.0.1:$(org_free_port)"
	ORG_ETCD_PID=$!
	org_wait_until 30 "etcd answers" curl -fsS -m 2 "http://127.0.0.1:$ORG_ETCD_PORT/health" ||
		{ tail -n 20 "$dir/etcd.log" >&2; org_die "etcd did not start"; }
	ORG_PATRONI_AUTH_FILE="$ORG_TMP/etcd/patroni-auth"
	printf '%s:%s\n' "$ORG_PATRONI_USER" "$ORG_PATRONI_PASSWORD" >"$ORG_PATRONI_AUTH_FILE"
	chmod 644 "$ORG_PATRONI_AUTH_FILE"
}

org_patroni_start() {
	local name=$1 ttl=${2:-20} loop_wait=${3:-2} retry=${4:-5}
	local dir="$ORG_TMP/patroni-$name" api pg
	[ -n "$ORG_ETCD_PORT" ] || org_die "start etcd first (org_etcd_start)"
	mkdir -p "$dir"
	chmod 700 "$dir"
	chown "$(org_owner_name)" "$dir" 2>/dev/null || true
	api=$(org_free_port) || org_die "no free port"
	pg=$(org_free_port) || org_die "no free port"
	org_as_owner tee "$dir/patroni.yml" >/dev/null <<EOF
scope: $ORG_PATRONI_SCOPE
namespace: /service/
name: $name
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$api
  connect_address: 127.0.0.1:$api
  authentication:
    username: $ORG_PATRONI_USER
    password: $ORG_PATRONI_PASSWORD
etcd3:
  hosts: 127.0.0.1:$ORG_ETCD_PORT
bootstrap:
  dcs:
    ttl: $ttl
    loop_wait: $loop_wait
    retry_timeout: $retry
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        wal_keep_size: 128MB
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
  - encoding: UTF8
  - locale: C
  pg_hba:
  - local all all trust
  - host all all 127.0.0.1/32 trust
  - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $dir/data
  bin_dir: $ORG_PATRONI_BINDIR
  pgpass: $dir/pgpass
  authentication:
    replication:
      username: postgres
    superuser:
      username: postgres
  parameters:
    unix_socket_directories: '$dir'
    fsync: 'off'
    lc_messages: C
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
EOF
	org_patroni_bg "$dir/patroni.log" patroni "$dir/patroni.yml"
	ORG_PATRONI_PID[$name]=$!
	ORG_PATRONI_API[$name]="http://127.0.0.1:$api"
	ORG_PATRONI_PGPORT[$name]=$pg
	ORG_PATRONI_DIR[$name]=$dir
	ORG_PATRONI_MEMBERS+=("$name")
	org_wait_until 60 "$name's REST API answers" curl -sS -m 2 -o /dev/null "http://127.0.0.1:$api/liveness" ||
		{ tail -n 30 "$dir/patroni.log" >&2; org_die "patroni $name did not start"; }
}

org_patroni_restart() {
	local name=$1 dir=${ORG_PATRONI_DIR[$1]}
	[ -z "${ORG_PATRONI_PID[$name]:-}" ] || return 0
	org_patroni_bg "$dir/patroni.log.restart" patroni "$dir/patroni.yml"
	ORG_PATRONI_PID[$name]=$!
}

org_patroni_api() {
	local name=$1 method=$2 path=$3 body=${4:-}
	if [ -n "$body" ]; then
		curl -sS -m 30 -u "$ORG_PATRONI_USER:$ORG_PATRONI_PASSWORD" -X "$method" \
			-H 'Content-Type: application/json' -d "$body" "${ORG_PATRONI_API[$name]}$path"
	else
		curl -sS -m 30 -u "$ORG_PATRONI_USER:$ORG_PATRONI_PASSWORD" -X "$method" "${ORG_PATRONI_API[$name]}$path"
	fi
}

# /cluster from NAME, or from the first member that answers
org_patroni_cluster() {
	local m
	for m in ${1:-${ORG_PATRONI_MEMBERS[@]}}; do
		curl -fsS -m 3 "${ORG_PATRONI_API[$m]}/cluster" 2>/dev/null && return 0
	done
	return 1
}

org_patroni_role() {
	org_patroni_cluster | python3 -c 'import json, sys
for m in json.load(sys.stdin)["members"]:
    if m["name"] == sys.argv[1]: print(m.get("role", "")); break' "$1"
}

org_patroni_state() {
	org_patroni_cluster | python3 -c 'import json, sys
for m in json.load(sys.stdin)["members"]:
    if m["name"] == sys.argv[1]: print(m.get("state", "")); break' "$1"
}

# the member that leads and runs
org_patroni_leader() {
	org_patroni_cluster | python3 -c 'import json, sys
for m in json.load(sys.stdin)["members"]:
    if m.get("role") in ("leader", "master", "primary") and m.get("state") == "running": print(m["name"])'
}

org_patroni_has_leader() { [ -n "$(org_patroni_leader 2>/dev/null)" ]; }

org_patroni_n_streaming() {
	org_patroni_cluster | python3 -c 'import json, sys
print(sum(1 for m in json.load(sys.stdin)["members"]
          if m.get("role") in ("replica", "sync_standby") and m.get("state") in ("running", "streaming")
          and m.get("lag") in (0, "0")))'
}

org_patroni_wait_leader() {
	org_wait_until "$1" "a Patroni leader" org_patroni_has_leader && return 0
	org_patroni_logs_tail
	return 1
}

# the end of every member's Patroni log (and etcd's), to stderr: what a
# failed wait needs to be understood after the temp dir is gone
org_patroni_logs_tail() {
	local m
	for m in "${ORG_PATRONI_MEMBERS[@]}"; do
		echo "---- patroni $m: ${ORG_PATRONI_DIR[$m]}/patroni.log (last 30 lines)" >&2
		tail -n 30 "${ORG_PATRONI_DIR[$m]}/patroni.log" >&2 2>/dev/null
	done
	echo "---- etcd (last 10 lines)" >&2
	tail -n 10 "$ORG_TMP/etcd/etcd.log" >&2 2>/dev/null
}

org_patroni_streaming_at_least() { [ "$(org_patroni_n_streaming 2>/dev/null)" -ge "$1" ] 2>/dev/null; }

# replicas count once they run with no lag and the leader streams to them
org_patroni_wait_streaming() {
	local secs=$1 want=$2
	org_wait_until "$secs" "$want Patroni replicas" org_patroni_streaming_at_least "$want" || return 1
	org_wait_until "$secs" "$want WAL senders" org_patroni_senders_at_least "$want"
}

org_patroni_senders_at_least() {
	local l
	l=$(org_patroni_leader) && [ -n "$l" ] &&
		[ "$(org_patroni_psql "$l" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" -ge "$1" ]
}

org_patroni_psql() {
	PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 -h "${ORG_PATRONI_DIR[$1]}" -p "${ORG_PATRONI_PGPORT[$1]}" \
		-U postgres -d postgres -Atc "$2"
}

# NAME's postmaster, only while it runs on NAME's data directory (a stale
# postmaster.pid left by a kill may name someone else's process by now)
org_patroni_postmaster() {
	local dir="${ORG_PATRONI_DIR[$1]}/data" pm
	pm=$(head -n 1 "$dir/postmaster.pid" 2>/dev/null)
	[ -n "$pm" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pm/cmdline" | grep -qF -- "$dir" && echo "$pm"
}

org_patroni_kill_postgres() {
	local pm
	pm=$(org_patroni_postmaster "$1")
	[ -n "$pm" ] && kill -9 "$pm" $(ps -o pid= --ppid "$pm") 2>/dev/null
	return 0
}

# a node crash: Patroni first (so it cannot restart PostgreSQL), then PostgreSQL
org_patroni_kill() {
	local pid=${ORG_PATRONI_PID[$1]:-}
	# reaped at once, so the shell prints no job notice for it
	[ -n "$pid" ] && { kill -9 "$pid"; wait "$pid"; } 2>/dev/null
	org_patroni_kill_postgres "$1"
	ORG_PATRONI_PID[$1]=""
}

org_patroni_stop_all() {
	local m pid deadline
	# Patroni stops its PostgreSQL on SIGTERM (fast shutdown)
	for m in "${ORG_PATRONI_MEMBERS[@]}"; do
		pid=${ORG_PATRONI_PID[$m]:-}
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	deadline=$((SECONDS + 20))
	for m in "${ORG_PATRONI_MEMBERS[@]}"; do
		pid=${ORG_PATRONI_PID[$m]:-}
		while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
			sleep 0.1
		done
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
		[ -n "$pid" ] && { wait "$pid"; } 2>/dev/null
		ORG_PATRONI_PID[$m]=""
		# whatever PostgreSQL is left (a killed Patroni leaves it running)
		org_patroni_kill_postgres "$m"
	done
	if [ -n "$ORG_ETCD_PID" ]; then
		kill -TERM "$ORG_ETCD_PID" 2>/dev/null
		deadline=$((SECONDS + 10))
		while kill -0 "$ORG_ETCD_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
		kill -KILL "$ORG_ETCD_PID" 2>/dev/null
		{ wait "$ORG_ETCD_PID"; } 2>/dev/null
		ORG_ETCD_PID=""
	fi
}
