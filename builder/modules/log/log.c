/* log.c — the log module: the image's console log, one access line per answered request. */
#include "../module.h"

static int log_access = 1;

static int log_init(const struct mod_props *p)
{
    const char *v = mod_prop_get(p, "access_log");
    if (v && strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
        printf("log: property access_log: expected true or false, got '%s'\n", v);
        return -UNISEC_EINVAL;
    }
    log_access = v == NULL || strcmp(v, "true") == 0;
    return 0;
}

/* "PEER USER "METHOD PATH" STATUS": the path without its query, which may carry secrets. */
static void log_done(const struct mod_req *rq)
{
    char peer[64];
    if (!log_access)
        return;
    libos_addr_format(peer, sizeof(peer), rq->peer);
    printf("%s %.*s \"%.*s %.*s\" %d\n", peer, rq->user ? (int)rq->user_len : 1,
           rq->user ? rq->user : "-", (int)rq->http->method_len, rq->http->method,
           (int)(rq->http->path_len > 256 ? 256 : rq->http->path_len), rq->http->path, rq->status);
}

const struct mod_module mod_log = {"log", log_init, NULL, log_done};
