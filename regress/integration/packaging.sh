#!/usr/bin/env bash
# Packaging smoke test: builds the Debian packages with `make deb`, installs
# them into this machine, and checks the installed files:
#   - CREATE EXTENSION from the package, on a throwaway cluster run by the
#     SYSTEM PostgreSQL binaries (not the harness's staged copy);
#   - the agent's check-config and runbook check-config on the shipped
#     sample configuration;
#   - systemd-analyze verify on the unit (the installed one when the agent
#     package exists, else a copy whose ExecStart is /bin/true), and its
#     Type=notify, watchdog, reload and no-restart-on-config-error settings;
#   - both packages carry the DEP-5 copyright file (License: PostgreSQL);
#     the agent's carries every docs/*.md and man pages that man -l reads;
#   - purging the agent removes the spool and lock files only: a real base
#     backup and archived WAL under the sample's backup_dir and archive_dir
#     (and under the previous sample's /var/lib directories), restores and
#     the runbook journal survive;
#   - rpmspec --parse on the RPM spec and an rpmbuild of its file lists;
#   - `make install` honours DESTDIR and PG_CONFIG.
# Installing into the system needs root (CI runs on a throwaway machine);
# otherwise those checks are skipped.  Re-running it upgrades/reinstalls the
# packages in place.
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"

# This test is about the SYSTEM PostgreSQL: under `make test` the harness has
# put its staged copy first in PATH, so take it out again.
sys_path=$PATH
if [ -n "${ORG_STAGE_DIR:-}" ]; then
	sys_path=$(printf '%s\n' "$PATH" | tr ':' '\n' | grep -v "^$ORG_STAGE_DIR/" | paste -sd:)
fi
PG_CONFIG=${PG_CONFIG:-$(PATH=$sys_path command -v pg_config)}
# shellcheck source=../lib/cluster.sh
. regress/lib/cluster.sh

n=0
failed=0
t0=$SECONDS
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - # SKIP $*"; }
check() { # check DESCRIPTION CMD...: ok when CMD succeeds
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
note() { echo "# $*"; }
# the source tree's files, without build output
tree_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -co --exclude-standard | while read -r f; do [ -e "$f" ] && echo "$f"; done
	else
		find . -type f ! -path './.git/*' ! -path './debian-build/*' ! -name '*.o' ! -name '*.so' \
			! -name '*.bc' ! -path './agent/orguard-agent' | sed 's,^\./,,'
	fi
}
elapsed() { echo "$((SECONDS - $1))s"; }

org_harness_init

