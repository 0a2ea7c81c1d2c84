#!/bin/sh
# demo.sh — the README's first command: on a fresh Debian 12 machine (as root) installs what
# is missing, builds unisec, and runs it on the paper's example topology (NetSoft 2019,
# figures 3 and 4). It grows with unisec; today it checks and translates the topology and
# shows what the interpreters derive, checks the example's access-control policy, asks it a
# few questions at each security level, and compiles the blob that a unikernel will enforce.
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

step "unisec check $ex/paper.yaml: the paper's figures 3 and 4 as a SecTOSCA topology"
$u check $ex/paper.yaml

step "unisec translate $ex/paper.yaml -o OUT: the SecTOSCA and UniTOSCA interpreters"
$u translate $ex/paper.yaml -o "$out/paper"

step "D_uniTOSCA (unitosca.yaml): one unikernel per node and level, modules in build order"
sed -n '/^unikernel_modules:/,/^topology_template:/p' "$out/paper/unitosca.yaml" |
    grep -E '^  [a-z_]+\.[a-z_]+:$|^    [a-z_]+:$' | sed 's/^  \([^ ]\)/\n  \1/'

step "P_SO (p_so.json) for web: the policy per level, and how a switch is applied"
sed -n '/^    "web"/,/^    "portal"/p' "$out/paper/p_so.json" | sed '$d'

step "D_TOSCA (tosca.yaml): native TOSCA for an orchestrator, images as artifacts"
sed -n '/^topology_template:/,$p' "$out/paper/tosca.yaml"

step "the richer example: three tiers, three levels, groups, a node per PDP mode"
$u check $ex/three-tier/topology.yaml
echo "on target spt it is refused (it asks for hardware isolation at level critical):"
$u check --target spt $ex/three-tier/topology.yaml 2>&1 | sed 's/^/  /' || true

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

step "unisec acl compile: the versioned blob the web node enforces at level default"
$u acl compile $ex/policy --policy regular --version 1 -o "$out/regular.acl"
ls -l "$out/regular.acl"
