#!/bin/sh
# tests/fs/inputs.sh — inputs/NAME through a real mount (fs/MOUNT.md "inputs"): one input of
# the topology template a file, read as the value in force (given, else the default), written
# as a value validated with the whole topology and committed in inputs.yaml like any change;
# refusals leave the store and the values in force alone; a write of one input keeps the rest
# of inputs.yaml's text; rm inputs/NAME removes the value (the default in force again), refused
# for a required input without a default. Skips (exit 77) without FUSE.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git

U=$UNISEC
one_mount

# The paper's topology with three inputs: web's port (a default and a constraint), a required
# string, and an optional list.
awk '1; /^topology_template:/ {print "  inputs:\n    port:\n      type: integer\n      default: 8080\n      constraints: [{in_range: [1024, 65535]}]\n    banner: {type: string}\n    tags: {type: list, entry_schema: {type: string}, required: false}\n    key_expiry: {type: timestamp, required: false}"}' \
    mount-examples/paper.yaml | sed 's/        http_port: 8080/        http_port: {get_input: port}/' >"$T/topo.yaml"
check "init with a value for the required input" "$U" init "$S" --from "$T/topo.yaml" \
    --policy-dir mount-examples/policy --input banner=hello
check "it mounts" mount_up --daemon --no-run

check "inputs/ lists the template's inputs" test "$(ls "$M/inputs" | tr '\n' ' ')" = "banner key_expiry port tags "
check "inputs/NAME is 0640, as inputs.yaml" test "$(stat -c %a "$M/inputs/port")" = 640
same "an input without a value reads as its default" "$M/inputs/port" "8080"
same "an input with one reads as it" "$M/inputs/banner" "hello"
same "an input with neither reads empty" "$M/inputs/tags" ""
refuse "a name the template does not declare is not there" test -e "$M/inputs/nope"
refuse "nor can it be made" sh -c "echo 1 >'$M/inputs/nope'"

n=$(commits)
check "a value is written with echo" sh -c "echo 9000 >'$M/inputs/port'"
same "it reads back" "$M/inputs/port" "9000"
same "get_input gives it to the node" "$M/nodes/web/properties/http_port" "9000"
check "as one commit" test "$(commits)" = "$((n + 1))"
check "in inputs.yaml, the stored form" sh -c "git -C '$S' show main:inputs.yaml | grep -qx 'port: 9000'"
check "which the mount shows too" grep -qx "port: 9000" "$M/inputs.yaml"
check "the other values stay" grep -qx "banner: hello" "$M/inputs.yaml"
check "the commit names the input" sh -c "git -C '$S' log -1 --format=%s main | grep -qx 'inputs/port: a new value'"
check "and no value (an input may be a secret)" sh -c "! git -C '$S' log -1 --format=%s main | grep -q 9000"
check "the same value again commits nothing" sh -c "echo 9000 >'$M/inputs/port'"
check "(no commit)" test "$(commits)" = "$((n + 1))"

n=$(commits)
refuse "a value against the input's constraints is refused" sh -c "echo 80 >'$M/inputs/port'"
check "with its reason in errors" grep -q "refused inputs/port (EINVAL).*input port: the value does not meet the constraint in_range" "$M/errors"
refuse "a value of the wrong type is refused" sh -c "echo many >'$M/inputs/port'"
refuse "a value on two lines is refused" sh -c "printf '9001\n9002\n' >'$M/inputs/port'"
refuse "an empty value is refused" sh -c "printf '\n' >'$M/inputs/port'"
refuse "a value that is not YAML is refused" sh -c "echo '[1' >'$M/inputs/tags'"
check "nothing was committed" test "$(commits)" = "$n"
same "the value in force is kept" "$M/inputs/port" "9000"
same "and the node's" "$M/nodes/web/properties/http_port" "9000"

