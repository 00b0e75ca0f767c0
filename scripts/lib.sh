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
