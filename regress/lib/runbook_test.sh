# regress/lib/runbook_test.sh: the frame shared by the runbooks'
# integration scripts.  Source it after cluster.sh.
#
#   ok DESC, not_ok DESC     one TAP line, counted in $n and $fails
#   check DESC CMD...        ok when CMD succeeds, not ok otherwise
#   rb_watchdog SECS         bounds the whole script: after SECS (times 3
#                            unless ORG_RB_TIMEOUT is set) it prints a
#                            "not ok" line and ends the script and its
#                            foreground command, so that the exit trap still
#                            stops every cluster ($watchdog is its pid)
#   rb_kill_jobs             kills the background jobs not reaped yet (the
#                            watchdog, agents, writers) and their children,
#                            and reaps them so the shell prints no job notice
#   AGENT                    the agent binary, built when out of date

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }
check() { # check DESC CMD...
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

rb_watchdog() {
	local limit=$1 script
	# a script's budget is its time on a quiet machine; a shared 2-core box
	# runs it up to three times slower, and the watchdog is for hangs only
	[ -n "${ORG_RB_TIMEOUT:-}" ] || limit=$((limit * 3))
	script=$(basename "$0")
	( sleep "$limit" >/dev/null 2>&1
	  echo "not ok - $script: timed out after $limit s"
	  kill -TERM $$
	  for pid in $(ps -o pid= --ppid $$); do [ "$pid" != "$BASHPID" ] && kill -TERM "$pid"; done ) &
	watchdog=$!
}

rb_kill_jobs() {
	local pid kids
	for pid in $(jobs -p); do
		# the job before its children: a watchdog whose sleep died first
		# would still print its "not ok" line
		kids=$(ps -o pid= --ppid "$pid")
		kill -KILL "$pid" $kids 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
	done
}

AGENT="$ORG_SRC_DIR/agent/orguard-agent"
make -s -C "$ORG_SRC_DIR" agent >/dev/null || org_die "cannot build the agent"
