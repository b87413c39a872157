#!/usr/bin/env bash
# bench/journal.sh: what the destructive journal costs a DELETE or UPDATE,
# the per-transaction journal (HEAD) next to the journal before it
# (per-statement, at ExecutorEnd), in the same run on the same cluster.
#
# The previous journal is built from the commit before the per-transaction
# journal came in (BENCH_JOURNAL_BASE to choose another), from `git archive`
# into a temp dir.  The staged install's module file is swapped between
# them (the sampler worker loads the module by name), with the server
# stopped; nothing else differs.  Two workloads, Odoo's statement shapes
# (psycopg2 sends text with literals, so pgbench -M simple):
#   single  UPDATE "sale_order" SET ... WHERE id = n, autocommit: every
#           statement is its transaction's first on the relation (the
#           journal's dearest case)
#   batch   one transaction of 10 ORM write batches,
#           UPDATE "sale_order" SET "state" = ..., "write_uid" = ... WHERE id IN (...)
#           (odoo/models.py 17.0 BaseModel._write() l.4487; batches from
#           odoo/sql_db.py split_for_in_conditions)
# Prints statements/s from pgbench (median of BENCH_ROUNDS, order rotated)
# and instructions per statement from callgrind on a single-user backend
# (`postgres --single`): Ir(2N statements) - Ir(N statements), over N, so
# start-up cancels out.  Never passes or fails on the figures.
#
# Environment: BENCH_ROUNDS [3], BENCH_SECONDS [10], BENCH_CALLGRIND_N [200]
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
# the system's pg_config: the harness puts a relocated copy first in PATH
SYS_PG_CONFIG=$(command -v "${PG_CONFIG:-pg_config}")
# shellcheck source=../regress/lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
org_harness_init
trap org_harness_cleanup EXIT

ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-10}
N=${BENCH_CALLGRIND_N:-200}
added=$(git -C "$ORG_SRC_DIR" log --format=%H -1 --diff-filter=A -- extension/destructive_xact.c)
BASE=${BENCH_JOURNAL_BASE:-${added:+$added^}}
[ -n "$BASE" ] || org_die "cannot find the commit before the per-transaction journal; set BENCH_JOURNAL_BASE"

W="$ORG_TMP/journal_bench"
mkdir -p "$W/old" "$W/lib"
git -C "$ORG_SRC_DIR" archive "$BASE" | tar -x -C "$W/old" || org_die "git archive $BASE failed"
make -s -C "$W/old" PG_CONFIG="$SYS_PG_CONFIG" odoo_retail_guard.so >"$W/old-build.log" 2>&1 || { cat "$W/old-build.log"; org_die "building $BASE failed"; }
[ -f "$ORG_SRC_DIR/odoo_retail_guard.so" ] || make -s -C "$ORG_SRC_DIR" PG_CONFIG="$SYS_PG_CONFIG" odoo_retail_guard.so >/dev/null
cp "$W/old/odoo_retail_guard.so" "$W/lib/previous.so"
cp "$ORG_SRC_DIR/odoo_retail_guard.so" "$W/lib/per_transaction.so"
chmod -R a+rX "$W"
chown -R "$(org_owner_name)" "$W" 2>/dev/null || true
echo "previous journal: $(git -C "$ORG_SRC_DIR" rev-parse --short "$BASE"); per-transaction journal: $(git -C "$ORG_SRC_DIR" rev-parse --short HEAD)"

STAGED_SO="$(pg_config --pkglibdir)/odoo_retail_guard.so"
[ -f "$STAGED_SO" ] && [ "${STAGED_SO#"$ORG_TMP"}" != "$STAGED_SO" ] || org_die "no staged module at $STAGED_SO"
use_module() { # only while the server is stopped
	cp "$W/lib/$1.so" "$STAGED_SO"
}

org_cluster_init jb "odoo_retail_guard.destructive_min_rows = 1000"
use_module per_transaction
org_cluster_start jb
org_psql jb -d postgres -qc "CREATE TABLE sale_order (id int PRIMARY KEY, state varchar, write_uid int, write_date timestamp);
	INSERT INTO sale_order SELECT g, 'draft', 1, now() FROM generate_series(1, 100000) g;"
org_psql jb -d postgres -qc "VACUUM ANALYZE sale_order"

ids=$(seq -s ', ' 0 19 | sed 's/\([0-9][0-9]*\)/:id + \1/g')
org_as_owner tee "$W/single.sql" >/dev/null <<EOF
\set id random(1, 100000)
UPDATE "sale_order" SET "state" = 'sale', "write_uid" = 2, "write_date" = '2026-12-07 01:00:00' WHERE id = :id;
EOF
{
	echo '\set id random(1, 99000)'
	echo 'BEGIN;'
	for _ in $(seq 10); do
		echo "UPDATE \"sale_order\" SET \"state\" = 'sale', \"write_uid\" = 2, \"write_date\" = '2026-12-07 01:00:00' WHERE id IN ($ids);"
	done
	echo 'COMMIT;'
} | org_as_owner tee "$W/batch.sql" >/dev/null

