#!/usr/bin/env bash
# No #include "..." cycle under agent/: two modules that include each other
# (a.c includes b.h and b.c includes a.h) are one module in two files, and
# the next fix lands in one of them.  regress/lint/include_cycles.py builds
# the graph; this script runs it on agent/ (cycles not yet broken are listed
# in regress/lint/include_cycles.known, a list that may only shrink) and, to
# show the check can fail, on a small tree with a planted cycle.  Needs no
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

python3 "$check" --known "$known" agent >"$tmp/agent.out" 2>&1
rc=$?
cat "$tmp/agent.out"
tap_ok "agent/ has no include cycle beyond the known list" test $rc -eq 0

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

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
