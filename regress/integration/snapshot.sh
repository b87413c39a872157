#!/usr/bin/env bash
# snapshot(): decoded by the official protoc decoder and by protobuf-c (the
# cmocka test), and ring cursors that give every entry exactly once, also
# while entries are written during the reads.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
# shellcheck source=../lib/cluster.sh
. regress/lib/cluster.sh

n=0
check() { # check DESC CMD...
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fi
}

org_harness_init
org_cluster_start snap
org_psql snap -d postgres -c "CREATE DATABASE retail" >/dev/null
psql_r() { org_psql snap -d retail -At "$@"; }
psql_r -c "CREATE EXTENSION odoo_retail_guard" \
	-c "CREATE TABLE stock_quant (id serial PRIMARY KEY, quantity numeric)" \
	-c "CREATE ROLE org_slow LOGIN" \
	-c "GRANT ALL ON stock_quant, stock_quant_id_seq TO org_slow" \
	-c "ALTER ROLE org_slow SET odoo_retail_guard.slow_query_ms = 0" >/dev/null

proto=proto/odoo_retail_guard.proto
snap_bin="$ORG_TMP/snapshot.bin"

# snapshot CURSOR: writes the binary and prints the decoded text
snapshot() {
	psql_r -c "SELECT encode(odoo_retail_guard.snapshot($1), 'base64')" | base64 -d >"$snap_bin" &&
		protoc --proto_path=proto --decode=odoo_retail_guard.Snapshot "$proto" <"$snap_bin"
}
# ids of one repeated ring field in decoded text
ring_ids() { awk -v f="$1" '$0 == f " {" {inb=1; next} /^}/ {inb=0} inb && /^  id: / {print $2}'; }
field() { sed -n "s/^$1: //p" | head -1; }

writer() { # writer COUNT: COUNT slow statements as an Odoo HTTP worker
	for i in $(seq 1 "$1"); do echo "SELECT quantity FROM stock_quant WHERE id = $i;"; done |
		PGAPPNAME=odoo-4242 psql -X -q -h "${ORG_SOCK[snap]}" -p "${ORG_PORT[snap]}" -U org_slow -d retail >/dev/null
}

writer 5
text=$(snapshot 0)
check "protoc --decode reads the snapshot" test -n "$text"
check "schema version 1" test "$(echo "$text" | field schema_version)" = 1
sysid=$(psql_r -c "SELECT system_identifier FROM pg_control_system()")
check "node identity carries the system identifier" \
	test "$(echo "$text" | sed -n 's/^  system_identifier: //p')" = "$sysid"
check "node identity carries the server version" \
	test "$(echo "$text" | sed -n 's/^  server_version_num: //p')" = "$(psql_r -c 'SHOW server_version_num')"
check "the current LSN is set on a primary" \
	test "$(echo "$text" | sed -n 's/^  current_lsn: //p')" -gt 0
