#!/usr/bin/env bash
# The test command: every test, on a fresh machine. Installs and starts the MongoDB-compatible test
# server (SecantusDB, in a virtualenv under .dev/), exports MONGODB_URI, builds, runs all tests, and
# stops the server again. tests/std_regex.rs needs a C++ compiler (afserver's regex engine is
# libstdc++'s); it is installed from Debian's packages when missing, and so are chromium and
# chromium-driver for tests/web_page.rs (the web page in a headless browser) and HAProxy for
# tests/scaleout.rs; scripts/test-package.sh builds and checks the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v "${CXX:-c++}" >/dev/null; then
    echo "test.sh: no C++ compiler; installing g++" >&2
    apt-get install -y -q g++ >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q g++ >/dev/null; }
fi

# tests/web_page.rs drives the web page in headless Chromium over WebDriver.
if ! command -v chromedriver >/dev/null || [[ ! -x /usr/bin/chromium ]]; then
    echo "test.sh: no chromium/chromedriver; installing chromium and chromium-driver" >&2
    apt-get install -y -q chromium chromium-driver >/dev/null ||
        { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; }
fi

# tests/scaleout.rs runs two proxies behind HAProxy (Debian's package).
if ! command -v haproxy >/dev/null; then
    echo "test.sh: no haproxy; installing haproxy" >&2
    apt-get install -y -q haproxy >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q haproxy >/dev/null; }
fi

# shellcheck source=scripts/dev-mongo.sh
source scripts/dev-mongo.sh
trap dev_mongo_stop EXIT

cargo build --all-targets
cargo test --all-targets
cargo test --doc
# The .deb (release build; installs cargo-deb and dpkg-dev when missing): contents, control files
# and maintainer scripts checked, the packaged afpool and afsubmit run from a scratch root.
scripts/test-package.sh
