/*
 * topology_int.h — the topology model as the engine's own files see it (not for other parts:
 * they use topology.h). Every array is owned by the struct holding it; `struct topo_pos.file`
 * is borrowed from engine_topology.files.
 *
 * The files, and the direction of their calls (each calls only the ones below it):
 *   cmd_topology.c        `unisec check`, `unisec translate`
 *   topology_derive.c     the interpreters: a plan per node, an image per level
 *   topology_emit.c       the five artifacts, by topology_emit_yaml.c, _json.c and _dot.c
 *   topology_load.c       a topology file and its imports into the model
 *   topology_node.c       node templates
 *   topology_catalog.c    the module catalogue
 *   topology_types.c      node types resolved
 *   topology_state.c      the run-time state: levels, property overrides
 *   topology_sec.c        security functions and their mechanisms (topology_sec.h)
 *   topology_yaml.c       the YAML reader
 *   topology_arena.c      the arena of a derived result
 *   topology_util.c       lookups, accessors, the destructor
 * topology_derive.h holds what derive, the emitters and the state share about a derived result.
 */
#ifndef UNISEC_ENGINE_TOPOLOGY_INT_H
#define UNISEC_ENGINE_TOPOLOGY_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <yaml.h>

#include "name_index.h"
#include "topology.h"

/* Most entries in one YAML mapping or sequence, and YAML nodes visited per load (aliases can
 * make a small file expand; this bounds the work). */
#define TOPO_COLLECTION_MAX 4096
#define TOPO_VISIT_MAX      (1u << 20)
/* The property D_TOSCA gives every node for its current level: no type may declare it. */
#define TOPO_PROP_RESERVED "security_level"

/* Longest name (node, type, module, level, property, capability). */
#define TOPO_NAME_MAX 128

struct topo_pos {
    const char *file;
    int line, col;
};

struct topo_propdef {
    char *name;
    enum engine_topology_type type;
    char *def; /* canonical default, or NULL */
    int required;
    int listen; /* the value is a port the unikernel listens on */
    struct topo_pos pos;
};

struct topo_cap {
    char *name, *type;
    struct topo_pos pos;
};

/* A requirement NAME: TYPE, active only when property WHEN_PROP has value WHEN_VALUE (when
 * WHEN_PROP is set). */
struct topo_req {
    char *name, *type;
    char *when_prop, *when_value;
    struct topo_pos pos;
};

/* A module of the catalogue: guest/modules/NAME/manifest.yaml. */
struct topo_module {
    char *name, *description;
    struct topo_propdef *props;
    size_t nprops;
    struct topo_cap *caps;
    size_t ncaps;
    struct topo_req *reqs;
    size_t nreqs;
    struct topo_pos pos;
};

/* One module of a unikernel type as the topology lists it, with property defaults it sets. */
struct topo_umod {
    size_t module; /* index into engine_topology.mods */
    struct topo_propdef *props;
    size_t nprops;
    struct topo_pos pos;
};

/* A property of a type once inheritance and modules are resolved. */
struct topo_eprop {
    const struct topo_propdef *def;
    const char *deflt; /* the default in force (the topology's over the manifest's), or NULL */
};

struct topo_type {
    char *name, *derived_from, *description;
    int declared;  /* under node_types */
    int unikernel; /* under unikernel_modules */
    struct topo_propdef *props;
    size_t nprops;
    struct topo_umod *umods;
    size_t numods;
    struct topo_pos pos, upos;
    /* resolved */
    int parent;            /* index in engine_topology.types, -1 when derived_from is normative */
    const char *normative; /* the normative ancestor (static string) */
    size_t *mods;          /* catalogue indices of the modules that make its image (its own
                              unikernel_modules, else its parent's, else a built-in list); owned */
    size_t nmods;          /* 0: not realised by a unikernel */
    int builtin;           /* realised by a built-in module list (topology_types.c), or -1 */
    int synthetic; /* a normative type used directly by a node: not emitted as a definition */
    struct topo_eprop *eprops; /* sorted by name */
    size_t neprops;
    int resolving, resolved;
};

struct topo_param {
    char *name;
    enum engine_topology_type type;
    char *value; /* canonical */
};

/* A security function: what a level value means. */
struct topo_sf {
    char *name;
    int mech; /* index into the mechanism table (topology_sec.c) */
    struct topo_param *params;
    size_t nparams;
    struct topo_pos pos;
};