# A secret written into the wrong input: refused, and the refusal (which may quote the value)
# is not shown to other users: errors, events, events.json and the log are the owner's and
# group's only (fs/MOUNT.md "Secrets in messages").
secret=hunter2-$$-s3cret
refuse "a secret written to a timestamp input is refused" sh -c "echo $secret >'$M/inputs/key_expiry'"
check "errors names the refusal" grep -q "refused inputs/key_expiry (EINVAL)" "$M/errors"
for f in "$M/errors" "$M/events" "$M/events.json" "$M/history" "$S/.git/unisec.log"; do
    check "$f exists" test -f "$f"
    case $(stat -c %A "$f") in
    ???????r??) refuse "$f, readable by others, does not quote the secret" grep -qF "$secret" "$f" ;;
    *) ok ;;
    esac
done
check "errors, events, events.json are 0440" test "$(stat -c %a "$M/errors" "$M/events" "$M/events.json" | tr '\n' ' ')" = "440 440 440 "
check "the owner may open events to others" chmod o+r "$M/events"
check "(then 0444)" test "$(stat -c %a "$M/events")" = 444
check "and close it again" chmod o-r "$M/events"

check "a list is written as one line of YAML" sh -c "echo '[a, \"b c\"]' >'$M/inputs/tags'"
same "and reads back in flow style" "$M/inputs/tags" '[a, "b c"]'
check "a write of inputs.yaml changes inputs/NAME" sh -c "printf '# values\nbanner: bye  # greeting\n\n# the port\nport: 9100\n' | cat >'$M/inputs.yaml'"
same "inputs/banner follows" "$M/inputs/banner" "bye"
same "inputs/port follows" "$M/inputs/port" "9100"
same "inputs/tags, given no value, reads empty" "$M/inputs/tags" ""

# One input written keeps the rest of inputs.yaml's text: comments, order, blank lines.
check "a value written to inputs/NAME" sh -c "echo 9200 >'$M/inputs/port'"
check "changes its line alone" test "$(git -C "$S" show main:inputs.yaml)" = "$(printf '# values\nbanner: bye  # greeting\n\n# the port\nport: 9200')"
check "a comment after the value stays" sh -c "echo hi >'$M/inputs/banner'"
check "(the text)" test "$(cat "$M/inputs.yaml")" = "$(printf '# values\nbanner: hi  # greeting\n\n# the port\nport: 9200')"
check "a new value is appended" sh -c "echo '[x]' >'$M/inputs/tags'"
check "(the text)" test "$(cat "$M/inputs.yaml")" = "$(printf '# values\nbanner: hi  # greeting\n\n# the port\nport: 9200\ntags: [x]')"

# unlink inputs/NAME removes the value: the default is in force again.
n=$(commits)
check "rm inputs/NAME removes its value" rm "$M/inputs/port"
check "inputs/NAME is still there" test -f "$M/inputs/port"
same "and reads as the default" "$M/inputs/port" "8080"
same "which get_input gives the node" "$M/nodes/web/properties/http_port" "8080"
check "inputs.yaml loses that line alone" test "$(cat "$M/inputs.yaml")" = "$(printf '# values\nbanner: hi  # greeting\n\n# the port\ntags: [x]')"
check "as one commit" test "$(commits)" = "$((n + 1))"
check "that says so" sh -c "git -C '$S' log -1 --format=%s main | grep -qx 'inputs/port: its value removed (the default in force)'"
check "removing an input without a value commits nothing" rm "$M/inputs/port"
check "(no commit)" test "$(commits)" = "$((n + 1))"
check "an optional input without a default loses its value" rm "$M/inputs/tags"
same "and reads empty" "$M/inputs/tags" ""
n=$(commits)
refuse "a required input without a default cannot lose its value" rm "$M/inputs/banner"
check "with its reason in errors" grep -q "refused inputs/banner (EINVAL).*input banner: required and without a default" "$M/errors"
same "its value stays in force" "$M/inputs/banner" "hi"
check "nothing was committed" test "$(commits)" = "$n"
check "it unmounts" fusermount3 -u "$M"

echo "inputs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
