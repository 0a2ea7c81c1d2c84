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

const struct mod_module mod_log = {.name = "log", .init = log_init, .done = log_done};