check "query stats carry the Odoo model" grep -q 'model: "stock.quant"' <<<"$text"
check "slow samples carry the Odoo worker class" grep -q 'worker_class: "http"' <<<"$text"
check "connection stats are present" grep -q '^connections {' <<<"$text"
check "memory areas are present" grep -q 'area: "slow_query_samples"' <<<"$text"
# the snapshot's memory areas are the memory view's, with the same capacities
# (capacities are fixed at start; use changes between the two reads)
snap_areas=$(awk '$0 == "memory {" {inb=1; a=""; c=0; next}
	inb && /^}/ {print a "=" c; inb=0}
	inb && /^  area: / {a=$2; gsub(/"/, "", a)}
	inb && /^  capacity: / {c=$2}' <<<"$text" | sort)
view_areas=$(psql_r -c "SELECT area || '=' || capacity FROM odoo_retail_guard.memory" | sort)
check "snapshot memory areas match the memory view (11 areas)" \
	test "$snap_areas" = "$view_areas" -a "$(wc -l <<<"$view_areas")" -eq 11
check "query texts are normalized" bash -c '! grep -q "id = 3" <<<"$1"' _ "$text"

make -s -C regress/unit bin/test_snapshot-asan >/dev/null 2>&1
check "protobuf-c (cmocka) decodes the server's snapshot" \
	env ORG_SNAPSHOT_FILE="$snap_bin" ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 \
	regress/unit/bin/test_snapshot-asan

# exactly once: chain cursors while a writer adds samples
cursor=$(echo "$text" | field next_cursor)
first_cursor=$cursor
ids_file="$ORG_TMP/ids"
: >"$ids_file"
gaps=0
writer 600 &
wpid=$!
while kill -0 "$wpid" 2>/dev/null; do
	t=$(snapshot "$cursor")
	echo "$t" | ring_ids slow_samples >>"$ids_file"
	grep -q '^slow_samples_gap: true' <<<"$t" && gaps=$((gaps + 1))
	next=$(echo "$t" | field next_cursor)
	[ -n "$next" ] && cursor=$next
done
wait "$wpid"
t=$(snapshot "$cursor")
echo "$t" | ring_ids slow_samples >>"$ids_file"
cursor=$(echo "$t" | field next_cursor)
expected=$(psql_r -c "SELECT sample_id FROM odoo_retail_guard.slow_query_samples_since($first_cursor) ORDER BY 1")
written=$(psql_r -c "SELECT count(*) FROM odoo_retail_guard.slow_query_samples_since($first_cursor) WHERE userid = 'org_slow'::regrole")
check "600 samples read while written" test "$written" -eq 600
check "no sample is seen twice" test "$(sort "$ids_file" | uniq -d | wc -l)" -eq 0
check "every sample is seen once" test "$(sort -n "$ids_file")" = "$expected"
check "no gap while the ring holds them" test "$gaps" -eq 0
check "a caught-up cursor returns nothing" test -z "$(snapshot "$cursor" | ring_ids slow_samples)"

# a ring that wrapped past the cursor reports the gap
writer 1100
t=$(snapshot "$cursor")
check "a wrapped ring sets slow_samples_gap" grep -q '^slow_samples_gap: true' <<<"$t"

# throttle rules and refusals travel in the snapshot, refusals by cursor
t=$(snapshot "$cursor")
cursor=$(echo "$t" | field next_cursor)
psql_r -c "SELECT odoo_retail_guard.throttle('snap_rule', 0, '5 min', 'snapshot test', application_name => 'odoo-blocked*', database => 'retail')" >/dev/null
for i in 1 2 3; do
	PGAPPNAME=odoo-blocked-$i psql -X -q -h "${ORG_SOCK[snap]}" -p "${ORG_PORT[snap]}" -U org_slow -d retail -c "SELECT 1" >/dev/null 2>&1
done
t=$(snapshot "$cursor")
check "throttle rules are in the snapshot" grep -q 'name: "snap_rule"' <<<"$t"
check "the rule's refusals are counted" grep -q '^  refused: 3' <<<"$t"
check "the three refusals come as throttle events" test "$(echo "$t" | ring_ids throttle_events | wc -l)" -eq 3
check "throttle events name the rule" grep -q 'rule_name: "snap_rule"' <<<"$t"
cursor=$(echo "$t" | field next_cursor)
check "and come only once" test -z "$(snapshot "$cursor" | ring_ids throttle_events)"
check "memory areas include the throttle" grep -q 'area: "throttle_events"' <<<"$t"

# destructive statements travel in the snapshot, by cursor
psql_r -c "INSERT INTO stock_quant (quantity) SELECT i FROM generate_series(1, 1500) i" \
	-c "DELETE FROM stock_quant WHERE quantity > 100" -c "TRUNCATE stock_quant" >/dev/null
t=$(snapshot "$cursor")
check "destructive events are in the snapshot" test "$(echo "$t" | ring_ids destructive_events | wc -l)" -eq 2
check "with their kind, model and rows" bash -c 'grep -q "kind: \"delete\"" <<<"$1" && grep -q "kind: \"truncate\"" <<<"$1" && grep -q "^  rows: 1400" <<<"$1" && grep -q "model: \"stock.quant\"" <<<"$1"' _ "$t"
check "with the LSN before them" grep -q '^  lsn_before: [1-9]' <<<"$t"
cursor=$(echo "$t" | field next_cursor)
check "destructive events come only once" test -z "$(snapshot "$cursor" | ring_ids destructive_events)"

check "a negative cursor is refused" bash -c '! "$@" 2>/dev/null' _ \
	org_psql snap -d retail -c "SELECT odoo_retail_guard.snapshot(-1)"
org_psql snap -d retail -c "CREATE ROLE org_plain LOGIN" >/dev/null
check "others may not take a snapshot" bash -c '! psql -X -q -h "$1" -p "$2" -U org_plain -d retail -c "SELECT odoo_retail_guard.snapshot()" 2>/dev/null' \
	_ "${ORG_SOCK[snap]}" "${ORG_PORT[snap]}"
