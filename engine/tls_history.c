/* tls_history.c — a node's certificate before the one in force, from the store's history, so
 * that a load balancer pins the same keys whether its daemon saw the rotation or started after
 * it (engine/TOPOLOGY.md section 1.4). Apart from tls.c, which the tender links without git. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "tls.h"

/* Largest tls/NODE/cert read (the mount's bound on a write of it). */
#define TLS_HISTORY_BYTES (256u << 10)

int engine_tls_cert_before(const struct engine_store *s, const char *from, const char *node,
                           const char *cert, size_t len, int64_t now, char **pem, size_t *pem_len,
                           struct engine_diag *warn)
{
    char path[300], id[41], at[41], from_at[41], label[340];
    const char *start = from;
    size_t left = ENGINE_TLS_BEFORE_WALK, walked = 0;
    int r;

    *pem = NULL;
    *pem_len = 0;
    if (snprintf(path, sizeof(path), "tls/%s/cert", node) >= (int)sizeof(path))
        return 0;
    engine_store_blob_id(cert, len, id);
    for (int skips = 0; skips <= ENGINE_TLS_BEFORE_SKIPS; skips++, left -= walked) {
        char *data = NULL;
        size_t dlen = 0;
        struct engine_diag why;
        r = engine_store_path_before(s, start, path, id, left, TLS_HISTORY_BYTES, &data, &dlen, at,
                                     &walked, warn);
        if (r == -ENOMEM)
            return r;
        if (r == -E2BIG)
            engine_diag_add(warn, path, 0, 0,
                            "no certificate before the one in force within %d commits: its "
                            "key alone is pinned",
                            ENGINE_TLS_BEFORE_WALK);
        if (r <= 0 || data == NULL) /* none before, or the file was absent then */
            return 0;
        engine_store_blob_id(data, dlen, id); /* from AT on: what differs from AT's version */
        memcpy(from_at, at, sizeof(from_at));
        start = from_at;
        /* Only a chain that checks is pinned; one that does not (its node served without
         * credentials) is passed over, said, and the version before it taken, as the
         * orchestrator does in memory (orch_want.c). */
        struct engine_tls_input in = {
            .cert = data, .cert_len = dlen, .cert_name = path, .now = now};
        engine_diag_init(&why);
        r = engine_tls_check(&in, NULL, NULL, NULL, &why);
        if (r == 0) {
            engine_diag_free(&why);
            *pem = data;
            *pem_len = dlen;
            return 0;
        }
        free(data);
        snprintf(label, sizeof(label), "%s (commit %.12s)", path, at);
        engine_diag_add(warn, label, 0, 0,
                        "not pinned as the certificate before the one in force: %s",
                        why.n > 0 ? why.v[0].msg : "it does not check");
        engine_diag_free(&why);
        if (r == -ENOMEM)
            return r;
    }
    engine_diag_add(warn, path, 0, 0,
                    "more than %d versions before the one in force passed over: its key alone "
                    "is pinned",
                    ENGINE_TLS_BEFORE_SKIPS);
    return 0;
}
