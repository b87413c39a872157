# regress/lib/cluster.sh: throwaway PostgreSQL 15 clusters for tests, the
# demo and the benchmarks.  Source it from bash.
#
#   org_harness_init                 temp root, cleanup trap, staged install
#   org_cluster_start NAME [CONF]    initdb + start; CONF: extra postgresql.conf lines
#   org_cluster_stop NAME            fast shutdown
#   org_psql NAME [psql args]        psql as the cluster's superuser
#   org_wait_until SECS DESC CMD...  poll CMD until it succeeds or fail after SECS
#
# Clusters run as an unprivileged user (the `postgres` system user when the
# harness runs as root, since PostgreSQL refuses root), in a temp directory,
# on a unix socket and a free loopback port.  Every cluster started is
# stopped on exit, also on failure or interruption.
#
# The extension is not installed into the system: org_harness_init stages a
# relocated copy of PostgreSQL (binaries copied, lib and share symlinked)
# with the freshly built module installed into it via DESTDIR.  PostgreSQL
# finds its share and lib directories relative to its own binary, so the
# staged server loads the staged module and nothing else is touched.

ORG_SRC_DIR=${ORG_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PG_CONFIG=${PG_CONFIG:-pg_config}
ORG_SYS_BINDIR=$($PG_CONFIG --bindir)
ORG_SYS_LIBDIR=$($PG_CONFIG --pkglibdir)
ORG_SYS_SHAREDIR=$($PG_CONFIG --sharedir)

declare -A ORG_PORT ORG_DATA ORG_SOCK
ORG_CLUSTERS=()
ORG_TMP=""
ORG_KEEP=${ORG_KEEP:-0}

org_log() { printf '%s\n' "harness: $*" >&2; }
org_die() { org_log "error: $*"; exit 1; }

# Run a command as the unprivileged cluster owner.
org_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

org_owner_name() {
	if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

org_harness_init() {
	local stage
	ORG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/orguard.XXXXXX")
	chmod 755 "$ORG_TMP"
	trap org_harness_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		org_die "the postgres system user is missing (install postgresql-15)"
	fi
	# a parent run (make test) may have staged the install already
	if [ -n "${ORG_STAGE_DIR:-}" ] && [ -x "$ORG_STAGE_DIR$ORG_SYS_BINDIR/postgres" ]; then
		stage=$ORG_STAGE_DIR
	else
		stage="$ORG_TMP/install"
		org_stage_install "$stage"
	fi
	ORG_BINDIR="$stage$ORG_SYS_BINDIR"
	export PATH="$ORG_BINDIR:$PATH"
}

org_stage_install() {
	local stage=$1
	mkdir -p "$stage$ORG_SYS_BINDIR" "$stage$ORG_SYS_LIBDIR" "$stage$ORG_SYS_SHAREDIR"
	# real binaries (hard links where allowed), so PostgreSQL resolves its
	# share and lib directories inside the stage
	cp -al "$ORG_SYS_BINDIR/." "$stage$ORG_SYS_BINDIR/" 2>/dev/null ||
		cp -a "$ORG_SYS_BINDIR/." "$stage$ORG_SYS_BINDIR/"
	cp -as "$ORG_SYS_LIBDIR/." "$stage$ORG_SYS_LIBDIR/"
	cp -as "$ORG_SYS_SHAREDIR/." "$stage$ORG_SYS_SHAREDIR/"
	# never write through a link into a system-wide copy of our own files
	find "$stage" -type l -name 'odoo_retail_guard*' -delete
	make -s -C "$ORG_SRC_DIR" install DESTDIR="$stage" PG_CONFIG="$PG_CONFIG" >/dev/null ||
		org_die "staged install failed"
}

# org_free_port: a loopback TCP port nobody listens on, outside the
# kernel's ephemeral range: a port it may hand to any outgoing connection
# (a libpq or curl client) between our choice and the bind would make the
# bind fail ("could not create any TCP/IP sockets").
org_free_port() {
	local p lo=20000 hi=32767 eph_lo=32768 eph_hi=60999
	read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
	if [ "${eph_lo:-0}" -gt $((lo + 1000)) ]; then
		[ "$eph_lo" -le $((hi + 1)) ] && hi=$((eph_lo - 1))
	elif [ "${eph_hi:-65535}" -lt 64000 ]; then
		lo=$((eph_hi + 1)) hi=65535
	fi
	for _ in $(seq 1 200); do
		p=$((lo + RANDOM % (hi - lo + 1)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# org_cluster_init NAME [CONF-LINES]: initdb only (for standbys and custom setups)
org_cluster_init() {
	local name=$1 conf=${2:-}
	local dir="$ORG_TMP/$name"
	mkdir -p "$dir"
	chown "$(org_owner_name)" "$dir" 2>/dev/null || true
	ORG_DATA[$name]="$dir/data"
	ORG_SOCK[$name]="$dir"
	org_as_owner "$ORG_BINDIR/initdb" -D "$dir/data" -U postgres -A trust \
		--no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; org_die "initdb failed for $name"; }
	org_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# --- test harness ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'odoo_retail_guard'
fsync = off
full_page_writes = off
max_connections = 120
lc_messages = 'C'
log_line_prefix = '%m [%p] %q%a '
$conf
EOF
}

org_cluster_start() {
	local name=$1 conf=${2:-}
	local dir attempt port
	if [ -z "${ORG_DATA[$name]:-}" ]; then
		org_cluster_init "$name" "$conf"
	fi
	dir="$ORG_TMP/$name"
	for attempt in 1 2 3 4 5; do
		port=$(org_free_port) || org_die "no free port"
		ORG_PORT[$name]=$port
		if org_as_owner "$ORG_BINDIR/pg_ctl" -D "${ORG_DATA[$name]}" -l "$dir/server.log" \
			-o "-p $port" -w -t 60 start >/dev/null 2>&1; then
			ORG_CLUSTERS+=("$name")
			return 0
		fi
		# the port may have been taken between the check and the start
		if ! grep -q "could not bind\|Address already in use" "$dir/server.log" 2>/dev/null; then
			break
		fi
	done
	tail -n 30 "$dir/server.log" >&2
	org_die "cluster $name did not start"
}

org_cluster_stop() {
	local name=$1
	[ -n "${ORG_DATA[$name]:-}" ] || return 0
	org_as_owner "$ORG_BINDIR/pg_ctl" -D "${ORG_DATA[$name]}" -m fast -w -t 60 stop >/dev/null 2>&1 ||
		org_as_owner "$ORG_BINDIR/pg_ctl" -D "${ORG_DATA[$name]}" -m immediate -w stop >/dev/null 2>&1 || true
}

org_harness_cleanup() {
	local rc=$? name
	for name in "${ORG_CLUSTERS[@]}"; do
		org_cluster_stop "$name"
	done
	if [ "$ORG_KEEP" = 1 ]; then
		org_log "kept $ORG_TMP"
	elif [ -n "$ORG_TMP" ] && [ -d "$ORG_TMP" ]; then
		rm -rf "$ORG_TMP"
	fi
	exit $rc
}

org_server_log() { echo "$ORG_TMP/$1/server.log"; }

# connection parameters for libpq tools
org_conn() { echo "host=${ORG_SOCK[$1]} port=${ORG_PORT[$1]} user=postgres"; }

org_psql() {
	local name=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -h "${ORG_SOCK[$name]}" -p "${ORG_PORT[$name]}" -U postgres "$@"
}

# org_pid_listens PID PORT: true when process PID holds a listening TCP
# socket on PORT.  Something answering on the port is not enough: on a shared
# machine another process may have taken the port between choice and bind.
org_pid_listens() {
	local pid=$1 hex inode
	hex=$(printf '%04X' "$2")
	for inode in $(awk -v p=":$hex" '$2 ~ (p "$") && $4 == "0A" {print $10}' /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
		find "/proc/$pid/fd" -lname "socket:\[$inode\]" 2>/dev/null | grep -q . && return 0
	done
	return 1
}

# org_wait_listener PID PORT DESC [SECS]: wait until PID listens on PORT;
# fails at once when PID has exited (its port was taken, or it crashed).
org_wait_listener() {
	local pid=$1 port=$2 desc=$3 secs=${4:-30}
	local deadline=$((SECONDS + secs))
	until org_pid_listens "$pid" "$port"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			org_log "$desc (pid $pid) exited before listening on port $port"
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			org_log "timed out after ${secs}s waiting for $desc to listen on port $port"
			return 1
		fi
		sleep 0.1
	done
}

org_wait_until() {
	local secs=$1 desc=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			org_log "timed out after ${secs}s waiting for: $desc"
			return 1
		fi
		sleep 0.1
	done
}
