#!/usr/bin/env bash
# agent_conninfo_secrets.sh: a password inside a node's conninfo, in any
# form libpq accepts (key=value, a URI's user:password@, ?password=, a
# percent-encoded key), is refused by check-config with file:line and
# without being echoed, so it never reaches hooks, logs or a standby's
# primary_conninfo; the daemon and the runbooks refuse to start with it.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"

conf() { # conf CONNINFO: a configuration whose node has that conninfo (line 5)
	cat >"$ORG_TMP/agent.conf" <<EOF2
[agent]
spool_dir = $ORG_TMP/spool

[node store1]
conninfo = $1
cluster = shop

[node store2]
conninfo = host=127.0.0.1 dbname=odoo user=orguard

[runbook promote]
primary = store1
standbys = store2
fence_command = none
journal = $ORG_TMP/journal
EOF2
}

refused() { # refused CONNINFO: check-config, run and the runbooks refuse it
	local out="$ORG_TMP/out" rc
	conf "$1"
	"$AGENT_BIN" --config "$ORG_TMP/agent.conf" check-config >"$out" 2>&1
	rc=$?
	[ "$rc" = 2 ] || { echo "# check-config exit $rc"; return 1; }
	grep -q "^$ORG_TMP/agent.conf:5: conninfo: must not contain a password" "$out" ||
		{ sed 's/^/# /' "$out"; return 1; }
	! grep -q "s3cr3tpw\|s3cr3%74pw" "$out" || { echo "# the secret was echoed"; return 1; }
	"$AGENT_BIN" --config "$ORG_TMP/agent.conf" runbook promote --dry-run >"$out" 2>&1
	rc=$?
	[ "$rc" = 2 ] || { echo "# runbook promote exit $rc"; return 1; }
	! grep -q "s3cr3tpw" "$out" || { echo "# the secret was echoed"; return 1; }
	timeout 20 "$AGENT_BIN" --config "$ORG_TMP/agent.conf" run >"$out" 2>&1
	rc=$?
	[ "$rc" = 2 ] || { echo "# run exit $rc"; return 1; }
	! grep -q "s3cr3tpw" "$out" || { echo "# the secret was echoed"; return 1; }
	[ ! -e "$ORG_TMP/journal" ] || { echo "# a runbook journaled"; return 1; }
}

tap_ok "key=value password" refused "host=127.0.0.1 dbname=odoo user=orguard password=s3cr3tpw"
tap_ok "URI user:password@" refused "postgresql://orguard:s3cr3tpw@127.0.0.1:5432/odoo"
tap_ok "URI user:password@, percent-encoded" refused "postgres://orguard:s3cr3%74pw@127.0.0.1/odoo"
tap_ok "URI ?password=" refused "postgresql://orguard@127.0.0.1/odoo?password=s3cr3tpw"
tap_ok "URI percent-encoded key" refused "postgresql://orguard@127.0.0.1/odoo?pass%77ord=s3cr3tpw"

conf "postgresql://orguard@127.0.0.1:5432/odoo?application_name=password_free"
tap_ok "a URI without a password (the word in a value) passes" \
	"$AGENT_BIN" --config "$ORG_TMP/agent.conf" check-config
conf "host=127.0.0.1 dbname=odoo user=orguard s3cr3tpw"
"$AGENT_BIN" --config "$ORG_TMP/agent.conf" check-config >"$ORG_TMP/out" 2>&1
tap_ok "a string libpq cannot parse is an error at its line, not echoed" bash -c \
	"grep -q '^$ORG_TMP/agent.conf:5: conninfo: not a libpq connection string' '$ORG_TMP/out' &&
	! grep -q s3cr3tpw '$ORG_TMP/out'"
tap_done
