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
    old[0] = p->patch;
    p->patch = buf;
    p->patched = np;
    engine_acl_patch_layers(&p->patched, &p->blob, &p->layers);
    p->version = np.hdr->version;
    p->generation++;
    p->patches++;
    return 0;
}

static int policy_install(struct mod_policy *p, void *buf, size_t len, int summed, void *old[2],
                          const char **why)
{
    struct engine_acl_blob b;
    int e;

    old[0] = old[1] = NULL;
    if (engine_acl_is_patch(buf, len))
        return policy_patch(p, buf, len, old, why);
    if ((e = summed ? engine_acl_blob_open_summed(&b, buf, len, why)
                    : engine_acl_blob_open(&b, buf, len, why)) < 0) {
        if (e == -ENGINE_ACL_EINVAL)
            *why = "the blob is empty or not 8-byte aligned";
        return e;
    }
    old[0] = p->buf;
    old[1] = p->patch;
    p->buf = buf;
    p->len = len;
    p->blob = b;
    p->patch = NULL;
    p->layers = (struct engine_acl_layers){.base = &p->blob};
    p->version = b.hdr->policy_version;
    p->generation++;
    p->wholes++;
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
    struct mod_policy keep = *p;
    size_t blob_len, at;
    void *none[2];
    int e;

    old[0] = old[1] = NULL;
    if ((e = engine_acl_region_split(buf, len, &blob_len, &at, why)) < 0)
        return e;
    /* A patch alone is no region's rules: the blob comes first, by its magic. */
    if (engine_acl_is_patch(buf, blob_len)) {
        *why = "the rules region starts with a patch, not a blob";
        return -ENGINE_ACL_EBADMSG;
    }
    if ((e = policy_install(p, buf, blob_len, 1, old, why)) < 0 || at == len)
        return e;
    /* The patch with the checks a pushed one gets, its SHA-256 among them; refused, the
     * blob goes too: the region's rules are those of both or none. */
    if ((e = policy_patch(p, (uint8_t *)buf + at, len - at, none, why)) < 0) {
        *p = keep;
        old[0] = old[1] = NULL;
    }
    return e;
}

uint64_t mod_policy_claimed_version(const void *buf, size_t len)
{
    const uint8_t *q = buf;
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
