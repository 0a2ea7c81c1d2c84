/* orch_built.c — the images built so far, by the key of their spec: a level switch to an image
 * built before (proactively, or for an earlier change) needs no builder. */
#include "orch_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/engine.h"

void orch_spec_key(uint8_t key[ENGINE_SHA256_LEN], const struct builder_spec *s)
{
    struct engine_sha256 h;

    engine_sha256_init(&h);
    engine_sha256_update(&h, s->node, strlen(s->node) + 1);
    engine_sha256_update(&h, s->level, strlen(s->level) + 1);
    engine_sha256_update(&h, s->target, strlen(s->target) + 1);
    for (size_t m = 0; m < s->nmodules; m++) {
        engine_sha256_update(&h, s->modules[m].name, strlen(s->modules[m].name) + 1);
        for (size_t k = 0; k < s->modules[m].nprops; k++) {
            const struct builder_prop *p = &s->modules[m].props[k];
            engine_sha256_update(&h, p->name, strlen(p->name) + 1);
            engine_sha256_update(&h, p->value, strlen(p->value) + 1);
        }
        engine_sha256_update(&h, "", 1);
    }
    if (s->acl_blob != NULL) {
        /* The rules by their length and header, which holds their SHA-256 (the engine's
         * compiler sealed them; the builder checks them whole): a million rules are not
         * hashed once more per change. */
        uint64_t n = s->acl_len;
        size_t hl = sizeof(struct engine_acl_blob_header);
        engine_sha256_update(&h, &n, sizeof(n));
        engine_sha256_update(&h, s->acl_blob, s->acl_len < hl ? s->acl_len : hl);
        if (s->acl_patch != NULL) { /* its header holds its SHA-256 */
            size_t pl = sizeof(struct engine_acl_patch_header);
            n = s->acl_patch_len;
            engine_sha256_update(&h, &n, sizeof(n));
            engine_sha256_update(&h, s->acl_patch, s->acl_patch_len < pl ? s->acl_patch_len : pl);
        }
    }
    engine_sha256_final(&h, key);
}

int orch_built_find(struct orch *o, const uint8_t key[ENGINE_SHA256_LEN],
                    char id[BUILDER_ID_LEN + 1])
{
    char path[4096];
    struct stat st;

    for (size_t i = 0; i < o->nbuilt; i++) {
        if (memcmp(o->built[i].key, key, ENGINE_SHA256_LEN) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s/image", o->image_dir, o->built[i].id);
        if (stat(path, &st) != 0)
            return -ENOENT;
        memcpy(id, o->built[i].id, BUILDER_ID_LEN + 1);
        return 0;
    }
    return -ENOENT;
}

void orch_built_add(struct orch *o, const uint8_t key[ENGINE_SHA256_LEN], const char *id)
{
    for (size_t i = 0; i < o->nbuilt; i++)
        if (memcmp(o->built[i].key, key, ENGINE_SHA256_LEN) == 0) {
            orch_copy(o->built[i].id, sizeof(o->built[i].id), id);
            return;
        }
    if (ENGINE_GROW(&o->built, &o->capbuilt, o->nbuilt + 1) < 0)
        return; /* only a later switch is slower */
    memcpy(o->built[o->nbuilt].key, key, ENGINE_SHA256_LEN);
    orch_copy(o->built[o->nbuilt].id, sizeof(o->built[o->nbuilt].id), id);
    o->nbuilt++;
}

void orch_built_forget(struct orch *o, const char *id)
{
    for (size_t i = 0; i < o->nbuilt;)
        if (strcmp(o->built[i].id, id) == 0)
            o->built[i] = o->built[--o->nbuilt];
        else
            i++;
}
