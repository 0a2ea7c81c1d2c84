/*
 * acl_patch.c — validation of an ACL patch against the blob it applies to.
 * Freestanding (no libc, no allocation): the guest compiles this file unchanged.
 */
#include "acl_patch.h"

static int patch_bad(const char **why, const char *msg, int e)
{
    if (why != 0)
        *why = msg;
    return -e;
}

int engine_acl_is_patch(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    const char *magic = ENGINE_ACL_PATCH_MAGIC;

    if (buf == 0 || len < 8)
        return 0;
    for (int i = 0; i < 8; i++)
        if (p[i] != (uint8_t)magic[i])
            return 0;
    return 1;
}

int engine_acl_patch_open(struct engine_acl_patch *p, const void *buf, size_t len,
                          const struct engine_acl_blob *base, uint64_t current, const char **why)
{
    const struct engine_acl_patch_header *h = buf;
    const uint8_t *q = buf;
    struct engine_acl_patch v = {h, 0, 0, {0}, 0};
    uint64_t dead_end;
    uint8_t diff = 0;

    if (p == 0 || buf == 0 || base == 0 || ((uintptr_t)buf & (ENGINE_ACL_BLOB_ALIGN - 1)) != 0)
        return patch_bad(why, "the patch buffer is missing or not 8-byte aligned",
                         ENGINE_ACL_EINVAL);
    if (len < sizeof(*h) || !engine_acl_is_patch(buf, len))
        return patch_bad(why, "not an ACL patch", ENGINE_ACL_EBADMSG);
    if (h->format != ENGINE_ACL_PATCH_FORMAT || h->header_size != sizeof(*h))
        return patch_bad(why, "unsupported patch format version", ENGINE_ACL_EBADMSG);
    if (h->total_size != len)
        return patch_bad(why, "the patch's recorded size differs from its length",
                         ENGINE_ACL_EBADMSG);
    /* The canonical layout: the removed rules right after the header, then the blob. */
    dead_end = (uint64_t)sizeof(*h) + (uint64_t)h->dead_count * sizeof(uint32_t);
    if (h->dead_off != sizeof(*h) || dead_end > len)
        return patch_bad(why, "the removed rules lie outside the patch", ENGINE_ACL_EBADMSG);
    if (h->over_off != ((dead_end + ENGINE_ACL_BLOB_ALIGN - 1) & ~(uint64_t)7) ||
        (uint64_t)h->over_off + h->over_len != len)
        return patch_bad(why, "the added rules are not where the patch's layout puts them",
                         ENGINE_ACL_EBADMSG);
    for (uint64_t i = dead_end; i < h->over_off; i++)
        if (q[i] != 0)
            return patch_bad(why, "padding bytes are not zero", ENGINE_ACL_EBADMSG);
    if (!engine_sha256_sealed_ok(q, len, offsetof(struct engine_acl_patch_header, sha256)))
        return patch_bad(why, "checksum mismatch: the patch is corrupt", ENGINE_ACL_EBADMSG);
    if (h->version <= h->from_version || h->from_version < h->base_version)
        return patch_bad(why, "the patch's versions are not in order", ENGINE_ACL_EBADMSG);
    for (int i = 0; i < 32; i++)
        diff |= h->base_sha256[i] ^ base->hdr->sha256[i];
    if (h->base_version != base->hdr->policy_version || diff != 0)
        return patch_bad(why, "the patch is for another blob than the one in force",
                         ENGINE_ACL_ESTALE);
    v.dead = (const uint32_t *)(const void *)(q + h->dead_off);
    v.ndead = h->dead_count;
    for (uint32_t i = 0; i < v.ndead; i++)
        if (v.dead[i] >= base->rule_count || (i > 0 && v.dead[i] <= v.dead[i - 1]))
            return patch_bad(why, "the removed rules are not ascending rules of the blob",
                             ENGINE_ACL_EBADMSG);
    if (h->over_len != 0) {
        int e = engine_acl_blob_open(&v.over, q + h->over_off, h->over_len, why);
        if (e < 0)
            return -ENGINE_ACL_EBADMSG;
        v.has_over = 1;
    }
    /* Cumulative against the base: any version in force from FROM_VERSION on takes it, but
     * never one that is not newer (a late or repeated patch). */
    if (current < h->from_version || h->version <= current)
        return patch_bad(why, "the patch does not follow the version in force (out of order)",
                         ENGINE_ACL_ESTALE);
    *p = v;
    return 0;
}

