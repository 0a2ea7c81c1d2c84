/*
 * acl_pep.c — the acl_pep module: the policy enforcement point. Decides every request on
 * the node's policy with one of three PDPs (NetSoft 2019, section VI):
 *   internal  the rules in the image's rules region (libos_rules(): the builder places them
 *             in the linked code, contract/abi.h);
 *   push      rules received over the policy channel, validated, swapped in atomically
 *             and acknowledged by version; a bad blob is refused and the old rules stay;
 *   pull      a query per request to the PDP over the "pdp" stream (pdp.h), answers cached
 *             until their time-to-live ends or the PDP announces a new policy version.
 * Denied: 403; denied and anonymous while authn is in the chain: 401 with its challenge.
 * No rules yet (push before the first blob, pull with the PDP unreachable): 503. A path
 * longer than any rule can name (ENGINE_ACL_PATH_MAX): 414, before any PDP is asked.
 */
#include "../module.h"
#include "../authn/basic.h"
#include "acl_pep.h"
#include "pdp.h"

enum acl_mode { ACL_INTERNAL, ACL_PUSH, ACL_PULL };

static enum acl_mode acl_mode;
static char acl_policy_name[ENGINE_ACL_NAME_MAX + 1];
static size_t acl_policy_len;
static struct mod_policy acl_policy;

const struct mod_policy *mod_acl_policy(void)
{
    return acl_mode != ACL_PULL && acl_policy.buf ? &acl_policy : NULL;
}

int mod_acl_pull(void)
{
    return acl_mode == ACL_PULL;
}

static void acl_respond_status(struct mod_req *rq, int status)
{
    char body[64];
    struct mod_http_response r = {status, "text/plain", NULL, body, 0};
    r.body_len = (size_t)snprintf(body, sizeof(body), "%d %s\n", status, mod_http_reason(status));
    if (status == 401)
        r.headers = rq->challenge;
    if (status == 503)
        r.headers = "Retry-After: 1\r\n";
    mod_req_respond(rq, &r);
}

/* What was decided, for the access line (the log module). */
static void acl_decided(struct mod_req *rq, int allow, uint32_t line)
{
    rq->decision = allow ? MOD_DECIDED_ALLOW : MOD_DECIDED_DENY;
    rq->policy = acl_policy_name;
    rq->policy_len = acl_policy_len;
    rq->rule_line = line;
}

static void acl_deny(struct mod_req *rq)
{
    acl_respond_status(rq, rq->user == NULL && rq->challenge ? 401 : 403);
}

/* ---- push: the policy channel ---- */

static void acl_policy_arrived(void *ctx)
{
    void *buf, *old[2];
    size_t len;
    const char *why = NULL;
    (void)ctx;
    while (libos_policy_take(&buf, &len) == 0) {
        int e = mod_policy_install(&acl_policy, buf, len, old, &why);
        if (e < 0) {
            uint64_t v = mod_policy_claimed_version(buf, len);
            /* A refused patch asks for the whole blob: the host sends it on any refusal. */
            printf("acl_pep: refused policy version %llu: %s; the previous rules stay%s\n",
                   (unsigned long long)v, why,
                   engine_acl_is_patch(buf, len) ? " (send the whole blob)" : "");
            libos_policy_refuse(v, e, why);
            free(buf);
            continue;
        }
        free(old[0]);
        free(old[1]);
        if (acl_policy.patch != NULL)
            printf("acl_pep: policy version %llu in force (%s v%llu: %u removed, %u "
                   "added; %llu patches, %llu whole blobs, %llu with their patch)\n",
                   (unsigned long long)acl_policy.version,
                   acl_policy.patch_buf == NULL ? "whole blob and patch over" : "patch over",
                   (unsigned long long)acl_policy.blob.hdr->policy_version,
                   acl_policy.patched.ndead,
                   acl_policy.patched.has_over ? acl_policy.patched.over.rule_count : 0,
                   (unsigned long long)acl_policy.patches, (unsigned long long)acl_policy.wholes,
                   (unsigned long long)acl_policy.pairs);
        else
            printf("acl_pep: policy version %llu in force (whole blob, %u rules)\n",
                   (unsigned long long)acl_policy.version, acl_policy.blob.rule_count);
        libos_policy_ack(acl_policy.version);
    }
}

/* ---- pull: the PDP stream ---- */

struct acl_pending {
    uint64_t id;
    uint8_t key[32];
    struct mod_req *rq;
    struct acl_pending *next;
};

