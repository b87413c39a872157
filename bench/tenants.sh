#!/usr/bin/env bash
# bench/tenants.sh: the autovacuum lag tracker with hundreds of tenant
# databases, the tracker before the shared-statistics pass ("previous":
# one catalog scan per database in turn, idle databases rescanned every
# 10 s) next to HEAD, in the same run on the same cluster.
#
# One cluster, autovacuum off (tables pushed over stay over), BENCH_TENANTS
# databases created from one template of 50 small tables (b1..b4 for the
# dead-tuple pushes, f1..f4 with lowered autovacuum_freeze_max_age, s1..s42).
# The extension is created in the postgres database only.  The module and
# its SQL are swapped in the staged install with the server stopped.
#
# Per tracker, two cases: A one busy database among the others, B
# BENCH_BUSY busy ones.  Busy: a background client updates a few rows in
# each busy database in turn.  Measured, per busy database:
#   threshold  time from the end of a DELETE that pushes table b<k> over
#              its autovacuum threshold to the view showing it over
#   freeze     time from the transaction that carries f<k>'s xid age past
#              0.9 x its autovacuum_freeze_max_age (xids burnt with
#              txid_current() in committed transactions) to the view
#              showing xid_age >= 0.9 x freeze_max_age
# and, over a BENCH_WINDOW s window after that: the sampler's CPU
# (/proc/PID/stat utime + stime), the scan workers' CPU
# (sampler_status.vacuum_scan_cpu_ms_total) and scans per minute.  The
# load average is printed beside each figure: the machine may be shared.
# Also the shared memory of max_tracked_tables = 300000 (shared_memory_size)
# and what a full and a delta snapshot weigh per tracked table.
# Never passes or fails on the figures.
#
# Environment: BENCH_TENANTS [300], BENCH_BUSY [30], BENCH_DETECT_TIMEOUT
# [360] s, BENCH_WINDOW [30] s, BENCH_TENANTS_BASE [the commit before the
# shared-statistics pass]
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
SYS_PG_CONFIG=$(command -v "${PG_CONFIG:-pg_config}")
# shellcheck source=../regress/lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
org_harness_init

TENANTS=${BENCH_TENANTS:-300}
BUSY=${BENCH_BUSY:-30}
TIMEOUT=${BENCH_DETECT_TIMEOUT:-360}
WINDOW=${BENCH_WINDOW:-30}
[ "$BUSY" -le "$TENANTS" ] || BUSY=$TENANTS
added=$(git -C "$ORG_SRC_DIR" log --format=%H -1 --diff-filter=A -- extension/vacuum_rank.c)
BASE=${BENCH_TENANTS_BASE:-${added:+$added^}}
[ -n "$BASE" ] || org_die "cannot find the commit before the shared-statistics pass; set BENCH_TENANTS_BASE"

W="$ORG_TMP/tenants_bench"
mkdir -p "$W/old" "$W/lib"
git -C "$ORG_SRC_DIR" archive "$BASE" | tar -x -C "$W/old" || org_die "git archive $BASE failed"
make -s -C "$W/old" PG_CONFIG="$SYS_PG_CONFIG" odoo_retail_guard.so sql/odoo_retail_guard--1.0.sql >"$W/old-build.log" 2>&1 ||
	{ cat "$W/old-build.log"; org_die "building $BASE failed"; }
make -s -C "$ORG_SRC_DIR" PG_CONFIG="$SYS_PG_CONFIG" odoo_retail_guard.so sql/odoo_retail_guard--1.0.sql >/dev/null ||
	org_die "building HEAD failed"
cp "$W/old/odoo_retail_guard.so" "$W/lib/previous.so"
cp "$W/old/sql/odoo_retail_guard--1.0.sql" "$W/lib/previous.sql"
cp "$ORG_SRC_DIR/odoo_retail_guard.so" "$W/lib/head.so"
cp "$ORG_SRC_DIR/sql/odoo_retail_guard--1.0.sql" "$W/lib/head.sql"
chmod -R a+rX "$W"
echo "previous tracker: $(git -C "$ORG_SRC_DIR" rev-parse --short "$BASE"); HEAD: $(git -C "$ORG_SRC_DIR" rev-parse --short HEAD)"
echo "$TENANTS databases of 50 tables, busy: A 1, B $BUSY; $(nproc) cores"