void engine_acl_patch_layers(const struct engine_acl_patch *p, const struct engine_acl_blob *base,
                             struct engine_acl_layers *l)
{
    l->base = base;
    l->dead = p->dead;
    l->ndead = p->ndead;
    l->over = p->has_over ? &p->over : 0;
}

int engine_acl_region_split(const void *buf, size_t len, size_t *blob_len, size_t *patch_at,
                            const char **why)
{
    const struct engine_acl_blob_header *h = buf;
    const uint8_t *q = buf;
    uint64_t end, at;

    if (buf == 0 || len < sizeof(*h) || ((uintptr_t)buf & (ENGINE_ACL_BLOB_ALIGN - 1)) != 0)
        return patch_bad(why, "the rules region is too short for a blob", ENGINE_ACL_EBADMSG);
    end = h->total_size;
    if (end > len || end < sizeof(*h))
        return patch_bad(why, "the blob's recorded size runs past the rules region",
                         ENGINE_ACL_EBADMSG);
    *blob_len = (size_t)end;
    *patch_at = len;
    if (end == len)
        return 0;
    at = (end + ENGINE_ACL_BLOB_ALIGN - 1) & ~(uint64_t)(ENGINE_ACL_BLOB_ALIGN - 1);
    for (uint64_t i = end; i < at && i < len; i++)
        if (q[i] != 0)
            return patch_bad(why, "the padding after the blob is not zeros", ENGINE_ACL_EBADMSG);
    if (at >= len || !engine_acl_is_patch(q + at, len - at))
        return patch_bad(why, "the bytes after the blob are not a patch", ENGINE_ACL_EBADMSG);
    *patch_at = (size_t)at;
    return 0;
}

int engine_acl_pair_open(struct engine_acl_blob *b, struct engine_acl_patch *p, int *has_patch,
                         const void *buf, size_t len, int summed, uint64_t current,
                         const char **why)
{
    struct engine_acl_blob nb;
    struct engine_acl_patch np;
    size_t blob_len, at;
    int e;

    if (b == 0 || p == 0 || has_patch == 0)
        return patch_bad(why, "bad arguments", ENGINE_ACL_EINVAL);
    if ((e = engine_acl_region_split(buf, len, &blob_len, &at, why)) < 0)
        return e;
    if (engine_acl_is_patch(buf, blob_len))
        return patch_bad(why, "a patch where the whole blob should come first", ENGINE_ACL_EBADMSG);
    if ((e = summed ? engine_acl_blob_open_summed(&nb, buf, blob_len, why)
                    : engine_acl_blob_open(&nb, buf, blob_len, why)) < 0)
        return e == -ENGINE_ACL_EINVAL ? -ENGINE_ACL_EBADMSG : e;
    if (at < len) {
        /* Over the blob just opened, from its version: the patch must name exactly that blob
         * (version and SHA-256), so a patch of another base is refused as corrupt here. */
        e = engine_acl_patch_open(&np, (const uint8_t *)buf + at, len - at, &nb,
                                  nb.hdr->policy_version, why);
        if (e < 0)
            return e == -ENGINE_ACL_ESTALE ? -ENGINE_ACL_EBADMSG : e;
        if (np.hdr->version <= current)
            return patch_bad(why,
                             "the base and patch are not newer than the version in force "
                             "(out of order)",
                             ENGINE_ACL_ESTALE);
    }
    *b = nb;
    if (at < len)
        *p = np;
    *has_patch = at < len;
    return 0;
}
