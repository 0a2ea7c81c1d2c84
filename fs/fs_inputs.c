/* fs_inputs.c — inputs/NAME: one input of the topology template as a file (fs_inputs.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_inputs.h"

int fs_input_has(const struct fs_snap *s, const char *name)
{
    const struct engine_topology *t = s->model != NULL ? s->model->t : NULL;

    for (size_t i = 0; t != NULL && i < engine_topology_input_count(t); i++) {
        const char *n = engine_topology_input_name(t, i);
        if (n != NULL && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

void fs_inputs_list(const struct fs_snap *s, fs_list_fn fn, void *arg)
{
    const struct engine_topology *t = s->model != NULL ? s->model->t : NULL;

    for (size_t i = 0; t != NULL && i < engine_topology_input_count(t); i++)
        if (engine_topology_input_name(t, i) != NULL)
            fn(arg, engine_topology_input_name(t, i));
}

int fs_gen_input(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w, FILE *out)
{
    const struct fs_text *in = &s->file[FS_FILE_INPUTS];
    char *text = NULL;
    size_t len = 0;
    int r;

    (void)c;
    if (s->model == NULL)
        return -ENOENT;
    if ((r = engine_topology_input_show(&text, &len, s->model->t, in->data, in->len, w->node)) < 0)
        return r;
    fwrite(text, 1, len, out);
    free(text);
    return 0;
}

int fs_cand_text(struct fs_text *file, const struct fs_target *t, const char *data, size_t len,
                 char **msg, struct engine_diag *diag)
{
    const char *why = NULL;
    char *value = NULL, *out = NULL;
    size_t olen = 0;
    int r;

    if (t->kind != FS_TARGET_INPUT)
        return fs_text_set(file, data, len);
    if (!t->remove && (r = fs_value_parse(&value, data, len, &why)) < 0) {
        if (r == -EINVAL)
            engine_diag_add(diag, t->path, 1, 0, "%s", why);
        return r;
    }
    r = engine_topology_inputs_edit(&out, &olen, file->data, file->len,
                                    fs_file_path(FS_FILE_INPUTS), t->node, value, diag);
    if (r == 0) {
        fs_text_free(file);
        file->data = out;
        file->len = olen;
        /* not the value: an input may be a secret, and history and events are 0444 */
        if (asprintf(msg, "inputs/%s: %s", t->node,
                     t->remove ? "its value removed (the default in force)" : "a new value") < 0) {
            *msg = NULL;
            r = -ENOMEM;
        }
    }
    free(value);
    return r;
}
