#!/usr/bin/env bash
# The test command: every test, on a fresh machine. Installs and starts the MongoDB-compatible test
# server (SecantusDB, in a virtualenv under .dev/), exports MONGODB_URI, builds, runs all tests, and
# stops the server again.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/dev-mongo.sh
source scripts/dev-mongo.sh
trap dev_mongo_stop EXIT

cargo build --all-targets
cargo test --all-targets
cargo test --doc
