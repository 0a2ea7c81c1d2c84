#!/bin/bash
# tests/cli/init_imports.sh — `unisec init STORE --from service.yaml` of a template that imports
# files (engine/TOPOLOGY.md 1.11, fs/MOUNT.md): the imports read beneath the template's
# directory and merged into the store's one topology, as a CSAR's are; a template without
# imports kept as written. Attack cases: ../ out of the directory, a symbolic link out of it,
# an absolute path, a cycle, a file that imports itself, an import over the size bound, a FIFO,
# a missing file: each refused at FILE:LINE:COL of the importing file, no store made. Real
# multi-file templates from tosca-parser's corpus (../shared, skipped when it is absent).
set -u
cd "$UNISEC_SRCDIR" || exit 1
U=$UNISEC
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
. tests/lib.sh

v13='tosca_definitions_version: tosca_simple_yaml_1_3'
mkdir -p "$T/svc/types"
cat >"$T/svc/main.yaml" <<EOF
$v13
imports:
  - types/types.yaml
topology_template:
  node_templates:
    server: {type: my.Server}
EOF
cat >"$T/svc/common.yaml" <<EOF
$v13
node_types: {my.Base: {derived_from: tosca.nodes.Compute}}
EOF
# types IMPORT...: svc/types/types.yaml defines my.Server and imports IMPORT (YAML flow items).
types() {
    printf '%s\nimports: [%s]\nnode_types: {my.Server: {derived_from: tosca.nodes.Compute}}\n' \
        "$v13" "$1" >"$T/svc/types/types.yaml"
}
# refused WHAT STORE PATTERN: init of svc/main.yaml (run in $T) exits 1 within 20 s, prints
# PATTERN (a grep -E pattern) on stderr, makes no STORE.
refused() {
    (cd "$T" && timeout 20 "$U" init "$2" --from=svc/main.yaml) >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc = 1 ] && grep -Eq -- "$3" "$T/err" && [ ! -e "$T/$2" ]; then ok; else
        bad "$1: exit $rc, stderr: $(head -c 400 "$T/err")"; fi
}

# A tree of three files, one reached through ../ that stays inside the directory.
printf '%s\nimports: [../common.yaml]\nnode_types: {my.Server: {derived_from: my.Base}}\n' \
    "$v13" >"$T/svc/types/types.yaml"
check "init from a template that imports files" "$U" init "$T/s1" --from="$T/svc/main.yaml"
git -C "$T/s1" show HEAD:topology.yaml >"$T/flat.yaml" 2>&1
grep -q "my.Server:" "$T/flat.yaml" && grep -q "my.Base:" "$T/flat.yaml" &&
    ! grep -q "imports" "$T/flat.yaml" && ok ||
    bad "the store's topology lacks the imported types: $(head -c 400 "$T/flat.yaml")"
check "the store's topology checks alone" "$U" check "$T/flat.yaml"
[ -z "$(git -C "$T/s1" ls-tree --name-only HEAD csar)" ] && ok ||
    bad "a template's directory is no archive: nothing kept under csar/"
(cd "$T/svc" && "$U" init ../s2 --from=main.yaml >/dev/null 2>&1) && ok ||
    bad "init from a template in the current directory"
# Without imports the file is kept as written, comments and all.
printf '%s\n# kept\ntopology_template:\n  node_templates:\n    c: {type: tosca.nodes.Compute}\n' \
    "$v13" >"$T/plain.yaml"
check "init from a template without imports" "$U" init "$T/s3" --from="$T/plain.yaml"
[ "$(git -C "$T/s3" show HEAD:topology.yaml)" = "$(cat "$T/plain.yaml")" ] && ok ||
    bad "a template without imports is kept as written"
# A symbolic link that stays inside the directory is followed.
ln -s ../common.yaml "$T/svc/types/inside.yaml"
printf '%s\nimports: [inside.yaml]\nnode_types: {my.Server: {derived_from: my.Base}}\n' \
    "$v13" >"$T/svc/types/types.yaml"
check "an import through a symbolic link inside the directory" "$U" init "$T/s4" \
    --from="$T/svc/main.yaml"
