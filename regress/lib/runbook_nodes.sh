# regress/lib/runbook_nodes.sh: nodes for the runbooks' integration tests
# and benchmark: WAL archiving, standbys that can be promoted and
# repointed, clusters a runbook started.  Source it after cluster.sh and
# org_harness_init (it only defines functions and uses cluster.sh's ORG_*
# state); every cluster it starts or adopts is stopped on exit.
#
#   org_archive_conf DIR               postgresql.conf lines: archive WAL into DIR
#   org_scratch_dir NAME               a directory under the harness's temp root
#                                      that the cluster owner can write
#   org_standby_create NAME PRIMARY [CONF]
#                                      pg_basebackup -R -X stream -c fast from
#                                      PRIMARY, application_name NAME, started as
#                                      a standby.  Unlike replica.sh's
#                                      org_standby_start it uses no replication
#                                      slot, so that a promoted standby can be
#                                      followed by the others.
#   org_standby_streaming PRIMARY NAME true when PRIMARY streams to NAME
#   org_adopt_cluster NAME DATADIR SOCKDIR PORT
#                                      let the harness stop a cluster it did
#                                      not start (e.g. one a runbook restored)

org_archive_conf() {
	local dir=$1
	cat <<EOF
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $dir/%f && cp %p $dir/%f'
EOF
}

org_scratch_dir() {
	local dir="$ORG_TMP/$1"
	mkdir -p "$dir"
	chown "$(org_owner_name)" "$dir" 2>/dev/null || true
	echo "$dir"
}

org_standby_create() {
	local name=$1 primary=$2 conf=${3:-}
	local dir="$ORG_TMP/$name"
	mkdir -p "$dir"
	chown "$(org_owner_name)" "$dir" 2>/dev/null || true
	org_as_owner "$ORG_BINDIR/pg_basebackup" \
		-d "host=${ORG_SOCK[$primary]} port=${ORG_PORT[$primary]} user=postgres application_name=$name" \
		-D "$dir/data" -R -X stream -c fast --no-sync >"$dir/basebackup.log" 2>&1 ||
		{ cat "$dir/basebackup.log" >&2; org_die "pg_basebackup failed for $name"; }
	# the copied postgresql.conf still names the primary's socket directory
	org_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# --- test harness: standby $name of $primary ---
unix_socket_directories = '$dir'
$conf
EOF
	ORG_DATA[$name]="$dir/data"
	ORG_SOCK[$name]="$dir"
	org_cluster_start "$name"
}

org_standby_streaming() {
	local primary=$1 name=$2
	[ "$(org_psql "$primary" -d postgres -Atc \
		"SELECT count(*) FROM pg_stat_replication WHERE application_name = '$name' AND state = 'streaming'")" = 1 ]
}

org_adopt_cluster() {
	local name=$1 data=$2 sock=$3 port=$4
	ORG_DATA[$name]=$data
	ORG_SOCK[$name]=$sock
	ORG_PORT[$name]=$port
	ORG_CLUSTERS+=("$name")
}
