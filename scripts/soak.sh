#!/usr/bin/env bash
# Soak (issue #13): afpool serve (release build, file store, one pool) in front of the fake
# afserver, on 127.0.0.1 only, bounded in time and count, abused phase by phase by
# examples/soak.rs while a probe submits normal jobs at a steady rate: 1,000 idle connections
# held, 1,000 slow-trickle clients, 100 clients announcing 64 MiB each, then a mixed load
# (SOAK_MINUTES, 30 by default). Prints a Markdown table (RSS and fds of the afpool process from
# /proc, the probe's p50/p99 against the quiet p99, errors, what happened to abusive clients).
# Not part of the test command.
#
#   scripts/soak.sh                     # SOAK_MINUTES=30 SOAK_PHASE_SECS=20 SOAK_RATE=50
#   SOAK_MINUTES=2 scripts/soak.sh      # a short run
#   SKIP_BUILD=1 scripts/soak.sh        # use the binaries as built
#   SOAK_PROFILE=debug AFPOOL_BIN=path/to/release/afpool scripts/soak.sh
#                                       # debug load tools, the afpool binary given
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_MINUTES=${SOAK_MINUTES:-30}
SOAK_PHASE_SECS=${SOAK_PHASE_SECS:-20}
SOAK_RATE=${SOAK_RATE:-50}

for v in $(compgen -e | grep '^AFPOOL_' || true); do unset "$v"; done
# afpool logs every routed job at info level; keep warnings and the "serving" line.
export AFPOOL_LOG=warn,afpool::commands::serve=info
# 2,000+ sockets on each side of the proxy.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

SOAK_PROFILE=${SOAK_PROFILE:-release}
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  profile=(--release)
  [[ $SOAK_PROFILE == debug ]] && profile=()
  bins=(--bin afpool)
  [[ -n ${AFPOOL_BIN:-} ]] && bins=()
  nice -n 10 cargo build "${profile[@]}" "${bins[@]}" --example fake_afserver --example soak
fi
TARGET=${CARGO_TARGET_DIR:-target}/$SOAK_PROFILE
AFPOOL_BIN=${AFPOOL_BIN:-$TARGET/afpool}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

"$TARGET/examples/fake_afserver" --renders 100 --threads 1 >"$WORK/fake.addr" &
PIDS+=($!)
for _ in $(seq 200); do [[ -s $WORK/fake.addr ]] && break; sleep 0.05; done
FAKE_ADDR=$(head -1 "$WORK/fake.addr")
[[ -n $FAKE_ADDR ]] || { echo "soak: the fake afserver did not start" >&2; exit 1; }

STORE=file:$WORK/pools.json
"$AFPOOL_BIN" --store "$STORE" pool create soak render00001 render00002 render00003 >/dev/null
PORT=$(free_port)
"$AFPOOL_BIN" --store "$STORE" serve --listen "127.0.0.1:$PORT" --upstream "$FAKE_ADDR" \
  2>"$WORK/afpool.log" &
AFPOOL_PID=$!
PIDS+=("$AFPOOL_PID")
for _ in $(seq 400); do grep -q "afpool serving" "$WORK/afpool.log" 2>/dev/null && break; sleep 0.05; done
grep -q "afpool serving" "$WORK/afpool.log" || { cat "$WORK/afpool.log" >&2; exit 1; }

echo "soak: afpool $AFPOOL_PID on 127.0.0.1:$PORT, fake afserver $FAKE_ADDR;" \
  "phases of ${SOAK_PHASE_SECS}s, mixed ${SOAK_MINUTES} min, $SOAK_RATE jobs/s" >&2
"$TARGET/examples/soak" --proxy "127.0.0.1:$PORT" --pid "$AFPOOL_PID" \
  --phase-secs "$SOAK_PHASE_SECS" --minutes "$SOAK_MINUTES" --rate "$SOAK_RATE"
if ! kill -0 "$AFPOOL_PID" 2>/dev/null; then
  echo "soak: afpool died" >&2
  exit 1
fi
echo
echo "afpool warnings and errors: $(grep -c -E 'WARN|ERROR' "$WORK/afpool.log" || true)"
grep -E 'WARN|ERROR' "$WORK/afpool.log" | sed -E 's/^[^ ]+ +//' | cut -c1-160 | sort | uniq -c |
  sort -rn | head -5 || true
