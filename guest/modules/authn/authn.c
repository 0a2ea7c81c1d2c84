/*
 * authn.c — the authn module: HTTP Basic credentials (basic.h) checked against the salted
 * PBKDF2 hashes of the policy blob (engine_acl_blob_verify). A request without credentials
 * goes on as anonymous, with the challenge that acl_pep sends if the rules then deny it;
 * wrong or malformed credentials get 401 with WWW-Authenticate here.
 *
 * PBKDF2 is slow on purpose (600,000 iterations by default), so the outcome of each check is
 * cached, keyed by SHA-256 of the policy's checksum and the credential: an entry can only
 * match the same user and password under the same policy, and a new policy starts afresh.
 * With a pull PDP the blob is not in the image: the credential goes to the PDP with the
 * request (acl_pep), which checks it before deciding.
 */
#include "../module.h"
#include "../acl_pep/acl_pep.h"
#include "basic.h"
#include "common/sha256.h"

struct authn_entry {
    uint8_t key[32];
    uint64_t generation; /* of the policy it was checked under; 0: empty */
    int ok;
};

static char authn_challenge[160];
static struct authn_entry *authn_cache;
static uint32_t authn_cache_n;

static void authn_401(struct mod_req *rq)
{
    struct mod_http_response r = {401, "text/plain", authn_challenge, "401 Unauthorized\n", 17};
    mod_req_respond(rq, &r);
}

/* 1 when the credential matches under policy P, 0 when not (cached either way). */
static int authn_check(const struct mod_policy *p, const struct mod_basic_cred *c)
{
    struct engine_sha256 h;
    uint8_t key[32];
    uint32_t ul = (uint32_t)c->user_len;

    engine_sha256_init(&h);
    engine_sha256_update(&h, p->blob.hdr->sha256, 32);
    engine_sha256_update(&h, &ul, sizeof(ul));
    engine_sha256_update(&h, c->user, c->user_len);
    engine_sha256_update(&h, c->password, c->password_len);
    engine_sha256_final(&h, key);
    struct authn_entry *e = &authn_cache[(key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16) &
                                         (authn_cache_n - 1)];
    if (e->generation == p->generation && memcmp(e->key, key, 32) == 0)
        return e->ok;
    int ok =
        engine_acl_blob_verify(&p->blob, c->user, c->user_len, c->password, c->password_len) == 1;
    memcpy(e->key, key, 32);
    e->generation = p->generation;
    e->ok = ok;
    return ok;
}

static int authn_handle(struct mod_req *rq)
{
    const struct mod_http_request *h = rq->http;
    struct mod_basic_cred c;

    rq->challenge = authn_challenge;
    if (h->authorization == NULL)
        return MOD_NEXT; /* anonymous: the rules decide, and a denial becomes a 401 */
    if (mod_basic_decode(&c, h->authorization, h->authorization_len) < 0) {
        authn_401(rq);
        return MOD_DONE;
    }
    memcpy(rq->user_buf, c.user, c.user_len);
    rq->user_buf[c.user_len] = '\0';
    size_t ulen = c.user_len;
    if (mod_acl_pull()) {
        mod_basic_wipe(&c);
        rq->user = rq->user_buf;
        rq->user_len = ulen;
        rq->auth_deferred = 1;
        return MOD_NEXT;
    }
    const struct mod_policy *p = mod_acl_policy();
    if (p == NULL) {
        mod_basic_wipe(&c);
        struct mod_http_response r = {503, "text/plain", "Retry-After: 1\r\n",
                                      "503 Service Unavailable\n", 24};
        mod_req_respond(rq, &r);
        return MOD_DONE;
    }
    int ok = authn_check(p, &c);
    mod_basic_wipe(&c);
    if (!ok) {
        authn_401(rq);
        return MOD_DONE;
    }
    rq->user = rq->user_buf;
    rq->user_len = ulen;
    return MOD_NEXT;
}

static int authn_init(const struct mod_props *p)
{
    const char *realm = mod_prop_get(p, "realm");
    uint64_t n;
    if (realm == NULL)
        realm = "unisec";
    for (const char *q = realm; *q; q++)
        if (*q < 0x20 || *q == '"' || *q == '\\' || *q == 0x7f || q - realm >= 64) {
            printf("authn: property realm: at most 64 printable characters, no quotes\n");
            return -UNISEC_EINVAL;
        }
    snprintf(authn_challenge, sizeof(authn_challenge),
             "WWW-Authenticate: Basic realm=\"%s\", charset=\"UTF-8\"\r\n", realm);
    if (mod_prop_uint(p, "authn", "cache_entries", 1024, 1, 1u << 20, &n) < 0)
        return -UNISEC_EINVAL;
    authn_cache_n = 1;
    while (authn_cache_n < n)
        authn_cache_n <<= 1;
    if ((authn_cache = calloc(authn_cache_n, sizeof(*authn_cache))) == NULL) {
        printf("authn: no memory for %u cache entries\n", authn_cache_n);
        return -UNISEC_ENOMEM;
    }
    return 0;
}

const struct mod_module mod_authn = {
    .name = "authn", .phase = MOD_PHASE_AUTHN, .init = authn_init, .handle = authn_handle};
