#!/usr/bin/env bash
# agent_hostile_owner.sh: the Odoo database's owner (a plain role that owns
# the database and its public schema) cannot make the agent run its code.
# The owner plants look-alikes of the built-ins the agent calls:
# public.replace(varchar, text, text) (which beats the built-in for Odoo's
# varchar ir_model.model whatever the search_path), functions and
# operators with the built-ins' own signatures, and puts public first with
# ALTER DATABASE ... SET search_path.  Each look-alike writes a row into
# public.pwned when it runs.  The collector (as a pg_monitor role and as a
# superuser), the backup runbook and the connection throttle (as a
# superuser) then poll and act on the database: public.pwned stays empty.
# An ir_model or ir_cron turned into a view that calls the owner's
# function is not read, and a snapshot() or throttle() the owner created
# where the extension is not installed is not called.
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"
# shellcheck source=../lib/runbook_test.sh
. "$ORG_SRC_DIR/regress/lib/runbook_test.sh"

org_harness_init
rb_watchdog "${ORG_RB_TIMEOUT:-110}"
rb_cleanup() {
	local rc=$?
	rb_kill_jobs
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir hostile)
[ -n "$W" ] && [ -d "$W" ] || org_die "no scratch directory"
org_cluster_start n1
org_psql n1 -d postgres >/dev/null <<'SQL'
CREATE ROLE odoo LOGIN;
CREATE ROLE watcher LOGIN IN ROLE pg_monitor;
CREATE DATABASE odoo OWNER odoo;
CREATE DATABASE shop2 OWNER odoo;
SQL
org_psql n1 -d odoo >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
GRANT odoo_retail_guard_reader TO watcher;
SQL

