#!/usr/bin/env bash
# Tests the .deb: builds it (scripts/package.sh; arguments are passed on, e.g. --no-build), checks
# its contents and control files (dpkg-deb -c, -I), runs the maintainer scripts against a scratch
# root with the system commands they call recorded (DPKG_ROOT, stubs on PATH), and unpacks it
# (dpkg -x) to run the packaged afpool and afsubmit: --version, and check-config on the packaged
# config. Prints "N passed, 0 failed" or stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

deb=$(scripts/package.sh "$@")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0
fail() { echo "test-package.sh: FAIL: $*" >&2; echo "$passed passed, 1 failed"; exit 1; }
ok() { passed=$((passed + 1)); }
has() { grep -qE -- "$2" <<<"$1" || fail "$3: no /$2/"; ok; }
hasnt() { ! grep -qE -- "$2" <<<"$1" || fail "$3: /$2/ found"; ok; }

# Contents: path and mode of what a studio relies on.
contents=$(dpkg-deb -c "$deb")
for entry in \
    '-rwxr-xr-x .* \./usr/bin/afpool$' \
    '-rwxr-xr-x .* \./usr/bin/afsubmit$' \
    '-rw-r----- .* \./etc/afpool/afpool\.toml$' \
    '-rw-r----- .* \./etc/afpool/afpool\.env$' \
    '-rw-r--r-- .* \./usr/lib/systemd/system/afpool\.service$' \
    '\./usr/share/man/man1/afpool\.1\.gz$' \
    '\./usr/share/man/man1/afpool-serve\.1\.gz$' \
    '\./usr/share/man/man1/afpool-pool-create\.1\.gz$' \
    '\./usr/share/man/man1/afsubmit\.1\.gz$' \
    '\./usr/share/bash-completion/completions/afpool$' \
    '\./usr/share/bash-completion/completions/afsubmit$' \
    '\./usr/share/zsh/vendor-completions/_afpool$' \
    '\./usr/share/fish/vendor_completions.d/afpool\.fish$' \
    '-rwxr-xr-x .* \./usr/share/afpool/keeper/60\.afpool_manage\.sh$' \
    '\./usr/share/afpool/keeper/_afpool\.sh$' \
    '\./usr/share/afpool/keeper/62\.afpool_status\.cmd$' \
    '\./usr/share/doc/afpool/deploying\.md$' \
    '\./usr/share/doc/afpool/copyright$'; do
    has "$contents" "$entry" "dpkg-deb -c"
done
hasnt "$contents" 'generate-man' "dpkg-deb -c (hidden command's page)"

# Control files: dependencies, conffiles, maintainer scripts.
info=$(dpkg-deb -I "$deb")
has "$info" '^ Package: afpool$' "dpkg-deb -I"
has "$info" '^ Depends: .*adduser' "dpkg-deb -I"
for script in postinst prerm postrm; do
    has "$info" " $script +#!/bin/sh" "dpkg-deb -I"
done
control="$scratch/control"
dpkg-deb -e "$deb" "$control"
conffiles=$(cat "$control/conffiles")
has "$conffiles" '^/etc/afpool/afpool\.toml$' "conffiles"
has "$conffiles" '^/etc/afpool/afpool\.env$' "conffiles"

# Unpacked into a scratch root: the packaged binaries run, the packaged config is valid.
root="$scratch/root"
dpkg -x "$deb" "$root"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
has "$("$root/usr/bin/afpool" --version)" "^afpool $version$" "afpool --version"
has "$("$root/usr/bin/afsubmit" --version)" "^afsubmit $version$" "afsubmit --version"
settings=$(env -u AFPOOL_STORE -u AFPOOL_CONFIG "$root/usr/bin/afpool" \
    --config "$root/etc/afpool/afpool.toml" check-config) || fail "check-config on the packaged config"
has "$settings" '^store +file:/var/lib/afpool/pools\.json$' "check-config"
unit=$(cat "$root/usr/lib/systemd/system/afpool.service")
has "$unit" '^ExecStart=/usr/bin/afpool serve$' "afpool.service"
has "$unit" '^EnvironmentFile=/etc/afpool/afpool\.env$' "afpool.service"
has "$(cat "$root/etc/afpool/afpool.env")" '^AFPOOL_CONFIG=/etc/afpool/afpool\.toml$' "afpool.env"
has "$(zcat "$root/usr/share/man/man1/afpool-serve.1.gz")" 'AFPOOL_UPSTREAM' "afpool-serve.1"
bash -n "$root/usr/share/bash-completion/completions/afpool" || fail "bash completion syntax"
ok

# Maintainer scripts against the scratch root, each system command they call recorded.
stubs="$scratch/stubs"
calls="$scratch/calls"
mkdir -p "$stubs"
for cmd in addgroup adduser install chown chmod systemctl; do
    printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$cmd" "$calls" >"$stubs/$cmd"
done
printf '#!/bin/sh\n[ -n "$AFPOOL_TEST_USER_EXISTS" ]\n' >"$stubs/getent"
printf '#!/bin/sh\nexit 1\n' >"$stubs/dpkg-statoverride"
chmod +x "$stubs"/*
maint() { : >"$calls"; DPKG_ROOT="$root" PATH="$stubs:$PATH" sh "$control/$1" "${@:2}"; }

out=$(maint postinst configure "")
log=$(cat "$calls")
has "$log" '^addgroup --system --quiet afpool$' "postinst (install)"
has "$log" '^adduser --system .*--ingroup afpool --home /var/lib/afpool .* afpool$' "postinst (install)"
has "$log" "^install -d -m 0755 -o afpool -g afpool $root/var/lib/afpool$" "postinst (install)"
has "$log" "^chown root:afpool $root/etc/afpool/afpool\.env$" "postinst (install)"
has "$log" "^chmod 0640 $root/etc/afpool/afpool\.toml$" "postinst (install)"
hasnt "$log" 'systemctl .*(enable|start)' "postinst (install) starts nothing"
has "$out" 'systemctl enable --now afpool' "postinst (install) says how to start"
mkdir -p "$root/var/lib/afpool"
out=$(AFPOOL_TEST_USER_EXISTS=1 maint postinst configure 0.0.9-1)
log=$(cat "$calls")
hasnt "$log" '^(addgroup|adduser|install)' "postinst (upgrade) keeps the user and state"
hasnt "$log" 'systemctl .*(enable|start)' "postinst (upgrade)"
[[ -z "$out" ]] || fail "postinst (upgrade) printed: $out"
maint prerm upgrade 0.1.1-1
hasnt "$(cat "$calls")" 'stop' "prerm (upgrade) keeps the service running"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -s /usr/lib/systemd/system/afpool.service "$root/etc/systemd/system/multi-user.target.wants/"
maint postrm remove
[[ ! -L "$root/etc/systemd/system/multi-user.target.wants/afpool.service" ]] ||
    fail "postrm remove left the enablement link"
ok
has "$(maint postrm purge)" 'kept /var/lib/afpool' "postrm purge keeps the pools"
[[ -d "$root/var/lib/afpool" ]] || fail "postrm purge removed /var/lib/afpool"

echo "test-package.sh: $deb"
echo "$passed passed, 0 failed"
