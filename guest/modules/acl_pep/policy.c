/* policy.c — validating and atomically replacing the ACL blob and patch an acl_pep enforces. */
#include "policy.h"

static int policy_patch(struct mod_policy *p, void *buf, size_t len, void *old[2], const char **why)
{
    struct engine_acl_patch np;
    int e;

    if (p->buf == 0) {
        *why = "a patch, but no blob is in force to apply it to";
        return -ENGINE_ACL_ESTALE;
    }
    if ((e = engine_acl_patch_open(&np, buf, len, &p->blob, p->version, why)) < 0)
        return e;
    old[0] = p->patch_buf;
    p->patch = p->patch_buf = buf;
    p->patched = np;
    engine_acl_patch_layers(&p->patched, &p->blob, &p->layers);
    p->version = np.hdr->version;
    p->generation++;
    p->patches++;
    return 0;
}

/* A whole blob, or a blob and a patch over it in one buffer (engine_acl_pair_open()): both
 * checked before anything changes, then switched to at once, so the blob alone, which may be
 * older than the version in force, is never in force. */
static int policy_install(struct mod_policy *p, void *buf, size_t len, int summed, void *old[2],
                          const char **why)
{
    struct engine_acl_blob b;
    struct engine_acl_patch np;
    int e, has_patch;

    old[0] = old[1] = NULL;
    if (engine_acl_is_patch(buf, len))
        return policy_patch(p, buf, len, old, why);
    if ((e = engine_acl_pair_open(&b, &np, &has_patch, buf, len, summed, p->version, why)) < 0) {
        if (e == -ENGINE_ACL_EINVAL)
            *why = "the blob is empty or not 8-byte aligned";
        return e;
    }
    old[0] = p->buf;
    old[1] = p->patch_buf;
    p->buf = buf;
    p->len = len;
    p->blob = b;
    p->patch = p->patch_buf = NULL;
    p->layers = (struct engine_acl_layers){.base = &p->blob};
    p->version = b.hdr->policy_version;
    if (has_patch) {
        p->patch = (uint8_t *)buf + ((const uint8_t *)np.hdr - (const uint8_t *)buf);
        p->patched = np;
        engine_acl_patch_layers(&p->patched, &p->blob, &p->layers);
        p->version = np.hdr->version;
        p->pairs++;
    } else {
        p->wholes++;
    }
    p->generation++;
    return 0;
}

int mod_policy_install(struct mod_policy *p, void *buf, size_t len, void *old[2], const char **why)
{
    return policy_install(p, buf, len, 0, old, why);
}

int mod_policy_install_summed(struct mod_policy *p, void *buf, size_t len, void *old[2],
                              const char **why)
{
    return policy_install(p, buf, len, 1, old, why);
}

int mod_policy_install_region(struct mod_policy *p, void *buf, size_t len, void *old[2],
                              const char **why)
{
    /* A patch alone is no region's rules: the blob comes first, by its magic. */
    if (engine_acl_is_patch(buf, len)) {
        old[0] = old[1] = NULL;
        *why = "the rules region starts with a patch, not a blob";
        return -ENGINE_ACL_EBADMSG;
    }
    /* The patch with the checks a pushed one gets, its SHA-256 among them: both or neither. */
    return policy_install(p, buf, len, 1, old, why);
}

uint64_t mod_policy_claimed_version(const void *buf, size_t len)
{
    const uint8_t *q = buf;
    size_t blob_len, patch_at;
    /* A blob with a patch after it claims the patch's version (the one it would put in force). */
    if (!engine_acl_is_patch(buf, len) &&
        engine_acl_region_split(buf, len, &blob_len, &patch_at, NULL) == 0 && patch_at < len)
        return mod_policy_claimed_version(q + patch_at, len - patch_at);
    size_t at = engine_acl_is_patch(buf, len)
                    ? offsetof(struct engine_acl_patch_header, version)
                    : offsetof(struct engine_acl_blob_header, policy_version);
    uint64_t v = 0;
    if (buf == NULL || len < at + 8)
        return 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | q[at + i]; /* little-endian */
    return v;
}

const struct engine_acl_blob *mod_policy_current(const struct mod_policy *p)
{
    return p->buf ? &p->blob : NULL;
}

const struct engine_acl_layers *mod_policy_layers(const struct mod_policy *p)
{
    return p->buf ? &p->layers : NULL;
}