is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1
have_agent=0
[ -f agent/agent.mk ] && have_agent=1
pgmajor=$($PG_CONFIG --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
ext_pkg="postgresql-$pgmajor-odoo-retail-guard"
agent_pkg="odoo-retail-guard-agent"
unit=packaging/systemd/orguard-agent.service

# ---- make deb ----
out="$ORG_TMP/deb"
t=$SECONDS
if PATH=$sys_path DEB_OUT_DIR="$out" timeout 600 make -s deb >"$ORG_TMP/make-deb.log" 2>&1; then
	ok "make deb builds the packages ($(elapsed $t))"
else
	not_ok "make deb builds the packages ($(elapsed $t))"
	tail -n 40 "$ORG_TMP/make-deb.log"
fi
sed 's/^/# /' "$ORG_TMP/make-deb.log" | grep '^# deb:'
ext_deb=$(ls "$out/${ext_pkg}"_*.deb 2>/dev/null | head -1)
agent_deb=$(ls "$out/${agent_pkg}"_*.deb 2>/dev/null | head -1)

if [ -n "$ext_deb" ]; then
	contents=$(dpkg-deb -c "$ext_deb" | awk '{print $6}')
	missing=""
	for f in "./usr/lib/postgresql/$pgmajor/lib/odoo_retail_guard.so" \
		"./usr/share/postgresql/$pgmajor/extension/odoo_retail_guard.control" \
		"./usr/share/postgresql/$pgmajor/extension/odoo_retail_guard--1.0.sql"; do
		grep -qxF "$f" <<<"$contents" || missing="$missing $f"
	done
	check "$ext_pkg holds the module, control file and SQL scripts${missing:+ (missing:$missing)}" \
		test -z "$missing"
	check "$ext_pkg holds no agent and nothing under /usr/local" \
		bash -c '! grep -qE "^\./usr/(bin|local)/" <<<"$1"' _ "$contents"
	check "$ext_pkg depends on postgresql-$pgmajor" \
		bash -c 'dpkg-deb -f "$1" Depends | grep -q "postgresql-$2"' _ "$ext_deb" "$pgmajor"
else
	not_ok "$ext_pkg was built"
fi

if [ $have_agent = 1 ]; then
	if [ -n "$agent_deb" ]; then
		contents=$(dpkg-deb -c "$agent_deb" | awk '{print $6}')
		missing=""
		for f in ./usr/bin/orguard-agent ./etc/odoo-retail-guard/agent.conf \
			./lib/systemd/system/orguard-agent.service \
			./usr/lib/sysusers.d/odoo-retail-guard-agent.conf \
			./usr/share/odoo-retail-guard/grafana/odoo-retail-guard.json \
			./usr/share/odoo-retail-guard/prometheus/odoo-retail-guard.rules.yml; do
			grep -qxF "$f" <<<"$contents" || missing="$missing $f"
		done
		check "$agent_pkg holds the daemon, sample config, unit, sysusers file, dashboard and rules${missing:+ (missing:$missing)}" \
			test -z "$missing"
		missing=""
		for f in docs/*.md README.md; do
			b=./usr/share/doc/$agent_pkg/$(basename "$f")
			grep -qxF -e "$b" -e "$b.gz" <<<"$contents" || missing="$missing $f"
		done
		check "$agent_pkg holds every doc under /usr/share/doc/$agent_pkg${missing:+ (missing:$missing)}" \
			test -z "$missing"
		# the default runbook_url of an alert ([agent] runbook_base_url) points here
		check "$agent_pkg keeps rules.md uncompressed for alerts' runbook_url" \
			grep -qxF "./usr/share/doc/$agent_pkg/rules.md" <<<"$contents"
		unpacked="$ORG_TMP/agent-deb"
		rm -rf "$unpacked"
		dpkg-deb -x "$agent_deb" "$unpacked"
		for page in man1/orguard-agent.1 man5/agent.conf.5; do
			f=$(ls "$unpacked/usr/share/man/$page" "$unpacked/usr/share/man/$page.gz" 2>/dev/null | head -1)
			title=$(basename "$page" | sed 's/\.\([15]\)$/(\1)/' | tr '[:lower:]' '[:upper:]')
			check "$agent_pkg holds the man page $page, and man -l shows its $title NAME section" \
				bash -c '[ -n "$1" ] && out=$(MANWIDTH=80 man -l "$1" 2>/dev/null) &&
					grep -q "^$2" <<<"$out" && grep -q "^NAME" <<<"$out"' _ "$f" "$title"
		done
		check "orguard-agent(1) documents --config and the commands from --help" \
			bash -c 'MANWIDTH=80 man -l "$1"/usr/share/man/man1/orguard-agent.1* 2>/dev/null |
				grep -q -- "--config FILE" ' _ "$unpacked"
		check "agent.conf(5) holds the [agent] keys from docs/agent.md" \
			bash -c 'MANWIDTH=80 man -l "$1"/usr/share/man/man5/agent.conf.5* 2>/dev/null |
				grep -q "node_timeout"' _ "$unpacked"
	else
		not_ok "$agent_pkg was built"
	fi
else
	note "no agent/agent.mk in this tree: $agent_pkg is not built"
	check "$agent_pkg is not built without the agent" test -z "$agent_deb"
fi

# ---- license: a machine-readable copyright file in every package ----
# (what lintian checks for: debian/copyright in DEP-5 format, installed as
# /usr/share/doc/PACKAGE/copyright)
for deb in "$ext_deb" "$agent_deb"; do
	[ -n "$deb" ] || continue
	pkg=$(dpkg-deb -f "$deb" Package)
	copyright=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./usr/share/doc/$pkg/copyright" 2>/dev/null)
	check "$pkg ships /usr/share/doc/$pkg/copyright in DEP-5 format with License: PostgreSQL" \
		bash -c 'grep -qx "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" <<<"$1" &&
			grep -qx "License: PostgreSQL" <<<"$1" &&
			grep -q "^Copyright: 2026, The odoo_retail_guard Authors$" <<<"$1"' _ "$copyright"
done
check "LICENSE is the PostgreSQL License of The odoo_retail_guard Authors" \
	bash -c 'head -1 LICENSE | grep -qx "PostgreSQL License" &&
		grep -qx "Copyright (c) 2026, The odoo_retail_guard Authors" LICENSE'

# ---- install into the system ----
installed=0
if [ $is_root = 0 ]; then
	skip "not root: packages not installed"
elif [ -n "$ext_deb" ]; then
	debs=("$ext_deb")
	[ -n "$agent_deb" ] && debs+=("$agent_deb")
	t=$SECONDS
	# dpkg -i unpacks even when the same version is installed (re-runs)
	if timeout 300 dpkg -i "${debs[@]}" >"$ORG_TMP/dpkg.log" 2>&1 ||
		DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -f -y -qq \
			>>"$ORG_TMP/dpkg.log" 2>&1; then
		installed=1
		ok "dpkg -i installs ${#debs[@]} package(s) ($(elapsed $t))"
	else
		not_ok "dpkg -i installs ${#debs[@]} package(s) ($(elapsed $t))"
		tail -n 30 "$ORG_TMP/dpkg.log"
	fi
	if [ $installed = 1 ]; then
		t=$SECONDS
		check "reinstalling the same packages works ($(elapsed $t))" \
			bash -c 'timeout 300 dpkg -i "$@" >>"'"$ORG_TMP"'/dpkg.log" 2>&1' _ "${debs[@]}"
		check "dpkg --verify: installed files match $ext_pkg" \
			bash -c '[ -z "$(dpkg --verify "$1")" ]' _ "$ext_pkg"
	fi
fi

# ---- CREATE EXTENSION with the system PostgreSQL ----
if [ $installed = 1 ]; then
	t=$SECONDS
	staged_bindir=$ORG_BINDIR
	ORG_BINDIR=$ORG_SYS_BINDIR # the system server loads the packaged module
	org_cluster_start pkg
	ORG_BINDIR=$staged_bindir
	preload=$(org_psql pkg -d postgres -Atc "SHOW shared_preload_libraries")
	check "the system server runs with shared_preload_libraries = '$preload'" test "$preload" = odoo_retail_guard
	bindir=$(org_psql pkg -d postgres -Atc "SELECT setting FROM pg_config WHERE name = 'BINDIR'")
	libdir=$(org_psql pkg -d postgres -Atc "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")
	pkg_libdir=$(dirname "$(dpkg -L "$ext_pkg" | grep '/odoo_retail_guard\.so$')")
	check "the server is the system one ($bindir/postgres)" test "$bindir" = "/usr/lib/postgresql/$pgmajor/bin"
	check "the server loads modules from the package's directory ($libdir)" test "$libdir" = "$pkg_libdir"
	check "CREATE EXTENSION odoo_retail_guard from the package" \
		org_psql pkg -d postgres -c "CREATE EXTENSION odoo_retail_guard"
	rows=$(org_psql pkg -d postgres -Atc "SELECT count(*) FROM odoo_retail_guard.memory" 2>&1)
	check "odoo_retail_guard.memory answers ($rows rows)" bash -c '[[ "$1" =~ ^[1-9][0-9]*$ ]]' _ "$rows"
	# a real base backup and a real WAL segment, kept for the purge test below
	if [ -n "$agent_deb" ]; then
		pkg_backup="$ORG_TMP/pkg-backup"
		check "pg_basebackup of the packaged cluster (for the purge test)" \
			"$ORG_SYS_BINDIR/pg_basebackup" -h "${ORG_SOCK[pkg]}" -p "${ORG_PORT[pkg]}" -U postgres \
			-D "$pkg_backup/data" -X fetch -c fast --no-sync
		walseg=$(org_psql pkg -d postgres -Atc "SELECT pg_walfile_name(pg_current_wal_lsn())")
		org_psql pkg -d postgres -Atc "SELECT pg_switch_wal()" >/dev/null
		mkdir -p "$pkg_backup/wal"
		check "a completed WAL segment ($walseg) copied as archived WAL" \
			cp "${ORG_DATA[pkg]}/pg_wal/$walseg" "$pkg_backup/wal/$walseg"
	fi
	org_cluster_stop pkg
	note "cluster on the packaged module: $(elapsed $t)"
else
	skip "not installed: no cluster on the packaged module"
fi

# ---- the agent on the shipped sample ----
if [ $installed = 1 ] && [ -n "$agent_deb" ]; then
	check "the orguard system user exists" bash -c 'getent passwd orguard >/dev/null'
	for d in /var/lib/odoo-retail-guard /var/lib/odoo-retail-guard/spool /var/backups/odoo-retail-guard \
		/var/backups/odoo-retail-guard/base /var/backups/odoo-retail-guard/wal-archive; do
		check "$d exists, owned by orguard" bash -c '[ "$(stat -c %U "$1")" = orguard ]' _ "$d"
	done
	check "orguard-agent --version" bash -c '/usr/bin/orguard-agent --version >/dev/null'
	# the sample names its secrets by environment variable: give them placeholders
	conf=/etc/odoo-retail-guard/agent.conf
	secrets=()
	for v in $(sed -n 's/^[[:space:]]*[a-z_]*_env[[:space:]]*=[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$conf" | sort -u); do
		secrets+=("$v=placeholder")
	done
	note "secret variables of the sample set to placeholders: ${secrets[*]%%=*}"
	if runuser -u orguard -- env "${secrets[@]}" /usr/bin/orguard-agent check-config --config "$conf" \
		>"$ORG_TMP/check-config.log" 2>&1; then
		ok "orguard-agent check-config accepts the shipped $conf (as orguard)"
	else
		not_ok "orguard-agent check-config accepts the shipped $conf (as orguard)"
		sed 's/^/# /' "$ORG_TMP/check-config.log"
	fi
	if runuser -u orguard -- env "${secrets[@]}" /usr/bin/orguard-agent --config "$conf" runbook check-config \
		>"$ORG_TMP/runbook-check-config.log" 2>&1; then
		ok "orguard-agent runbook check-config accepts the shipped $conf's runbooks"
	else
		not_ok "orguard-agent runbook check-config accepts the shipped $conf's runbooks"
		sed 's/^/# /' "$ORG_TMP/runbook-check-config.log"
	fi
elif [ $have_agent = 0 ]; then
	skip "agent not in this tree: check-config on the shipped sample not run"
else
	skip "agent package not installed: check-config not run"
fi

# ---- systemd unit ----
hardening_missing=""
for d in '^User=orguard$' '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' '^PrivateTmp=yes$' \
	'^ReadWritePaths=/var/lib/odoo-retail-guard -/var/backups/odoo-retail-guard$' '^Restart=on-failure$'; do
	grep -q "$d" "$unit" || hardening_missing="$hardening_missing $d"
done
check "the unit is hardened (User, NoNewPrivileges, ProtectSystem=strict, ReadWritePaths, PrivateTmp, Restart)${hardening_missing:+ missing:$hardening_missing}" \
	test -z "$hardening_missing"
notify_missing=""
for d in '^Type=notify$' '^NotifyAccess=main$' '^WatchdogSec=[1-9]' '^ExecReload=/bin/kill -HUP \$MAINPID$' \
	'^RestartPreventExitStatus=2$'; do
	grep -q "$d" "$unit" || notify_missing="$notify_missing $d"
done
check "the unit: Type=notify, NotifyAccess=main, WatchdogSec, ExecReload (SIGHUP), RestartPreventExitStatus=2${notify_missing:+ missing:$notify_missing}" \
	test -z "$notify_missing"
# systemd applies RestartPreventExitStatus= to the main process only: a
# failing ExecStartPre would restart every RestartSec for ever
check "the unit has no ExecStartPre (its failure would defeat RestartPreventExitStatus)" \
	bash -c '! grep -q "^ExecStartPre=" "$1"' _ "$unit"
# the agent logs to stderr (the journal) only
check "the unit has no LogsDirectory (the agent writes no log files)" \
	bash -c '! grep -qE "^LogsDirectory|/var/log" "$1"' _ "$unit"
if [ $installed = 1 ] && [ -n "$agent_deb" ]; then
	check "systemd-analyze verify on the installed unit" \
		systemd-analyze verify /lib/systemd/system/orguard-agent.service
else
	mkdir -p "$ORG_TMP/unit"
	sed -E 's#^(ExecStart(Pre)?)=/usr/bin/orguard-agent.*#\1=/bin/true#' "$unit" >"$ORG_TMP/unit/orguard-agent.service"
	note "no installed agent: verifying a copy of the unit whose ExecStart is /bin/true"
	check "systemd-analyze verify on the unit (ExecStart=/bin/true: agent not installed)" \
		systemd-analyze verify "$ORG_TMP/unit/orguard-agent.service"
fi

# ---- purge keeps backups, WAL archives, restores and the journal ----
# The data sits where the shipped sample puts it (backup_dir, archive_dir,
# restore_dir), and where the previous sample put it, under the state
# directory (an upgraded installation keeps its edited agent.conf).
if [ $installed = 1 ] && [ -n "$agent_deb" ] && [ -d "${pkg_backup:-/nonexistent}/data" ]; then
	conf=/etc/odoo-retail-guard/agent.conf
	sample_key() { sed -n "s/^$1[[:space:]]*=[[:space:]]*\([^[:space:]#]*\).*/\1/p" "$conf" | head -1; }
	backup_dir=$(sample_key backup_dir)
	archive_dir=$(sample_key archive_dir)
	restore_dir=$(sample_key restore_dir)
	state=/var/lib/odoo-retail-guard
	note "sample: backup_dir $backup_dir, archive_dir $archive_dir, restore_dir $restore_dir"
	check "the sample's backup_dir and archive_dir are outside the state directory $state" \
		bash -c '[ -n "$1" ] && [ -n "$2" ] && [[ "$1" != "$3"/* ]] && [[ "$2" != "$3"/* ]]' _ \
		"$backup_dir" "$archive_dir" "$state"
	check "the package created $backup_dir and $archive_dir for orguard" \
		bash -c '[ "$(stat -c %U "$1")" = orguard ] && [ "$(stat -c %U "$2")" = orguard ]' _ "$backup_dir" "$archive_dir"
	label=pkgtest-$$
	kept=("$backup_dir/$label" "$archive_dir" "$state/backups/$label" "$state/wal-archive"
		"$restore_dir" "$state/runbooks.journal")
	for d in "$backup_dir/$label" "$state/backups/$label"; do
		mkdir -p "$d" && cp -a "$pkg_backup/data" "$d/data" &&
			printf '{"label":"%s"}\n' "$label" >"$d/backup.json"
	done
	mkdir -p "$state/wal-archive" "$restore_dir"
	cp "$pkg_backup"/wal/* "$archive_dir/"
	cp "$pkg_backup"/wal/* "$state/wal-archive/"
	cp -a "$pkg_backup/data/." "$restore_dir/"
	printf '{"run":"r1","step":"backup","result":"ok"}\n' >>"$state/runbooks.journal"
	: >"$state/runbooks.journal.main.lock"
	mkdir -p "$state/spool/oncall"
	printf '{}\n' >"$state/spool/oncall/00000000000000000001.json"
	printf 'store-0042 1 2 3\n' >"$state/spool/cursors"
	sums_before=$(cd / && find "${kept[@]}" -type f -print0 | sort -z | xargs -0 sha256sum)
	t=$SECONDS
	if timeout 300 dpkg --purge "$agent_pkg" >"$ORG_TMP/purge.log" 2>&1; then
		ok "dpkg --purge $agent_pkg ($(elapsed $t))"
	else
		not_ok "dpkg --purge $agent_pkg ($(elapsed $t))"
		tail -n 20 "$ORG_TMP/purge.log"
	fi
	sums_after=$(cd / && find "${kept[@]}" -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum 2>/dev/null)
	check "purge keeps the base backup in the sample's backup_dir ($backup_dir/$label)" \
		test -f "$backup_dir/$label/data/PG_VERSION" -a -f "$backup_dir/$label/backup.json"
	check "purge keeps the archived WAL in the sample's archive_dir ($archive_dir)" \
		bash -c 'for f in "$1"/wal/*; do [ -f "$2/$(basename "$f")" ] || exit 1; done' _ "$pkg_backup" "$archive_dir"
	check "purge keeps a base backup and WAL archive under $state (the previous sample's paths)" \
		test -f "$state/backups/$label/data/PG_VERSION" -a -n "$(ls "$state/wal-archive" 2>/dev/null)"
	check "purge keeps the restored data directory ($restore_dir)" test -f "$restore_dir/PG_VERSION"
	check "purge keeps the runbook journal (an audit record)" grep -q '"run":"r1"' "$state/runbooks.journal"
	check "every kept file is unchanged ($(wc -l <<<"$sums_before") files)" test "$sums_before" = "$sums_after"
	check "purge removes the spool (pages, cursors, alert state)" test ! -e "$state/spool"
	check "purge removes the runbook lock files" test ! -e "$state/runbooks.journal.main.lock"
	check "the agent package is purged" bash -c '! dpkg-query -W -f="\${Status}" "$1" 2>/dev/null | grep -q installed' _ "$agent_pkg"
	# the fixture is this test's own: remove it, then what the purge left empty
	rm -rf "$backup_dir/$label" "$state/backups" "$state/wal-archive" "$restore_dir" "$state/runbooks.journal"
	for f in "$pkg_backup"/wal/*; do rm -f "$archive_dir/$(basename "$f")"; done
	rmdir "$archive_dir" "$backup_dir" "$(dirname "$backup_dir")" "$state" 2>/dev/null || true
elif [ $installed = 1 ] && [ -n "$agent_deb" ]; then
	not_ok "purge test: no base backup was taken"
else
	skip "agent package not installed: purge not tested"
fi

# ---- RPM spec ----
spec=packaging/rpm/odoo_retail_guard.spec
if command -v rpmspec >/dev/null 2>&1; then
	check "rpmspec --parse $spec" bash -c 'rpmspec --parse "$1" >/dev/null' _ "$spec"
	check "rpmspec --parse --without agent $spec" bash -c 'rpmspec --parse --without agent "$1" >/dev/null' _ "$spec"
	# build the binary RPMs with Debian's PostgreSQL layout, to check the file lists
	t=$SECONDS
	top="$ORG_TMP/rpm"
	version=$(rpmspec -q --srpm --qf '%{version}' "$spec")
	mkdir -p "$top/SOURCES"
	tree_files | tar -cf - -T - --transform "s,^,odoo_retail_guard-$version/," |
		gzip -1 >"$top/SOURCES/odoo_retail_guard-$version.tar.gz"
	with=--without
	[ $have_agent = 1 ] && with=--with
	if PATH=$sys_path timeout 300 rpmbuild -bb --nodeps "$with" agent --define "_topdir $top" \
		--define "pginstdir $(dirname "$ORG_SYS_BINDIR")" --define "pglibdir $ORG_SYS_LIBDIR" \
		--define "pgsharedir $ORG_SYS_SHAREDIR" --define 'debug_package %{nil}' \
		"$spec" >"$top/build.log" 2>&1; then
		ok "rpmbuild -bb $with agent: every file listed in the spec is built ($(elapsed $t))"
		for r in "$top"/RPMS/*/*.rpm; do note "built $(basename "$r")"; done
	else
		not_ok "rpmbuild -bb $with agent: every file listed in the spec is built ($(elapsed $t))"
		tail -n 20 "$top/build.log"
	fi
else
	not_ok "rpmspec is installed (Debian package rpm)"
fi

# ---- make install honours DESTDIR and PG_CONFIG ----
t=$SECONDS
dest="$ORG_TMP/destdir"
fake="$ORG_TMP/pg_config"
# a pg_config that moves the module and share directories elsewhere
cat >"$fake" <<EOF
#!/bin/sh
case "\$1" in
--pkglibdir) echo /opt/orguard-test/lib ;;
--sharedir) echo /opt/orguard-test/share ;;
*) exec $PG_CONFIG "\$@" ;;
esac
EOF
chmod +x "$fake"
stamp="$ORG_TMP/stamp"
touch "$stamp"
sleep 1
if PATH=$sys_path make -s install DESTDIR="$dest" PG_CONFIG="$fake" >"$ORG_TMP/install.log" 2>&1; then
	ok "make install DESTDIR=... PG_CONFIG=... succeeds"
