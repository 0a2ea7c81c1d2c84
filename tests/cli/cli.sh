#!/bin/bash
# tests/cli/cli.sh — the command line of unisec and unisec-tender: every command's --help and
# --version; usage errors (unknown option, missing value, bad number, missing operand) exit 2
# with a message naming the option; --opt=value everywhere; the old option spellings still
# work with a note; --json of check, acl query and status (and the mount's events.json and
# settle.json) parses and holds its documented fields; status exits 3 for a stale mount; "-"
# reads standard input; the man pages build and render without a warning and name every option; the bash completion completes commands, options, values and node names.
# The part that mounts skips without /dev/fuse (the rest runs).
set -u
cd "$UNISEC_SRCDIR" || exit 1

U=$UNISEC
TENDER=$UNISEC_TENDER
V=$UNISEC_VERSION
T=$(mktemp -d)
EX=mount-examples
fgpid=
pass=0
fail=0

cleanup() {
    [ -d "$T/m" ] && fusermount3 -u -z "$T/m" 2>/dev/null
    [ -n "$fgpid" ] && kill "$fgpid" 2>/dev/null && wait "$fgpid" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

. tests/lib.sh
# run CMD...: runs it with stdout in $T/out, stderr in $T/err; $rc its status.
run() { "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; }
# expect_rc WANT WHAT CMD...: CMD exits WANT.
expect_rc() {
    want=$1 what=$2; shift 2
    run "$@"
    if [ "$rc" = "$want" ]; then ok; else
        bad "$what: exit $rc, expected $want; stderr: $(head -c 300 "$T/err")"; fi
}
# usage_error WHAT PATTERN CMD...: CMD exits 2, prints PATTERN and a usage line on stderr,
# nothing on stdout.
usage_error() {
    what=$1 pat=$2; shift 2
    expect_rc 2 "$what" "$@"
    if grep -qF -- "$pat" "$T/err" && grep -q "^usage: " "$T/err" && [ ! -s "$T/out" ]; then
        ok; else bad "$what: stderr lacks '$pat' or a usage line: $(head -c 300 "$T/err")"; fi
}
# json_field FILE EXPR: prints the Python expression EXPR on the JSON document j of FILE.
json_field() {
    python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"
}
# expect_json WHAT EXPR WANT: the document in $T/out parses and EXPR on it is WANT.
expect_json() {
    if ! python3 -m json.tool "$T/out" >/dev/null 2>&1; then
        bad "$1: not JSON: $(head -c 300 "$T/out")"; return; fi
    got=$(json_field "$T/out" "$2" 2>&1)
    if [ "$got" = "$3" ]; then ok; else bad "$1: $2 is '$got', expected '$3'"; fi
}

commands="check translate acl init mount status run build pdp verify hook"

# ---- --help and --version ------------------------------------------------------------------
expect_rc 0 "unisec --help" "$U" --help
for c in $commands; do
    expect_rc 0 "unisec $c --help" "$U" $c --help
    grep -q "^usage: unisec $c " "$T/out" || bad "unisec $c --help: no usage line"
    expect_rc 0 "unisec $c --version" "$U" $c --version
    [ "$(cat "$T/out")" = "unisec $V" ] || bad "unisec $c --version says '$(cat "$T/out")'"
done
expect_rc 0 "unisec --version" "$U" --version
[ "$(cat "$T/out")" = "unisec $V" ] && ok || bad "unisec --version says '$(cat "$T/out")'"
expect_rc 0 "unisec-tender --version" "$TENDER" --version
[ "$(cat "$T/out")" = "unisec-tender $V" ] && ok || bad "unisec-tender --version: $(cat "$T/out")"
expect_rc 0 "unisec-tender --help" "$TENDER" --help
grep -q "^usage: unisec-tender IMAGE" "$T/out" && ok || bad "unisec-tender --help: no usage"
expect_rc 2 "unisec with no command" "$U"
expect_rc 2 "an unknown command" "$U" frobnicate

# ---- usage errors ----------------------------------------------------------------------------
for c in check translate init mount status build pdp verify; do
    usage_error "unisec $c --no-such-option" "unisec $c: unknown option '--no-such-option'" \
        "$U" $c --no-such-option x
done
for s in check query compile passwd; do
    usage_error "unisec acl $s --no-such-option" "unisec acl $s: unknown option '--no-such-option'" \
        "$U" acl $s --no-such-option x
done
usage_error "unisec run --no-such-option" "unisec run: unknown option '--no-such-option'" \
    "$U" run --no-such-option x
usage_error "unisec-tender -Z" "unisec-tender: unknown option '-Z'" "$TENDER" -Z x
usage_error "check --target without a value" "option '--target' needs a value" "$U" check --target
usage_error "build -j without a value" "option '-j' needs a value" "$U" build x --node=web -o d -j
usage_error "init --from without a value" "option '--from' needs a value" "$U" init s --from
usage_error "status --store without a value" "option '--store' needs a value" "$U" status --store
usage_error "pdp --listen without a value" "option '--listen' needs a value" "$U" pdp d --listen
usage_error "a value for a flag" "option '--json' takes no value" "$U" check --json=yes x
usage_error "check --target=arm" "--target 'arm': expected hvt or spt" "$U" check --target=arm x
usage_error "check without FILE" "expected FILE" "$U" check
usage_error "check with two FILEs" "one FILE at a time" "$U" check a b
usage_error "translate without -o" "expected -o DIR" "$U" translate x
usage_error "build without --node" "expected TOPOLOGY" "$U" build x -o d
usage_error "status without --store" "expected --store=STORE" "$U" status
usage_error "status with an operand" "unexpected 'x'" "$U" status --store=s x
usage_error "verify without --store" "expected --store=STORE" "$U" verify
usage_error "init without STORE" "expected STORE" "$U" init --from=x
usage_error "mount without MOUNTPOINT" "expected MOUNTPOINT" "$U" mount --store=s
usage_error "acl query, too few operands" "expected POLICYDIR POLICY" "$U" acl query d p
usage_error "unisec-tender without an image" "no image given" "$TENDER"
usage_error "unisec run, a second image" "one image at a time" "$U" run a b

# Numbers: checked, with the range they must be in.
nums="build -j abc|build -j 0|build -j 257|build --jobs=1x|build --policy-version=-1"
nums="$nums|acl compile --policy-version=1x|acl passwd --iterations=5|pdp --policy-version=0"
nums="$nums|pdp --policy-version=18446744073709551616|run --mem=abc|run --streams=5000"
nums="$nums|run --mem=0"
IFS='|'
for n in $nums; do
    IFS=' '
    # shellcheck disable=SC2086
    set -- $n
    usage_error "unisec $n" "expected a whole number from" "$U" "$@" x --node=web -o d \
        --listen=127.0.0.1:0
    IFS='|'
done
unset IFS
usage_error "pdp --listen with a bad port" "--listen 'h:99999': expected [HOST:]PORT" \
    "$U" pdp d --listen=h:99999

# ---- --opt=value everywhere, operands anywhere -------------------------------------------------
expect_rc 0 "check --target=spt" "$U" check --target=spt $EX/paper.yaml
grep -q "enforceable on spt" "$T/out" && ok || bad "check --target=spt: $(cat "$T/out")"
expect_rc 0 "check FILE --target spt" "$U" check $EX/paper.yaml --target spt
expect_rc 1 "build --node=NODE (parsed; no such node)" "$U" build --node=nosuch $EX/paper.yaml \
    --output="$T/img" --jobs=2
grep -q "no node 'nosuch'" "$T/err" && ok || bad "build --node=: $(cat "$T/err")"
expect_rc 1 "pdp --listen= (parsed; no such policy directory)" "$U" pdp "$T/nope" \
    --listen=127.0.0.1:0
expect_rc 0 "translate -o DIR" "$U" translate $EX/paper.yaml -o "$T/tr"
expect_rc 0 "translate --output=DIR" "$U" translate --output="$T/tr2" $EX/paper.yaml
[ -f "$T/tr2/p_ug.json" ] && ok || bad "translate --output= wrote nothing"
expect_rc 0 "check --policy-dir=DIR" "$U" check --policy-dir=$EX/policy $EX/paper.yaml
expect_rc 1 "check --policy-dir=missing" "$U" check --policy-dir="$T/nope" $EX/paper.yaml
expect_rc 0 "acl passwd --iterations=N" sh -c "echo pw | '$U' acl passwd --iterations=1000 bob"

# ---- the old spellings still work (with a note) ----------------------------------------------
expect_rc 0 "acl compile --policy NAME --version N" "$U" acl compile $EX/policy --policy regular \
    --version 7 -o "$T/old.blob"
grep -q "version 7" "$T/out" && ok || bad "acl compile --version 7: $(cat "$T/out")"
grep -q "note: --policy is the old spelling of --policy-name" "$T/err" && ok ||
    bad "acl compile --policy: no note: $(cat "$T/err")"
expect_rc 0 "acl compile --policy-name --policy-version" "$U" acl compile $EX/policy \
    --policy-name=regular --policy-version=7 -o "$T/new.blob"
cmp -s "$T/old.blob" "$T/new.blob" && ok || bad "old and new spellings compile different blobs"
expect_rc 0 "init --policy DIR" "$U" init "$T/s-old" --from $EX/paper.yaml --policy $EX/policy
grep -q "policy 8 rules" "$T/out" && ok || bad "init --policy: $(cat "$T/out")"
grep -q "note: --policy is the old spelling of --policy-dir" "$T/err" && ok || bad "init: no note"
expect_rc 1 "run --policy BLOB (accepted; no such image)" "$U" run "$T/nope" --policy "$T/old.blob"
grep -q "note: --policy is the old spelling of --policy-blob" "$T/err" && ok || bad "run: no note"
"$U" pdp $EX/policy --listen=127.0.0.1:0 --version 5 2>"$T/pdp.err" &
pdppid=$!
n=100
while [ $n -gt 0 ] && ! grep -q "policy version 5 from" "$T/pdp.err"; do sleep 0.1; n=$((n - 1)); done
kill $pdppid; wait $pdppid 2>/dev/null
grep -q "policy version 5 from" "$T/pdp.err" && ok || bad "pdp --version 5: $(cat "$T/pdp.err")"

# ---- standard input ----------------------------------------------------------------------------
expect_rc 0 "check - (standard input)" sh -c "'$U' check - <$EX/paper.yaml"
grep -q "^<stdin>: valid" "$T/out" && ok || bad "check -: $(cat "$T/out")"
expect_rc 1 "check - of a broken topology" sh -c "printf 'a: [\n' | '$U' check -"
grep -q "^<stdin>:2:1: error: " "$T/err" && ok || bad "check - error: $(cat "$T/err")"
expect_rc 0 "translate - -o DIR" sh -c "'$U' translate - -o '$T/tr3' <$EX/paper.yaml"
expect_rc 0 "init --from=-" sh -c "'$U' init '$T/s' --from=- --policy-dir=$EX/policy <$EX/paper.yaml"
git -C "$T/s" log -1 --format=%s 2>/dev/null | grep -q "from <stdin>" && ok || bad "init --from=-: commit message"
expect_rc 0 "acl check --kind=acl -" sh -c "'$U' acl check --kind=acl - <$EX/policy/acl"
grep -q "^<stdin>: 8 rules in 2 policies" "$T/out" && ok || bad "acl check -: $(cat "$T/out")"
expect_rc 0 "acl check --kind=groups - with the acl" sh -c "'$U' acl check --kind=groups - $EX/policy/acl <$EX/policy/groups"
grep -q "^<stdin>: 2 groups" "$T/out" && ok || bad "acl check groups -: $(cat "$T/out")"
expect_rc 1 "acl check - of a broken rule" sh -c "echo 'regular alice GET' | '$U' acl check --kind=acl -"
grep -q "^<stdin>:1:" "$T/err" && ok || bad "acl check - error: $(cat "$T/err")"
usage_error "acl check - without --kind" "needs --kind=KIND" "$U" acl check -
usage_error "acl check --kind without -" "--kind names the kind of -" "$U" acl check --kind=acl $EX/policy/acl
usage_error "acl check --kind=bogus" "--kind 'bogus': expected acl, groups or credentials" "$U" acl check --kind=bogus -
usage_error "acl check - twice" "can be read once" "$U" acl check --kind=acl - -
usage_error "init --from=- --inputs=-" "can be read once" "$U" init "$T/s2" --from=- --inputs=-
expect_rc 0 "init --inputs=- (standard input)" sh -c "echo '{}' | '$U' init '$T/s3' --from=$EX/paper.yaml --policy-dir=$EX/policy --inputs=-"

# ---- CSAR archives (engine/TOPOLOGY.md 1.11) -----------------------------------------------------
# mkzip OUT NAME=TEXT...: a zip archive of those entries (Python's zipfile, not unisec's reader).
mkzip() {
    python3 - "$@" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for a in sys.argv[2:]:
        name, text = a.split("=", 1)
        z.writestr(name, text)
PY
}
head12='tosca_definitions_version: tosca_simple_yaml_1_2'
mkzip "$T/svc.csar" "TOSCA-Metadata/TOSCA.meta=Entry-Definitions: Definitions/main.yaml" \
    "Definitions/main.yaml=$head12
imports: [../Types/types.yaml]
topology_template:
  node_templates:
    server: {type: my.Server, artifacts: {img: ../Files/disk.img}}" \
    "Types/types.yaml=$head12
node_types: {my.Server: {derived_from: tosca.nodes.Compute}}" "Files/disk.img=x"
expect_rc 0 "check a CSAR" "$U" check "$T/svc.csar"
grep -q "^$T/svc.csar: valid (tosca_simple_yaml_1_2): 1 node" "$T/out" && ok || bad "check csar: $(cat "$T/out")"
cp "$T/svc.csar" "$T/svc.bin"
expect_rc 0 "check a CSAR without its suffix (zip magic)" "$U" check "$T/svc.bin"
expect_rc 0 "check - of a CSAR" sh -c "'$U' check - <'$T/svc.csar'"
grep -q "^<stdin>: valid" "$T/out" && ok || bad "check - csar: $(cat "$T/out")"
expect_rc 0 "init --from=CSAR" "$U" init "$T/cs" --from="$T/svc.csar"
git -C "$T/cs" show HEAD:topology.yaml >"$T/flat.yaml" 2>&1
grep -q "my.Server:" "$T/flat.yaml" && ! grep -q "imports" "$T/flat.yaml" && ok ||
    bad "init --from=CSAR: the store's topology lacks the imported types: $(head -c 300 "$T/flat.yaml")"
expect_rc 0 "the store's topology checks alone" "$U" check "$T/flat.yaml"
expect_rc 0 "init --from=- of a CSAR" sh -c "'$U' init '$T/cs2' --from=- <'$T/svc.csar'"
# the archive's other files, kept under csar/ at their names; the merged definitions are not
[ "$(git -C "$T/cs" ls-tree -r --name-only HEAD csar | tr '\n' ' ')" = "csar/Files/disk.img csar/TOSCA-Metadata/TOSCA.meta " ] &&
    [ "$(git -C "$T/cs" show HEAD:csar/Files/disk.img)" = x ] && ok ||
    bad "init --from=CSAR keeps its files: $(git -C "$T/cs" ls-tree -r --name-only HEAD)"
mkzip "$T/ns.csar" "main.yaml=$head12
imports:
  - {file: defs/types.yaml, namespace_prefix: ex, namespace_uri: 'http://example.org/ex'}
topology_template:
  node_templates:
    server: {type: my.Server, interfaces: {Standard: {create: scripts/setup.sh}}}" \
    "defs/types.yaml=$head12
node_types: {my.Server: {derived_from: tosca.nodes.Compute}}" "scripts/setup.sh=#!/bin/sh"
expect_rc 0 "init from an archive whose import has a namespace_prefix" "$U" init "$T/cs4" --from="$T/ns.csar"
[ "$(git -C "$T/cs4" ls-tree -r --name-only HEAD csar)" = "csar/scripts/setup.sh" ] &&
    git -C "$T/cs4" show HEAD:topology.yaml | grep -q "my.Server:" && ok ||
    bad "ns.csar: $(git -C "$T/cs4" ls-tree -r --name-only HEAD 2>&1)"
mkzip "$T/evil.zip" "a.yaml=$head12
imports: [../../etc/passwd]" "../../tmp/evil=x"
expect_rc 1 "check an archive with ../ in an entry name" "$U" check "$T/evil.zip"
grep -q "^$T/evil.zip: error: entry '../../tmp/evil': a '.' or '..' part" "$T/err" && ok ||
    bad "evil.zip: $(cat "$T/err")"
mkzip "$T/esc.zip" "a.yaml=$head12
imports: [../../etc/passwd]"
expect_rc 1 "init from an archive whose import leaves it" "$U" init "$T/cs3" --from="$T/esc.zip"
grep -q "^$T/esc.zip/a.yaml:2:11: error: import '../../etc/passwd': it leaves the archive" "$T/err" &&
    [ ! -e "$T/cs3" ] && ok || bad "esc.zip: $(cat "$T/err")"

# ---- inputs (fs/MOUNT.md) ---------------------------------------------------------------------
printf 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  inputs:\n    cpus: {type: integer, constraints: [{valid_values: [1, 2, 4]}]}\n  node_templates:\n    s:\n      type: tosca.nodes.Compute\n      capabilities: {host: {properties: {num_cpus: {get_input: cpus}}}}\n' >"$T/in.yaml"
expect_rc 1 "init without a required input" "$U" init "$T/in1" --from="$T/in.yaml"
grep -q "^topology.yaml:4:11: error: input cpus: required and without a default" "$T/err" && ok || bad "init without an input: $(cat "$T/err")"
expect_rc 1 "init --input of a bad value" "$U" init "$T/in1" --from="$T/in.yaml" --input=cpus=3
grep -q "^inputs.yaml:1:7: error: input cpus: " "$T/err" && ok || bad "init --input cpus=3: $(cat "$T/err")"
expect_rc 1 "init --input without =" "$U" init "$T/in1" --from="$T/in.yaml" --input=cpus
grep -q "^--input: error: 'cpus': expected NAME=VALUE" "$T/err" && ok || bad "init --input cpus: $(cat "$T/err")"
expect_rc 1 "init --inputs of a missing file" "$U" init "$T/in1" --from="$T/in.yaml" --inputs="$T/nope"
expect_rc 0 "init --input" "$U" init "$T/in1" --from="$T/in.yaml" --input=cpus=4
[ "$(cat "$T/in1/inputs.yaml")" = "cpus: 4" ] && ok || bad "inputs.yaml: $(cat "$T/in1/inputs.yaml")"
# check and translate take the same values (engine/TOPOLOGY.md 1.2): given, every required
# input needs one; --input messages name --input, --inputs FILE's name FILE:LINE:COL
expect_rc 0 "check without inputs (none needed)" "$U" check "$T/in.yaml"
expect_rc 0 "check --input" "$U" check --input=cpus=4 "$T/in.yaml"
expect_rc 1 "check --input of a bad value" "$U" check "$T/in.yaml" --input cpus=3
grep -q "^--input: error: input cpus: the value does not meet the constraint valid_values" "$T/err" && ok ||
    bad "check --input cpus=3: $(cat "$T/err")"
expect_rc 1 "check --input of an unknown input" "$U" check "$T/in.yaml" --input=mem=1
grep -q "^--input: error: input 'mem': the topology has no such input; expected cpus" "$T/err" && ok ||
    bad "check --input mem=1: $(cat "$T/err")"
printf '# the values\ncpus: 3\n' >"$T/in-values.yaml"
expect_rc 1 "check --inputs of a bad value" "$U" check --inputs="$T/in-values.yaml" "$T/in.yaml"
grep -q "^$T/in-values.yaml:2:7: error: input cpus: the value does not meet" "$T/err" && ok ||
    bad "check --inputs: $(cat "$T/err")"
expect_rc 0 "check --inputs with --input over it" "$U" check --inputs="$T/in-values.yaml" --input=cpus=2 "$T/in.yaml"
printf '{}\n' >"$T/in-empty.yaml"
expect_rc 1 "check --inputs without the required one" "$U" check --inputs="$T/in-empty.yaml" "$T/in.yaml"
grep -q "^$T/in.yaml:4:11: error: input cpus: required and without a default; expected a value in $T/in-empty.yaml (--input cpus=VALUE)" "$T/err" && ok ||
    bad "check --inputs {}: $(cat "$T/err")"
expect_rc 1 "check --inputs of a missing file" "$U" check --inputs="$T/nope" "$T/in.yaml"
expect_rc 1 "check --input without =" "$U" check --input=cpus "$T/in.yaml"
usage_error "check --inputs - and -" "both want standard input" "$U" check --inputs=- -
expect_rc 1 "check --inputs - of a bad value" sh -c "printf 'cpus: 8' | '$U' check --inputs=- '$T/in.yaml'"
grep -q "^<stdin>:1:7: error: input cpus: " "$T/err" && ok || bad "check --inputs -: $(cat "$T/err")"
mkzip "$T/in.csar" "TOSCA-Metadata/TOSCA.meta=Entry-Definitions: in.yaml" "in.yaml=$(cat "$T/in.yaml")"
expect_rc 1 "check a CSAR --input of a bad value" "$U" check "$T/in.csar" --input=cpus=3
expect_rc 0 "check a CSAR --input" "$U" check "$T/in.csar" --input=cpus=1
expect_rc 1 "translate --input of a bad value" "$U" translate --input=cpus=3 "$T/in.yaml" -o "$T/in-out"
[ ! -e "$T/in-out" ] && ok || bad "translate with a bad input wrote $T/in-out"
expect_rc 0 "translate --input" "$U" translate --input=cpus=2 "$T/in.yaml" -o "$T/in-out"

# ---- JSON --------------------------------------------------------------------------------------
expect_rc 0 "check --json" "$U" check --json $EX/paper.yaml
expect_json "check --json" "[j['valid'], j['nodes'], j['node_levels'], j['images'], j['errors']]" \
    "[True, 2, 4, 4, []]"
expect_json "check --json" "j['tosca_version'], j['target'], j['file']" \
    "('tosca_simple_yaml_1_2', 'hvt', '$EX/paper.yaml')"
expect_rc 1 "check --json of an invalid topology" sh -c "printf 'a: [\n' | '$U' check --json -"
expect_json "check --json, invalid" "j['valid'], j['nodes'], j['errors'][0]['line']" \
    "(False, None, 2)"
[ -s "$T/err" ] && bad "check --json wrote on stderr: $(cat "$T/err")" || ok
expect_rc 0 "acl query --json (allow)" "$U" acl query --json $EX/policy regular alice GET /admin
expect_json "acl query --json" "j['decision'], j['subject'], j['rule']['line'], j['rule']['file']" \
    "('allow', 'alice', 8, 'acl')"
expect_rc 3 "acl query --json (deny)" "$U" acl query $EX/policy regular - DELETE /x --json
expect_json "acl query --json, deny" "j['decision'], j['subject'], j['rule']" "('deny', None, None)"
expect_rc 3 "status of a store no daemon serves" "$U" status --store="$T/s"
grep -q "^daemon: none serves this store" "$T/out" && ok || bad "status text: $(cat "$T/out")"
expect_rc 3 "status --json of a store no daemon serves" "$U" status --json --store="$T/s"
expect_json "status --json" "j['served'], j['mount'], [n['name'] for n in j['nodes']], j['failed']" \
    "(False, None, ['web', 'portal'], 0)"
expect_json "status --json" "j['policy'], j['deployed'], len(j['head'])" \
    "({'rules': 8, 'groups': 2, 'credentials': 3}, None, 40)"
expect_json "status --json" "sorted(j['last_change'])" "['author', 'id', 'summary', 'time']"
expect_rc 1 "status of a directory that is no store" "$U" status --store="$T"

# A mount (--no-run: nothing fails) is served: status exits 0; a stale one is not served.
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
    mkdir "$T/m"
    mount_up --at "$T/s" "$T/m" --no-run
    expect_rc 0 "status of a served store" "$U" status --store="$T/s" --json
    expect_json "status --json, served" "j['served'], j['mount'], j['nodes'][0]['status']['state']" \
        "(True, '$T/m', 'not running')"
    expect_rc 0 "cat settle (--no-run)" cat "$T/m/settle"
    expect_rc 0 "cat settle.json (--no-run)" cat "$T/m/settle.json"
    expect_json "settle.json (--no-run)" "j['settled'], j['nodes'], j['failed'], j['status'], len(j['commit'])" \
        "(True, 0, 0, [], 40)"
    echo bogus >"$T/m/nodes/web/security_level" 2>/dev/null
    expect_rc 0 "cat events.json" cat "$T/m/events.json"
    python3 -c "
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert all(sorted(e) == ['level', 'message', 'time'] for e in lines), lines
assert lines[0]['level'] == 'info' and lines[0]['message'].startswith('mounted '), lines[0]
assert lines[-1]['level'] == 'error' and 'bogus' in lines[-1]['message'], lines[-1]
" "$T/out" && ok || bad "events.json: $(cat "$T/out")"
    fusermount3 -u "$T/m"
    wait $fgpid
    fgpid=
    expect_rc 3 "status once unmounted" "$U" status --store="$T/s"
    # A daemon that died leaves a mount that does not answer: not served either.
    mount_up --at "$T/s" "$T/m" --no-run
    kill -9 $fgpid
    wait $fgpid 2>/dev/null
    fgpid=
    expect_rc 3 "status of a stale mount (its daemon killed)" "$U" status --store="$T/s"
    fusermount3 -u -z "$T/m"
else
    echo "SKIP (part): /dev/fuse or fusermount3 is missing: status of a served store"
fi

# ---- the man pages -----------------------------------------------------------------------------
D=$UNISEC_BUILDDIR/doc
if [ -f "$D/unisec.1" ]; then
    pages="unisec.1 unisec-mount.5 unisec-tender.1"
    for c in $commands; do pages="$pages unisec-$c.1"; done
    for p in $pages; do
        [ -f "$D/$p" ] || { bad "man page $p is not built"; continue; }
        w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$D/$p" 2>&1 >"$T/man.txt")
        [ -z "$w" ] && ok || bad "man $p warns: $w"
        w=$(groff -ww -mandoc -Tutf8 -z "$D/$p" 2>&1)
        [ -z "$w" ] && ok || bad "groff $p warns: $w"
        grep -q "^NAME" "$T/man.txt" && ok || bad "man $p renders no NAME"
    done
    # Each command's page names every long option its --help synopsis shows.
    for c in $commands; do
        "$U" $c --help | sed -n '1,/^$/p' | grep -o -- '--[a-z][a-z-]*' | sort -u >"$T/opts"
        MANWIDTH=200 man -l "$D/unisec-$c.1" 2>/dev/null >"$T/man.txt"
        while read -r o; do
            grep -q -- "$o" "$T/man.txt" && ok || bad "unisec-$c(1) does not name $o"
        done <"$T/opts"
    done
else
    echo "SKIP (part): the man pages are not built (scdoc is missing)"
fi

# ---- bash completion ---------------------------------------------------------------------------
# comp WORDS...: what the completion offers for the last word, space-separated.
comp() {
    timeout 30 bash -c 'source completion/unisec.bash; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _unisec; printf "%s\n" "${COMPREPLY[@]}"' comp "$@" | sort | tr '\n' ' '
}
expect_comp() {
    what=$1 want=$2; shift 2
    got=$(comp "$@")
    case " $got " in *" $want "*) ok ;; *) bad "completion of $what: '$got' lacks '$want'" ;; esac
}
expect_comp "commands" "check" unisec ""
expect_comp "commands" "status" unisec st
expect_comp "--version" "--version" unisec --v
expect_comp "acl subcommands" "compile" unisec acl co
expect_comp "check options" "--json" unisec check --j
expect_comp "init options" "--inputs=" unisec init --inp
expect_comp "init --inputs FILE" "$EX/paper.yaml" unisec init s --inputs $EX/pap
expect_comp "--target values" "spt" unisec check --target ""
expect_comp "--target=values" "spt" unisec check --target = s
expect_comp "build --node from the topology" "portal" unisec build $EX/paper.yaml --node ""
expect_comp "build --node= from the topology" "web" unisec build -j 2 $EX/paper.yaml --node = w
expect_comp "unisec-tender options" "--policy-blob=" unisec-tender x --policy-b
# Every long option of each command's synopsis is offered.
for c in $commands; do
    [ $c = acl ] || [ $c = hook ] && continue
    "$U" $c --help | sed -n '1,/^$/p' | grep -o -- '--[a-z][a-z-]*' | sort -u >"$T/opts"
    got=" $(comp unisec $c --) "
    while read -r o; do
        case $got in *" $o "* | *" $o= "*) ok ;; *) bad "completion of unisec $c lacks $o" ;; esac
    done <"$T/opts"
