# regress/lib/sessions.sh: long-lived psql sessions and TAP-style checks for
# integration scripts.  Source it after cluster.sh.
#
#   org_session_open NAME CLUSTER DB [APPNAME [USER]]  psql in the background, fed by a fifo
#   org_session_send NAME SQL                    send SQL (returns at once)
#   org_session_pid NAME                         the session's backend pid
#   org_session_output NAME                      what the session printed so far
#   org_session_sync NAME                        wait until the session ran all SQL sent so far
#   org_session_close NAME                       end the session (kills psql: sync first to keep
#                                                a COMMIT that was sent last)
#   org_sessions_close_all                       end every session (EXIT trap)
#   org_query CLUSTER DB SQL                     one value, unaligned, no header
#   org_true CLUSTER DB SQL                      succeeds when SQL returns true
#   ok DESC CMD...  / is GOT WANT DESC           print "ok N - ..." or "not ok N - ..."
#   org_done                                     plan line; exit status 1 on failures
#
# A session's backend pid is read once at open, so tests can name blockers.

declare -A ORG_SESS_FD ORG_SESS_PID ORG_SESS_BPID ORG_SESS_OUT
ORG_TAP_N=0
ORG_TAP_FAILED=0

org_session_open() {
	local name=$1 cluster=$2 db=$3 app=${4:-psql} user=${5:-postgres}
	local fifo="$ORG_TMP/session-$name.fifo" out="$ORG_TMP/session-$name.out" fd
	rm -f "$fifo"
	mkfifo "$fifo"
	PGAPPNAME=$app psql -X -q -A -t -v ON_ERROR_STOP=0 -h "${ORG_SOCK[$cluster]}" \
		-p "${ORG_PORT[$cluster]}" -U "$user" -d "$db" <"$fifo" >"$out" 2>&1 &
	ORG_SESS_PID[$name]=$!
	exec {fd}>"$fifo"
	ORG_SESS_FD[$name]=$fd
	ORG_SESS_OUT[$name]=$out
	org_session_send "$name" "SELECT 'pid=' || pg_backend_pid();"
	org_wait_until 30 "session $name to start" grep -q '^pid=' "$out" || return 1
	ORG_SESS_BPID[$name]=$(sed -n 's/^pid=//p' "$out" | head -1)
}

org_session_send() {
	printf '%s\n' "$2" >&"${ORG_SESS_FD[$1]}"
}

org_session_pid() { echo "${ORG_SESS_BPID[$1]}"; }

ORG_SESS_SYNC=0
org_session_sync() {
	ORG_SESS_SYNC=$((ORG_SESS_SYNC + 1))
	org_session_send "$1" "SELECT 'sync=$ORG_SESS_SYNC';"
	org_wait_until 30 "session $1 to run what was sent" grep -qx "sync=$ORG_SESS_SYNC" "${ORG_SESS_OUT[$1]}"
}

org_session_output() { cat "${ORG_SESS_OUT[$1]}"; }

org_session_close() {
	local name=$1 fd=${ORG_SESS_FD[$1]:-}
	[ -n "$fd" ] || return 0
	exec {fd}>&-
	unset "ORG_SESS_FD[$name]"
	# psql ends at end of input; do not wait for a session stuck on a lock
	kill "${ORG_SESS_PID[$name]}" 2>/dev/null || true
	wait "${ORG_SESS_PID[$name]}" 2>/dev/null || true
}

org_sessions_close_all() {
	local name
	for name in "${!ORG_SESS_FD[@]}"; do
		org_session_close "$name"
	done
}

org_query() {
	org_psql "$1" -d "$2" -A -t -c "$3"
}

org_true() {
	[ "$(org_query "$1" "$2" "$3" 2>/dev/null)" = t ]
}

ok() {
	local desc=$1
	shift
	ORG_TAP_N=$((ORG_TAP_N + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $ORG_TAP_N - $desc"
	else
		echo "not ok $ORG_TAP_N - $desc"
		ORG_TAP_FAILED=$((ORG_TAP_FAILED + 1))
	fi
}

is() {
	local got=$1 want=$2 desc=$3
	ORG_TAP_N=$((ORG_TAP_N + 1))
	if [ "$got" = "$want" ]; then
		echo "ok $ORG_TAP_N - $desc"
	else
		echo "not ok $ORG_TAP_N - $desc"
		echo "#   got:  '$got'"
		echo "#   want: '$want'"
		ORG_TAP_FAILED=$((ORG_TAP_FAILED + 1))
	fi
}

org_done() {
	echo "1..$ORG_TAP_N"
	[ "$ORG_TAP_FAILED" -eq 0 ]
}