declare -A SPS
modules=(previous per_transaction)
for r in $(seq "$ROUNDS"); do
	[ $((r % 2)) -eq 0 ] && order=(per_transaction previous) || order=("${modules[@]}")
	for m in "${order[@]}"; do
		org_cluster_stop jb
		use_module "$m"
		org_cluster_start jb
		for wl in single batch; do
			per=1
			[ "$wl" = batch ] && per=10
			tps=$(org_as_owner "$ORG_BINDIR/pgbench" -n -M simple -c 2 -j 2 -T "$SECS" -f "$W/$wl.sql" \
				-h "${ORG_SOCK[jb]}" -p "${ORG_PORT[jb]}" -U postgres postgres 2>/dev/null |
				sed -n 's/^tps = \([0-9.]*\).*/\1/p')
			SPS[$m,$wl]="${SPS[$m,$wl]:-} $(awk -v t="${tps:-0}" -v p=$per 'BEGIN { printf "%.0f", t * p }')"
		done
	done
done
org_cluster_stop jb

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : 0) }'; }

# callgrind on a single-user backend: N and 2N statements of each workload
statements() { # workload count
	local i
	for i in $(seq "$2"); do
		if [ "$1" = single ]; then
			echo "UPDATE \"sale_order\" SET \"state\" = 'sale', \"write_uid\" = 2, \"write_date\" = '2026-12-07 01:00:00' WHERE id = $((i * 37 % 100000 + 1))"
		else
			[ $((i % 10)) -eq 1 ] && echo "BEGIN"
			echo "UPDATE \"sale_order\" SET \"state\" = 'sale', \"write_uid\" = 2, \"write_date\" = '2026-12-07 01:00:00' WHERE id IN ($(seq -s ', ' $((i * 20)) $((i * 20 + 19))))"
			[ $((i % 10)) -eq 0 ] && echo "COMMIT"
		fi
	done
}
ir_of() { # module workload count
	local out="$W/cg.$1.$2.$3"
	statements "$2" "$3" | org_as_owner tee "$W/in.$2.$3" >/dev/null
	org_as_owner valgrind --tool=callgrind --callgrind-out-file="$out" --trace-children=no \
		"$ORG_BINDIR/postgres" --single -D "${ORG_DATA[jb]}" -c max_connections=10 postgres <"$W/in.$2.$3" >"$out.log" 2>&1
	sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out" 2>/dev/null | head -1
}
# instructions spent in the journal itself (inclusive cost of its hook work
# and transaction callbacks; the chained executor is not in these)
JOURNAL_FUNCS='finish_dml|journal_xact_callback|journal_subxact_callback|outer_xact_callback|outer_subxact_callback|GetXLogInsertRecPtr'
journal_ir_of() { # module workload count
	callgrind_annotate --inclusive=yes --threshold=100 "$W/cg.$1.$2.$3" 2>/dev/null |
		grep -E ":($JOURNAL_FUNCS) \[" |
		awk '{ gsub(",", "", $1); s += $1 } END { print s + 0 }'
}
declare -A IR JIR
if command -v valgrind >/dev/null; then
	for m in "${modules[@]}"; do
		use_module "$m"
		for wl in single batch; do
			a=$(ir_of "$m" "$wl" "$N")
			b=$(ir_of "$m" "$wl" $((2 * N)))
			IR[$m,$wl]=$(awk -v a="${a:-0}" -v b="${b:-0}" -v n="$N" 'BEGIN { printf "%.0f", (b - a) / n }')
			ja=$(journal_ir_of "$m" "$wl" "$N")
			jb=$(journal_ir_of "$m" "$wl" $((2 * N)))
			JIR[$m,$wl]=$(awk -v a="${ja:-0}" -v b="${jb:-0}" -v n="$N" 'BEGIN { printf "%.0f", (b - a) / n }')
		done
	done
fi

printf '\n%-10s %-18s %14s %16s %18s\n' workload journal 'statements/s' 'Ir/statement' 'journal Ir/stmt'
for wl in single batch; do
	for m in "${modules[@]}"; do
		printf '%-10s %-18s %14s %16s %18s\n' "$wl" "$m" "$(echo "${SPS[$m,$wl]:-}" | median)" \
			"${IR[$m,$wl]:-n/a}" "${JIR[$m,$wl]:-n/a}"
	done
	awk -v a="${IR[previous,$wl]:-0}" -v b="${IR[per_transaction,$wl]:-0}" -v w="$wl" \
		'BEGIN { if (a > 0) printf "%-10s %-18s %14s %+15.2f%%\n", w, "difference", "", (b - a) * 100 / a }'
done
echo "(statements/s: median of $ROUNDS rounds of ${SECS} s, 2 clients; Ir: callgrind, single-user backend, ($((2 * N)) - $N statements) / $N)"
