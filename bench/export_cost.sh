#!/usr/bin/env bash
# bench/export_cost.sh: instructions (callgrind Ir) the agent spends per
# poll on its export work (stats_node_update + status_board_node) and per
# cycle on publishing (the merged metric set, /metrics text, remote-write
# body, status document), for NODES synthetic real-sized nodes (1,000
# tables, 1,000 models, a live workload; bench/export_cost.c).  Instruction
# counts, not time: they hold still on a shared machine.
#
# EXPORT_NODES=50 EXPORT_CYCLES=3 (35 cycles fill the status page's
# five-minute window of model points: slower under callgrind)
# EXPORT_DUMP=prefix: no callgrind; writes the last cycle's /metrics text,
# status document and remote-write body to prefix.{metrics,json,rw} to
# compare two builds byte for byte
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${EXPORT_NODES:-50}
cycles=${EXPORT_CYCLES:-3}
command -v valgrind >/dev/null || { echo "export_cost: valgrind not installed, skipped"; exit 0; }
make -s agent >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
objs=$(ls agent/*.o agent/*/*.o | grep -v '^agent/main\.o$')
pkgs="libpq libprotobuf-c libcurl jansson libmicrohttpd snappy libcrypto libsystemd"
# shellcheck disable=SC2086
cc -std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror -Iagent -I"$(pg_config --includedir)" \
	$(pkg-config --cflags $pkgs) -o "$work/export_cost" bench/export_cost.c $objs \
	$(pkg-config --libs $pkgs) -lsnappy -lcrypt -lpthread -lm
if [ -n "${EXPORT_DUMP:-}" ]; then
	"$work/export_cost" "$nodes" "$cycles" "$EXPORT_DUMP"
	exit 0
fi
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$work/export_cost" "$nodes" "$cycles" 2>/dev/null
callgrind_annotate --inclusive=yes "$work/cg.out" >"$work/cg.txt"
ir() { awk -v f="$1" '$0 ~ "[ :]"f"[ \x27]" { gsub(",", "", $1); print $1; exit }' "$work/cg.txt"; }
polls=$((nodes * cycles))
for f in stats_node_update status_board_node; do
	printf '%-20s %12d Ir per poll\n' "$f" $(( $(ir "$f") / polls ))
done
for f in export_publish stats_build mset_format remote_write_encode status_board_json; do
	printf '%-20s %12d Ir per cycle (%d nodes)\n' "$f" $(( $(ir "$f") / cycles )) "$nodes"
done
