#!/usr/bin/env bash
# orguard-agent's command-line contract and the configuration traps that
# would break a failover, checked on the real binary without a cluster
# (the nodes are closed loopback ports):
#   - --help at every level, without reading a configuration file;
#   - one exit status per cause: 2 configuration or usage error, 3 refused
#     by a guard, 4 a node it needs does not answer;
#   - comments are whole lines: a command with ' ; ' is taken whole, an
#     inline comment or an unbalanced quote in a command is a file:line error;
#   - a size key refuses "1m"; a duration key refuses a size;
#   - an impossible --target-time is refused, naming the value.
set -uo pipefail
T0=$SECONDS
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
W=$ORG_TMP

# run ARGS...: the agent's exit status in $rc, its output in $out
run() {
	out=$("$AGENT_BIN" "$@" 2>&1)
	rc=$?
}

# ---- --help at every level, with no configuration file ----
runbook_commands=$(sed -n '/^static const command_help commands/,/^};/s/^\t{"\([a-z-]*\)",.*/\1/p' \
	agent/runbooks/request.c)
tap_ok "the runbook commands' help table is found (backup, pitr, promote, ... $(echo $runbook_commands | wc -w) commands)" \
	bash -c "[ $(echo $runbook_commands | wc -w) -ge 10 ]"
help_ok() { # help_ok WORD ARGS...: exit 0, a usage naming WORD and the exit statuses
	local word=$1
	shift
	run "$@"
	[ "$rc" -eq 0 ] && grep -q "^Usage: orguard-agent .*$word" <<<"$out" &&
		grep -q "^Exit status" <<<"$out" || { printf '# exit %s: %s\n' "$rc" "$(head -3 <<<"$out")"; return 1; }
}
for cfg in "$W/missing.conf" "$W"; do # a path that does not exist, and one that cannot be read as a file
	tap_ok "--help with config $cfg" help_ok "COMMAND" -c "$cfg" --help
	for cmd in run check-config once; do
		tap_ok "$cmd --help with config $cfg" help_ok "$cmd" -c "$cfg" "$cmd" --help
	done
	tap_ok "runbook --help with config $cfg" help_ok "runbook COMMAND" -c "$cfg" runbook --help
	tap_ok "help runbook with config $cfg" help_ok "runbook COMMAND" -c "$cfg" help runbook
	tap_ok "--help runbook pitr with config $cfg" help_ok "runbook pitr" -c "$cfg" --help runbook pitr
	# every command the runbook CLI knows (its help table, in the request parser)
	for cmd in $runbook_commands; do
		tap_ok "runbook $cmd --help with config $cfg" help_ok "runbook $cmd" -c "$cfg" runbook "$cmd" --help
	done
done
tap_ok "runbook pitr --help documents the exit statuses" bash -c \
	"'$AGENT_BIN' runbook pitr --help | grep -q '^  4  a node it needs does not answer'"
run -c "$W/missing.conf" check-config
tap_ok "an unreadable configuration exits 2" eval '[ $rc -eq 2 ] && grep -q "missing.conf: cannot open" <<<"$out"'
run -c "$W/missing.conf" runbook backup
tap_ok "an unreadable configuration exits 2 for a runbook too" test $rc -eq 2
run --no-such-option
tap_ok "an unknown option exits 2" test $rc -eq 2
run runbook pitr --no-such-option -c "$W/missing.conf"
tap_ok "an unknown runbook option exits 2" test $rc -eq 2

# ---- a configuration whose nodes do not answer ----
dead1=$(org_free_port)
dead2=$(org_free_port)
fence="ssh src 'pg_ctlcluster 15 main stop -m immediate ; touch /var/lib/postgresql/fenced'"
conf() { # the base configuration, then the extra lines given
	cat <<-CONF
	[agent]
	spool_dir = $W/spool
	listen = off
	[node src]
	conninfo = host=127.0.0.1 port=$dead1 dbname=odoo user=orguard connect_timeout=5
	cluster = shop
	[node replica]
	conninfo = host=127.0.0.1 port=$dead2 dbname=odoo user=orguard connect_timeout=5
	cluster = shop
	[runbook pitr]
	node = src
	backup_dir = $W/backups
	archive_dir = $W/wal
	journal = $W/journal
	restore_port = $(org_free_port)
	[runbook promote]
	primary = src
	standbys = replica
	probes = 1
	journal = $W/journal
	# both commands of the fence must run: the value is taken whole
	fence_command = $fence
	CONF
	printf '%s\n' "$@"
}
conf >"$W/ok.conf"
run -c "$W/ok.conf" check-config
tap_ok "a fence_command with ' ; ' in quotes is valid (check-config)" test $rc -eq 0
run -c "$W/ok.conf" runbook check-config
tap_ok "a fence_command with ' ; ' in quotes is valid (runbook check-config)" test $rc -eq 0

