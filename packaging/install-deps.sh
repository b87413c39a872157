#!/usr/bin/env bash
# Installs every build, test and demo dependency from Debian 12 packages.
# Idempotent: installs only what is missing, so `make test` and `make demo`
# can call it on every run. Needs root (or sudo) only when something is missing.
set -euo pipefail

# One list per concern in packaging/deps/*.list (one package per line, # comments).
deps_dir="$(cd "$(dirname "$0")" && pwd)/deps"
mapfile -t packages < <(cat "$deps_dir"/*.list | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-deps: missing packages (${missing[*]}) and not root; install them with apt-get" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
# Debian's postgresql-common creates a "main" cluster on install; tests and the
# demo start their own throwaway clusters, so do not create one.
if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
	$SUDO mkdir -p /etc/postgresql-common
	echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
