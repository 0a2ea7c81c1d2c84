/* topology_derive.h — the derived result's representation, shared by derive (which fills it)
 * and the emitters (which write its artifacts). */
#ifndef UNISEC_ENGINE_TOPOLOGY_DERIVE_H
#define UNISEC_ENGINE_TOPOLOGY_DERIVE_H

#include <stdio.h>

#include "topology_sec.h"

/* Most modules in one image, and environment capabilities one image uses. */
#define TOPO_COMP_MAX 32
#define TOPO_ENV_MAX  16

struct engine_topology_derived {
    enum engine_target target;
    struct topo_arena a;
    struct engine_topology_plan *plans;
    size_t nplans;
    size_t *index; /* positions of plans sorted by node name (the topology's node index) */
    const char *art[ENGINE_ARTIFACT_COUNT]; /* in the arena */
    size_t artlen[ENGINE_ARTIFACT_COUNT];
};

/* Writes the five artifacts of X (whose plans are derived) into X->art. */
int topo_artifacts(struct engine_topology_derived *x, const struct engine_topology *t,
                   const struct engine_topology_state *s);

/* ---- the emitters (topology_emit_yaml.c, _json.c, _dot.c), called by topo_artifacts() ---- */

/* What every emitter reads. */
struct topo_emit {
    const struct engine_topology *t;
    const struct engine_topology_state *s;
    const struct engine_topology_derived *x;
};

/* Write unitosca.yaml, tosca.yaml or topology.dot to F. Return 0, or -ENOMEM. */
int topo_emit_unitosca(FILE *f, const struct topo_emit *e);
int topo_emit_tosca(FILE *f, const struct topo_emit *e);
int topo_emit_dot(FILE *f, const struct topo_emit *e);

/* P_SO or P_UG (A) as JSON text: *TEXT (from malloc, the caller's) of *LEN bytes. Returns 0,
 * or -ENOMEM with *TEXT NULL. */
int topo_emit_json(char **text, size_t *len, enum engine_topology_artifact a,
                   const struct topo_emit *e);

/* The state's value of property PROP of node NODE (override, else topology), or NULL; the
 * state's level index of NODE (0 when S is NULL). */
const char *topo_state_prop(const struct engine_topology_state *s, size_t node, size_t prop);
/* The same as a reader is shown it (engine_topology_state_property_shown()). */
const char *topo_state_prop_shown(const struct engine_topology_state *s, size_t node, size_t prop);
size_t topo_state_level_index(const struct engine_topology_state *s, size_t node);

#endif
