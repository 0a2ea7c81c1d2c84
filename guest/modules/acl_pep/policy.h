/*
 * policy.h — the rules an acl_pep enforces: a validated ACL blob that a new one replaces
 * atomically (push PDP), or the one linked into the image (internal PDP), and over a pushed
 * blob at most one patch (contract/acl_patch.h) that a newer patch or blob replaces.
 *
 * Freestanding, no allocation: the caller owns the buffers; installing hands back the ones
 * replaced for the caller to free. The event loop is single-threaded, so "atomic" means no
 * request ever sees a half-installed policy: validation happens on the new buffer before
 * anything changes, and the switch is a few assignments between two events.
 */
#ifndef UNISEC_GUEST_ACL_POLICY_H
#define UNISEC_GUEST_ACL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/acl_lookup.h"
#include "common/acl_patch.h"

struct mod_policy {
    void *buf; /* the installed blob (BLOB points into it); NULL before the first */
    size_t len;
    struct engine_acl_blob blob;
    void *patch;     /* the patch in force over it (PATCHED points into it), or NULL */
    void *patch_buf; /* PATCH's own buffer, to free; NULL when PATCH lies inside BUF */
    struct engine_acl_patch patched;
    struct engine_acl_layers layers; /* what decisions use: BLOB and the patch */
    uint64_t version;                /* the version in force: the blob's or the patch's */
    uint64_t generation;             /* counts installs; caches keyed on it drop stale entries */
    uint64_t wholes, patches, pairs; /* blobs, patches, and blobs with their patch installed */
};

/*
 * Validates BUF[0..LEN) (8-byte aligned) as a blob, or a blob and a patch over it together
 * (common/acl_patch.h, engine_acl_pair_open(): the patch's version must be above the version
 * in force, the blob's need not, as it is never in force alone) or, by its magic, as a patch of
 * the blob in force at the version in force. On success installs it, sets OLD[0..2) to the buffers
 * it replaces (NULL when none; the caller frees them) and returns 0. On failure nothing changes,
 * OLD holds NULLs, *WHY says why and -ENGINE_ACL_EBADMSG (corrupt), -ENGINE_ACL_ESTALE (a patch
 * for another blob or out of order: the host should send the whole blob) or -EINVAL is
 * returned; the caller still owns BUF.
 */
int mod_policy_install(struct mod_policy *p, void *buf, size_t len, void *old[2], const char **why);

/* The same for a whole blob whose bytes a checksum its caller verified has covered (the
 * rules region's CRC-32C): everything but its SHA-256 is checked. */
int mod_policy_install_summed(struct mod_policy *p, void *buf, size_t len, void *old[2],
                              const char **why);

/* The same for an internal PDP's rules region (common/acl_patch.h,
 * engine_acl_region_split()): its blob as mod_policy_install_summed() takes it, then the patch
 * after it, if any, as mod_policy_install() takes a patch. Both or neither are installed. */
int mod_policy_install_region(struct mod_policy *p, void *buf, size_t len, void *old[2],
                              const char **why);

/* The version a blob or patch claims, read without trusting it (0 when not even a header). */
uint64_t mod_policy_claimed_version(const void *buf, size_t len);

/* The installed blob (users, groups, credentials), or NULL before the first install. */
const struct engine_acl_blob *mod_policy_current(const struct mod_policy *p);

/* The rules in force, for engine_acl_layers_decide(), or NULL before the first install. */
const struct engine_acl_layers *mod_policy_layers(const struct mod_policy *p);

#endif
