/*
 * topology_emit.c — the five derived artifacts as text: unitosca.yaml (D_uniTOSCA, eq. 3),
 * tosca.yaml (D_TOSCA, eq. 5), p_so.json (P_SO), p_ug.json (P_UG) and topology.dot, each
 * written by its emitter (topology_emit_yaml.c, _json.c, _dot.c) and kept in the arena.
 */
#include "topology_derive.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const topo_artifact_names[] = {
    [ENGINE_ARTIFACT_UNITOSCA] = "unitosca.yaml", [ENGINE_ARTIFACT_TOSCA] = "tosca.yaml",
    [ENGINE_ARTIFACT_P_SO] = "p_so.json",         [ENGINE_ARTIFACT_P_UG] = "p_ug.json",
    [ENGINE_ARTIFACT_DOT] = "topology.dot",
};

const char *engine_topology_artifact_name(enum engine_topology_artifact a)
{
    return (unsigned)a < ENGINE_ARTIFACT_COUNT ? topo_artifact_names[a] : NULL;
}

const char *engine_topology_derived_artifact(const struct engine_topology_derived *x,
                                             enum engine_topology_artifact a, size_t *len)
{
    if (len != NULL)
        *len = (unsigned)a < ENGINE_ARTIFACT_COUNT ? x->artlen[a] : 0;
    return (unsigned)a < ENGINE_ARTIFACT_COUNT ? x->art[a] : NULL;
}

/* ---- all five ---- */

/* Hands BUF (LEN bytes, from malloc) to X's arena as artifact A. */
static int topo_artifact_keep(struct engine_topology_derived *x, enum engine_topology_artifact a,
                              char *buf, size_t len)
{
    if (topo_arena_adopt(&x->a, buf) < 0)
        return -ENOMEM;
    x->art[a] = buf;
    x->artlen[a] = len;
    return 0;
}

static int topo_artifact_text(struct engine_topology_derived *x, enum engine_topology_artifact a,
                              int (*emit)(FILE *f, const struct topo_emit *e),
                              const struct topo_emit *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        return -ENOMEM;
    if (emit(f, e) < 0) {
        fclose(f);
        free(buf);
        return -ENOMEM;
    }
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return -ENOMEM;
    }
    return topo_artifact_keep(x, a, buf, len);
}

static int topo_artifact_json(struct engine_topology_derived *x, enum engine_topology_artifact a,
                              const struct topo_emit *e)
{
    size_t len;
    char *text;
    int r = topo_emit_json(&text, &len, a, e);

    return r < 0 ? r : topo_artifact_keep(x, a, text, len);
}

int topo_artifacts(struct engine_topology_derived *x, const struct engine_topology *t,
                   const struct engine_topology_state *s)
{
    const struct topo_emit e = {t, s, x};
    int r;

    if ((r = topo_artifact_text(x, ENGINE_ARTIFACT_UNITOSCA, topo_emit_unitosca, &e)) < 0 ||
        (r = topo_artifact_text(x, ENGINE_ARTIFACT_TOSCA, topo_emit_tosca, &e)) < 0 ||
        (r = topo_artifact_json(x, ENGINE_ARTIFACT_P_SO, &e)) < 0 ||
        (r = topo_artifact_json(x, ENGINE_ARTIFACT_P_UG, &e)) < 0 ||
        (r = topo_artifact_text(x, ENGINE_ARTIFACT_DOT, topo_emit_dot, &e)) < 0)
        return r;
    return 0;
}