static struct libos_stream *acl_pdp;
static int acl_pdp_up; /* connected */
static struct mod_pdp_cache acl_cache;
static struct acl_pending *acl_pending;
static uint64_t acl_next_id = 1;
static char acl_pdp_in[4096];
static size_t acl_pdp_in_len;
static char *acl_pdp_out; /* queries not yet written */
static size_t acl_pdp_out_len, acl_pdp_out_off;
static struct libos_timer acl_retry;

#define ACL_PDP_OUT_MAX (256u * 1024u)

static int acl_pdp_connect(void);
static void acl_pdp_writable(struct libos_stream *s, void *ctx);

/* Where NEED more bytes for the PDP can be queued (the buffer is taken at first use), or
 * NULL when it is full or memory is out. */
static char *acl_pdp_out_room(size_t need)
{
    if (acl_pdp_out == NULL)
        acl_pdp_out = malloc(ACL_PDP_OUT_MAX);
    if (acl_pdp_out == NULL || acl_pdp_out_len + need > ACL_PDP_OUT_MAX)
        return NULL;
    return acl_pdp_out + acl_pdp_out_len;
}

static void acl_retry_fire(struct libos_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    acl_pdp_connect();
}

static void acl_answer(struct mod_req *rq, const struct mod_pdp_verdict *v)
{
    acl_decided(rq, v->allow, v->line);
    if (v->auth == MOD_PDP_AUTH_BAD || v->auth == MOD_PDP_AUTH_UNKNOWN) {
        rq->user = NULL; /* not proven: never logged as that user */
        acl_respond_status(rq, 401);
    } else if (!v->allow) {
        acl_deny(rq);
    } else {
        mod_req_resume(rq);
    }
}

/* The PDP is gone: every waiting request gets 503, and we try again in a second. */
static void acl_pdp_lost(const char *why)
{
    printf("acl_pep: PDP stream %s; retrying in 1 s\n", why);
    if (acl_pdp)
        libos_stream_close(acl_pdp);
    acl_pdp = NULL;
    acl_pdp_up = 0;
    acl_pdp_in_len = acl_pdp_out_len = acl_pdp_out_off = 0;
    while (acl_pending) {
        struct acl_pending *p = acl_pending;
        acl_pending = p->next;
        acl_respond_status(p->rq, 503);
        free(p);
    }
    libos_timer_arm(&acl_retry, libos_loop_now() + 1000000000ull, acl_retry_fire, NULL);
}

static void acl_pdp_message(const char *m, uint32_t magic)
{
    struct mod_pdp_answer a;
    memcpy(&a, m, sizeof(a));
    if (magic == MOD_PDP_NOTICE_MAGIC) {
        mod_pdp_cache_version(&acl_cache, a.version);
        /* Said once the cache is dropped: the PDP waits for it before it calls the version
         * in force (a request that came in beside the notice could be answered first). */
        struct mod_pdp_answer ack = {MOD_PDP_ACK_MAGIC, sizeof(ack), 0, a.version, 0, 0, 0, 0};
        char *room = acl_pdp_out_room(sizeof(ack));
        if (room != NULL) { /* else the PDP calls the version not yet in force */
            memcpy(room, &ack, sizeof(ack));
            acl_pdp_out_len += sizeof(ack);
            if (acl_pdp_up)
                acl_pdp_writable(acl_pdp, NULL);
        }
        return;
    }
    if (magic != MOD_PDP_ANSWER_MAGIC) {
        acl_pdp_lost("sent a query");
        return;
    }
    for (struct acl_pending **pp = &acl_pending; *pp; pp = &(*pp)->next) {
        struct acl_pending *p = *pp;
        if (p->id != a.id)
            continue;
        *pp = p->next;
        struct mod_pdp_verdict v = {.allow = a.allow, .auth = a.auth, .line = a.line};
        mod_pdp_cache_put(&acl_cache, p->key, libos_loop_now(), a.version, &v);
        acl_answer(p->rq, &v);
        free(p);
        return;
    }
}

static void acl_pdp_readable(struct libos_stream *s, void *ctx)
{
    (void)ctx;
    for (;;) {
        long n =
            libos_stream_read(s, acl_pdp_in + acl_pdp_in_len, sizeof(acl_pdp_in) - acl_pdp_in_len);
        if (n == -UNISEC_EAGAIN)
            return;
        if (n <= 0) {
            acl_pdp_lost(n == 0 ? "closed" : "failed");
            return;
        }
        acl_pdp_in_len += (size_t)n;
        size_t off = 0;
        for (;;) {
            uint32_t magic = 0;
            long m = mod_pdp_message_len(acl_pdp_in + off, acl_pdp_in_len - off, &magic);
            if (m < 0) {
                acl_pdp_lost("sent a malformed message");
                return;
            }
            if (m == 0)
                break;
            acl_pdp_message(acl_pdp_in + off, magic);
            if (acl_pdp == NULL)
                return;
            off += (size_t)m;
        }
        memmove(acl_pdp_in, acl_pdp_in + off, acl_pdp_in_len - off);
        acl_pdp_in_len -= off;
    }
}

