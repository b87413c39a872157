#!/usr/bin/env bash
# Authenticated remote write against a real Prometheus 2.42 (Debian) whose
# remote-write receiver sits behind its own --web.config.file: TLS with a
# certificate from a throwaway CA, client certificates required, basic
# auth with a bcrypt hash.
#   - the right credentials (password from a file, CA, client certificate,
#     an X-Scope-OrgID header) land samples, read back through the query API;
#   - a wrong password is refused: counted in /metrics, the 401 logged;
#   - without the CA the TLS check refuses the receiver (tls_verify default);
#   - no password appears in any agent's log or /metrics.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

command -v prometheus >/dev/null || { echo "1..0 # SKIP prometheus not installed"; exit 0; }
make -s agent >/dev/null || org_die "agent build failed"

GOOD_PW="rw-Good-pw-7f3a9c"
BAD_PW="rw-Wrong-pw-c41d2e"

# a CA, the receiver's certificate for 127.0.0.1 and the agent's client certificate
tls="$ORG_TMP/tls"
mkdir -p "$tls"
(
	cd "$tls" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=orguard test CA" \
		-keyout ca.key -out ca.pem
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
	printf 'subjectAltName = IP:127.0.0.1\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile server.ext -out server.pem
	openssl req -newkey rsa:2048 -nodes -subj "/CN=orguard-agent" -keyout client.key -out client.csr
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem
) >"$ORG_TMP/openssl.log" 2>&1 || org_die "openssl failed: $(cat "$ORG_TMP/openssl.log")"
# bcrypt, as web.config.file wants it (libxcrypt's $2b$; cost 4 keeps the test fast)
hash=$(python3 -W ignore -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' "$GOOD_PW")
case $hash in '$2b$04$'*) ;; *) org_die "no bcrypt hash from python3's crypt module: $hash" ;; esac

prom_port=$(org_free_port) || org_die "no free port"
mkdir -p "$ORG_TMP/prom"
printf 'global:\n  scrape_interval: 1m\n' >"$ORG_TMP/prom/prometheus.yml"
cat >"$ORG_TMP/prom/web.yml" <<WEB
tls_server_config:
  cert_file: $tls/server.pem
  key_file: $tls/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $tls/ca.pem
basic_auth_users:
  orguard: '$hash'
WEB
agent_bg prometheus prometheus --config.file="$ORG_TMP/prom/prometheus.yml" \
	--storage.tsdb.path="$ORG_TMP/prom/data" --web.listen-address="127.0.0.1:$prom_port" \
	--web.enable-remote-write-receiver --web.config.file="$ORG_TMP/prom/web.yml"
prom="https://127.0.0.1:$prom_port"
pcurl() { curl -sS --max-time 5 --cacert "$tls/ca.pem" --cert "$tls/client.pem" --key "$tls/client.key" "$@"; }
prom_ready() { pcurl -f -o /dev/null -u "orguard:$GOOD_PW" "$prom/-/ready"; }
org_wait_until 120 "Prometheus behind TLS and basic auth" prom_ready ||
	{ tail -n 20 "$ORG_TMP/prometheus.log" >&2; org_die "prometheus did not start"; }
tap_ok "the receiver refuses a request without credentials" \
	bash -c '[ "$(curl -sS -o /dev/null -w "%{http_code}" --max-time 5 --cacert "$1/ca.pem" --cert "$1/client.pem" --key "$1/client.key" "$2/api/v1/query?query=up")" = 401 ]' _ "$tls" "$prom"

