#!/usr/bin/env bash
# make deb: builds the Debian packages from the working tree.
#
# Copies the tree (without build output) to debian-build/odoo-retail-guard-VERSION/,
# puts packaging/debian in place as debian/ and runs
# `dpkg-buildpackage -us -uc -b`.  The .deb files land in debian-build/;
# their paths are printed at the end, one per line after "deb: built".
#
# The agent package (odoo-retail-guard-agent) is built when the tree has
# agent/agent.mk; otherwise only the extension package is built, with the
# build profile pkg.odoo-retail-guard.noagent, and the script says so.
#
# Environment: DEB_OUT_DIR (default <tree>/debian-build), DEB_BUILD_PROFILES
# (extra profiles), DEB_BUILD_OPTIONS (passed through).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=${DEB_OUT_DIR:-$src/debian-build}
version=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)
source=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Source)
build="$out/$source-$version"
start=$SECONDS

profiles=${DEB_BUILD_PROFILES:-}
if [ -f "$src/agent/agent.mk" ]; then
	echo "deb: agent/agent.mk found: building postgresql-15-odoo-retail-guard and odoo-retail-guard-agent"
else
	echo "deb: no agent/agent.mk in this tree: building only postgresql-15-odoo-retail-guard (profile pkg.odoo-retail-guard.noagent)"
	profiles="${profiles:+$profiles,}pkg.odoo-retail-guard.noagent"
fi

# fresh build tree; old packages of this source are replaced
mkdir -p "$out"
rm -rf "$build"
rm -f "$out/${source}"_*.buildinfo "$out/${source}"_*.changes \
	"$out"/postgresql-*-odoo-retail-guard_*.deb "$out"/postgresql-*-odoo-retail-guard-dbgsym_*.deb \
	"$out"/odoo-retail-guard-agent_*.deb "$out"/odoo-retail-guard-agent-dbgsym_*.deb
mkdir -p "$build"

# the tree as it is (tracked and untracked files, no ignored build output)
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$build"
else
	(cd "$src" && tar --exclude=./debian-build --exclude='*.o' --exclude='*.so' \
		--exclude='*.bc' --exclude=./agent/orguard-agent -cf - .) | tar -xf - -C "$build"
fi
rm -rf "$build/debian" "$build/debian-build"
cp -a "$src/packaging/debian" "$build/debian"

jobs=$(nproc 2>/dev/null || echo 1)
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=$jobs"
log="$out/build.log"
echo "deb: dpkg-buildpackage -us -uc -b in $build (log: $log)"
if ! (cd "$build" && dpkg-buildpackage -us -uc -b ${profiles:+--build-profiles="$profiles"}) >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "deb: dpkg-buildpackage failed (full log: $log)" >&2
	exit 1
fi

echo "deb: built in $((SECONDS - start))s:"
ls -1 "$out"/*_"$version"_*.deb
