# regress/lib/replica.sh: a streaming standby of a harness cluster, on
# loopback.  Source it after cluster.sh.
#
#   org_standby_start NAME PRIMARY [CONF]
#       pg_basebackup of PRIMARY (a running harness cluster) into a new
#       cluster NAME, streaming from PRIMARY's loopback port with
#       application_name=NAME and a physical slot named NAME; started as a
#       hot standby and stopped on exit like every harness cluster.
#   org_standby_wait_streaming NAME PRIMARY [SECS]
#       wait until PRIMARY sees NAME streaming

org_standby_start() {
	local name=$1 primary=$2 conf=${3:-}
	local dir="$ORG_TMP/$name"
	mkdir -p "$dir"
	chown "$(org_owner_name)" "$dir" 2>/dev/null || true
	org_psql "$primary" -d postgres -c \
		"SELECT pg_create_physical_replication_slot('$name', true)" >/dev/null ||
		org_die "could not create slot $name on $primary"
	org_as_owner "$ORG_BINDIR/pg_basebackup" -h "${ORG_SOCK[$primary]}" -p "${ORG_PORT[$primary]}" \
		-U postgres -D "$dir/data" -X stream --no-sync --checkpoint=fast >"$dir/basebackup.log" 2>&1 ||
		{ cat "$dir/basebackup.log" >&2; org_die "pg_basebackup failed for $name"; }
	org_as_owner touch "$dir/data/standby.signal"
	org_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF2

# --- test harness: standby of $primary ---
unix_socket_directories = '$dir'
primary_conninfo = 'host=127.0.0.1 port=${ORG_PORT[$primary]} user=postgres application_name=$name'
primary_slot_name = '$name'
hot_standby = on
$conf
EOF2
	ORG_DATA[$name]="$dir/data"
	ORG_SOCK[$name]="$dir"
	org_cluster_start "$name"
}

org_standby_wait_streaming() {
	local name=$1 primary=$2 secs=${3:-60}
	org_wait_until "$secs" "$name streaming from $primary" \
		test "$(org_psql "$primary" -d postgres -A -t -c \
			"SELECT count(*) FROM pg_stat_replication WHERE application_name = '$name' AND state = 'streaming'")" = 1
}
