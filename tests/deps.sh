# deps.sh — sourced by mount-examples/demo.sh and tests/run.sh: installs the Debian 12
# packages unisec needs, or tells a non-root user the exact command.
#   deps_install build     what building and running unisec needs
#   deps_install demo      that, plus curl (mount-examples/demo.sh talks to the unikernels)
#   deps_install test      that, plus what the test suite uses
#   deps_install bench     that, plus what bench/unikernel compares against (ab, wrk, nginx)
#                          and OpenSSL's headers for bench/tls_load

DEPS_BUILD="gcc libc6-dev pkg-config meson ninja-build git fuse3 libfuse3-dev libyaml-dev
 libjansson-dev libgit2-dev zlib1g-dev libzip-dev libcmocka-dev libseccomp-dev openssh-client scdoc
 libbearssl-dev nettle-dev libgmp-dev"
DEPS_TEST="debhelper dpkg-dev clang clang-format libclang-rt-14-dev python3 python3-tosca-parser graphviz vim nano curl
 python3-prometheus-client inotify-tools
 apache2-utils openssl"
DEPS_BENCH="apache2-utils wrk nginx-light openssl libssl-dev"

deps_install() {
    pkgs=$DEPS_BUILD
    [ "$1" = demo ] && pkgs="$pkgs curl"
    [ "$1" = test ] && pkgs="$pkgs $DEPS_TEST"
    [ "$1" = bench ] && pkgs="$pkgs $DEPS_TEST $DEPS_BENCH"
    missing=""
    for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "unisec needs these Debian packages; as root run:" >&2
        echo "  apt-get update && apt-get install -y$missing" >&2
        exit 1
    fi
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing >/dev/null
}