static void acl_pdp_writable(struct libos_stream *s, void *ctx)
{
    (void)ctx;
    acl_pdp_up = 1;
    while (acl_pdp_out_off < acl_pdp_out_len) {
        long n =
            libos_stream_write(s, acl_pdp_out + acl_pdp_out_off, acl_pdp_out_len - acl_pdp_out_off);
        if (n == -UNISEC_EAGAIN)
            break;
        if (n <= 0) {
            acl_pdp_lost("refused a write");
            return;
        }
        acl_pdp_out_off += (size_t)n;
    }
    if (acl_pdp_out_off == acl_pdp_out_len)
        acl_pdp_out_off = acl_pdp_out_len = 0;
    libos_stream_want(s, LIBOS_WANT_READ | (acl_pdp_out_len ? LIBOS_WANT_WRITE : 0));
}

static const struct libos_stream_ops acl_pdp_ops = {acl_pdp_readable, acl_pdp_writable};

/* Returns 0, or -UNISEC_ENOENT when the image declares no PDP stream. */
static int acl_pdp_connect(void)
{
    int e = libos_connect(&acl_pdp, "pdp");
    if (e < 0) {
        acl_pdp = NULL;
        if (e != -UNISEC_ENOENT)
            libos_timer_arm(&acl_retry, libos_loop_now() + 1000000000ull, acl_retry_fire, NULL);
        return e == -UNISEC_ENOENT ? e : 0;
    }
    libos_stream_set_ops(acl_pdp, &acl_pdp_ops, NULL);
    return 0;
}

static int acl_pull(struct mod_req *rq, const struct mod_pdp_request *q)
{
    uint8_t key[32];
    struct mod_pdp_verdict v;

    mod_pdp_cache_key(key, q);
    if (mod_pdp_cache_get(&acl_cache, key, libos_loop_now(), &v)) {
        if (v.allow && (v.auth == MOD_PDP_AUTH_OK || v.auth == MOD_PDP_AUTH_NONE)) {
            acl_decided(rq, 1, v.line);
            return MOD_NEXT;
        }
        acl_answer(rq, &v);
        return MOD_DONE;
    }
    char *room = acl_pdp ? acl_pdp_out_room(MOD_PDP_QUERY_MAX) : NULL;
    struct acl_pending *p = room ? malloc(sizeof(*p)) : NULL;
    if (p == NULL) {
        acl_respond_status(rq, 503);
        return MOD_DONE;
    }
    long n = mod_pdp_query_encode(room, MOD_PDP_QUERY_MAX, acl_next_id, q);
    if (n < 0) {
        free(p);
        acl_deny(rq); /* over the ACL's bounds: no rule can allow it */
        return MOD_DONE;
    }
    acl_pdp_out_len += (size_t)n;
    p->id = acl_next_id++;
    memcpy(p->key, key, 32);
    p->rq = rq;
    p->next = acl_pending;
    acl_pending = p;
    if (acl_pdp_up)
        acl_pdp_writable(acl_pdp, NULL);
    return MOD_WAIT;
}

/* ---- the module ---- */

static int acl_handle(struct mod_req *rq)
{
    const struct mod_http_request *h = rq->http;
    if (h->path_len > ENGINE_ACL_PATH_MAX) {
        /* The lookup would refuse it (and deny: a 401 that sends the client after a
         * password no rule can use): the target is what is wrong. */
        acl_respond_status(rq, 414);
        return MOD_DONE;
    }
    if (acl_mode == ACL_PULL) {
        struct mod_basic_cred cred;
        struct mod_pdp_request q = {acl_policy_name, NULL, h->method,     h->path,     NULL,
                                    acl_policy_len,  0,    h->method_len, h->path_len, 0};
        if (rq->auth_deferred) {
            if (mod_basic_decode(&cred, h->authorization, h->authorization_len) < 0) {
                acl_respond_status(rq, 401);
                return MOD_DONE;
            }
            q.user = cred.user;
            q.user_len = cred.user_len;
            q.password = cred.password;
            q.password_len = cred.password_len;
        }
        int r = acl_pull(rq, &q);
        if (rq->auth_deferred)
            mod_basic_wipe(&cred);
        return r;
    }
    const struct engine_acl_layers *l = mod_acl_policy() ? &acl_policy.layers : NULL;
    if (l == NULL) {
        acl_respond_status(rq, 503);
        return MOD_DONE;
    }
    struct engine_acl_request ar = {acl_policy_name, rq->user,     h->method,     h->path,
                                    acl_policy_len,  rq->user_len, h->method_len, h->path_len};
    struct engine_acl_decision d;
    int r = engine_acl_layers_decide(l, &ar, &d);
    acl_decided(rq, r == 0 && d.allow, r == 0 ? d.line : 0);
    if (r == 0 && d.allow)
        return MOD_NEXT;
    acl_deny(rq); /* denied, or a request the lookup refuses (a ".." segment...) */
    return MOD_DONE;
}

