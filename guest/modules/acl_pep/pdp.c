/* pdp.c — the acl_pep's decision cache (pdp.h). */
#include "pdp.h"

#include "common/mod_str.h"
#include "common/sha256.h"

#define PDP_EINVAL 22

int mod_pdp_cache_init(struct mod_pdp_cache *c, struct mod_pdp_entry *entries, uint32_t n,
                       uint64_t ttl_ns)
{
    if (n == 0 || (n & (n - 1)) != 0)
        return -PDP_EINVAL;
    for (uint32_t i = 0; i < n; i++)
        entries[i].expires = 0;
    c->e = entries;
    c->n = n;
    c->version = 0;
    c->ttl_ns = ttl_ns;
    return 0;
}

static void pdp_key_field(struct engine_sha256 *h, const char *s, size_t n)
{
    uint32_t len = (uint32_t)n;
    engine_sha256_update(h, &len, sizeof(len));
    engine_sha256_update(h, s, n);
}

void mod_pdp_cache_key(uint8_t key[32], const struct mod_pdp_request *rq)
{
    struct engine_sha256 h;
    engine_sha256_init(&h);
    pdp_key_field(&h, rq->policy, rq->policy_len);
    pdp_key_field(&h, rq->user, rq->user_len);
    pdp_key_field(&h, rq->password, rq->password_len);
    pdp_key_field(&h, rq->method, rq->method_len);
    pdp_key_field(&h, rq->path, rq->path_len);
    engine_sha256_final(&h, key);
}

static struct mod_pdp_entry *pdp_slot(const struct mod_pdp_cache *c, const uint8_t key[32])
{
    uint32_t i =
        (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24;
    return &c->e[i & (c->n - 1)];
}

int mod_pdp_cache_get(const struct mod_pdp_cache *c, const uint8_t key[32], uint64_t now,
                      struct mod_pdp_verdict *v)
{
    const struct mod_pdp_entry *e = pdp_slot(c, key);
    if (e->expires <= now || !mod_mem_eq((const char *)e->key, (const char *)key, 32))
        return 0;
    *v = e->v;
    return 1;
}

void mod_pdp_cache_version(struct mod_pdp_cache *c, uint64_t version)
{
    if (version == c->version)
        return;
    for (uint32_t i = 0; i < c->n; i++)
        c->e[i].expires = 0;
    c->version = version;
}

void mod_pdp_cache_put(struct mod_pdp_cache *c, const uint8_t key[32], uint64_t now,
                       uint64_t version, const struct mod_pdp_verdict *v)
{
    mod_pdp_cache_version(c, version);
    struct mod_pdp_entry *e = pdp_slot(c, key);
    mod_copy(e->key, key, 32);
    e->expires = now + c->ttl_ns;
    e->v = *v;
}