struct topo_level {
    char *name;
    size_t *sfs; /* indices into engine_topology.sfs */
    size_t nsfs;
    struct topo_pos pos;
};

/* One property of a node holding a multi_level_security map. */
struct topo_mls {
    char *prop;
    struct topo_level *levels;
    size_t nlevels;
    struct topo_pos pos;
};

struct topo_nreq {
    char *name, *node, *relationship; /* relationship: NULL when the topology names none */
    size_t target;                    /* index into engine_topology.nodes */
    struct topo_pos pos;
};

struct topo_node {
    struct engine_topology_node pub; /* strings and arrays owned through the fields below */
    char *name;
    size_t type;
    int typed; /* type and properties are set (a node whose type failed has neither) */
    char **levels;
    struct engine_topology_prop *props; /* value strings owned */
    struct topo_mls *mls;
    size_t nmls;
    struct topo_nreq *reqs;
    size_t nreqs;
    struct topo_pos pos;
};

struct topo_group {
    char *name, *type, *description;
    size_t *members;
    size_t nmembers;
    struct topo_pos pos;
};

struct engine_topology {
    char *version, *description;
    char **files;
    size_t nfiles;
    struct topo_module *mods;
    size_t nmods;
    struct topo_type *types;
    size_t ntypes;
    struct topo_sf *sfs;
    size_t nsfs;
    struct topo_node *nodes;
    size_t nnodes;
    size_t *node_index; /* positions of nodes, sorted by name (engine_name_index_build); owned */
    struct topo_group *groups;
    size_t ngroups;
};

/* ---- helpers shared by the topology's files (topology_util.c) ---- */

/* Makes room for element N of *V (elements of SIZE bytes) and zeroes it; capacity doubles at
 * powers of two, so no capacity field is needed. Returns a pointer to element N or NULL.
 * Not engine_grow(): the model's many arrays keep no capacity field and most hold one or two
 * elements, so they start at one element, not 16. */
void *topo_push(void *vp, size_t n, size_t size);

/* Interned file name: returns the copy kept in T->files (or NULL on allocation failure). */
const char *topo_file_intern(struct engine_topology *t, const char *file);

void topo_propdefs_free(struct topo_propdef *v, size_t n);
void topo_params_free(struct topo_param *v, size_t n);

/* Index of NAME in T's catalogue/types/sfs/nodes, or -1. */
int topo_module_find(const struct engine_topology *t, const char *name);
int topo_type_find(const struct engine_topology *t, const char *name);
int topo_sf_find(const struct engine_topology *t, const char *name);
int topo_node_find(const struct engine_topology *t, const char *name);

/* The type's effective property NAME, or NULL. */
const struct topo_eprop *topo_eprop_find(const struct topo_type *ty, const char *name);

/* Writes the N names NAME_AT(ARG, i) into BUF (at most SIZE bytes, always terminated),
 * separated by ", ", with LAST (e.g. " or ") before the last one. */
void topo_join(char *buf, size_t size, size_t n, const char *(*name_at)(const void *arg, size_t i),
               const void *arg, const char *last);

/* Is S a valid name (1..TOPO_NAME_MAX of [A-Za-z0-9_.-], starting with a letter or '_')? */
int topo_name_valid(const char *s);

/* ---- the arena (topology_arena.c) ---- */

/* Every allocation of a derived result, freed together by topo_arena_free(). A zeroed struct
 * is an empty arena. */
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

/* ---- the YAML reader (topology_yaml.c) ---- */

struct topo_ld {
    struct engine_topology *t;
    struct engine_diag *d;
    yaml_document_t *doc;
    const char *file; /* interned */
    size_t visits;
    int errors;
    int oom;
};

yaml_node_t *topo_ld_node(struct topo_ld *ld, int index);
struct topo_pos topo_ld_pos(const struct topo_ld *ld, const yaml_node_t *n);

