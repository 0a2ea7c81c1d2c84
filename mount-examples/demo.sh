#!/bin/sh
# demo.sh — the README's first command: on a fresh Debian 12 machine (as root) installs what
# is missing, builds unisec, and runs it on the paper's example topology (NetSoft 2019,
# figures 3 and 4): checks and translates the topology and shows what the interpreters
# derive, checks the example's access-control policy and asks it a few questions at each
# security level; then the whole story: mounts a store of the example, which builds and
# starts a unikernel per node, flips web's security level with `echo` and watches curl's
# answer change, shows the store's `git log` (the requests and the deployments), unmounts.
set -eu
cd "$(dirname "$0")/.."
. tests/deps.sh
deps_install demo

if [ -f build/build.ninja ]; then ninja -C build >/dev/null; else
    meson setup build >/dev/null && ninja -C build >/dev/null; fi
u=build/unisec
ex=mount-examples
out=$(mktemp -d)
mnt=$out/mnt
cleanup() {
    if grep -q " $mnt fuse" /proc/mounts 2>/dev/null; then fusermount3 -u "$mnt"; fi
    rm -rf "$out"
}
trap cleanup EXIT

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
$u acl compile $ex/policy --policy-name regular --policy-version 1 -o "$out/regular.acl"
ls -l "$out/regular.acl"

# ---- the whole story: a mount that runs the topology ------------------------------------
# The paper's ports (web 8080, portal 8000), or free ones when something else holds them.
free_port() {
    p=$1
    while ss -ltnH "sport = :$p" 2>/dev/null | grep -q .; do p=$((p + 1)); done
    echo "$p"
}
wp=$(free_port 8080); pp=$(free_port 8000); [ "$pp" = "$wp" ] && pp=$(free_port $((wp + 1)))
sed -e "s/http_port: 8080/http_port: $wp/" -e "s/listen_port: 8000/listen_port: $pp/" \
    $ex/paper.yaml >"$out/paper.yaml"
mkdir "$mnt"

step "unisec init STORE, unisec mount: every node becomes a running unikernel"
$u init "$out/store" --from "$out/paper.yaml" --policy-dir $ex/policy
$u mount --store "$out/store" "$mnt"
cat "$mnt/settle"
ls -l "$mnt/nodes/web/"

get() { # METHOD PATH [USER]: curl's answer from web
    a=""; [ -n "${3:-}" ] && a="-u $3:$3-demo-password"
    # shellcheck disable=SC2086
    printf '  %-6s %-16s %-6s -> %s\n' "$1" "$2" "${3:-anyone}" \
        "$(curl -s -o /dev/null -w '%{http_code}' -X "$1" $a "http://127.0.0.1:$wp$2")"
}
ask() { get GET /catalogue; get GET /catalogue bob; get GET /admin/users bob; get GET /admin/users alice; }

step "curl http://127.0.0.1:$wp at level default (policy 'regular', pushed to the instance)"
ask

step "echo critical > MNT/nodes/web/security_level && cat MNT/settle"
echo critical >"$mnt/nodes/web/security_level"
cat "$mnt/settle"

step "curl at level critical (policy 'restricted', compiled into the image that was swapped in)"
ask

step "echo 'regular * GET /catalogue/* deny' >> MNT/policy/acl, back at level default"
echo default >"$mnt/nodes/web/security_level"
echo 'regular * GET /catalogue/* deny' >>"$mnt/policy/acl"
cat "$mnt/settle"
ask

step "git log of the store: who asked for what, and what was deployed under which policy"
git -C "$out/store" log --format='%h %an: %s' | head -12

step "events: what the daemon did"
tail -12 "$mnt/events"

step "fusermount3 -u MNT: every instance stops"
fusermount3 -u "$mnt"
sleep 1
printf 'after unmount, curl http://127.0.0.1:%s/ -> %s\n' "$wp" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$wp/" || true)"
