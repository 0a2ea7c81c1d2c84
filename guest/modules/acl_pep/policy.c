/* policy.c — validating and atomically replacing the ACL blob an acl_pep enforces. */
#include "policy.h"

int mod_policy_install(struct mod_policy *p, void *buf, size_t len, void **old, const char **why)
{
    struct engine_acl_blob b;
    int e;

    *old = NULL;
    if ((e = engine_acl_blob_open(&b, buf, len, why)) < 0) {
        if (e == -ENGINE_ACL_EINVAL)
            *why = "the blob is empty or not 8-byte aligned";
        return e;
    }
    *old = p->buf;
    p->buf = buf;
    p->len = len;
    p->blob = b;
    p->version = b.hdr->policy_version;
    p->generation++;
    return 0;
}

uint64_t mod_policy_claimed_version(const void *buf, size_t len)
{
    const uint8_t *q = buf;
    uint64_t v = 0;
    if (buf == NULL || len < 24)
        return 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | q[16 + i]; /* header offset 16, little-endian */
    return v;
}

const struct engine_acl_blob *mod_policy_current(const struct mod_policy *p)
{
    return p->buf ? &p->blob : NULL;
}
