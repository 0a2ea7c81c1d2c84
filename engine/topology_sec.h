/*
 * topology_sec.h — the SecTOSCA interpreter's tables (mechanisms, environments) and checks,
 * shared by the engine's topology files.
 */
#ifndef UNISEC_ENGINE_TOPOLOGY_SEC_H
#define UNISEC_ENGINE_TOPOLOGY_SEC_H

#include "topology_int.h"

#define TOPO_MECH_MODS 3

/* A parameter of a mechanism: its type, default (NULL: required), allowed values or check. */
struct topo_mech_param {
    const char *name;
    enum engine_topology_type type;
    const char *def;
    const char *const *values;               /* NULL-terminated, or NULL */
    const char *(*check)(const char *value); /* NULL or a sentence saying what was expected */
};

/* A module a mechanism adds, present only when boolean parameter WHEN is true (WHEN NULL:
 * always). */
struct topo_mech_mod {
    const char *module;
    const char *when;
};

struct topo_mech {
    const char *name;
    /* records what function SF of this mechanism means for an image (P_SO's fields) */
    int (*plan)(const struct topo_sf *sf, struct topo_arena *a, struct engine_topology_image *img);
    const struct topo_mech_param *params;
    struct topo_mech_mod mods[TOPO_MECH_MODS]; /* ends at the first NULL module */
    const char *needs_cap; /* a capability the node's own modules must offer, or NULL */
    const char *needs_env; /* an environment capability it needs, or NULL */
    const char *why_env;   /* why a target may lack NEEDS_ENV */
};

extern const struct topo_mech topo_mechs[];
extern const size_t topo_nmechs;

/* The environment's capabilities on TARGET (NULL-terminated, sorted). */
const char *const *topo_env_caps(enum engine_target target);
int topo_env_has(enum engine_target target, const char *cap);

/* The value of SF's parameter NAME (canonical), or NULL. */
const char *topo_sf_param(const struct topo_sf *sf, const char *name);

/* isSupported(sf, T, e) for node N's type at LEVEL: 0, or -EINVAL with a message at POS naming
 * the node, level, function and what is missing. */
int topo_is_supported(const struct engine_topology *t, const struct topo_node *n, const char *level,
                      const struct topo_sf *sf, enum engine_target target,
                      const struct topo_pos *pos, struct engine_diag *d);

#endif
