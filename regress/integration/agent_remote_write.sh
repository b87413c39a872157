#!/usr/bin/env bash
# orguard-agent's metrics in a real Prometheus 2.42 (Debian) on loopback,
# both ways: pushed with remote write 1.0 (protobuf + snappy) to the
# remote-write receiver, and scraped from the agent's /metrics.  The query
# API returns the pushed series with the agent's external labels.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

make -s agent >/dev/null || org_die "agent build failed"
org_cluster_start rw_node

prom_port=$(org_free_port)
metrics_port=$(org_free_port)
mkdir -p "$ORG_TMP/prom"
cat >"$ORG_TMP/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: orguard
    static_configs:
      - targets: ['127.0.0.1:$metrics_port']
EOF
agent_bg prometheus prometheus --config.file="$ORG_TMP/prom/prometheus.yml" \
	--storage.tsdb.path="$ORG_TMP/prom/data" --web.listen-address="127.0.0.1:$prom_port" \
	--web.enable-remote-write-receiver
prom="http://127.0.0.1:$prom_port"
service_ready prometheus "$prom/-/ready" 120

conf="$ORG_TMP/agent.conf"
cat >"$conf" <<EOF
[agent]
interval = 1s
node_timeout = 800ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$metrics_port
remote_write_url = $prom/api/v1/write
external_label.source = push
external_label.agent = rw-test

[node rw1]
conninfo = $(org_conn rw_node) dbname=postgres
cluster = rw-cluster
EOF
cp "$conf" "$ORG_TMP/one-node.conf"
printf '[node rw2]\nconninfo = %s dbname=template1\ncluster = rw-cluster\n' "$(org_conn rw_node)" >>"$conf"

# prom_query QUERY: succeeds when the instant query returns at least one series
prom_query() {
	curl -fsS --max-time 5 -G "$prom/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["status"]=="success" and d["data"]["result"] else 1)'
}
prom_value() {
	curl -fsS --max-time 5 -G "$prom/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'
}

agent_start agent "$conf"
tap_ok "pushed series reach Prometheus through remote write" \
	org_wait_until 60 "pushed orguard_node_up" prom_query 'orguard_node_up{source="push",node="rw1"}'
tap_ok "the pushed node is up" test "$(prom_value 'orguard_node_up{source="push",node="rw1"}')" = 1
tap_ok "external labels and the cluster label are kept" \
	prom_query 'orguard_node_max_connections{source="push",agent="rw-test",cluster="rw-cluster",node="rw1"} == 120'
tap_ok "counters keep increasing across pushes" \
	org_wait_until 30 "polls increase" bash -c \
	"v=\$(curl -fsS --max-time 5 -G '$prom/api/v1/query' --data-urlencode 'query=max_over_time(orguard_node_polls_total{source=\"push\"}[1m]) - min_over_time(orguard_node_polls_total{source=\"push\"}[1m])' | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"data\"][\"result\"]; print(r[0][\"value\"][1] if r else 0)'); python3 -c \"import sys; sys.exit(0 if float('\$v') >= 2 else 1)\""
tap_ok "Prometheus also scrapes /metrics" \
	org_wait_until 30 "scrape" prom_query 'up{job="orguard"} == 1'
tap_ok "scraped and pushed agree on the node" prom_query 'orguard_node_up{job="orguard",node="rw1"} == 1'
tap_ok "no remote write failures counted" \
	bash -c "http_out=\$(curl -fsS --max-time 5 http://127.0.0.1:$metrics_port/metrics) && echo \"\$http_out\" | grep -q '^orguard_remote_write_failures_total 0$'"
tap_ok "the agent logged no remote write error" bash -c "! grep -q 'remote write' '$ORG_TMP/agent.log'"

# a node leaves the configuration: its pushed series are marked stale at
# once rather than lingering for Prometheus' five-minute lookback
tap_ok "both nodes are pushed" prom_query 'orguard_node_up{source="push",node="rw2"}'
cp "$ORG_TMP/one-node.conf" "$conf"
kill -HUP "${AGENT_PIDS[agent]}"
rw2_gone() { ! prom_query 'orguard_node_up{source="push",node="rw2"}'; }
tap_ok "the removed node's series go stale within seconds" org_wait_until 30 "rw2 stale" rw2_gone
tap_ok "the remaining node is still there" prom_query 'orguard_node_up{source="push",node="rw1"} == 1'

agent_kill agent
tap_done