# the node is a closed port: the agent still exports orguard_node_up 0
dead_port=$(org_free_port) || org_die "no free port"
printf '%s\n' "$GOOD_PW" >"$ORG_TMP/rw.password"
chmod 600 "$ORG_TMP/rw.password"
# agent_conf NAME EXTRA: a configuration pushing with source=NAME
agent_conf() {
	local port
	port=$(org_free_port) || org_die "no free port"
	cat >"$ORG_TMP/$1.conf" <<CONF
[agent]
interval = 1s
node_timeout = 800ms
spool_dir = $ORG_TMP/spool-$1
listen = 127.0.0.1:$port
remote_write_url = $prom/api/v1/write
# generous: on a loaded machine a timed-out push is a real (counted) failure
remote_write_timeout = 15s
external_label.source = $1
$2
[node n1]
conninfo = host=127.0.0.1 port=$dead_port dbname=postgres connect_timeout=1
cluster = rw-auth
CONF
	echo "$port"
}
good_port=$(agent_conf good "remote_write_username = orguard
remote_write_password_file = $ORG_TMP/rw.password
remote_write_header.X-Scope-OrgID = tenant-a
remote_write_ca_file = $tls/ca.pem
remote_write_cert_file = $tls/client.pem
remote_write_key_file = $tls/client.key")
bad_port=$(agent_conf bad "remote_write_username = orguard
remote_write_password_env = ORGUARD_RW_PASSWORD
remote_write_ca_file = $tls/ca.pem
remote_write_cert_file = $tls/client.pem
remote_write_key_file = $tls/client.key")
noca_port=$(agent_conf noca "remote_write_username = orguard
remote_write_password_file = $ORG_TMP/rw.password
remote_write_cert_file = $tls/client.pem
remote_write_key_file = $tls/client.key")

agent_start good "$ORG_TMP/good.conf"
ORGUARD_RW_PASSWORD=$BAD_PW agent_start bad "$ORG_TMP/bad.conf"
agent_start noca "$ORG_TMP/noca.conf"

prom_has() { # QUERY: at least one series
	pcurl -f -u "orguard:$GOOD_PW" -G "$prom/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["status"]=="success" and d["data"]["result"] else 1)'
}
metric() { # PORT NAME: the value of an unlabelled sample of the agent's /metrics
	http_get "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n {print $2}'
}
failing() { v=$(metric "$1" orguard_remote_write_failures_total); [ -n "$v" ] && [ "$v" != 0 ]; }

tap_ok "the right credentials, CA and client certificate land samples" \
	org_wait_until 60 "pushed samples" prom_has 'orguard_node_up{source="good",cluster="rw-auth",node="n1"}'
sent_ok() { # PORT: samples sent, no failure
	[ "$(metric "$1" orguard_remote_write_failures_total)" = 0 ] &&
		[ "$(metric "$1" orguard_remote_write_samples_sent_total)" != 0 ]
}
# /metrics is refreshed once per poll: wait for the count, the failures must stay 0 throughout
tap_ok "that agent counts them sent and no failure" org_wait_until 20 "samples counted sent" sent_ok "$good_port"
tap_ok "a wrong password is refused and counted in /metrics" \
	org_wait_until 60 "failures counted" failing "$bad_port"
tap_ok "the refusal is logged with its status" \
	org_wait_until 30 "401 logged" grep -q 'remote write: HTTP 401' "$ORG_TMP/bad.log"
tap_ok "without the CA the receiver's certificate is refused (tls_verify by default)" \
	org_wait_until 60 "TLS failures counted" failing "$noca_port"
tap_ok "the TLS refusal is logged" grep -qi 'remote write: .*certificate' "$ORG_TMP/noca.log"
none_landed() { ! prom_has 'orguard_node_up{source=~"bad|noca"}' && prom_has 'orguard_node_up{source="good"}'; }
tap_ok "nothing from the refused agents landed" none_landed
for name in good bad noca; do
	port_var="${name}_port"
	http_get "http://127.0.0.1:${!port_var}/metrics" >"$ORG_TMP/$name.metrics"
	tap_ok "no password in $name's log or /metrics" bash -c \
		'[ -s "$3" ] && grep -q "^orguard_remote_write_failures_total" "$4" &&
		! grep -qF -e "$1" -e "$2" "$3" "$4" && ! grep -qF -e "$(printf "orguard:%s" "$1" | base64)" "$3" "$4"' \
		_ "$GOOD_PW" "$BAD_PW" "$ORG_TMP/$name.log" "$ORG_TMP/$name.metrics"
done

agent_kill good
agent_kill bad
agent_kill noca
agent_kill prometheus
tap_done
