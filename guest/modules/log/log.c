/* log.c — the log module: the image's console log, one access line per answered request. */
#include "../module.h"

/* Access lines are info: printed at log_level info and debug, not at warning or error. */
static int log_access = 1;

static int log_init(const struct mod_props *p)
{
    static const char *const levels[] = {"error", "warning", "info", "debug"};
    const char *v = mod_prop_get(p, "log_level");
    int level = 2;
    if (v) {
        for (level = 0; level < 4 && strcmp(v, levels[level]) != 0; level++)
            ;
        if (level == 4) {
            printf("log: property log_level: expected error, warning, info or debug, got '%s'\n",
                   v);
            return -UNISEC_EINVAL;
        }
    }
    log_access = level >= 2;
    return 0;
}

/* SRC[0..LEN) into OUT (SIZE bytes, NUL-terminated, cut short when full) with every byte that
 * could split or disguise the line (blanks, quotes, controls, non-ASCII) as \xHH: what a
 * client sent never forges a field or a line of the access log, nor reaches a terminal. */
static void log_escape(char *out, size_t size, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
            if (o + 1 >= size)
                break;
            out[o++] = (char)ch;
        } else {
            if (o + 4 >= size)
                break;
            out[o++] = '\\', out[o++] = 'x', out[o++] = hex[ch >> 4], out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

/*
 * "@access PEER USER "METHOD PATH" STATUS BYTES DECISION RULE" (runtime/README.md, "Access
 * log"): the host takes the lines with this mark out of the console into the node's access
 * log and stamps them. The path without its query, which may carry secrets; DECISION allow,
 * deny or - (no access control decided); RULE POLICY:LINE, POLICY:- (the default deny), or
 * -. One line, buffered with the console: it leaves the guest with the
 * next POLL, which the loop makes anyway.
 */
static void log_done(const struct mod_req *rq)
{
    static const char *const decided[] = {"-", "allow", "deny"};
    /* Each field bounded so that the line fits printf's 1024 bytes whole. */
    char peer[64], user[200], method[52], path[320], policy[200];
    const struct mod_http_request *h = rq->http;

    if (!log_access)
        return;
    libos_addr_format(peer, sizeof(peer), rq->peer);
    log_escape(user, sizeof(user), rq->user ? rq->user : "-", rq->user ? rq->user_len : 1);
    log_escape(method, sizeof(method), h->method, h->method_len);
    log_escape(path, sizeof(path), h->path, h->path_len);
    log_escape(policy, sizeof(policy), rq->policy ? rq->policy : "", rq->policy_len);
    if (rq->policy == NULL)
        printf("@access %s %s \"%s %s\" %d %lu %s -\n", peer, user, method, path, rq->status,
               (unsigned long)rq->bytes, decided[rq->decision > 2 ? 0 : rq->decision]);
    else if (rq->rule_line == 0)
        printf("@access %s %s \"%s %s\" %d %lu %s %s:-\n", peer, user, method, path, rq->status,
               (unsigned long)rq->bytes, decided[rq->decision > 2 ? 0 : rq->decision], policy);
    else
        printf("@access %s %s \"%s %s\" %d %lu %s %s:%u\n", peer, user, method, path, rq->status,
               (unsigned long)rq->bytes, decided[rq->decision > 2 ? 0 : rq->decision], policy,
               (unsigned)rq->rule_line);
}

const struct mod_module mod_log = {.name = "log", .init = log_init, .done = log_done};
