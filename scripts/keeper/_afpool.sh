#!/usr/bin/env bash
# afpool's CGRU Keeper entries: what they share. Keeper lists no file whose name starts with
# "_", so this is sourced by the entries, never shown. `afpool keeper install` writes the path
# of the installing afpool binary into AFPOOL_INSTALLED_BIN below.

AFPOOL_INSTALLED_BIN=""
if [ -z "$AFPOOL_BIN" ]; then
    AFPOOL_BIN="${AFPOOL_INSTALLED_BIN:-afpool}"
fi
AFPOOL_WEB_URL="${AFPOOL_WEB_URL:-http://127.0.0.1:51180/}"

# Runs "$@" in a terminal window that stays open until Enter (here, if already in a terminal).
afpool_in_terminal() {
    local cmd
    cmd="$(printf '%q ' "$@"); echo; read -r -p 'Press Enter to close. ' _"
    if [ -t 0 ] && [ -t 1 ]; then
        bash -c "$cmd"
        return
    fi
    if [ "$(uname)" = Darwin ]; then
        local script
        script="$(mktemp /tmp/afpool.XXXXXX)"
        mv "$script" "$script.command"
        printf '#!/usr/bin/env bash\n%s\n' "$cmd" >"$script.command"
        chmod +x "$script.command"
        open "$script.command"
        return
    fi
    local term
    for term in x-terminal-emulator gnome-terminal konsole xfce4-terminal xterm; do
        if command -v "$term" >/dev/null 2>&1; then
            case "$term" in
                gnome-terminal) "$term" -- bash -c "$cmd" ;;
                *) "$term" -e bash -c "$cmd" ;;
            esac
            return
        fi
    done
    echo "afpool: no terminal program found; run: $*" >&2
    return 1
}

# Opens a URL in the default browser; fails when there is no opener.
afpool_open_url() {
    if [ "$(uname)" = Darwin ]; then
        open "$1"
    elif command -v xdg-open >/dev/null 2>&1; then
        xdg-open "$1" >/dev/null 2>&1
    else
        return 1
    fi
}

# True when something answers HTTP at the URL.
afpool_page_is_up() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS -o /dev/null --max-time 3 "$1" 2>/dev/null
        return
    fi
    local rest="${1#*://}"
    rest="${rest%%/*}"
    (exec 3<>"/dev/tcp/${rest%%:*}/${rest##*:}") 2>/dev/null
}

# True when something listens on HOST PORT.
afpool_port_is_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}