# everything below is done by the owner, without any superuser right
plant() { # plant DB: the owner's traps in DB
	psql -X -q -v ON_ERROR_STOP=1 -h "${ORG_SOCK[n1]}" -p "${ORG_PORT[n1]}" -U odoo -d "$1" <<'SQL'
CREATE TABLE public.pwned (who name, what text, app text, backend text, at timestamptz DEFAULT pg_catalog.now());
GRANT INSERT ON public.pwned TO PUBLIC;
CREATE FUNCTION public.pwn(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.pwned (who, what, app, backend)
	SELECT current_user, what, a.application_name, a.backend_type FROM pg_catalog.pg_stat_activity a
	WHERE a.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid();
	RETURN true;
END $$;
CREATE FUNCTION public.replace(varchar, text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('replace(varchar)'); RETURN pg_catalog.replace($1::text, $2, $3); END $$;
CREATE FUNCTION public.replace(text, text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('replace(text)'); RETURN pg_catalog.replace($1, $2, $3); END $$;
CREATE FUNCTION public.pg_is_in_recovery() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('pg_is_in_recovery'); RETURN pg_catalog.pg_is_in_recovery(); END $$;
CREATE FUNCTION public.current_setting(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('current_setting'); RETURN pg_catalog.current_setting($1); END $$;
CREATE FUNCTION public.current_setting(text, boolean) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('current_setting(missing_ok)'); RETURN pg_catalog.current_setting($1, $2); END $$;
CREATE FUNCTION public.current_database() RETURNS name LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('current_database'); RETURN pg_catalog.current_database(); END $$;
CREATE FUNCTION public.to_regclass(text) RETURNS regclass LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('to_regclass'); RETURN pg_catalog.to_regclass($1); END $$;
CREATE FUNCTION public.to_regprocedure(text) RETURNS regprocedure LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('to_regprocedure'); RETURN pg_catalog.to_regprocedure($1); END $$;
CREATE FUNCTION public.to_regproc(text) RETURNS regproc LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('to_regproc'); RETURN pg_catalog.to_regproc($1); END $$;
CREATE FUNCTION public.string_to_array(text, text) RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('string_to_array'); RETURN pg_catalog.string_to_array($1, $2); END $$;
CREATE FUNCTION public.evil_texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('= (text)'); RETURN pg_catalog.texteq($1, $2); END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.evil_texteq);
CREATE FUNCTION public.evil_nameeq(name, name) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('= (name)'); RETURN pg_catalog.nameeq($1, $2); END $$;
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.evil_nameeq);
CREATE FUNCTION public.evil_textcat(text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('||'); RETURN pg_catalog.textcat($1, $2); END $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.evil_textcat);
-- Odoo's own table, readable by the agent's monitoring role
CREATE TABLE public.ir_model (id serial PRIMARY KEY, model varchar NOT NULL);
INSERT INTO public.ir_model (model) VALUES ('sale.order'), ('stock.quant');
GRANT SELECT ON public.ir_model TO watcher;
-- Odoo's scheduled jobs (16.0 columns: odoo/addons/base/models/ir_cron.py, ir_actions.py) and
-- look-alikes of what the agent calls to read them
CREATE TABLE public.ir_act_server (id serial PRIMARY KEY, name jsonb, model_name varchar, state varchar, code text);
CREATE TABLE public.ir_cron (id serial PRIMARY KEY, ir_actions_server_id int, cron_name jsonb);
INSERT INTO public.ir_act_server (name, model_name, state, code) VALUES
	('{"en_US": "Base: Auto-vacuum internal data"}', 'ir.autovacuum', 'code', 'model._run_vacuum_cleaner()');
INSERT INTO public.ir_cron (ir_actions_server_id, cron_name) VALUES (1, '{"en_US": "Base: Auto-vacuum internal data"}');
GRANT SELECT ON public.ir_cron, public.ir_act_server TO watcher;
CREATE FUNCTION public.to_jsonb(varchar) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('to_jsonb'); RETURN pg_catalog.to_jsonb($1::text); END $$;
CREATE FUNCTION public.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('jsonb_typeof'); RETURN pg_catalog.jsonb_typeof($1); END $$;
CREATE FUNCTION public.strpos(text, text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('strpos'); RETURN pg_catalog.strpos($1, $2); END $$;
CREATE FUNCTION public.left(text, int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('left'); RETURN pg_catalog.left($1, $2); END $$;
CREATE FUNCTION public.evil_jsonb_text(jsonb, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('->>'); RETURN pg_catalog.jsonb_object_field_text($1, $2); END $$;
CREATE OPERATOR public.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.evil_jsonb_text);
SQL
	# a per-database default the owner may set: its look-alikes come first
	psql -X -q -v ON_ERROR_STOP=1 -h "${ORG_SOCK[n1]}" -p "${ORG_PORT[n1]}" -U odoo -d "$1" \
		-c "ALTER DATABASE $1 SET search_path = public, pg_catalog"
}
plant odoo || org_die "the owner could not plant its functions"
plant shop2 || org_die "the owner could not plant its functions in shop2"
# shop2 has no extension, but the owner made look-alikes of its snapshot(),
# throttle() and destructive_events
psql -X -q -v ON_ERROR_STOP=1 -h "${ORG_SOCK[n1]}" -p "${ORG_PORT[n1]}" -U odoo -d shop2 >/dev/null <<'SQL' ||
CREATE SCHEMA odoo_retail_guard;
CREATE FUNCTION odoo_retail_guard.snapshot(bigint) RETURNS bytea LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('snapshot'); RETURN '\x'::bytea; END $$;
CREATE FUNCTION odoo_retail_guard.snapshot(bigint, bigint, boolean) RETURNS bytea LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('snapshot without statements'); RETURN '\x'::bytea; END $$;
CREATE FUNCTION odoo_retail_guard.throttle(name text, max_connections int, ttl interval, reason text,
	role text, database text, worker_class text, drain_idle_in_transaction interval) RETURNS void
LANGUAGE plpgsql AS $$ BEGIN PERFORM public.pwn('throttle'); END $$;
CREATE VIEW odoo_retail_guard.destructive_events AS
	SELECT 1::bigint AS event_id, '0/1000000'::pg_lsn AS lsn_before WHERE public.pwn('destructive_events');
GRANT USAGE ON SCHEMA odoo_retail_guard TO PUBLIC;
GRANT SELECT ON odoo_retail_guard.destructive_events TO PUBLIC;
SQL
	org_die "the owner could not create its snapshot()"

# the test's own look at the tables, with the built-ins only.  Only client
# sessions count: the extension's background worker is not the agent.
q() { PGOPTIONS='-c search_path=pg_catalog' org_psql n1 -d "$1" -Atc "$2"; }
pwned() {
	q "$1" "SELECT pg_catalog.string_agg(DISTINCT what || ' as ' || who || ' (' || app || ')', ', ')
		FROM public.pwned WHERE backend = 'client backend'"
}
not() { ! "$@"; }
nothing_ran() { # nothing_ran DB: no look-alike ran there (else says which)
	local p
	p=$(pwned "$1")
	[ -z "$p" ] && return 0
	echo "# the owner's code ran in $1: $p"
	return 1
}

# the traps work: Odoo's own session (search_path as the owner set it)
# runs the owner's replace() for the varchar column
PGOPTIONS='-c search_path=public,pg_catalog' org_psql n1 -d odoo -Atc \
	"SELECT replace(model, '.', '_') FROM ir_model" >/dev/null
check "the traps work: a session on the owner's search_path runs its replace()" \
	[ "$(q odoo "SELECT count(*) FROM public.pwned WHERE what = 'replace(varchar)' AND backend = 'client backend'")" -ge 1 ]
q odoo "DELETE FROM public.pwned" >/dev/null
check "and the table is empty again" nothing_ran odoo

write_conf() { # write_conf USER
	cat >"$W/agent.conf" <<EOF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $W/spool
listen = off
log_level = debug

[node store1]
conninfo = host=${ORG_SOCK[n1]} port=${ORG_PORT[n1]} user=$1 dbname=odoo
cluster = shop

[node store2]
conninfo = host=${ORG_SOCK[n1]} port=${ORG_PORT[n1]} user=$1 dbname=shop2
cluster = shop2

[rule connection_usage]
threshold = 1%
clear = 0.5%
for = 0
runbook = throttle

[runbook throttle]
classes = cron
max_connections = 2
ttl = 30s
release_after = 1s
journal = $W/journal

[runbook pitr]
node = store1
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal

[runbook pitr2]
kind = pitr
node = store2
backup_dir = $W/backups
archive_dir = $W/archive
journal = $W/journal
EOF
}

# ---- the collector, as a monitoring role and as a superuser ----
for user in watcher postgres; do
	write_conf $user
	"$AGENT" -c "$W/agent.conf" once --format json >"$W/once-$user.json" 2>"$W/once-$user.err"
	check "collector as $user: store1 polled with its snapshot" \
		grep -q '"node": *"store1"' "$W/once-$user.json"
	check "collector as $user: the extension's snapshot was read" \
		jq -e '.[] | select(.node == "store1") | .snapshot == true' "$W/once-$user.json" >/dev/null
	check "collector as $user: none of the owner's functions ran in odoo" nothing_ran odoo
	check "collector as $user: Odoo's plain ir_model is not refused" \
		not grep -q "Odoo models not read" "$W/once-$user.err"
	check "collector as $user: nor Odoo's plain ir_cron" \
		not grep -q "Odoo scheduled jobs not read" "$W/once-$user.err"
	check "collector as $user: the owner's snapshot() in shop2 was not called" nothing_ran shop2
	check "collector as $user: and the agent says why" \
		grep -q "is not owned by a superuser, so it is not the extension's: not called" "$W/once-$user.json"
	check "collector as $user: the node is polled all the same" \
		jq -e '.[] | select(.node == "store2") | .reachable' "$W/once-$user.json" >/dev/null
done

# ---- the runbooks, as a superuser ----
"$AGENT" -c "$W/agent.conf" runbook backup pitr >"$W/backup.out" 2>&1
check "backup runbook: connected and refused (archive_mode is off)" \
	grep -q '"step":"runbook","target":"store1","result":"refused".*archiving\|archive_mode' "$W/journal"
check "backup runbook: none of the owner's functions ran" nothing_ran odoo

"$AGENT" -c "$W/agent.conf" runbook pitr pitr2 --before-event 1 --dry-run >"$W/pitr.out" 2>&1
check "pitr --before-event: the owner's destructive_events is not the extension's" \
	grep -q "odoo_retail_guard.destructive_events is not available on the source (or not the extension's)" "$W/pitr.out"
check "pitr --before-event: and is not read" nothing_ran shop2

"$AGENT" -c "$W/agent.conf" run >"$W/agent.log" 2>&1 &
agent_pid=$!
check "throttle: the daemon engages it (its guard queries ran)" \
	org_wait_until 40 "throttle engaged" grep -q '"runbook":"throttle","step":"engage","target":"store1","result":"ok"' "$W/journal"
check "throttle: refused where the extension's functions are the owner's look-alikes" \
	org_wait_until 40 "throttle refused" grep -q '"runbook":"throttle","step":"runbook","target":"store2","result":"refused","detail":"extension: odoo_retail_guard.throttle() here is not owned by a superuser' "$W/journal"
check "collector: Odoo's plain ir_model is read" \
	grep -q "node store1: 2 Odoo models mapped from ir_model" "$W/agent.log"
check "collector: Odoo's plain ir_cron is read" \
	grep -q "node store1: 1 Odoo scheduled jobs read from ir_cron" "$W/agent.log"
kill -TERM "$agent_pid" 2>/dev/null
wait "$agent_pid" 2>/dev/null
check "throttle: none of the owner's functions ran" nothing_ran odoo
check "throttle: nor in shop2" nothing_ran shop2
q odoo "SELECT odoo_retail_guard.release(name) FROM odoo_retail_guard.throttle_rules" >/dev/null 2>&1

# ---- ir_model replaced by a view that calls the owner's function ----
psql -X -q -v ON_ERROR_STOP=1 -h "${ORG_SOCK[n1]}" -p "${ORG_PORT[n1]}" -U odoo -d odoo >/dev/null <<'SQL' ||
ALTER TABLE public.ir_model RENAME TO ir_model_real;
CREATE VIEW public.ir_model AS SELECT id, model FROM public.ir_model_real WHERE public.pwn('view');
GRANT SELECT ON public.ir_model TO watcher;
SQL
	org_die "the owner could not replace ir_model"
write_conf watcher
"$AGENT" -c "$W/agent.conf" once --format json >"$W/once-view.json" 2>"$W/once-view.err"
check "ir_model as a view: the snapshot is still read" \
	jq -e '.[] | select(.node == "store1") | .snapshot == true' "$W/once-view.json" >/dev/null
check "ir_model as a view: it is not read" nothing_ran odoo
check "ir_model as a view: the agent says so" \
	grep -q "node store1: Odoo models not read from ir_model: .*not a plain table" "$W/once-view.err"

# ---- ir_cron replaced by a view that calls the owner's function ----
psql -X -q -v ON_ERROR_STOP=1 -h "${ORG_SOCK[n1]}" -p "${ORG_PORT[n1]}" -U odoo -d odoo >/dev/null <<'SQL' ||
ALTER TABLE public.ir_cron RENAME TO ir_cron_real;
CREATE VIEW public.ir_cron AS SELECT id, ir_actions_server_id, cron_name FROM public.ir_cron_real
	WHERE public.pwn('cron view');
GRANT SELECT ON public.ir_cron TO watcher;
SQL
	org_die "the owner could not replace ir_cron"
"$AGENT" -c "$W/agent.conf" once --format json >"$W/once-cron-view.json" 2>"$W/once-cron-view.err"
check "ir_cron as a view: the snapshot is still read" \
	jq -e '.[] | select(.node == "store1") | .snapshot == true' "$W/once-cron-view.json" >/dev/null
check "ir_cron as a view: it is not read" nothing_ran odoo
check "ir_cron as a view: the agent says so" \
	grep -q "node store1: Odoo scheduled jobs not read from ir_cron: .*not a plain table" "$W/once-cron-view.err"

echo "1..$n"
[ "$fails" -eq 0 ]
