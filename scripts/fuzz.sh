#!/usr/bin/env bash
# Fuzzing (issue #13): coverage-guided AFL++ runs of afpool's parsers through cargo-afl, on the
# stable toolchain. The targets live in fuzz/ (a crate of its own, outside the main build):
#   request_frame  afpool::protocol::frame::parse_request / json_framing (client messages)
#   reply_frame    afpool::protocol::frame::parse_reply (afserver replies)
#   envelope       afpool::job::is_job_submission (strict envelope read) and its pre-filter
#   route          afpool::job::route_submission on a fixed pool snapshot
#   legacy_request afpool::legacy::request::parse (when src/legacy/ exists: --features legacy)
# Seeds come from fixtures/ (captures, job and submit fixtures) and, when present,
# a folder named by EXTRA_SEEDS. Findings are kept under $FUZZ_OUT/<target>/default/{crashes,hangs}:
# each one becomes a regression input in fixtures/fuzz/ (replayed by `cargo test` in fuzz/).
#
#   scripts/fuzz.sh                       # smoke: 60 s per target (not part of CI)
#   FUZZ_SECONDS=1800 scripts/fuzz.sh     # a longer run
#   FUZZ_EXECS=10000000 scripts/fuzz.sh   # stop each target after this many executions
#   FUZZ_TARGETS="route envelope" scripts/fuzz.sh
#   SKIP_BUILD=1 FUZZ_REPLAY=0 scripts/fuzz.sh   # the AFL binaries as built, no replay test
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_EXECS=${FUZZ_EXECS:-}
# The legacy Pool Server request parser, when this checkout has it.
FEATURES=()
DEFAULT_TARGETS="request_frame reply_frame envelope route"
if grep -q '^pub mod legacy;' src/lib.rs; then
  FEATURES=(--features legacy)
  DEFAULT_TARGETS="$DEFAULT_TARGETS legacy_request"
fi
FUZZ_TARGETS=${FUZZ_TARGETS:-$DEFAULT_TARGETS}
FUZZ_OUT=${FUZZ_OUT:-$PWD/fuzz/out}
EXTRA_SEEDS=${EXTRA_SEEDS:-}

if ! command -v cargo-afl >/dev/null; then
  echo "fuzz: installing cargo-afl (crates.io; builds AFL++, needs make and a C compiler)" >&2
  cargo install cargo-afl
fi

# AFL++ wants core dumps handed to it and a performance governor; on a shared machine we do not
# change either, we tell it so.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_NO_AFFINITY=1

if [[ ${SKIP_BUILD:-0} != 1 ]]; then (cd fuzz && nice -n 15 cargo afl build --release --quiet "${FEATURES[@]}"); fi
# The replay of past findings and seeds through the same checks, without AFL (FUZZ_REPLAY=0
# skips it: it builds afpool once more, uninstrumented).
if [[ ${FUZZ_REPLAY:-1} == 1 ]]; then (cd fuzz && nice -n 15 cargo afl test --release --quiet "${FEATURES[@]}"); fi

seeds() { # target dir
  local target=$1 dir=$2 f
  mkdir -p "$dir"
  case $target in
    request_frame)
      cp fixtures/captures/*.request.bin "$dir"/
      if [[ -n $EXTRA_SEEDS && -d $EXTRA_SEEDS ]]; then for f in "$EXTRA_SEEDS"/*.request.bin; do cp "$f" "$dir/x-$(basename "$f")"; done; fi ;;
    reply_frame)
      cp fixtures/captures/*.reply*.bin "$dir"/
      if [[ -n $EXTRA_SEEDS && -d $EXTRA_SEEDS ]]; then for f in "$EXTRA_SEEDS"/*.reply.bin; do cp "$f" "$dir/x-$(basename "$f")"; done; fi ;;
    legacy_request)
      printf '{"type": "request", "command": "GET POOLS"}' >"$dir/get-pools.json"
      printf '  {"command":"GET POOLS","type":"request"}\n' >"$dir/get-pools-ws.json" ;;
    envelope|route)
      for f in fixtures/jobs/*/input.json; do cp "$f" "$dir/$(basename "$(dirname "$f")").json"; done
      cp fixtures/submit/*.json "$dir"/
      if [[ -n $EXTRA_SEEDS && -d $EXTRA_SEEDS ]]; then for f in "$EXTRA_SEEDS"/*.request.json; do cp "$f" "$dir/x-$(basename "$f")"; done; fi ;;
  esac
  [[ -d fixtures/fuzz/$target ]] && cp fixtures/fuzz/"$target"/* "$dir"/ 2>/dev/null
  # AFL++ slows down on big seeds; keep those under 64 KiB.
  find "$dir" -type f -size +64k -delete
}

stat_of() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$2"; }

printf '%-14s %12s %10s %8s %6s %6s\n' target execs execs/s seconds crashes hangs
for target in $FUZZ_TARGETS; do
  out=$FUZZ_OUT/$target
  rm -rf "$out" "$out.seeds"
  seeds "$target" "$out.seeds"
  limit=(-V "$FUZZ_SECONDS")
  [[ -n $FUZZ_EXECS ]] && limit=(-E "$FUZZ_EXECS")
  nice -n 15 cargo afl fuzz "${limit[@]}" -t 1000 -i "$out.seeds" -o "$out" \
    "fuzz/target/release/$target" >"$out.log" 2>&1 || { tail -20 "$out.log" >&2; exit 1; }
  st=$out/default/fuzzer_stats
  printf '%-14s %12s %10s %8s %6s %6s\n' "$target" "$(stat_of execs_done "$st")" \
    "$(stat_of execs_per_sec "$st")" "$(stat_of run_time "$st")" \
    "$(stat_of saved_crashes "$st")" "$(stat_of saved_hangs "$st")"
done
