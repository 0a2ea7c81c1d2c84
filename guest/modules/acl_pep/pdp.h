/*
 * pdp.h — the acl_pep's decision cache for the answers of a pull PDP (contract/pdp.h,
 * common/pdp_codec.h).
 *
 * Freestanding (no libc, no allocation): the guest and the host's unit tests compile it.
 */
#ifndef UNISEC_GUEST_ACL_PDP_H
#define UNISEC_GUEST_ACL_PDP_H

#include <stddef.h>
#include <stdint.h>

#include "common/pdp_codec.h"

/* What the PDP answered for a request (contract/pdp.h's answer, without its framing). */
struct mod_pdp_verdict {
    int32_t allow, auth;
    uint32_t line; /* the deciding rule's line, 0 for the default deny */
};

struct mod_pdp_entry {
    uint8_t key[32];  /* SHA-256 of the request: no collision can pass for another request */
    uint64_t expires; /* monotonic ns; 0: empty */
    struct mod_pdp_verdict v;
};

struct mod_pdp_cache {
    struct mod_pdp_entry *e; /* borrowed, N entries, N a power of two */
    uint32_t n;
    uint64_t version; /* the policy version the entries were decided under */
    uint64_t ttl_ns;
};

/* Sets up C over ENTRIES[0..N) (N a power of two >= 1; zeroed here). Returns 0 or -22. */
int mod_pdp_cache_init(struct mod_pdp_cache *c, struct mod_pdp_entry *entries, uint32_t n,
                       uint64_t ttl_ns);

/* The cache key of RQ. */
void mod_pdp_cache_key(uint8_t key[32], const struct mod_pdp_request *rq);

/* Looks KEY up at time NOW: 1 and the cached answer in *V, or 0. */
int mod_pdp_cache_get(const struct mod_pdp_cache *c, const uint8_t key[32], uint64_t now,
                      struct mod_pdp_verdict *v);

/* Records answer V given under VERSION; a version other than the cache's first drops every
 * entry (the policy changed). */
void mod_pdp_cache_put(struct mod_pdp_cache *c, const uint8_t key[32], uint64_t now,
                       uint64_t version, const struct mod_pdp_verdict *v);

/* The PDP announced VERSION: drops every entry if it differs from the cache's. */
void mod_pdp_cache_version(struct mod_pdp_cache *c, uint64_t version);

#endif
