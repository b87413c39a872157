#!/usr/bin/env bash
# Connection storm against a throttle rule: a few hundred connection
# attempts at once never let more than the rule's limit of matching sessions
# in, and every place is given back when the sessions end.
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

LIMIT=10
ATTEMPTS=300

org_harness_init
org_cluster_start storm "max_connections = 400"
org_psql storm -d postgres -c "CREATE EXTENSION odoo_retail_guard" \
	-c "CREATE ROLE odoo LOGIN" >/dev/null
org_psql storm -d postgres -c "SELECT odoo_retail_guard.throttle('storm', $LIMIT, '10 min',
	'connection storm test', application_name => 'odoo-storm-*', database => 'postgres')" >/dev/null

export PGHOST="${ORG_SOCK[storm]}" PGPORT="${ORG_PORT[storm]}" PGDATABASE=postgres

HOLD=3
# one attempt: an admitted session holds on, then reports how many matching
# sessions it sees running next to itself (a session that finished its last
# statement and is exiting has already given its place back, so only
# running ones count)
attempt() {
	PGAPPNAME="odoo-storm-$1" psql -X -At -U odoo -c "SELECT pg_sleep($HOLD)" \
		-c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'odoo-storm-%' AND state = 'active'" 2>/dev/null |
		tail -1
}
export HOLD
export -f attempt

out="$ORG_TMP/storm.out"
start=$(date +%s.%N)
seq 1 $ATTEMPTS | xargs -P $ATTEMPTS -I{} bash -c 'attempt {}' >"$out"
end=$(date +%s.%N)
admitted=$(grep -c . "$out")
max_seen=$(sort -n "$out" | tail -1)
echo "# $ATTEMPTS attempts in $(echo "$end - $start" | bc) s: $admitted admitted, at most ${max_seen:-0} matching sessions seen at once"

check "some matching sessions are admitted" test "$admitted" -ge 1
# sessions hold on for HOLD seconds, so at most LIMIT per HOLD seconds of storm
waves=$(echo "($end - $start) / $HOLD + 1" | bc)
check "no more than $LIMIT admitted per $HOLD s the storm lasted ($waves waves)" test "$admitted" -le $((LIMIT * waves))
check "no admitted session ever saw more than $LIMIT matching sessions" test "${max_seen:-0}" -le $LIMIT
refused=$(org_psql storm -d postgres -At -c "SELECT refused FROM odoo_retail_guard.throttle_rules WHERE name = 'storm'")
check "every attempt was either admitted or refused ($admitted + $refused)" test $((admitted + refused)) -eq $ATTEMPTS
events=$(org_psql storm -d postgres -At -c "SELECT count(*) FROM odoo_retail_guard.throttle_events WHERE rule_name = 'storm' AND kind = 'refused'")
check "each refusal is in throttle_events" test "$events" -eq "$refused"
check "every place is given back when the sessions end" org_wait_until 10 "places back" \
	bash -c "test \"\$(psql -X -At -U postgres -c \"SELECT current_connections FROM odoo_retail_guard.throttle_rules WHERE name = 'storm'\")\" = 0"

# churn: short sessions come and go from 100 loops for a few seconds
churn() {
	local end=$((SECONDS + 4))
	while [ $SECONDS -lt $end ]; do
		PGAPPNAME="odoo-storm-c$1" psql -X -At -U odoo -c "SELECT pg_sleep(0.05)" >/dev/null 2>&1
	done
}
export -f churn
samples="$ORG_TMP/churn.samples"
(
	end=$((SECONDS + 5))
	while [ $SECONDS -lt $end ]; do
		psql -X -At -U postgres -c "SELECT current_connections FROM odoo_retail_guard.throttle_rules WHERE name = 'storm'"
		sleep 0.02
	done
) >"$samples" &
sampler=$!
seq 1 100 | xargs -P 100 -I{} bash -c 'churn {}'
wait $sampler
check "under churn the rule never counts more than $LIMIT sessions" test "$(sort -n "$samples" | tail -1)" -le $LIMIT
check "under churn every place is given back" org_wait_until 10 "places back" \
	bash -c "test \"\$(psql -X -At -U postgres -c \"SELECT current_connections FROM odoo_retail_guard.throttle_rules WHERE name = 'storm'\")\" = 0"
check "the server survived the storm" org_psql storm -d postgres -o /dev/null -c "SELECT 1"
