#!/usr/bin/env bash
# Builds the .deb a studio installs (`sudo apt install ./afpool_VERSION_amd64.deb`) and prints its
# path. cargo-deb (from crates.io) packs what [package.metadata.deb] in Cargo.toml lists: afpool
# and afsubmit (release), the systemd unit, the commented config and service environment in
# /etc/afpool (scripts/deb/), man pages and bash/zsh/fish completions generated here from the clap
# definitions (`afpool generate-man`, `afpool completions`), the Keeper entries, the docs and the
# maintainer scripts (scripts/deb/maintainer/). Installs cargo-deb and dpkg-dev when missing.
#   scripts/package.sh             build the release binaries, then the package
#   scripts/package.sh --no-build  package the release binaries already in target/release
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dpkg-deb >/dev/null || ! command -v dpkg-shlibdeps >/dev/null; then
    echo "package.sh: no dpkg-deb/dpkg-shlibdeps; installing dpkg-dev" >&2
    apt-get install -y -q dpkg-dev >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q dpkg-dev >/dev/null; }
fi
if ! cargo deb --version >/dev/null 2>&1; then
    echo "package.sh: no cargo-deb; installing it from crates.io" >&2
    cargo install cargo-deb --locked --quiet
fi

if [[ "${1:-}" != --no-build ]]; then
    cargo build --release --bins --quiet
fi

assets=target/deb-assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"
bin=target/release/afpool
"$bin" generate-man "$assets/man" >/dev/null
for program in afpool afsubmit; do
    "$bin" completions bash --for "$program" >"$assets/completions/$program.bash"
    "$bin" completions zsh --for "$program" >"$assets/completions/_$program"
    "$bin" completions fish --for "$program" >"$assets/completions/$program.fish"
done

# The unit as scripts/systemd/ has it (a hand install into /usr/local/bin), with the packaged
# binary and without the hand-install notes.
unit=scripts/systemd/afpool.service
grep -qx 'ExecStart=/usr/local/bin/afpool serve' "$unit" ||
    { echo "package.sh: $unit has no 'ExecStart=/usr/local/bin/afpool serve' line" >&2; exit 1; }
{
    echo "# afpool serve as a systemd service, installed by the afpool package: settings in"
    echo "# /etc/afpool/afpool.toml (and afpool.env); systemctl enable --now afpool."
    echo
    sed -e '1,/^$/d' -e 's|^ExecStart=/usr/local/bin/afpool serve$|ExecStart=/usr/bin/afpool serve|' "$unit"
} >"$assets/afpool.service"

rm -f target/debian/afpool_*.deb
# Stripped: the release profile keeps line tables for backtraces, the package does not need them.
cargo deb --no-build --strip --quiet --output target/debian/ >/dev/null
ls target/debian/afpool_*.deb
