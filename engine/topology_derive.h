/* topology_derive.h — the derived result's representation, shared by derive and the emitters. */
#ifndef UNISEC_ENGINE_TOPOLOGY_DERIVE_H
#define UNISEC_ENGINE_TOPOLOGY_DERIVE_H

#include <stdarg.h>

#include "topology_sec.h"

/* Most modules in one image, and environment capabilities one image uses. */
#define TOPO_COMP_MAX 32
#define TOPO_ENV_MAX  16

/* Every allocation of a derived result, freed together: small ones are carved from blocks of
 * TOPO_ARENA_BLOCK bytes (a derived result holds many thousands of short strings), large ones
 * get a block of their own. */
#define TOPO_ARENA_BLOCK (64u << 10)

struct topo_arena {
    void **blocks;
    size_t nblocks;
    char *cur;   /* free space in the last small block */
    size_t left; /* bytes at cur */
};

void *topo_arena_alloc(struct topo_arena *a, size_t size); /* zeroed, 16-byte aligned */
char *topo_arena_strdup(struct topo_arena *a, const char *s);
char *topo_arena_printf(struct topo_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands P (from malloc) to the arena, which frees it with the rest; frees P and returns -ENOMEM
 * when it cannot. */
int topo_arena_adopt(struct topo_arena *a, void *p);
void topo_arena_free(struct topo_arena *a);

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

/* The state's value of property PROP of node NODE (override, else topology), or NULL; the
 * state's level index of NODE (0 when S is NULL). */
const char *topo_state_prop(const struct engine_topology_state *s, size_t node, size_t prop);
size_t topo_state_level_index(const struct engine_topology_state *s, size_t node);

/* Node NODE's listening ports (ascending, distinct) into PORTS; returns how many. */
int topo_node_ports(const struct engine_topology *t, const struct engine_topology_state *s,
                    size_t node, int *ports, size_t max);

/* Derives node NODE at its level LEVEL into IMG (allocations in A). */
int topo_derive_image(const struct engine_topology *t, const struct engine_topology_state *s,
                      enum engine_target target, size_t node, size_t level, struct topo_arena *a,
                      struct engine_topology_image *img, struct engine_diag *d);

#endif
