/* diag.c — the positioned error list shared by every part of unisec, and the log call. */
#include "diag.h"
#include "grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void engine_diag_init(struct engine_diag *d)
{
    memset(d, 0, sizeof(*d));
}

void engine_diag_free(struct engine_diag *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].msg);
    }
    free(d->v);
    memset(d, 0, sizeof(*d));
}

int engine_diag_vadd(struct engine_diag *d, const char *file, int line, int col, const char *fmt,
                     va_list ap)
{
    char *msg = NULL, *f = NULL;

    if (d == NULL) /* a caller that wants no messages (engine/topology.h: DIAG may be NULL) */
        return -EINVAL;
    if (d->n >= ENGINE_DIAG_MAX) {
        d->dropped++;
        return -EINVAL;
    }
    if (ENGINE_GROW(&d->v, &d->cap, d->n + 1) < 0)
        goto oom;
    if (vasprintf(&msg, fmt, ap) < 0) {
        msg = NULL;
        goto oom;
    }
    if (file != NULL && (f = strdup(file)) == NULL)
        goto oom;
    d->v[d->n].file = f;
    d->v[d->n].line = line;
    d->v[d->n].col = col;
    d->v[d->n].msg = msg;
    d->n++;
    return -EINVAL;
oom:
    free(msg);
    free(f);
    d->oom = 1;
    return -EINVAL;
}

int engine_diag_add(struct engine_diag *d, const char *file, int line, int col, const char *fmt,
                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    engine_diag_vadd(d, file, line, col, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

void engine_diag_move(struct engine_diag *dst, struct engine_diag *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const struct engine_diag_entry *e = &src->v[i];
        engine_diag_add(dst, e->file, e->line, e->col, "%s", e->msg);
    }
    dst->dropped += src->dropped;
    dst->oom |= src->oom;
    engine_diag_free(src);
}

char *engine_diag_format(const struct engine_diag *d, size_t i)
{
    const struct engine_diag_entry *e = &d->v[i];
    char pos[64] = "";
    char *out = NULL;

    if (e->line > 0 && e->col > 0)
        snprintf(pos, sizeof(pos), ":%d:%d", e->line, e->col);
    else if (e->line > 0)
        snprintf(pos, sizeof(pos), ":%d", e->line);
    if (asprintf(&out, "%s%s%serror: %s", e->file ? e->file : "", pos, e->file ? ": " : "",
                 e->msg) < 0)
        return NULL;
    return out;
}

char *engine_diag_join(const struct engine_diag *d)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    if (f == NULL)
        return NULL;
    for (size_t i = 0; i < d->n; i++) {
        char *s = engine_diag_format(d, i);
        fprintf(f, "%s%s", i ? "\n" : "", s ? s : "error: (message lost: out of memory)");
        free(s);
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

void engine_diag_print(const struct engine_diag *d, FILE *out)
{
    for (size_t i = 0; i < d->n; i++) {
        char *s = engine_diag_format(d, i);
        fprintf(out, "%s\n", s ? s : "error: (message lost: out of memory)");
        free(s);
    }
    if (d->dropped)
        fprintf(out, "error: %zu further errors not shown\n", d->dropped);
    if (d->oom)
        fprintf(out, "error: out of memory while recording errors; some are missing\n");
}
