#!/bin/sh
# secret_messages.sh — a secret typed into the wrong place (a password written as a node's
# integer property, into topology.yaml, as a plaintext credential) is refused, and the
# refusal, which may quote the value, is shown to no other user: another user (nobody, over
# allow_other) reads none of errors, events, events.json, history or the log with the secret
# in it (fs/MOUNT.md "Secrets in messages"); the owner still reads why. Without root (or
# setpriv) the files' modes and contents are checked instead.
. "$(dirname "$0")/lib.sh"
attack_mount
secret=hunter2-$$-s3cret
W=$M/nodes/web

refuse "a secret written as an integer property is refused" sh -c "echo $secret >'$W/properties/http_port'"
refuse "a secret in topology.yaml's YAML is refused" sh -c "printf 'a: [$secret\n' | cat >'$M/topology.yaml'"
refuse "a plaintext credential is refused" sh -c "echo 'alice:$secret' >'$M/policy/credentials'"
check "the owner reads why in errors" grep -q "refused nodes/web/properties/http_port (EINVAL)" "$M/errors"
# shown FILE: whether another user can read FILE with the secret in it.
shown() {
    if attack_nobody; then
        as_nobody cat "$1" 2>/dev/null | grep -qF "$secret"
    else
        case $(stat -c %A "$1") in ???????r??) grep -qF "$secret" "$1" ;; *) false ;; esac
    fi
}
for f in errors events events.json history; do
    refuse "$f does not show the secret to another user" shown "$M/$f"
done
refuse "the log does not show it to another user" shown "$S/.git/unisec.log"
if attack_nobody; then
    refuse "errors cannot be read by another user" as_nobody cat "$M/errors"
    check "history still can" as_nobody cat "$M/history"
else
    echo "skip: the other user's reads need root and setpriv"
fi
attack_done
