#!/usr/bin/env bash
# Name=Pools Proxy Status
# Icon=info.png

# afpool: shows whether the pools proxy and the legacy Pool Server answer on this machine, the
# pools, and every render with its pools (`afpool pool list`, `afpool hosts`), in a terminal.

dir="$(dirname "$0")"
[ -f "$dir/_setup.sh" ] && source "$dir/_setup.sh"
source "$dir/_afpool.sh"

if [ "$1" != "--here" ]; then
    afpool_in_terminal "$0" --here
    exit
fi

proxy_port="${AFPOOL_LISTEN##*:}"
proxy_port="${proxy_port:-51100}"
for check in "pools proxy:$proxy_port" "legacy Pool Server:9999"; do
    if afpool_port_is_open 127.0.0.1 "${check##*:}"; then
        echo "${check%:*} (port ${check##*:}): running"
    else
        echo "${check%:*} (port ${check##*:}): not answering"
    fi
done
echo
"$AFPOOL_BIN" pool list
echo
"$AFPOOL_BIN" hosts
