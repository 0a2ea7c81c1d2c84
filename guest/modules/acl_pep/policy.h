/*
 * policy.h — the rules an acl_pep enforces: a validated ACL blob that a new one replaces
 * atomically (push PDP), or the one linked into the image (internal PDP).
 *
 * Freestanding, no allocation: the caller owns the buffers; installing hands back the one
 * replaced for the caller to free. The event loop is single-threaded, so "atomic" means no
 * request ever sees a half-installed policy: validation happens on the new buffer before
 * anything changes, and the switch is a few assignments between two events.
 */
#ifndef UNISEC_GUEST_ACL_POLICY_H
#define UNISEC_GUEST_ACL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/acl_lookup.h"

struct mod_policy {
    void *buf; /* the installed blob (BLOB points into it); NULL before the first */
    size_t len;
    struct engine_acl_blob blob;
    uint64_t version;    /* its policy_version */
    uint64_t generation; /* counts installs; caches keyed on it drop stale entries */
};

/*
 * Validates BUF[0..LEN) (8-byte aligned) as a blob. On success installs it, sets *OLD to the
 * buffer it replaces (NULL for the first; the caller frees it) and returns 0. On failure
 * nothing changes, *OLD is NULL, *WHY says why and -ENGINE_ACL_EBADMSG (or -EINVAL) is
 * returned; the caller still owns BUF.
 */
int mod_policy_install(struct mod_policy *p, void *buf, size_t len, void **old, const char **why);

/* The policy_version a blob claims, read without trusting it (0 when not even a header). */
uint64_t mod_policy_claimed_version(const void *buf, size_t len);

/* The installed blob, or NULL before the first install. */
const struct engine_acl_blob *mod_policy_current(const struct mod_policy *p);

#endif
