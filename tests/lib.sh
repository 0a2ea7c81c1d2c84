# tests/lib.sh — what the shell tests share (sourced, from the source tree's root): the pass and
# fail counters, the checks, the wait, the skip. A test may redefine bad() after sourcing to keep
# more evidence of a failure (tests/orch/e2e.sh does).
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then ok; else bad "$d"; fi; }
# refuse DESCRIPTION COMMAND...: passes when COMMAND fails.
refuse() { d=$1; shift; if "$@" >/dev/null 2>&1; then bad "$d (succeeded)"; else ok; fi; }
# same DESCRIPTION FILE TEXT: FILE holds exactly TEXT (and a newline).
same() {
    got=$(cat "$2" 2>&1)
    if [ "$got" = "$3" ]; then ok; else bad "$1: '$2' holds '$got', expected '$3'"; fi
}
# wait_for SECONDS COMMAND...: true as soon as COMMAND succeeds (polled every 0.1 s), false
# after SECONDS.
wait_for() {
    n=$(($1 * 10)); shift
    while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
# need CMD...: exits 77 (skip) saying why when /dev/fuse or one of the commands is missing.
need() {
    [ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing"; exit 77; }
    for c in "$@"; do
        command -v "$c" >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
    done
}
# umount_wait: unmounts $M and waits (10 s) until the kernel no longer lists it.
umount_wait() { fusermount3 -u "$M" && wait_for 10 sh -c "! grep -q ' $M fuse' /proc/mounts"; }
# daemon_pid: the daemon serving $M from $S (found by its unique mount point).
daemon_pid() {
    for p in /proc/[0-9]*; do
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "--store $S $M" && { echo "${p#/proc/}"; return 0; }
    done
    return 1
}
# commits: how many commits main of the store $S has.
commits() { git -C "$S" rev-list --count main; }
# one_mount: a test of one mount. $T a new temporary directory, $S its store, $M its mount
# point (made), the counters at 0, $fgpid (the daemon's pid, for the test to set), $bgpids (the
# test's own background jobs, for it to add to), and an exit trap that ends those jobs, unmounts
# $M, ends the daemon and removes $T.
one_mount() {
    T=$(mktemp -d)
    S=$T/store
    M=$T/mnt
    mkdir -p "$M"
    pass=0; fail=0; fgpid=; bgpids=
    trap '[ -n "$bgpids" ] && kill $bgpids 2>/dev/null
        fusermount3 -u -z "$M" 2>/dev/null
        [ -n "$fgpid" ] && kill "$fgpid" 2>/dev/null && wait "$fgpid" 2>/dev/null
        rm -rf "$T"' EXIT
}
# tls_fp CERT: the fingerprint of CERT's key as the mount names it (hex SHA-256 of the
# SubjectPublicKeyInfo, DER), without the `sha256:` of key.fingerprint.
tls_fp() {
    openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64
}
# web_topology PDP PORT: a topology of one web node serving `GET /* 200 ok` on PORT, whose one
# level enforces the ACLs with a PDP of mode PDP (push, pull, internal).
web_topology() {
    cat <<YAML
tosca_definitions_version: tosca_simple_yaml_1_2
unikernel_modules:
  web_type:
    http_server:
      capabilities: {http_processing: tosca.capabilities.Endpoint}
      requirements: [{available_nic: unikernel.virtualenv.networking.nic}]
    log:
      capabilities: {console_logging: unikernel.virtualenv.console}
    dispatch:
      properties: {http_port: {type: integer}, routes: {type: string}}
      capabilities: {webserver_front: tosca.capabilities.Endpoint}
      requirements:
        - http_processing: tosca.capabilities.Endpoint
        - console_logging: unikernel.virtualenv.console
security_functions:
  ${1}_access: {mechanism: access_control, pdp: $1, policy: regular}
topology_template:
  node_templates:
    web:
      type: web_type
      properties:
        http_port: $2
        routes: "GET /* 200 text/plain ok"
        access_level:
          multi_level_security:
            default_security_level: ${1}_access
YAML
}
