/* fs_settle.c — `settle` and `settle.json`: a read that waits until the orchestrator has
 * realised the last accepted change, or failed to, then says which. */
#include <errno.h>
#include <stdio.h>

#include "fs_int.h"
#include "orch/orch.h"

/* The wait shared by both forms: GEN writes the outcome once it is known. */
static int fs_settle_gen(struct fs_ctx *c, int (*gen)(struct orch *, FILE *), FILE *out)
{
    /* Blocks (in open: a handle keeps what settle said) until the orchestrator has realised
     * the last accepted change or failed to; the outcome is the content either way (a failure
     * also fails the read at its end, so that `cat settle` does). A change being applied right
     * now is waited for too: it is given to the orchestrator under apply_mu. */
    pthread_mutex_lock(&c->apply_mu);
    pthread_mutex_unlock(&c->apply_mu);
    return gen(c->orch, out) < 0 ? FS_GEN_FAILED : 0;
}

int fs_gen_settle(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w, FILE *out)
{
    (void)w;
    if (c->orch == NULL) {
        fprintf(out, "settled at %.12s: nothing runs (--no-run)\n", s->head);
        return 0;
    }
    return fs_settle_gen(c, orch_settle, out);
}

int fs_gen_settle_json(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                       FILE *out)
{
    (void)w;
    if (c->orch == NULL) {
        /* A head is 40 hexadecimal digits: nothing to escape. */
        fprintf(out,
                "{\"commit\": \"%s\", \"settled\": true, \"nodes\": 0, \"failed\": 0, "
                "\"status\": [], \"why\": \"nothing runs (--no-run)\"}\n",
                s->head);
        return 0;
    }
    return fs_settle_gen(c, orch_settle_json, out);
}