mkdir "$T/elsewhere"
ln -s ../svc/main.yaml "$T/elsewhere/link.yaml"
check "a template that is a symbolic link imports from where it leads" "$U" init "$T/s5" \
    --from="$T/elsewhere/link.yaml"

# Attacks.
printf '%s\n' "$v13" >"$T/outside.yaml"
types ../../outside.yaml
refused "../ out of the directory" x1 \
    "^svc/types/types.yaml:2:11: error: import '../../outside.yaml': it leaves the template's directory"
ln -s ../../outside.yaml "$T/svc/types/out.yaml"
types out.yaml
refused "a symbolic link out of the directory" x2 \
    "^svc/types/types.yaml:2:11: error: import 'out.yaml': svc/types/out.yaml: cannot open: a symbolic link out of the template's directory"
ln -s /etc "$T/svc/types/etc"
types etc/passwd
refused "a directory link out of the directory" x3 "^svc/types/types.yaml:2:11: error: import 'etc/passwd': .*symbolic link out"
types /etc/passwd
refused "an absolute path" x4 "^svc/types/types.yaml:2:11: error: import '/etc/passwd': an absolute path"
types ../main.yaml
refused "an import cycle" x5 \
    "^svc/types/types.yaml:2:11: error: import '../main.yaml': a cycle of imports back to svc/main.yaml"
types types.yaml
refused "a file that imports itself" x6 "^svc/types/types.yaml:2:11: error: import 'types.yaml': the file imports itself"
types nope.yaml
refused "a missing import" x7 \
    "^svc/types/types.yaml:2:11: error: import 'nope.yaml': cannot open svc/types/nope.yaml: No such file"
python3 -c "import sys; sys.stdout.write('$v13\ndescription: ' + 'x' * (5 << 20) + '\n')" \
    >"$T/svc/types/big.yaml"
types big.yaml
refused "an import over 4 MiB" x8 "^svc/types/types.yaml:2:11: error: import 'big.yaml': svc/types/big.yaml: [0-9]+ bytes; expected at most 4194304"
mkfifo "$T/svc/types/fifo.yaml"
types fifo.yaml
refused "a FIFO (not waited on)" x9 "^svc/types/types.yaml:2:11: error: import 'fifo.yaml': svc/types/fifo.yaml: not a regular file"
printf '%s\nimports: [{file: x.yaml, repository: r}]\n' "$v13" >"$T/svc/types/types.yaml"
refused "an import from a repository" x10 "import from repository 'r': expected a local file"

# Real templates of several files: tosca-parser's corpus.
C=$UNISEC_SRCDIR/../shared/tosca/corpus/tosca-parser
if [ -d "$C" ]; then
    n=0
    for f in tosca_test_get_operation_output.yaml datatypes/test_custom_datatypes_positive.yaml \
        policies/tosca_custom_policy_template.yaml test_custom_capabilty.yaml \
        topology_template/databasesubsystem.yaml topology_template/queuingsubsystem.yaml; do
        n=$((n + 1))
        if "$U" init "$T/c$n" --from="$C/$f" >"$T/out" 2>&1 &&
            git -C "$T/c$n" show HEAD:topology.yaml >"$T/c$n.yaml" && "$U" check "$T/c$n.yaml" >/dev/null 2>&1; then
            ok
        else bad "corpus $f: $(head -c 300 "$T/out")"; fi
    done
    "$U" init "$T/wp" --from="$C/tosca_single_instance_wordpress.yaml" --input=db_root_pwd=x \
        --input=db_pwd=y >"$T/out" 2>&1 && ok || bad "corpus wordpress: $(head -c 300 "$T/out")"
    # an import out of the template's directory, which `unisec check` reads
    (cd "$C" && "$U" init "$T/c0" --from=requirements/test_requirements.yaml) >"$T/out" 2>&1
    grep -q "^requirements/test_requirements.yaml:7:5: error: import '../custom_types/wordpress.yaml': it leaves" "$T/out" &&
        ok || bad "corpus: an import out of the directory: $(head -c 300 "$T/out")"
else
    echo "SKIP (part): no tosca-parser corpus beside the tree"
fi

echo "init_imports: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