STAGED_SO="$(pg_config --pkglibdir)/odoo_retail_guard.so"
STAGED_SQL="$(pg_config --sharedir)/extension/odoo_retail_guard--1.0.sql"
[ "${STAGED_SO#"$ORG_TMP"}" != "$STAGED_SO" ] || org_die "no staged module at $STAGED_SO"
use_module() { # only while the server is stopped
	cp "$W/lib/$1.so" "$STAGED_SO"
	cp "$W/lib/$1.sql" "$STAGED_SQL"
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
BG=
stop_busy() { [ -n "$BG" ] && kill "$BG" 2>/dev/null; wait "$BG" 2>/dev/null; BG=; }
trap 'stop_busy; org_harness_cleanup' EXIT

# --- shared memory of 300,000 tracked tables ---
org_cluster_init tb "autovacuum = off
max_connections = 60
odoo_retail_guard.vacuum_sample_interval = 1000
odoo_retail_guard.max_tracked_tables = 50000"
use_module head
shm() { # max_tracked_tables -> MB
	org_as_owner "$ORG_BINDIR/postgres" -D "${ORG_DATA[tb]}" -C shared_memory_size \
		-c odoo_retail_guard.max_tracked_tables="$1" 2>/dev/null
}
m10=$(shm 10000)
m300=$(shm 300000)
printf '\nshared memory (shared_memory_size): max_tracked_tables 10000: %s MB, 300000: %s MB (%s bytes a table)\n' \
	"$m10" "$m300" "$(((m300 - m10) * 1024 * 1024 / 290000))"

org_cluster_start tb
q() { org_psql tb -d postgres -A -t -c "$1"; }
qv() { org_psql tb -d postgres -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# --- the tenants ---
org_psql tb -d postgres -c "CREATE DATABASE tpl IS_TEMPLATE true" >/dev/null
org_psql tb -d tpl >/dev/null <<'SQL'
DO $$
BEGIN
	FOR i IN 1..4 LOOP
		EXECUTE format('CREATE TABLE b%s (id int PRIMARY KEY, v text)', i);
		EXECUTE format('INSERT INTO b%s SELECT g, ''x'' FROM generate_series(1, 300) g', i);
		-- 0.9 x max is crossed at 90k, 135k, 180k, 225k transactions
		EXECUTE format('CREATE TABLE f%s (id int) WITH (autovacuum_freeze_max_age = %s)', i, 50000 + 50000 * i);
		EXECUTE format('INSERT INTO f%s VALUES (1)', i);
	END LOOP;
	FOR i IN 1..42 LOOP
		EXECUTE format('CREATE TABLE s%s (id int PRIMARY KEY, v text)', i);
		EXECUTE format('INSERT INTO s%s SELECT g, ''x'' FROM generate_series(1, 10) g', i);
	END LOOP;
END
$$;
VACUUM FREEZE;
SQL
t0=$SECONDS
for i in $(seq -f '%03g' 1 "$TENANTS"); do
	org_psql tb -d postgres -c "CREATE DATABASE t$i TEMPLATE tpl" >/dev/null || org_die "CREATE DATABASE t$i failed"
done
echo "created $TENANTS databases in $((SECONDS - t0)) s"
# the bench's own bookkeeping, in the postgres database
org_psql tb -d postgres >/dev/null <<'SQL'
CREATE TABLE bench_event (tracker text, kase text, db text, what text, at timestamptz);
CREATE PROCEDURE bench_burn(n int) LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..n LOOP
		PERFORM txid_current();
		COMMIT;
	END LOOP;
END
$$;
SQL
FROZEN=$(org_psql tb -d tpl -A -t -c "SELECT relfrozenxid FROM pg_class WHERE relname = 'f1'")

busy_dbs() { seq -f 't%03g' 1 "$1"; }
start_busy() { # count: a client updates a few rows in each busy database in turn
	local n=$1
	(
		while :; do
			for db in $(busy_dbs "$n"); do
				org_psql tb -d "$db" -c "UPDATE s1 SET v = v WHERE id <= 5" >/dev/null 2>&1
				sleep 0.1
			done
		done
	) &
	BG=$!
}

# the poll: a procedure in one session, recording when each is first seen
org_psql tb -d postgres >/dev/null <<'SQL'
CREATE PROCEDURE bench_wait(p_tracker text, p_case text, p_dbs text[], p_b text, p_f text, p_timeout int)
LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + make_interval(secs => p_timeout);
BEGIN
	LOOP
		INSERT INTO bench_event
		SELECT p_tracker, p_case, d.datname,
			   CASE WHEN l.relation = p_b THEN 'threshold' ELSE 'freeze' END, clock_timestamp()
		FROM odoo_retail_guard.autovacuum_lag_internal() l
		JOIN pg_database d ON d.oid = l.dbid
		WHERE d.datname = ANY (p_dbs)
		  AND ((l.relation = p_b AND l.over_threshold AND l.dead_tuples >= 200)
			OR (l.relation = p_f AND l.xid_age >= 0.9 * l.freeze_max_age))
		  AND NOT EXISTS (SELECT 1 FROM bench_event e
						  WHERE e.tracker = p_tracker AND e.kase = p_case AND e.db = d.datname
							AND e.what = CASE WHEN l.relation = p_b THEN 'threshold' ELSE 'freeze' END);
		COMMIT;
		EXIT WHEN (SELECT count(*) FROM bench_event
				   WHERE tracker = p_tracker AND kase = p_case AND what IN ('threshold', 'freeze'))
				  >= 2 * cardinality(p_dbs)
			OR clock_timestamp() > deadline;
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SQL

sampler_cpu_s() { # utime + stime of the sampler, in seconds
	local pid
	pid=$(q "SELECT pid FROM odoo_retail_guard.sampler_status")
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$pid/stat"
}

# one case of one tracker: k selects tables b<k> and f<k>
run_case() { # tracker case busy k
	local tracker=$1 kase=$2 n=$3 k=$4 dbs age target burn waiter c0 s0 t0 c1 s1 t1
	start_busy "$n"
	dbs="{$(busy_dbs "$n" | paste -sd,)}"
	# just below 0.9 x max for f<k>, then the pushes, then the last xids
	age=$(q "SELECT age('$FROZEN'::xid)")
	target=$((9 * (50000 + 50000 * k) / 10))
	burn=$((target - age - 2000))
	[ "$burn" -gt 0 ] && qv "CALL bench_burn($burn)" >/dev/null
	# the poll runs from before the first push
	qv "CALL bench_wait('$tracker', '$kase', '$dbs', 'b$k', 'f$k', $TIMEOUT)" >/dev/null &
	waiter=$!
	for db in $(busy_dbs "$n"); do
		org_psql tb -d "$db" -c "DELETE FROM b$k WHERE id <= 200" >/dev/null
		q "INSERT INTO bench_event VALUES ('$tracker', '$kase', '$db', 'push_threshold', clock_timestamp())" >/dev/null
	done
	qv "CALL bench_burn(2100)" >/dev/null
	q "INSERT INTO bench_event SELECT '$tracker', '$kase', db, 'push_freeze', clock_timestamp()
		FROM unnest('$dbs'::text[]) db" >/dev/null
	wait "$waiter"
	# steady state: CPU and scans over the window
	c0=$(sampler_cpu_s)
	s0=$(q "SELECT vacuum_scans || ' ' || vacuum_scan_cpu_ms_total FROM odoo_retail_guard.sampler_status")
	t0=$(date +%s.%N)
	sleep "$WINDOW"
	c1=$(sampler_cpu_s)
	s1=$(q "SELECT vacuum_scans || ' ' || vacuum_scan_cpu_ms_total FROM odoo_retail_guard.sampler_status")
	t1=$(date +%s.%N)
	stop_busy
	q "SELECT '$tracker', '$kase', w.what, $n,
			  count(s.at), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.at - p.at))::numeric, 1),
			  round(max(extract(epoch FROM s.at - p.at))::numeric, 1)
	   FROM unnest(ARRAY['threshold', 'freeze']) w(what)
	   JOIN bench_event p ON p.tracker = '$tracker' AND p.kase = '$kase' AND p.what = 'push_' || w.what
	   LEFT JOIN bench_event s ON s.tracker = p.tracker AND s.kase = p.kase AND s.db = p.db AND s.what = w.what
	   GROUP BY w.what ORDER BY w.what DESC" |
		while IFS='|' read -r tr ka what nb seen med mx; do
			printf '%-9s %-4s %-9s  seen %3s/%-3s  median %7s s  max %7s s%s   load %s\n' \
				"$tr" "$ka" "$what" "$seen" "$nb" "${med:--}" "${mx:--}" \
				"$([ "$seen" -lt "$nb" ] && echo " (timeout ${TIMEOUT} s)")" "$(load)"
		done
	awk -v c0="$c0" -v c1="$c1" -v s0="$s0" -v s1="$s1" -v t0="$t0" -v t1="$t1" \
		-v tr="$tracker" -v ka="$kase" -v ld="$(load)" 'BEGIN {
		split(s0, a, " "); split(s1, b, " "); el = t1 - t0;
		printf "%-9s %-4s sampler CPU %6.1f ms/s   scan workers CPU %7.1f ms/s   scans %5.1f /min   load %s\n",
			tr, ka, (c1 - c0) * 1000 / el, (b[2] - a[2]) / el, (b[1] - a[1]) * 60 / el, ld }'
}

