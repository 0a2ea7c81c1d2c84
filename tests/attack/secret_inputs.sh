#!/bin/sh
# secret_inputs.sh — an input the template marks secret (`metadata: {secret: true}`,
# engine/TOPOLOGY.md 1.6) is given to the node it configures, and shown to no reader of the
# mount: its properties/ file, template.yaml and tosca/ show the function that takes it, and a
# property write's commit (history, git log, events) names no value of it; a value that does
# not fit the property is refused without quoting it. inputs/NAME, the owner's (0640), still
# reads it; a property that takes an input not marked secret reads as its value.
. "$(dirname "$0")/lib.sh"
secret=s3cret-$$-token
awk '1; /^topology_template:/ {print "  inputs:\n    token:\n      type: string\n      metadata: {secret: true}\n    port: {type: integer, default: 8080}"}' \
    mount-examples/paper.yaml |
    sed 's/        http_port: 8080/        http_port: {get_input: port}\n        routes: {concat: ["GET \/t 200 text\/plain ", {get_input: token}]}/' >"$T/topo.yaml"
check "init with a value for the secret input" sh -c "'$U' init '$S' --from '$T/topo.yaml' --policy-dir mount-examples/policy --input token=$secret >/dev/null"
check "it mounts" mount_up --daemon --no-run
W=$M/nodes/web

same "the owner reads the secret input (0640)" "$M/inputs/token" "$secret"
check "a property of an input not secret reads as its value" grep -qx 8080 "$W/properties/http_port"
# leaks: whether any file of the mount readable by others, or the history, shows the value
leaks() {
    for f in "$W/properties/routes" "$W/template.yaml" "$M"/tosca/* "$M/history"; do
        grep -qF "$secret" "$f" && { echo "  shown in $f"; return 0; }
    done
    git -C "$S" log -p --all | grep -qF "$secret" && git -C "$S" log -p --all | grep -F "$secret" | grep -vq '^+token:' &&
        { echo "  in git beside inputs.yaml"; return 0; }
    return 1
}
refuse "no file readable by others shows the secret" leaks
same "properties/routes shows the function instead" "$W/properties/routes" \
    '{concat: ["GET /t 200 text/plain ", {get_input: token}]}'
check "template.yaml keeps get_input of the secret" grep -q "get_input: token" "$W/template.yaml"
check "and resolves the other input" grep -q "http_port: 8080" "$W/template.yaml"
check "the P_UG configuration shows the function" grep -q 'get_input: token' "$M/tosca/p_ug.json"

# A property write's commit names the old value as the property read: not the secret.
check "an override of the property is accepted" sh -c "echo 'GET /t 200 text/plain public' >'$W/properties/routes'"
check "its commit names the function, not the value" sh -c "git -C '$S' log -1 --format=%s main | grep -q 'routes {concat'"
refuse "still nothing shows the secret" leaks

# A secret that does not fit the property is refused, without quoting it.
sed 's/^    port: {type: integer, default: 8080}/    port: {type: integer, default: 8080, metadata: {secret: true}}/' "$T/topo.yaml" >"$T/topo2.yaml"
check "the port input made secret" sh -c "cat '$T/topo2.yaml' >'$M/topology.yaml'"
refuse "a secret port that is not an integer is refused" sh -c "echo not-a-port-$$ >'$M/inputs/port'"
check "the refusal names the input" grep -q "input port: the value given (a secret: not quoted) is not valid for its definition: expected integer" "$M/errors"
refuse "and does not quote the value" grep -qF "not-a-port-$$" "$M/errors"
check "http_port now reads as the function" grep -qx "{get_input: port}" "$W/properties/http_port"
refuse "metadata secret other than true or false is refused" sh -c \
    "sed 's/metadata: {secret: true}/metadata: {secret: maybe}/' '$T/topo2.yaml' >'$M/topology.yaml'"
check "with a reason" grep -q "metadata secret: expected true or false" "$M/errors"
attack_done
