#!/usr/bin/env bash
# Every PromQL query of the Grafana dashboard, run by a real Prometheus
# (Debian's prometheus 2.42) that scrapes a real agent during a lock wait
# and evaluates the shipped rules file:
#   - each panel query (template variables substituted the way Grafana
#     does) is accepted by the query API: no parse error;
#   - every panel of the rows the incident concerns (overview, slow Odoo
#     models, locks) returns series, and the locks row shows the wait.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

command -v prometheus >/dev/null || { echo "1..0 # SKIP prometheus not installed"; exit 0; }
make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start pd_node
org_psql pd_node -d postgres -c "CREATE DATABASE odoo" >/dev/null
org_psql pd_node -d odoo >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE ir_model (id serial PRIMARY KEY, model varchar NOT NULL);
INSERT INTO ir_model (model) VALUES ('stock.quant');
CREATE TABLE stock_quant (id serial PRIMARY KEY, product_id int, quantity numeric);
INSERT INTO stock_quant (product_id, quantity) SELECT g, 10 FROM generate_series(1, 10) g;
SQL

agent_port=$(org_free_port) || org_die "no free port"
conf="$ORG_TMP/agent.conf"
cat >"$conf" <<CONF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$agent_port
[node store7]
conninfo = $(org_conn pd_node) dbname=odoo
cluster = e2e
store = 0007
[rule lock_wait]
threshold = 2s
clear = 1s
for = 0
[rule connection_usage]
enabled = false
CONF
agent_start agent "$conf"
service_ready agent "http://127.0.0.1:$agent_port/ready" 60

prom_port=$(org_free_port) || org_die "no free port"
mkdir -p "$ORG_TMP/prom"
cat >"$ORG_TMP/prom/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [$ORG_SRC_DIR/packaging/prometheus/odoo-retail-guard.rules.yml]
scrape_configs:
  - job_name: orguard-agent
    static_configs: [{targets: ['127.0.0.1:$agent_port']}]
CONF
agent_bg prometheus prometheus --config.file="$ORG_TMP/prom/prometheus.yml" \
	--storage.tsdb.path="$ORG_TMP/prom/data" --web.listen-address="127.0.0.1:$prom_port"
prom="http://127.0.0.1:$prom_port"
service_ready prometheus "$prom/-/ready" 120

# Odoo's ORM read and write of stock.quant (odoo/models.py 16.0: _read
# l.~3160-3225, _write l.3823), so the model has statistics
orm_traffic() {
	for _ in 1 2 3; do
		org_psql pd_node -d odoo -Atc 'SELECT "stock_quant"."id" AS "id", "stock_quant"."quantity" AS "quantity"
			FROM "stock_quant" WHERE "stock_quant".id IN (1, 2)' >/dev/null
		org_psql pd_node -d odoo -Atc 'UPDATE "stock_quant" SET "quantity" = 9 WHERE id IN (5)' >/dev/null
	done
}

# query EXPR: the JSON answer of the instant query API
query() { curl -sS --max-time 10 -G "$prom/api/v1/query" --data-urlencode "query=$1"; }
has_series() { # EXPR: the query returns at least one series
	query "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["status"]=="success" and d["data"]["result"] else 1)'
}
# a model's series appear with its first statements: a second round after
# Prometheus has them gives the rates something to measure
orm_traffic
org_wait_until 60 "model series scraped" has_series 'orguard_model_calls_total{model="stock.quant"}' ||
	org_die "the model's statistics never reached Prometheus"
orm_traffic

# the incident: a cron job holds a stock_quant row in an open transaction
# (odoo/addons/base/models/ir_cron.py 16.0 _process_job: the job's cursor
# stays open until the job ends), a POS worker's write waits on it
psql_bg() {
	PGAPPNAME=$2 agent_bg "$1" psql -X -q -h "${ORG_SOCK[pd_node]}" -p "${ORG_PORT[pd_node]}" -U postgres -d odoo
}
printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ;" \
	'SELECT id FROM stock_quant WHERE id IN (3) FOR NO KEY UPDATE;' '\! sleep 90' "COMMIT;" |
	psql_bg cron odoo-cron-2001
cron_idle() {
	[ "$(org_psql pd_node -d odoo -Atc "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'odoo-cron-2001' AND state = 'idle in transaction'")" = 1 ]
}
org_wait_until 30 "cron holding the row" cron_idle || org_die "the cron did not take the row"
# Odoo 16 write shape (odoo/models.py 16.0 _write l.3823)
echo 'UPDATE "stock_quant" SET "quantity" = 8 WHERE id IN (3);' | psql_bg pos odoo-1001

tap_ok "Prometheus scrapes the agent and sees the lock wait" \
	org_wait_until 60 "blocking chain in Prometheus" has_series 'orguard_blocking_chains{node="store7"} > 0'
tap_ok "the recording rules have evaluated over two scrapes" \
	org_wait_until 60 "recorded model rates" has_series 'orguard:model_seconds:rate5m{model="stock.quant"}'
# the finite buckets come from the extension's fold (ModelStat fields 20/21)
tap_ok "the model histogram is scraped, its finite buckets filled by the extension" \
	has_series 'orguard_model_duration_seconds_bucket{model="stock.quant",le="5.24288"} > 0'
tap_ok "p95 from the histogram is a number" \
	org_wait_until 30 "a p95" has_series 'orguard:model_duration_seconds:p95_5m{model="stock.quant"} >= 0'
http_get "http://127.0.0.1:$agent_port/metrics" >"$ORG_TMP/metrics.txt"
tap_ok "the agent's exposition, histogram included, passes promtool check metrics" \
	bash -c 'grep -q "^# TYPE orguard_model_duration_seconds histogram" "$1" && promtool check metrics <"$1"' _ "$ORG_TMP/metrics.txt"

# every target of every panel, with the row it sits in
python3 - "$ORG_SRC_DIR/packaging/grafana/odoo-retail-guard.json" >"$ORG_TMP/queries.tsv" <<'PY'
import json, sys
row = ""
for p in json.load(open(sys.argv[1]))["panels"]:
    if p["type"] == "row":
        row = p["title"]
        continue
    for t in p["targets"]:
        # Grafana's substitutions: the filters as regexes, $__rate_interval
        # as at least four scrape intervals
        e = (t["expr"].replace("$cluster", "e2e").replace("$node", "store7")
             .replace("$__rate_interval", "1m"))
        print("\t".join([row, p["title"], e]))
PY
tap_ok "the dashboard has panel queries" test "$(wc -l <"$ORG_TMP/queries.tsv")" -ge 30

# check_panel ROW EXPR: parses; in an incident row, returns series
check_panel() {
	local answer
	answer=$(query "$2") || return 1
	python3 - "$1" "$answer" <<'PY'
import json, sys
row, d = sys.argv[1], json.loads(sys.argv[2])
if d.get("status") != "success":
    print("# error: %s" % d.get("error"))
    sys.exit(1)
incident = row.startswith(("Overview", "Slow Odoo models", "Locks"))
if incident and not d["data"]["result"]:
    print("# no series during the incident")
    sys.exit(1)
if row.startswith("Locks") and not any(float(r["value"][1]) > 0 for r in d["data"]["result"]):
    print("# the lock wait does not show")
    sys.exit(1)
PY
}
while IFS=$'\t' read -r row title expr; do
	tap_ok "panel \"$title\" ($row): $expr" check_panel "$row" "$expr"
done <"$ORG_TMP/queries.tsv"

agent_kill pos
agent_kill cron
agent_kill prometheus
agent_kill agent
tap_done
