/*
 * authn.c — the authn module: HTTP Basic credentials (basic.h) checked against the salted
 * PBKDF2 hashes of the policy blob. A request without credentials goes on as anonymous, with
 * the challenge that acl_pep sends if the rules then deny it; wrong or malformed credentials
 * get 401 with WWW-Authenticate here.
 *
 * PBKDF2 is slow on purpose (600,000 iterations by default), so the outcome of each check is
 * cached, keyed by SHA-256 of the policy's checksum and the credential: an entry can only
 * match the same user and password under the same policy, and a new policy starts afresh.
 *
 * A check that the cache cannot answer is a job (check.c): it runs in slices of
 * check_slice iterations, one per turn of the event loop, so the other connections are
 * served between slices; its request waits (MOD_WAIT). What strangers can make the guest
 * compute is bounded: checks_pending jobs at once, client_checks_pending per client address
 * and client_failed_checks_per_minute failed per client address (a token bucket); beyond:
 * 429. An unknown
 * user costs what a known one does (engine_acl_check_start).
 *
 * With a pull PDP the blob is not in the image: the credential goes to the PDP with the
 * request (acl_pep), which checks it before deciding.
 */
#include "../module.h"
#include "../acl_pep/acl_pep.h"
#include "basic.h"
#include "check.h"
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

static struct authn_entry *authn_entry(const uint8_t key[32])
{
    return &authn_cache[(key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16) &
                        (authn_cache_n - 1)];
}

/* The outcome of a finished check for RQ, one of the requests that waited for it: cached,
 * and RQ answered 401 or passed on. */
static void authn_checked(const uint8_t key[32], uint64_t generation, int ok, struct mod_req *rq)
{
    struct authn_entry *e = authn_entry(key);
    memcpy(e->key, key, 32);
    e->generation = generation;
    e->ok = ok;
    if (!ok) {
        authn_401(rq);
        return;
    }
    rq->user = rq->user_buf;
    rq->user_len = strlen(rq->user_buf);
    mod_req_resume(rq);
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
    struct engine_sha256 hs;
    uint8_t key[32];
    uint32_t ul = (uint32_t)c.user_len;
    engine_sha256_init(&hs);
    engine_sha256_update(&hs, p->blob.hdr->sha256, 32);
    engine_sha256_update(&hs, &ul, sizeof(ul));
    engine_sha256_update(&hs, c.user, c.user_len);
    engine_sha256_update(&hs, c.password, c.password_len);
    engine_sha256_final(&hs, key);
    const struct authn_entry *e = authn_entry(key);
    if (e->generation == p->generation && memcmp(e->key, key, 32) == 0) {
        mod_basic_wipe(&c);
        if (!e->ok) {
            authn_401(rq);
            return MOD_DONE;
        }
        rq->user = rq->user_buf;
        rq->user_len = ulen;
        return MOD_NEXT;
    }
    uint64_t retry = 0;
    int r = mod_check_submit(rq, key, p, &c, &retry);
    mod_basic_wipe(&c);
    if (r == MOD_CHECK_BAD) {
        authn_401(rq);
        return MOD_DONE;
    }
    if (r == MOD_CHECK_REFUSED) {
        char hdr[48];
        snprintf(hdr, sizeof(hdr), "Retry-After: %llu\r\n", (unsigned long long)retry);
        struct mod_http_response busy = {429, "text/plain", hdr, "429 Too Many Requests\n", 22};
        mod_req_respond(rq, &busy);
        return MOD_DONE;
    }
    return MOD_WAIT;
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
    return mod_check_init(p, authn_checked);
}

const struct mod_module mod_authn = {
    .name = "authn", .phase = MOD_PHASE_AUTHN, .init = authn_init, .handle = authn_handle};