else
	not_ok "make install DESTDIR=... PG_CONFIG=... succeeds"
	tail -n 20 "$ORG_TMP/install.log"
fi
check "the module lands in DESTDIR + the PG_CONFIG module directory" \
	test -f "$dest/opt/orguard-test/lib/odoo_retail_guard.so"
check "the control file and SQL script land in DESTDIR + the PG_CONFIG share directory" \
	test -f "$dest/opt/orguard-test/share/extension/odoo_retail_guard.control" -a \
	-f "$dest/opt/orguard-test/share/extension/odoo_retail_guard--1.0.sql"
if [ $have_agent = 1 ]; then
	check "the agent lands in DESTDIR/usr/local/bin (PREFIX default)" test -x "$dest/usr/local/bin/orguard-agent"
	check "its man pages land in DESTDIR/usr/local/share/man (MANDIR default)" \
		test -s "$dest/usr/local/share/man/man1/orguard-agent.1" -a -s "$dest/usr/local/share/man/man5/agent.conf.5"
fi
written=$(find "$ORG_SYS_LIBDIR" "$ORG_SYS_SHAREDIR" /usr/local /opt -newer "$stamp" \
	\( -name 'odoo_retail_guard*' -o -name 'orguard*' \) 2>/dev/null)
check "make install with DESTDIR writes nothing outside DESTDIR${written:+ (wrote: $written)}" test -z "$written"
note "make install checks: $(elapsed $t)"

note "packaging smoke test: $(elapsed $t0)"
[ $failed -eq 0 ]
