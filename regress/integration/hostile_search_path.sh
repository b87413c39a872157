#!/usr/bin/env bash
# Functions and operators planted by a hostile database owner are never
# called by the extension's own queries: neither by the vacuum scan worker
# (which runs as the bootstrap superuser with the database's settings, here
# ALTER DATABASE ... SET search_path = evil, ...) nor by the horizon query
# run for a reader whose search_path puts the planted schema first.
# Also: a prepared transaction's long Cyrillic GID is cut at a character
# boundary in vacuum_horizon, never in the middle of a character.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
. "$ORG_SRC_DIR/regress/lib/sessions.sh"

org_harness_init
trap 'rc=$?; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT

C=hostile
V=odoo_retail_guard
org_cluster_start $C "odoo_retail_guard.vacuum_sample_interval = 200
max_prepared_transactions = 2"
LOG=$(org_server_log $C)
org_psql $C -d postgres >/dev/null <<'SQL'
CREATE ROLE odoo_owner LOGIN;
CREATE DATABASE odoo OWNER odoo_owner;
SQL
org_psql $C -d odoo -c "CREATE EXTENSION odoo_retail_guard" >/dev/null

# the owner plants look-alikes of what the extension's queries call
org_psql $C -d odoo -U odoo_owner >/dev/null <<'SQL'
CREATE SCHEMA evil;
CREATE TABLE public.stock_move (id serial PRIMARY KEY, qty numeric);
INSERT INTO public.stock_move (qty) SELECT 1 FROM generate_series(1, 100);
CREATE FUNCTION evil.age(xid) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
	RAISE WARNING 'PLANTED age() called as %', current_user;
	RETURN pg_catalog.age($1);
END $$;
CREATE FUNCTION evil.mxid_age(xid) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
	RAISE WARNING 'PLANTED mxid_age() called as %', current_user;
	RETURN pg_catalog.mxid_age($1);
END $$;
CREATE FUNCTION evil.current_setting(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RAISE WARNING 'PLANTED current_setting() called as %', current_user;
	RETURN pg_catalog.current_setting($1);
END $$;
CREATE FUNCTION evil.pg_stat_get_live_tuples(oid) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	RAISE WARNING 'PLANTED pg_stat_get_live_tuples() called as %', current_user;
	RETURN pg_catalog.pg_stat_get_live_tuples($1);
END $$;
CREATE FUNCTION evil.int4ne(integer, integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	RAISE WARNING 'PLANTED <> called as %', current_user;
	RETURN pg_catalog.int4ne($1, $2);
END $$;
CREATE OPERATOR evil.<> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = evil.int4ne);
ALTER DATABASE odoo SET search_path = evil, pg_catalog, public;
SQL

# the scan worker starts after the setting: its scan of odoo is a new one
T0=$(org_query $C postgres "SELECT now()")
# (checks run with a safe search_path of their own: the database's is hostile)
SAFE="SET search_path = pg_catalog;"
ok "the vacuum scan of the hostile owner's database completes" org_wait_until 60 "scan of odoo" org_true $C odoo \
	"$SAFE SELECT count(*) = 1 FROM $V.autovacuum_lag l JOIN pg_database d ON d.oid = l.dbid
	 WHERE d.datname = 'odoo' AND l.relation = 'stock_move' AND l.scanned_at > '$T0'"
ok "the scan worker called no planted function" bash -c "! grep -q PLANTED '$LOG'"

# a reader whose search_path starts with the planted schema
org_psql $C -d odoo >/dev/null <<'SQL'
CREATE ROLE guard_reader LOGIN IN ROLE odoo_retail_guard_reader;
SQL
ok "vacuum_horizon for a reader with the planted schema first in search_path" org_true $C odoo \
	"SET search_path = evil, pg_catalog; SET ROLE guard_reader;
	 SELECT count(*) >= 0 FROM odoo_retail_guard.vacuum_horizon"
ok "the horizon query called no planted function or operator" bash -c "! grep -q 'PLANTED.*called as guard_reader' '$LOG'"
ok "the snapshot (which runs the horizon query too) called none either" bash -c \
	"psql -X -A -t -h '${ORG_SOCK[$C]}' -p '${ORG_PORT[$C]}' -U postgres -d odoo \
	 -c 'SELECT octet_length(odoo_retail_guard.snapshot(0)) > 0' | grep -q t && ! grep -q PLANTED '$LOG'"

# the plants work: unqualified calls under that search_path do reach them
org_psql $C -d odoo -c "SELECT age('3'::xid), 1 <> 2" >/dev/null 2>&1
ok "control: an unqualified call under the planted search_path reaches the plant" grep -q PLANTED "$LOG"

# a GID of 40 Cyrillic letters (80 bytes) in a 64-byte field: cut after 31
GID=$(printf 'б%.0s' $(seq 1 40))
org_psql $C -d odoo -c "BEGIN; CREATE TABLE gid_probe (x int); PREPARE TRANSACTION '$GID'" >/dev/null
is "$(org_query $C odoo "$SAFE SELECT octet_length(name) || ' ' || (name = repeat('б', 31))
	FROM $V.vacuum_horizon WHERE holder_kind = 'prepared_xact'")" "62 true" \
	"a long multibyte GID is cut at a character boundary"
snap="$ORG_TMP/snapshot.txt"
org_query $C odoo "$SAFE SELECT encode($V.snapshot(0), 'base64')" 2>/dev/null | base64 -d |
	protoc --proto_path="$ORG_SRC_DIR/proto" --decode=odoo_retail_guard.Snapshot \
		"$ORG_SRC_DIR/proto/odoo_retail_guard.proto" >"$snap" 2>"$snap.err"
ok "the snapshot carrying it decodes (its strings are valid UTF-8)" test -s "$snap"
org_psql $C -d odoo -c "COMMIT PREPARED '$GID'" >/dev/null

org_done
