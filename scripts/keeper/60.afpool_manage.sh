#!/usr/bin/env bash
# Name=Manage Pools...
# Icon=afanasy.png
# Separator

# afpool: opens the pools web page (AFPOOL_WEB_URL, default http://127.0.0.1:51180/) in the
# browser; when the page does not answer or there is no browser, `afpool hosts` in a terminal.

dir="$(dirname "$0")"
[ -f "$dir/_setup.sh" ] && source "$dir/_setup.sh"
source "$dir/_afpool.sh"

if afpool_page_is_up "$AFPOOL_WEB_URL" && afpool_open_url "$AFPOOL_WEB_URL"; then
    exit 0
fi
afpool_in_terminal "$AFPOOL_BIN" hosts "$@"
