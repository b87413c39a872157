#!/usr/bin/env bash
# The sampler background worker: visible, restarted by the postmaster after
# it is terminated or cancelled, never taking the server down.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
. "$ORG_SRC_DIR/regress/lib/sessions.sh"

org_harness_init
trap 'rc=$?; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT

C=sampler
org_cluster_start $C
V=odoo_retail_guard
org_psql $C -d postgres -c "CREATE EXTENSION odoo_retail_guard" >/dev/null

ok "the sampler starts with the server" org_wait_until 30 "sampler" org_true $C postgres \
	"SELECT pid IS NOT NULL AND starts = 1 FROM $V.sampler_status"
SPID=$(org_query $C postgres "SELECT pid FROM $V.sampler_status")
ok "it shows in pg_stat_activity under its own backend type" org_true $C postgres \
	"SELECT backend_type = 'odoo_retail_guard sampler' AND datid IS NULL FROM pg_stat_activity WHERE pid = $SPID"
ok "it samples locks on the default 100 ms interval" org_wait_until 30 "lock samples" org_true $C postgres \
	"SELECT lock_samples >= 20 AND replication_samples >= 2 FROM $V.sampler_status"

PM=$(head -1 "${ORG_DATA[$C]}/postmaster.pid")
org_session_open user $C postgres odoo-1001
USERPID=$(org_session_pid user)

org_as_owner kill -TERM "$SPID"
ok "terminated, it is started again by the postmaster" org_wait_until 30 "restart" org_true $C postgres \
	"SELECT pid IS NOT NULL AND pid <> $SPID AND starts = 2 FROM $V.sampler_status"
SPID2=$(org_query $C postgres "SELECT pid FROM $V.sampler_status")
ok "the restarted sampler samples again" org_wait_until 30 "samples" org_true $C postgres \
	"SELECT last_lock_sample > started_at FROM $V.sampler_status"

org_psql $C -d postgres -c "SELECT pg_cancel_backend($SPID2)" >/dev/null
ok "a cancel does not leave it down" org_wait_until 30 "after cancel" org_true $C postgres \
	"SELECT pid IS NOT NULL AND last_lock_sample > now() - interval '5 s' FROM $V.sampler_status"

org_psql $C -d postgres -c "ALTER SYSTEM SET odoo_retail_guard.sampler = off" -c "SELECT pg_reload_conf()" >/dev/null
sleep_mark=$(org_query $C postgres "SELECT lock_samples FROM $V.sampler_status")
ok "sampler = off stops sampling but keeps the process" org_wait_until 30 "off" org_true $C postgres \
	"SELECT NOT enabled AND pid IS NOT NULL FROM $V.sampler_status"
ok "no lock sample for more than ten intervals while off" org_wait_until 30 "quiet" org_true $C postgres \
	"SELECT now() - last_lock_sample > interval '1 s' FROM $V.sampler_status"
org_psql $C -d postgres -c "ALTER SYSTEM RESET odoo_retail_guard.sampler" -c "SELECT pg_reload_conf()" >/dev/null
ok "sampling resumes when switched back on" org_wait_until 30 "on" org_true $C postgres \
	"SELECT enabled AND lock_samples > $sleep_mark + 5 FROM $V.sampler_status"

is "$(head -1 "${ORG_DATA[$C]}/postmaster.pid")" "$PM" "the postmaster is the same process"
is "$(org_session_send user "SELECT 'alive=' || pg_backend_pid();"; org_wait_until 10 alive grep -q '^alive=' "${ORG_SESS_OUT[user]}"; sed -n 's/^alive=//p' "${ORG_SESS_OUT[user]}")" \
	"$USERPID" "a client session survived every sampler restart"
ok "no crash recovery happened" bash -c "! grep -q 'terminating any other active server processes\|all server processes terminated' '$(org_server_log $C)'"

org_sessions_close_all
org_done
