#!/usr/bin/env bash
# Print the module import graph's cycles (module = file under src/) and any module other than
# commands/* and main that imports cli: "N modules, E import edges, P problems", then one line per
# problem. Exit status 0 when there are none. The reader is tests/module_graph.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
out=$(cargo test -q --test module_graph src_has_no_import_cycle -- --nocapture 2>&1) || status=$?
[[ $out == *" modules, "* ]] || { echo "$out" >&2; exit "$status"; }
# The report is printed before the assertion; the panic message repeats it.
sed -n '/^[0-9]* modules, /,/^$/p' <<<"$out" | grep -E '^(cycle: |imports cli: |[0-9]+ modules, )' |
    awk '!seen[$0]++'
exit "$status"