done
for s in query compile passwd; do
    for o in $("$U" acl --help | grep "unisec acl $s" | grep -o -- '--[a-z][a-z-]*'); do
        case " $(comp unisec acl $s --) " in *" $o "* | *" $o= "*) ok ;;
            *) bad "completion of unisec acl $s lacks $o" ;; esac
    done
done
expect_comp "hook subcommands" "pre-receive" unisec hook ""
for s in pre-receive install; do
    for o in $("$U" hook --help | sed -n 1p | tr '|' '\n' | grep "$s" | grep -o -- '--[a-z][a-z-]*'); do
        case " $(comp unisec hook $s --) " in *" $o "* | *" $o= "*) ok ;;
            *) bad "completion of unisec hook $s lacks $o" ;; esac
    done
done
# Node names of a mounted store.
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
    mount_up --at "$T/s" "$T/m" --no-run
    expect_comp "--node of a mounted store's topology" "portal" unisec build "$T/m/topology.yaml" \
        --node ""
    expect_comp "--node of mounted stores" "web" unisec build --node ""
    expect_comp "--level of a mounted node" "critical" unisec build --node web --level ""
    expect_comp "--store of mounted stores" "$T/s" unisec status --store ""
    fusermount3 -u "$T/m"
    wait $fgpid
    fgpid=
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
