#!/usr/bin/env bash
# No #include "..." cycle under agent/: two modules that include each other
# (a.c includes b.h and b.c includes a.h) are one module in two files, and
# the next fix lands in one of them.  And no stage includes a later stage's
# header: agent/common < collect < alert < deliver < export, the order a poll
# flows through them (collect/ knows nothing of alert/ or export/).
# regress/lint/include_cycles.py builds the graph; this script runs it on
# agent/ (cycles not yet broken are listed in regress/lint/include_cycles.known,
# a list that may only shrink) and, to show the checks can fail, on small
# trees with a planted cycle and a planted stage violation.  Needs no
# cluster.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"

TAP_N=0
TAP_FAILED=0
tap_ok() {
	local desc=$1
	shift
	TAP_N=$((TAP_N + 1))
	if "$@"; then
		echo "ok $TAP_N - $desc"
	else
		echo "not ok $TAP_N - $desc"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/orguard-inc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
check=regress/lint/include_cycles.py
known=regress/lint/include_cycles.known
stages=common,collect,alert,deliver,export

python3 "$check" --known "$known" --stages "$stages" agent >"$tmp/agent.out" 2>&1
rc=$?
cat "$tmp/agent.out"
tap_ok "agent/ has no include cycle beyond the known list, no stage includes a later one" test $rc -eq 0
tap_ok "every stage directory exists" bash -c 'for s in ${0//,/ }; do [ -d "agent/$s" ] || exit 1; done' "$stages"

# a planted cycle through the -I root (x/a.c -> y/b.h, y/b.c -> x/a.h),
# the shape of the runbook CLI and modes files before they were split
mkdir -p "$tmp/tree/x" "$tmp/tree/y"
printf '#include "x/a.h"\n#include "y/b.h"\n' >"$tmp/tree/x/a.c"
printf '#include <stdio.h>\n' >"$tmp/tree/x/a.h"
printf '#include "y/b.h"\n#include "x/a.h"\n' >"$tmp/tree/y/b.c"
printf '#include "missing_generated.h"\n' >"$tmp/tree/y/b.h"
python3 "$check" "$tmp/tree" >"$tmp/planted.out" 2>&1
rc=$?
tap_ok "a planted cycle fails the check" test $rc -eq 1
tap_ok "the report names the cycle" grep -qx 'include cycle: x/a -> y/b -> x/a' "$tmp/planted.out"

printf 'x/a y/b # planted\n' >"$tmp/known"
tap_ok "a listed cycle passes" python3 "$check" --known "$tmp/known" "$tmp/tree"

# one-way includes (a header and its own .c, a shared header) are no cycle
rm "$tmp/tree/y/b.c"
printf '#include "y/b.h"\n' >"$tmp/tree/y/b.c"
python3 "$check" "$tmp/tree" >"$tmp/oneway.out" 2>&1
tap_ok "one-way includes pass" test $? -eq 0
python3 "$check" --known "$tmp/known" "$tmp/tree" >"$tmp/stale.out" 2>&1
rc=$?
tap_ok "a listed cycle that is gone fails (the list only shrinks)" \
	bash -c "[ $rc -eq 1 ] && grep -q 'known cycle x/a y/b is gone' '$tmp/stale.out'"

# a planted stage violation: the collector including an export header
mkdir -p "$tmp/staged/common" "$tmp/staged/collect" "$tmp/staged/export"
printf '#include <stdint.h>\n' >"$tmp/staged/common/util.h"
printf '#include "common/util.h"\n' >"$tmp/staged/export/metrics.h"
printf '#include "common/util.h"\n#include "collect/node.h"\n' >"$tmp/staged/export/stats.c"
printf '#include "common/util.h"\n' >"$tmp/staged/collect/node.h"
printf '#include "collect/node.h"\n' >"$tmp/staged/collect/node.c"
printf '#include "collect/node.h"\n#include "export/metrics.h"\n' >"$tmp/staged/main.c"
tap_ok "includes of earlier stages (and anything from the top) pass" \
	python3 "$check" --stages "$stages" "$tmp/staged"
printf '#include "collect/node.h"\n#include "export/metrics.h"\n' >"$tmp/staged/collect/node.c"
python3 "$check" --stages "$stages" "$tmp/staged" >"$tmp/stage.out" 2>&1
rc=$?
tap_ok "a planted include of a later stage fails the check" test $rc -eq 1
tap_ok "the report names it" grep -q '^stage order: collect/node includes export/metrics, a later stage' "$tmp/stage.out"
tap_ok "without --stages the same tree passes (no cycle)" python3 "$check" "$tmp/staged"

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
