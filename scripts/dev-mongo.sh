#!/usr/bin/env bash
# Start a throwaway MongoDB-compatible server (SecantusDB) on a free loopback port for tests.
#
#   source scripts/dev-mongo.sh          # starts it, exports MONGODB_URI, defines dev_mongo_stop
#   scripts/dev-mongo.sh run CMD...      # starts it, runs CMD with MONGODB_URI set, stops it,
#                                        # and exits with CMD's exit code
#   scripts/dev-mongo.sh                 # starts it and prints MONGODB_URI and the pid
#
# SecantusDB is installed into .dev/venv (gitignored) on first use. The server binary there
# (.dev/venv/bin/secantusd-py) is also what tests/store_live.rs starts for its restart test.
set -euo pipefail

DEV_MONGO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV_MONGO_VENV="$DEV_MONGO_ROOT/.dev/venv"
DEV_MONGO_VERSION="0.7.0b3"

dev_mongo_install() {
    if [[ -x "$DEV_MONGO_VENV/bin/secantusd-py" ]]; then
        return 0
    fi
    mkdir -p "$DEV_MONGO_ROOT/.dev"
    python3 -m venv "$DEV_MONGO_VENV"
    "$DEV_MONGO_VENV/bin/pip" install --quiet "SecantusDB==$DEV_MONGO_VERSION"
}

dev_mongo_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

dev_mongo_wait() {
    local port="$1" i
    for ((i = 0; i < 300; i++)); do
        if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()' "$port" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$DEV_MONGO_PID" 2>/dev/null; then
            echo "dev-mongo: server exited early; log: $DEV_MONGO_DIR/server.log" >&2
            cat "$DEV_MONGO_DIR/server.log" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    echo "dev-mongo: server did not accept connections on port $port within 30 s" >&2
    return 1
}

dev_mongo_start() {
    dev_mongo_install
    DEV_MONGO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/afpool-dev-mongo.XXXXXX")"
    DEV_MONGO_PORT="$(dev_mongo_free_port)"
    "$DEV_MONGO_VENV/bin/secantusd-py" --host 127.0.0.1 --port "$DEV_MONGO_PORT" \
        --storage-path "$DEV_MONGO_DIR/data" --log-level WARNING \
        >"$DEV_MONGO_DIR/server.log" 2>&1 &
    DEV_MONGO_PID=$!
    if ! dev_mongo_wait "$DEV_MONGO_PORT"; then
        dev_mongo_stop
        return 1
    fi
    export DEV_MONGO_PID DEV_MONGO_PORT DEV_MONGO_DIR
    export MONGODB_URI="mongodb://127.0.0.1:$DEV_MONGO_PORT/"
    echo "MONGODB_URI=$MONGODB_URI"
    echo "DEV_MONGO_PID=$DEV_MONGO_PID"
}

# Stop the server started by dev_mongo_start and remove its data directory.
dev_mongo_stop() {
    if [[ -n "${DEV_MONGO_PID:-}" ]]; then
        kill "$DEV_MONGO_PID" 2>/dev/null || true
        wait "$DEV_MONGO_PID" 2>/dev/null || true
        DEV_MONGO_PID=""
    fi
    if [[ -n "${DEV_MONGO_DIR:-}" && -d "$DEV_MONGO_DIR" ]]; then
        rm -rf "$DEV_MONGO_DIR"
        DEV_MONGO_DIR=""
    fi
    unset MONGODB_URI
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: start and leave it running for the caller.
    dev_mongo_start
    return 0
fi

case "${1:-}" in
    run)
        shift
        [[ $# -gt 0 ]] || { echo "usage: $0 run CMD..." >&2; exit 64; }
        dev_mongo_start
        trap dev_mongo_stop EXIT
        status=0
        "$@" || status=$?
        exit "$status"
        ;;
    "")
        dev_mongo_start
        echo "stop it with: kill $DEV_MONGO_PID; data dir: $DEV_MONGO_DIR"
        ;;
    *)
        echo "usage: $0 [run CMD...]   or   source $0" >&2
        exit 64
        ;;
esac
