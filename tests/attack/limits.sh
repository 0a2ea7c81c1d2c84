#!/bin/sh
# Issue 15, item 9: a user in 5,000 groups passed `acl check` and a write through the mount,
# then the policy could not be compiled (the blob holds at most 4,096 groups per user). Every
# documented limit must be checked where the input is accepted: here the group bound through
# the mount (tests/golden/acl/many-groups: `acl check`), truncate(2) by path past a file's
# bound, and the bounds of fs/MOUNT.md's table at the write that crosses them.
. "$(dirname "$0")/lib.sh"
attack_mount

n0=$(commits)
python3 -c "
print('admins: alice')
print('staff: alice bob')
for i in range(5000): print('g%d: alice' % i)" >"$T/groups.5000"
refuse "a user in 5,000 groups is refused at the write" sh -c "cat '$T/groups.5000' > '$M/policy/groups'"
check "errors names the bound" grep -q "user 'alice' is in more than 4096 groups" "$M/errors"
mkdir "$T/g" && cp "$T/groups.5000" "$T/g/groups"
out=$("$U" acl check "$T/g/groups" 2>&1)
case $out in *"is in more than 4096 groups"*) ok ;; *) bad "acl check refuses it: $out" ;; esac
head -n 4096 "$T/groups.5000" >"$T/groups.4096"
check "4,096 groups are accepted" sh -c "cat '$T/groups.4096' > '$M/policy/groups'"
check "and compile" sh -c "cp mount-examples/policy/acl '$T/acl' && cp '$T/groups.4096' '$T/groups' && '$U' acl compile '$T' -o '$T/blob'"
check "one commit" test "$(commits)" = $((n0 + 1))

# The bounds of fs/MOUNT.md, at the call that crosses them (not at a later close or compile).
refuse "truncate(2) of a level past 4 KiB" truncate -s 5000 "$M/nodes/web/security_level"
refuse "truncate(2) of topology.yaml past 4 MiB" truncate -s 5M "$M/topology.yaml"
refuse "truncate(2) of policy/acl past 64 MiB" truncate -s 1T "$M/policy/acl"
check "the daemon is still there" daemon_pid
refuse "a temporary file past 64 MiB" sh -c "head -c 67108865 /dev/zero > '$M/policy/.big.tmp'"
rm -f "$M/policy/.big.tmp"
check "nothing else was committed" test "$(commits)" = $((n0 + 1))
attack_done
