/* pdp_codec.c — the pull PDP's messages and its answer on a blob (pdp_codec.h). */
#include "pdp_codec.h"

#include "mod_str.h"

#define PDP_EINVAL 22

long mod_pdp_query_encode(void *out, size_t cap, uint64_t id, const struct mod_pdp_request *rq)
{
    struct mod_pdp_query q;
    size_t n = sizeof(q) + rq->policy_len + rq->user_len + rq->method_len + rq->path_len +
               rq->password_len;
    if (rq->policy_len == 0 || rq->policy_len > ENGINE_ACL_NAME_MAX ||
        rq->user_len > ENGINE_ACL_NAME_MAX || rq->method_len == 0 ||
        rq->method_len > ENGINE_ACL_METHOD_MAX || rq->path_len == 0 ||
        rq->path_len > ENGINE_ACL_PATH_MAX || rq->password_len > MOD_PDP_PASSWORD_MAX ||
        (rq->user_len == 0 && rq->password_len > 0) || n > cap)
        return -PDP_EINVAL;
    q = (struct mod_pdp_query){MOD_PDP_QUERY_MAGIC,
                               (uint32_t)n,
                               id,
                               (uint16_t)rq->policy_len,
                               (uint16_t)rq->user_len,
                               (uint16_t)rq->method_len,
                               (uint16_t)rq->password_len,
                               (uint32_t)rq->path_len,
                               rq->user_len ? MOD_PDP_F_AUTH : 0};
    char *p = out;
    mod_copy(p, &q, sizeof(q));
    p += sizeof(q);
    mod_copy(p, rq->policy, rq->policy_len);
    p += rq->policy_len;
    mod_copy(p, rq->user, rq->user_len);
    p += rq->user_len;
    mod_copy(p, rq->method, rq->method_len);
    p += rq->method_len;
    mod_copy(p, rq->path, rq->path_len);
    p += rq->path_len;
    mod_copy(p, rq->password, rq->password_len);
    return (long)n;
}

long mod_pdp_message_len(const void *buf, size_t len, uint32_t *magic)
{
    uint32_t h[2];
    if (len < sizeof(h))
        return 0;
    mod_copy(h, buf, sizeof(h));
    *magic = h[0];
    if (h[0] == MOD_PDP_QUERY_MAGIC) {
        if (h[1] < sizeof(struct mod_pdp_query) || h[1] > MOD_PDP_QUERY_MAX)
            return -PDP_EINVAL;
    } else if (h[0] == MOD_PDP_ANSWER_MAGIC || h[0] == MOD_PDP_NOTICE_MAGIC ||
               h[0] == MOD_PDP_ACK_MAGIC) {
        if (h[1] != sizeof(struct mod_pdp_answer))
            return -PDP_EINVAL;
    } else {
        return -PDP_EINVAL;
    }
    return len < h[1] ? 0 : (long)h[1];
}

int mod_pdp_answer_query(const struct engine_acl_layers *l, uint64_t version, const void *msg,
                         size_t len, struct mod_pdp_answer *out)
{
    struct mod_pdp_query q;
    struct mod_pdp_request rq;
    const char *p = msg;

    if (len < sizeof(q))
        return -PDP_EINVAL;
    mod_copy(&q, msg, sizeof(q));
    if (q.magic != MOD_PDP_QUERY_MAGIC || q.len != len ||
        (uint64_t)sizeof(q) + q.policy_len + q.user_len + q.method_len + q.path_len +
                q.password_len !=
            len ||
        q.flags > MOD_PDP_F_AUTH || (q.user_len > 0) != (q.flags == MOD_PDP_F_AUTH) ||
        (q.user_len == 0 && q.password_len > 0) || q.password_len > MOD_PDP_PASSWORD_MAX)
        return -PDP_EINVAL;
    p += sizeof(q);
    rq.policy = p;
    rq.policy_len = q.policy_len;
    rq.user = rq.policy + q.policy_len;
    rq.user_len = q.user_len;
    rq.method = rq.user + q.user_len;
    rq.method_len = q.method_len;
    rq.path = rq.method + q.method_len;
    rq.path_len = q.path_len;
    rq.password = rq.path + q.path_len;
    rq.password_len = q.password_len;

    *out = (struct mod_pdp_answer){
        MOD_PDP_ANSWER_MAGIC, sizeof(*out), q.id, version, 0, MOD_PDP_AUTH_NONE, 0, 0};
    if (q.flags & MOD_PDP_F_AUTH) {
        int v = engine_acl_layers_verify(l, rq.user, rq.user_len, rq.password, rq.password_len);
        out->auth = v == 1 ? MOD_PDP_AUTH_OK : v == 0 ? MOD_PDP_AUTH_BAD : MOD_PDP_AUTH_UNKNOWN;
        if (v != 1)
            return 0;
    }
    struct engine_acl_request ar = {rq.policy,     rq.user,     rq.method,     rq.path,
                                    rq.policy_len, rq.user_len, rq.method_len, rq.path_len};
    struct engine_acl_decision d;
    if (engine_acl_layers_decide(l, &ar, &d) == 0) {
        out->allow = d.allow;
        out->line = d.line;
    }
    return 0;
}
