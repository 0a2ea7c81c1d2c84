/*
 * pdp.h — the pull PDP: the messages an acl_pep exchanges with the policy decision point
 * over its PDP stream, the PDP's answer on a blob, and the guest's decision cache.
 *
 * Freestanding (no libc, no allocation): the guest and the host (the supervisor that serves
 * decisions) compile this same file.
 *
 * Wire format: little-endian, a stream of messages, each starting with {u32 magic, u32 len}
 * where LEN counts the whole message.
 *   query   (guest -> PDP): struct mod_pdp_query, then the bytes of policy, user, method,
 *           path and password in that order; LEN = header + their lengths <= MOD_PDP_QUERY_MAX.
 *   answer  (PDP -> guest): struct mod_pdp_answer with magic MOD_PDP_ANSWER_MAGIC and the
 *           query's id.
 *   notice  (PDP -> guest, unsolicited): struct mod_pdp_answer with magic MOD_PDP_NOTICE_MAGIC,
 *           id 0 and the new policy version: the guest drops its cache. Sent when the
 *           version moves, and at once to a guest that connects.
 *   ack     (guest -> PDP): struct mod_pdp_answer with magic MOD_PDP_ACK_MAGIC, id 0 and the
 *           notice's version, once the cache is dropped: from then on no answer of an older
 *           version is given, so the PDP can say the new policy is in force.
 * A user name travels only with MOD_PDP_F_AUTH and its password: the PDP checks the
 * credential (the blob's salted PBKDF2 hash) before deciding for that user, so the guest
 * never asserts an identity it has not proven. Answers may come in any order.
 */
#ifndef UNISEC_BUILDER_ACL_PDP_H
#define UNISEC_BUILDER_ACL_PDP_H

#include <stddef.h>
#include <stdint.h>

#include "engine/acl_abi.h"

#define MOD_PDP_QUERY_MAGIC  0x51445055u /* "UPDQ" */
#define MOD_PDP_ANSWER_MAGIC 0x41445055u /* "UPDA" */
#define MOD_PDP_NOTICE_MAGIC 0x56445055u /* "UPDV" */
#define MOD_PDP_ACK_MAGIC    0x4b445055u /* "UPDK" */
#define MOD_PDP_PASSWORD_MAX 512
#define MOD_PDP_QUERY_MAX                                                                          \
    (32 + ENGINE_ACL_NAME_MAX * 2 + ENGINE_ACL_METHOD_MAX + ENGINE_ACL_PATH_MAX +                  \
     MOD_PDP_PASSWORD_MAX)

#define MOD_PDP_F_AUTH 1u /* USER and PASSWORD are a credential to check */

struct mod_pdp_query {
    uint32_t magic, len;
    uint64_t id;
    uint16_t policy_len, user_len, method_len, password_len;
    uint32_t path_len, flags;
};

#define MOD_PDP_AUTH_OK      1  /* the password matches */
#define MOD_PDP_AUTH_BAD     0  /* it does not */
#define MOD_PDP_AUTH_UNKNOWN -1 /* no credential for that user */
#define MOD_PDP_AUTH_NONE    2  /* anonymous query */

struct mod_pdp_answer {
    uint32_t magic, len; /* len = sizeof(struct mod_pdp_answer) */
    uint64_t id;
    uint64_t version; /* the policy version that decided */
    int32_t allow;    /* 1 allow, 0 deny (always 0 unless auth is OK or NONE) */
    int32_t auth;     /* MOD_PDP_AUTH_* */
    uint32_t line;    /* the deciding rule's line, 0 for default deny */
    uint32_t reserved;
};

/* A request to decide; strings need no NUL. USER_LEN 0: anonymous (no password). */
struct mod_pdp_request {
    const char *policy, *user, *method, *path, *password;
    size_t policy_len, user_len, method_len, path_len, password_len;
};

/*
 * Encodes RQ as a query with ID into OUT[0..CAP). Returns its length, or -22 (EINVAL) when a
 * field is over its bound or CAP is too small.
 */
long mod_pdp_query_encode(void *out, size_t cap, uint64_t id, const struct mod_pdp_request *rq);

/*
 * The length of the complete message at the start of BUF[0..LEN): > 0 when complete, 0 when
 * more bytes are needed, -22 (EINVAL) when the stream is corrupt (bad magic or length).
 * MAGIC receives the message's magic.
 */
long mod_pdp_message_len(const void *buf, size_t len, uint32_t *magic);

/*
 * The PDP's side: decodes the query MSG[0..LEN) (a complete message) and answers it on the
 * opened blob B into *OUT. Returns 0, or -22 (EINVAL) for a malformed query (the PDP then
 * closes the stream). Costs one PBKDF2 when the query carries a credential.
 */
int mod_pdp_answer_query(const struct engine_acl_blob *b, const void *msg, size_t len,
                         struct mod_pdp_answer *out);

/* ---- the guest's decision cache ---- */

struct mod_pdp_entry {
    uint8_t key[32];  /* SHA-256 of the request: no collision can pass for another request */
    uint64_t expires; /* monotonic ns; 0: empty */
    int32_t allow, auth;
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

/* Looks KEY up at time NOW: 1 and the cached answer in *ALLOW / *AUTH, or 0. */
int mod_pdp_cache_get(const struct mod_pdp_cache *c, const uint8_t key[32], uint64_t now,
                      int32_t *allow, int32_t *auth);

/* Records an answer given under VERSION; a version other than the cache's first drops every
 * entry (the policy changed). */
void mod_pdp_cache_put(struct mod_pdp_cache *c, const uint8_t key[32], uint64_t now,
                       uint64_t version, int32_t allow, int32_t auth);

/* The PDP announced VERSION: drops every entry if it differs from the cache's. */
void mod_pdp_cache_version(struct mod_pdp_cache *c, uint64_t version);

#endif