restart_with() { # module
	org_cluster_stop tb
	use_module "$1"
	org_cluster_start tb
	org_psql tb -d postgres -c "DROP EXTENSION IF EXISTS odoo_retail_guard" \
		-c "CREATE EXTENSION odoo_retail_guard" >/dev/null
}

printf '\n%-9s %-4s %-9s\n' tracker case figure
# previous: steady round robin from the start, a short warm-up is enough
restart_with previous
sleep 30
run_case previous A 1 1
run_case previous B "$BUSY" 2

# HEAD: every database needs its first catalog scan (one start a second)
restart_with head
t0=$SECONDS
until [ "$(q "SELECT count(DISTINCT dbid) FROM odoo_retail_guard.autovacuum_lag_internal()")" -ge "$((TENANTS + 1))" ] ||
	[ $((SECONDS - t0)) -ge $((TENANTS * 3 + 60)) ]; do
	sleep 1
done
echo "head: first catalog scan of $((TENANTS + 1)) databases took $((SECONDS - t0)) s   load $(load)"
run_case head A 1 3
run_case head B "$BUSY" 4

# --- snapshot weight ---
tables=$(q "SELECT count(*) FROM odoo_retail_guard.autovacuum_lag_internal()")
full=$(q "SELECT length(odoo_retail_guard.snapshot())")
# the generation that full snapshot reported
gen=$(q "SELECT odoo_retail_guard.snapshot_generation() - 1")
start_busy "$BUSY"
sleep 10
delta=$(q "SELECT length(odoo_retail_guard.snapshot(0, $gen))")
stop_busy
printf '\nsnapshot: %s tracked tables, full %s bytes (%s bytes a table: %s MB at 300000 tables); delta after 10 s with %s busy databases %s bytes   load %s\n' \
	"$tables" "$full" "$((full / (tables > 0 ? tables : 1)))" \
	"$((full / (tables > 0 ? tables : 1) * 300000 / 1024 / 1024))" "$BUSY" "$delta" "$(load)"
org_cluster_stop tb
