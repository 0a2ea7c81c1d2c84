/* orch_record.c — state/deployed: the record of what runs, one line per deployed node, handed
 * to the caller with a commit message for every realised deployment (orch_options.record). */
#include "orch_int.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mu held. The text of state/deployed: one line per deployed node. */
static char *orch_deployed_text(struct orch *o, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);

    if (f == NULL)
        return NULL;
    fprintf(f, "# what runs, as the orchestrator deployed it (written by unisec; do not edit)\n");
    for (size_t i = 0; i < o->nnodes; i++) {
        const struct orch_node *n = &o->nodes[i];
        if (n->image[0] == 0)
            continue;
        fprintf(f, "%s image=%s level=%s pdp=%s", n->name, n->image, n->level,
                engine_pdp_name(n->pdp));
        if (n->policy[0])
            fprintf(f, " policy=%s version=%" PRIu64, n->policy, n->version);
        /* An image of a base and a patch: whence `unisec verify` rebuilds the base. */
        if (n->base_version != 0)
            fprintf(f, " base=%" PRIu64 " base_commit=%s", n->base_version,
                    n->base_commit[0] ? n->base_commit : "-");
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

void orch_deployed_record(struct orch *o, const struct orch_want *w, const char *node)
{
    char *msg = NULL, *text, level[128] = "";
    size_t len = 0;
    int r;

    if (o->record == NULL)
        return;
    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, node, 0);
    text = orch_deployed_text(o, &len);
    if (n != NULL) {
        orch_copy(level, sizeof(level), n->base_version != 0 ? n->level : "");
        char pol[160] = "";
        if (n->pdp == ENGINE_PDP_PUSH || n->pdp == ENGINE_PDP_PULL)
            snprintf(pol, sizeof(pol), ", %s v%" PRIu64, engine_pdp_name(n->pdp), n->version);
        else if (n->pdp == ENGINE_PDP_INTERNAL)
            snprintf(pol, sizeof(pol), ", internal v%" PRIu64, n->version);
        /* The trailers name the commit in full and the target: what `unisec verify` rebuilds
         * the image from. */
        r = asprintf(&msg,
                     "deploy: %s -> image %.12s (%s%s)\n\nRealises %s%s%.12s%s%s%s.\n\n"
                     "%s: %s\n%s: %s\n",
                     n->name, n->image, n->level, pol, w->who[0] ? w->who : "the daemon",
                     w->who[0] ? "'s change " : " at start from ", w->head, w->what[0] ? " (" : "",
                     w->what, w->what[0] ? ")" : "", ORCH_TRAILER_COMMIT, w->head,
                     ORCH_TRAILER_TARGET, engine_target_name(o->target));
        if (r < 0)
            msg = NULL;
    }
    pthread_mutex_unlock(&o->mu);
    if (text != NULL && msg != NULL) {
        struct orch_record rec = {.node = node, .deployed = text, .len = len, .message = msg};
        const struct orch_want_node *wn = orch_want_node(w, node);
        for (size_t i = 0; wn != NULL && level[0] && i < wn->nlevels; i++) {
            const struct orch_level *lv = &wn->levels[i];
            if (strcmp(lv->level, level) == 0 && lv->pdp == ENGINE_PDP_INTERNAL &&
                lv->blob != NULL && lv->blob->patch != NULL) {
                rec.patch = lv->blob->patch;
                rec.patch_len = lv->blob->patch_len;
            }
        }
        o->record(o->event_arg, &rec);
    }
    free(text);
    free(msg);
}

/* A restarted daemon goes on above the versions recorded: a guest ignores nothing, but the
 * history stays monotonic. */
uint64_t orch_version_recorded(const char *deployed)
{
    uint64_t max = 0;

    for (const char *p = deployed; p != NULL && (p = strstr(p, " version=")) != NULL; p++) {
        uint64_t v = strtoull(p + 9, NULL, 10);
        if (v > max)
            max = v;
    }
    return max;
}

/* The value of trailer KEY in MSG (a line "KEY: VALUE") into OUT, or "". */
static void orch_trailer(const char *msg, const char *key, char *out, size_t cap)
{
    size_t k = strlen(key);

    out[0] = '\0';
    for (const char *p = msg; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, k) == 0 && p[k] == ':' && p[k + 1] == ' ') {
            snprintf(out, cap, "%.*s", (int)strcspn(p + k + 2, "\n"), p + k + 2);
            return;
        }
}

/* NODE's line of state/deployed TEXT into L; -ENOENT when it has none. */
static int orch_line_parse(const char *text, const char *node, struct orch_record_info *l)
{
    size_t k = strlen(node);
    const char *p = text;
    char line[1024];

    for (; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, node, k) == 0 && p[k] == ' ')
            break;
    if (p == NULL || *p == '\0')
        return -ENOENT;
    snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
    for (char *save = NULL, *tok = strtok_r(line + k, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        if (strncmp(tok, "image=", 6) == 0)
            snprintf(l->image, sizeof(l->image), "%s", tok + 6);
        else if (strncmp(tok, "level=", 6) == 0)
            snprintf(l->level, sizeof(l->level), "%s", tok + 6);
        else if (strncmp(tok, "pdp=", 4) == 0)
            snprintf(l->pdp, sizeof(l->pdp), "%s", tok + 4);
        else if (strncmp(tok, "policy=", 7) == 0)
            snprintf(l->policy, sizeof(l->policy), "%s", tok + 7);
        else if (strncmp(tok, "version=", 8) == 0)
            l->version = strtoull(tok + 8, NULL, 10);
        else if (strncmp(tok, "base=", 5) == 0)
            l->base_version = strtoull(tok + 5, NULL, 10);
        else if (strncmp(tok, "base_commit=", 12) == 0)
            snprintf(l->base_commit, sizeof(l->base_commit), "%s", tok + 12);
    }
    return l->image[0] && l->level[0] ? 0 : -EINVAL;
}

int orch_record_parse(struct orch_record_info *out, const char *message, const char *deployed,
                      struct engine_diag *d)
{
    char tgt[16], src[64];
    const char *arrow;

    memset(out, 0, sizeof(*out));
    if (strncmp(message, "deploy: ", 8) == 0 && (arrow = strstr(message + 8, " -> ")) != NULL &&
        (size_t)(arrow - message - 8) < sizeof(out->node))
        snprintf(out->node, sizeof(out->node), "%.*s", (int)(arrow - message - 8), message + 8);
    /* (Read into more room than an id takes: a longer value is no id, not a truncated one.) */
    orch_trailer(message, ORCH_TRAILER_COMMIT, src, sizeof(src));
    orch_trailer(message, ORCH_TRAILER_TARGET, tgt, sizeof(tgt));
    if (out->node[0] == '\0' || strchr(out->node, '\n') != NULL || strlen(src) != 40 ||
        strspn(src, "0123456789abcdef") != 40 || engine_target_parse(&out->target, tgt) < 0)
        return engine_diag_add(d, NULL, 0, 0,
                               "no deployment record of unisec (a `deploy: NODE -> image` "
                               "message with %s and %s trailers)",
                               ORCH_TRAILER_COMMIT, ORCH_TRAILER_TARGET);
    if (deployed == NULL || orch_line_parse(deployed, out->node, out) < 0)
        return engine_diag_add(d, NULL, 0, 0, "state/deployed has no line of node %s", out->node);
    memcpy(out->realises, src, sizeof(out->realises) - 1);
    return 0;
}