fence_line=$(grep -n '^fence_command' "$W/ok.conf" | cut -d: -f1)
sed "s|^fence_command = .*|fence_command = ssh src 'pg_ctlcluster 15 main stop -m immediate ; touch /fenced|" \
	"$W/ok.conf" >"$W/quote.conf"
for sub in check-config "runbook check-config" "runbook promote --dry-run"; do
	# shellcheck disable=SC2086
	run -c "$W/quote.conf" $sub
	tap_ok "$sub: an unbalanced quote in fence_command exits 2 at file:line" eval \
		'[ $rc -eq 2 ] && grep -q "^$W/quote.conf:$fence_line: fence_command: unbalanced single quote" <<<"$out"'
done
conf "traffic_command = /usr/local/bin/repoint \"store 42" >"$W/dquote.conf"
run -c "$W/dquote.conf" runbook check-config
tap_ok "an unbalanced double quote in traffic_command exits 2" eval \
	'[ $rc -eq 2 ] && grep -q "quote.conf:[0-9]*: traffic_command: unbalanced double quote" <<<"$out"'
sed 's|^probes = 1$|probes = 1   # one look is enough here|' "$W/ok.conf" >"$W/inline.conf"
probes_line=$(grep -n '^probes' "$W/inline.conf" | cut -d: -f1)
run -c "$W/inline.conf" runbook check-config
tap_ok "an inline comment is a file:line error, not a silently shorter value" eval \
	'[ $rc -eq 2 ] && grep -q "^$W/inline.conf:$probes_line: probes: .#. or .;. after a blank: comments go on their own line" <<<"$out"'

# ---- units ----
conf "max_lag_bytes = 1m" >"$W/size.conf"
lag_line=$(grep -n '^max_lag_bytes' "$W/size.conf" | cut -d: -f1)
run -c "$W/size.conf" runbook check-config
tap_ok "max_lag_bytes = 1m exits 2 at its line, with a hint" eval \
	'[ $rc -eq 2 ] && grep -q "^$W/size.conf:$lag_line: \[runbook promote\]: max_lag_bytes: \"1m\" is not a size .*write the unit in full" <<<"$out"'
conf "catchup_timeout = 30MB" >"$W/dur.conf"
run -c "$W/dur.conf" runbook check-config
tap_ok "a duration key refuses a size" eval \
	'[ $rc -eq 2 ] && grep -q "catchup_timeout: \"30MB\" is not a positive duration (that is a size" <<<"$out"'
printf '[agent]\nlisten = off\n[node a]\nconninfo = host=127.0.0.1 port=%s\n[rule replication_lag_bytes]\nthreshold = 1m\nclear = 0\n' \
	"$dead1" >"$W/rule.conf"
run -c "$W/rule.conf" check-config
tap_ok "a size threshold of 1m exits 2 at file:line" eval \
	'[ $rc -eq 2 ] && grep -q "^$W/rule.conf:6: threshold: \"1m\" is not a size" <<<"$out"'

# ---- PITR target time ----
run -c "$W/ok.conf" runbook pitr --target-time "2025-02-29 10:00:00+00" --restore-dir "$W/restore"
tap_ok "--target-time 2025-02-29 exits 2, naming the value" eval \
	'[ $rc -eq 2 ] && grep -q "target-time: \"2025-02-29 10:00:00+00\" is not a date: 2025-02 has no day 29" <<<"$out"'
tap_ok "... and nothing was restored or journaled" bash -c "[ ! -e '$W/restore' ] && [ ! -s '$W/journal' ]"
run -c "$W/ok.conf" runbook pitr --target-time "2026-06-30 24:00:00+00" --dry-run
tap_ok "--target-time 24:00:00 exits 2" eval '[ $rc -eq 2 ] && grep -q "is not a time of day" <<<"$out"'

# ---- exit statuses of a refusal, an unreachable node, a failure to read ----
run -c "$W/ok.conf" runbook backup
tap_ok "backup with its node down exits 4 (unreachable)" eval \
	'[ $rc -eq 4 ] && grep -q "node_reachable: src does not answer" <<<"$out"'
run -c "$W/ok.conf" runbook promote --dry-run
tap_ok "promote with no standby answering exits 4 (unreachable)" eval \
	'[ $rc -eq 4 ] && grep -q "node_reachable: no standby answers" <<<"$out"'
run -c "$W/ok.conf" once
tap_ok "once with a node down exits 4" test $rc -eq 4
# another runbook holds the cluster: a guard refuses (the lock is a real flock held here)
exec 9>"$W/journal.shop.lock"
flock -n 9 || org_die "cannot take the cluster lock"
run -c "$W/ok.conf" runbook backup
tap_ok "backup while another run holds the cluster exits 3 (refused by the lock guard)" eval \
	'[ $rc -eq 3 ] && grep -q "another runbook is running on cluster shop" <<<"$out"'
exec 9>&-
tap_ok "the refusal is journaled as refused, nothing else" bash -c \
	"tail -1 '$W/journal' | grep -q '\"result\":\"refused\",\"detail\":\"lock: '"

echo "# $((SECONDS - T0)) s"
tap_done
