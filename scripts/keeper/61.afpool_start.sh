#!/usr/bin/env bash
# Name=Start Pools Proxy
# Icon=afanasy.png

# afpool: runs `afpool serve` in a terminal (settings from AFPOOL_* variables or the config
# file AFPOOL_CONFIG); stop it with Ctrl-C.

dir="$(dirname "$0")"
[ -f "$dir/_setup.sh" ] && source "$dir/_setup.sh"
source "$dir/_afpool.sh"

afpool_in_terminal "$AFPOOL_BIN" serve "$@"
