/*
 * acl_patch.h — the validator of an ACL patch (contract/acl_patch.h) against the whole blob an
 * instance holds, built for both sides: the guest applies patches with it, the host's tests
 * and fuzzers check what it makes.
 *
 * Freestanding: no libc, no allocation; nothing is read outside the caller's buffers. An
 * opened patch points into its buffer, which must outlive it.
 */
#ifndef UNISEC_COMMON_ACL_PATCH_H
#define UNISEC_COMMON_ACL_PATCH_H

#include <stddef.h>
#include <stdint.h>

#include "acl_lookup.h"
#include "contract/acl_patch.h"

struct engine_acl_patch {
    const struct engine_acl_patch_header *hdr;
    const uint32_t *dead;
    uint32_t ndead;
    struct engine_acl_blob over; /* valid when has_over */
    int has_over;
};

/* Does BUF[0..LEN) start as a patch does (its magic), rather than a whole blob? */
int engine_acl_is_patch(const void *buf, size_t len);

/*
 * Validates BUF[0..LEN) (8-byte aligned) completely as a patch of BASE, the whole blob in
 * force, when the version in force is CURRENT, and on success fills *P. Returns 0;
 * -ENGINE_ACL_EBADMSG when the patch is corrupt or hostile; -ENGINE_ACL_ESTALE when it is
 * sound but not for this instance: another base blob, or out of order (CURRENT is below its
 * from_version, or its version is not above CURRENT); -ENGINE_ACL_EINVAL for bad arguments. *WHY
 * (when WHY is not NULL) gets a static sentence on failure.
 */
int engine_acl_patch_open(struct engine_acl_patch *p, const void *buf, size_t len,
                          const struct engine_acl_blob *base, uint64_t current, const char **why);

/*
 * An internal PDP's rules region (contract/abi.h) holds a whole blob and, when the image was
 * made from an index (engine/ACL.md, "Patches"), a patch over it: the blob's TOTAL_SIZE bytes,
 * zeros to the next 8-byte boundary, then the patch to the region's end. Finds where each lies
 * in BUF[0..LEN) (8-byte aligned): *BLOB_LEN, and *PATCH_AT (LEN when there is no patch).
 * Neither part is validated here (their opens do that); the layout is: 0, or
 * -ENGINE_ACL_EBADMSG with *WHY (when WHY is not NULL) when the blob's size runs past LEN, the
 * padding is not zeros, or what follows is not a patch.
 */
int engine_acl_region_split(const void *buf, size_t len, size_t *blob_len, size_t *patch_at,
                            const char **why);

/*
 * A whole blob and, after it, a patch over it in one buffer, laid out as a rules region (above):
 * what an instance is sent when it must move to a new base and the changes since in one step
 * (contract/acl_patch.h, "A base and its patch together"), and what an internal PDP's rules
 * region holds. Opens the blob (its SHA-256 checked, unless SUMMED: its bytes were covered by a
 * checksum the caller verified), then the patch, if any, over that blob, into *B and *P;
 * *HAS_PATCH says whether there was one. With a patch, its version must be above CURRENT, the
 * version in force (the blob's own may be below it: it is never in force alone); a buffer that
 * is a whole blob only is taken at any version, as a pushed blob is. Nothing is filled on
 * failure: -ENGINE_ACL_EBADMSG (the layout, the blob or the patch is corrupt or hostile, or the
 * patch is not over that blob), -ENGINE_ACL_ESTALE (its version is not above CURRENT: late or
 * repeated), -ENGINE_ACL_EINVAL (bad arguments), with *WHY (when not NULL) a static sentence.
 */
int engine_acl_pair_open(struct engine_acl_blob *b, struct engine_acl_patch *p, int *has_patch,
                         const void *buf, size_t len, int summed, uint64_t current,
                         const char **why);

/* The rules in force once P is applied to BASE, for engine_acl_layers_decide(). */
void engine_acl_patch_layers(const struct engine_acl_patch *p, const struct engine_acl_blob *base,
                             struct engine_acl_layers *l);

#endif