static int acl_init(const struct mod_props *p)
{
    const char *mode = mod_prop_get(p, "pdp"), *policy = mod_prop_get(p, "policy");
    uint64_t ttl, entries;

    if (policy == NULL || (acl_policy_len = strlen(policy)) == 0 ||
        acl_policy_len > ENGINE_ACL_NAME_MAX) {
        printf("acl_pep: property policy: expected the name of the policy to enforce\n");
        return -UNISEC_EINVAL;
    }
    memcpy(acl_policy_name, policy, acl_policy_len);
    if (mode == NULL || strcmp(mode, "internal") == 0) {
        const char *why = NULL;
        const void *rules;
        void *old[2];
        size_t len;
        acl_mode = ACL_INTERNAL;
        int e = libos_rules(&rules, &len);
        if (e < 0) {
            why = e == -UNISEC_ENOENT ? "the image's rules region is empty"
                  : e == -UNISEC_EIO  ? "the image's rules region is corrupt (its bytes do not "
                                        "have its CRC-32C)"
                                      : "the image's rules region is malformed (its length "
                                        "runs past it)";
        } else if (mod_policy_install_region(&acl_policy, (void *)rules, len, old, &why) < 0) {
            e = -UNISEC_EINVAL;
        }
        if (e < 0) {
            printf("acl_pep: the image's compiled rules are missing or corrupt: %s\n", why);
            return -UNISEC_EINVAL;
        }
        printf("acl_pep: internal PDP, policy %s version %llu (%u rules", acl_policy_name,
               (unsigned long long)acl_policy.version, acl_policy.blob.rule_count);
        if (acl_policy.patch != NULL)
            printf(" of v%llu, patched: %u removed, %u added",
                   (unsigned long long)acl_policy.blob.hdr->policy_version,
                   acl_policy.patched.ndead,
                   acl_policy.patched.has_over ? acl_policy.patched.over.rule_count : 0);
        printf("; their CRC-32C checked by the %s)\n",
               e == 1 ? "tender as it loaded them" : "guest");
        return 0;
    }
    if (strcmp(mode, "push") == 0) {
        acl_mode = ACL_PUSH;
        if (libos_policy_watch("policy", acl_policy_arrived, NULL) < 0) {
            printf("acl_pep: the image declares no policy channel 'policy'\n");
            return -UNISEC_EINVAL;
        }
        printf("acl_pep: push PDP, policy %s; waiting for rules\n", acl_policy_name);
        return 0;
    }
    if (strcmp(mode, "pull") != 0) {
        printf("acl_pep: property pdp: expected internal, push or pull, got '%s'\n", mode);
        return -UNISEC_EINVAL;
    }
    acl_mode = ACL_PULL;
    if (mod_prop_uint(p, "acl_pep", "cache_ttl", 60, 0, 86400, &ttl) < 0 ||
        mod_prop_uint(p, "acl_pep", "cache_entries", 4096, 1, 1u << 20, &entries) < 0)
        return -UNISEC_EINVAL;
    uint32_t n = 1;
    while (n < entries)
        n <<= 1;
    struct mod_pdp_entry *e = calloc(n, sizeof(*e));
    if (e == NULL || mod_pdp_cache_init(&acl_cache, e, n, ttl * 1000000000ull) < 0) {
        printf("acl_pep: no memory for %u cache entries\n", n);
        return -UNISEC_ENOMEM;
    }
    if (acl_pdp_connect() < 0) {
        printf("acl_pep: the image declares no PDP stream 'pdp'\n");
        return -UNISEC_EINVAL;
    }
    printf("acl_pep: pull PDP, policy %s\n", acl_policy_name);
    return 0;
}

const struct mod_module mod_acl_pep = {
    .name = "acl_pep", .phase = MOD_PHASE_ACCESS, .init = acl_init, .handle = acl_handle};
