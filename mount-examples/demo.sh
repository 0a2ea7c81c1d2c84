#!/bin/sh
# demo.sh — the README's first command: on a fresh Debian 12 machine (as root) installs what
# is missing, builds unisec, and runs it on the paper's example topology (NetSoft 2019,
# figures 3 and 4): validates it, translates it (SecTOSCA -> UniTOSCA -> TOSCA), and asks
# the access-control policy a few questions at each security level.
set -eu
cd "$(dirname "$0")/.."
. tests/deps.sh
deps_install build

if [ -f build/build.ninja ]; then ninja -C build >/dev/null; else
    meson setup build >/dev/null && ninja -C build >/dev/null; fi
u=build/unisec
ex=mount-examples
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "unisec check $ex/paper.yaml"
$u check $ex/paper.yaml

step "unisec translate $ex/paper.yaml -o OUT"
$u translate $ex/paper.yaml -o "$out"
ls -l "$out"

step "OUT/tosca.yaml (native TOSCA, the images as deployment artifacts)"
sed -n '1,60p' "$out/tosca.yaml"

step "OUT/p_ug.json (what each node's unikernel is made of, per level)"
sed -n '1,80p' "$out/p_ug.json"

step "OUT/topology.dot"
cat "$out/topology.dot"

step "unisec check $ex/three-tier.yaml, for KVM (hvt) and for seccomp processes (spt)"
$u check $ex/three-tier.yaml
$u check --target spt $ex/three-tier.yaml || true

step "unisec acl check $ex/policy"
$u acl check $ex/policy

step "who may do what: policy 'regular' (web at level default) vs 'restricted' (critical)"
for q in "bob GET /orders/12" "bob POST /orders/12" "carol GET /catalogue" \
         "carol GET /admin/users" "alice DELETE /admin/users"; do
    for p in regular restricted; do
        # shellcheck disable=SC2086
        printf '%-11s %-28s ' "$p" "$q"; $u acl query $ex/policy $p $q || true
    done
done
