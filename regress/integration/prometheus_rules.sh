#!/usr/bin/env bash
# The shipped Prometheus rules and Grafana dashboard, checked with the real
# tools (Debian's prometheus package ships promtool):
#   - promtool check rules accepts packaging/prometheus/odoo-retail-guard.rules.yml;
#   - promtool test rules runs regress/prometheus/*.test.yml: every alert
#     fires on its condition after its "for" and stays quiet otherwise, and
#     the recording rules compute what the dashboard plots;
#   - every alert of the rules file has a unit test and a runbook_url whose
#     anchor is a heading of docs/agent.md;
#   - the dashboard is JSON Grafana imports: every panel and query uses the
#     ${DS_PROMETHEUS} datasource variable, every orguard:* series it reads
#     is a recording rule of the rules file.
# The PromQL of every panel is run against a live agent by
# prometheus_dashboard.sh.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"

RULES=packaging/prometheus/odoo-retail-guard.rules.yml
DASH=packaging/grafana/odoo-retail-guard.json
n=0
failed=0
check() {
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; failed=$((failed + 1)); fi
}
command -v promtool >/dev/null || { echo "1..0 # SKIP promtool not installed (Debian package prometheus)"; exit 0; }

check "promtool check rules accepts the rules file" promtool check rules "$RULES"
for t in regress/prometheus/*.test.yml; do
	check "promtool test rules $(basename "$t")" promtool test rules "$t"
done

# alert names, from promtool's own parse of the file (no YAML parser in python3)
alerts=$(grep -E '^\s+- alert: ' "$RULES" | sed -E 's/.*- alert: *//' | sort -u)
check "the rules file has the five agent alerts" test "$(wc -l <<<"$alerts")" -eq 5
for a in $alerts; do
	check "alert $a has a promtool unit test" \
		bash -c 'cat regress/prometheus/*.test.yml | grep -qE "alertname: $1\$"' _ "$a"
	anchor=$(tr 'A-Z' 'a-z' <<<"$a")
	check "alert $a: runbook_url docs/agent.md#$anchor is a heading there" bash -c \
		'grep -qF "runbook_url: \"docs/agent.md#$2\"" "$3" && grep -qiE "^#+ $1\$" docs/agent.md' _ "$a" "$anchor" "$RULES"
done

check "the dashboard: datasource variable, every query on it, recording rules exist" python3 - "$DASH" "$RULES" <<'PY'
import json, re, sys
dash = json.load(open(sys.argv[1]))
rules = open(sys.argv[2]).read()
recorded = set(re.findall(r'^\s+- record: (\S+)', rules, re.M))
ok = True
def bad(msg):
    global ok
    ok = False
    print("# " + msg)
vars_ = {v["name"]: v for v in dash["templating"]["list"]}
if vars_.get("DS_PROMETHEUS", {}).get("type") != "datasource":
    bad("no datasource variable DS_PROMETHEUS")
rows = [p["title"] for p in dash["panels"] if p["type"] == "row"]
want = ["Overview", "Slow Odoo models", "Locks", "Vacuum", "Replication", "Throttle", "The agent"]
for w in want:
    if not any(r.startswith(w) for r in rows):
        bad("no row " + w)
for p in dash["panels"]:
    if p["type"] == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
        bad("panel %r: datasource is not ${DS_PROMETHEUS}" % p["title"])
    if not p.get("targets"):
        bad("panel %r: no query" % p["title"])
    for t in p.get("targets", []):
        if t.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
            bad("panel %r: query datasource is not ${DS_PROMETHEUS}" % p["title"])
        for name in re.findall(r'orguard:[a-z0-9_:]+', t["expr"]):
            if name not in recorded:
                bad("panel %r reads %s, which no rule records" % (p["title"], name))
sys.exit(0 if ok else 1)
PY

echo "1..$n"
[ "$failed" -eq 0 ]