/* Records an error at N (N may be NULL: no position) and returns -EINVAL. */
int topo_ld_err(struct topo_ld *ld, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records an error at POS and returns -EINVAL. */
int topo_diag_at(struct engine_diag *d, const struct topo_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* N as a string scalar, or NULL with an error "WHAT: expected ...". */
const char *topo_ld_scalar(struct topo_ld *ld, const yaml_node_t *n, const char *what);

/* N as a name (topo_name_valid), or NULL with an error. */
const char *topo_ld_name(struct topo_ld *ld, const yaml_node_t *n, const char *what);

/*
 * Checks that N is a mapping with scalar keys, no duplicate key, and (when KEYS is not NULL,
 * a NULL-terminated list) only keys from KEYS. Returns 0 or -EINVAL (errors recorded).
 */
int topo_ld_map(struct topo_ld *ld, const yaml_node_t *n, const char *what,
                const char *const *keys);

/* Checks that N is a sequence of at most TOPO_COLLECTION_MAX items. */
int topo_ld_seq(struct topo_ld *ld, const yaml_node_t *n, const char *what);

/* The value of KEY in mapping N, or NULL. */
yaml_node_t *topo_ld_get(struct topo_ld *ld, const yaml_node_t *n, const char *key);

/* The key of pair P as a string (mappings are checked by topo_ld_map first). */
const char *topo_ld_key(struct topo_ld *ld, const yaml_node_pair_t *p);

/*
 * N as a value of TYPE in canonical form (a new string in *OUT). A quoted scalar is a string:
 * it is refused for the other types. Returns 0 or -EINVAL with an error naming WHAT.
 */
int topo_ld_value(struct topo_ld *ld, const yaml_node_t *n, enum engine_topology_type type,
                  const char *what, char **out);

/* strdup that counts a failure in LD. */
char *topo_ld_strdup(struct topo_ld *ld, const char *s);

/* Parses a property definition {type: T, default: V, required: B, listen: B, description}. */
int topo_ld_propdef(struct topo_ld *ld, const char *name, const yaml_node_t *n, const char *what,
                    int allow_listen, struct topo_propdef *out);

/* The type named by S, or -1. */
int topo_type_parse(const char *s);

/* Reads PATH (at most ENGINE_TOPOLOGY_FILE_MAX bytes) into a new NUL-terminated buffer; errors
 * name the file NAME. */
int topo_read_file(const char *path, const char *name, char **buf, size_t *len,
                   struct engine_diag *d);

/* Parses BUF[0..LEN) as one YAML document named FILE (aliases resolved) and calls FN with a
 * reader on it. YAML syntax errors are reported with their position. Returns FN's result, or
 * -EINVAL/-ENOMEM. */
int topo_with_document(struct engine_topology *t, const char *file, const char *buf, size_t len,
                       struct engine_diag *d, int (*fn)(struct topo_ld *ld, void *arg), void *arg);

int topo_ld_caps(struct topo_ld *ld, const yaml_node_t *n, const char *what, struct topo_cap **out,
                 size_t *nout);
int topo_ld_reqs(struct topo_ld *ld, const yaml_node_t *n, const char *what, struct topo_req **out,
                 size_t *nout);
int topo_ld_propdefs(struct topo_ld *ld, const yaml_node_t *n, const char *what, int allow_listen,
                     struct topo_propdef **out, size_t *nout);

/* ---- loading parts (topology_catalog.c, topology_sec.c, topology_types.c) ---- */

/* Loads every DIR/NAME/manifest.yaml into T->mods. */
int topo_catalog_load(struct engine_topology *t, const char *dir, struct engine_diag *d);

/* Mechanisms known to the SecTOSCA interpreter (topology_sec.c). */
#define TOPO_MECH_MAX 8
const char *topo_mech_name(int mech);

/* Is NAME a module that only the SecTOSCA interpreter adds (acl_pep, authn, rate_limit)? */
int topo_module_is_security(const char *name);

/* The entry of MLS for level NAME, or its default entry when MLS does not declare NAME. */
const struct topo_level *topo_mls_level(const struct topo_mls *mls, const char *name);

/* Parses security function NAME (its mapping N) into *OUT. */
int topo_sf_parse(struct topo_ld *ld, const char *name, const yaml_node_t *n, struct topo_sf *out);

/* Resolves derived_from, realisers and effective properties of every type. */
int topo_types_resolve(struct engine_topology *t, struct engine_diag *d);

/* The index in T->types of type NAME, adding a synthetic entry for a normative type that no
 * file defines; -1 when NAME is neither defined nor normative, -ENOMEM. */
int topo_type_use(struct engine_topology *t, const char *name, struct engine_diag *d);

/* Is NAME (or an ancestor) the normative type ANCESTOR? */
int topo_type_is_a(const struct engine_topology *t, const struct topo_type *ty,
                   const char *ancestor);

#endif
