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
 *   topology_import.c     one import: its entry, its directory, cycles, files seen already
 *   topology_template.c   topology_template: inputs, relationship templates, groups,
 *                         policies, outputs, substitution mappings, workflows
 *   topology_submap.c     substitution mappings against their node type
 *   topology_node.c       node templates
 *   topology_node_tosca.c a node template's TOSCA parts (capabilities, interfaces, ...),
 *                         requirement occurrences
 *   topology_function.c   intrinsic functions' references; concat, join, token evaluated
 *   topology_place.c      placement: hosts (tosca.nodes.Compute), `host` requirements, ports
 *   topology_defs.c       TOSCA types of every kind, the normative ones (tosca_normative.yaml)
 *   topology_propdef.c    property, attribute and input definitions
 *   topology_value.c      TOSCA values, constraints, intrinsic functions
 *   topology_lookup.c     types and their definitions found along derived_from
 *   topology_catalog.c    the module catalogue
 *   topology_types.c      node types resolved
 *   topology_state.c      the run-time state: levels, property overrides
 *   topology_sec.c        security functions and their mechanisms (topology_sec.h)
 *   topology_yaml.c       the YAML reader
 *   topology_arena.c      the arena of a derived result
 *   topology_util.c       lookups, accessors, the destructor
 * topology_derive.h holds what derive, the emitters and the state share about a derived result;
 * topology_yamldoc.h the YAML documents built and written back (stores, inputs.yaml, D_TOSCA).
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
/* Deepest nesting of mappings and sequences in a document (topology_yaml.c says why). */
#define TOPO_DEPTH_MAX 64
/* The property D_TOSCA gives every node for its current level: no type may declare it. */
#define TOPO_PROP_RESERVED "security_level"

/* Longest name (node, type, module, level, property, capability). */
#define TOPO_NAME_MAX 128

struct topo_pos {
    const char *file;
    int line, col;
};

/* A constraint clause of TOSCA (3.6.3): OP and its operands as canonical scalar texts. */
struct topo_cons {
    int op; /* index into the clause table (topology_value.c) */
    char **args;
    size_t nargs;
    struct topo_pos pos;
};

/* A property, attribute, input or parameter definition. The four unisec scalars (`scalar`
 * set) are the properties a node can change at run time; any other TOSCA type (list, map,
 * scalar-unit.size, version, a data type, ...) is checked at load and kept as TOSCA says. */
struct topo_propdef {
    char *name;
    enum engine_topology_type type; /* when scalar */
    char *def;                      /* canonical default of a scalar, or NULL */
    int required;
    int listen; /* the value is a port the unikernel listens on */
    int scalar; /* type is string, integer, float or boolean */
    int has_default;
    char *ttype; /* the TOSCA type name as written, or NULL (then a scalar) */
    char *entry; /* entry_schema's type, or NULL */
    struct topo_cons *cons;
    size_t ncons;
    struct topo_pos pos, tpos; /* the definition; its type */
};

struct topo_cap {
    char *name, *type;
    char **vst; /* a capability definition's valid_source_types (node types), or NULL */
    size_t nvst;
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

/* What D_TOSCA carries of a definition or template as written (topology_carry.h), each part
 * lines of one-line YAML or NULL: REST the keys not split out ("KEY: VALUE\n"), the others
 * one key's entries ("NAME: VALUE\n", "- ITEM\n"), merged with what D_TOSCA writes. */
enum topo_carry_part {
    TOPO_C_REST,
    TOPO_C_PROPS,
    TOPO_C_CAPS,
    TOPO_C_REQS,
    TOPO_C_ATTRS,
    TOPO_C_ARTS,
    TOPO_C_N,
};

/* The parts of topology_template D_TOSCA carries (REST: its description; groups apart). */
enum topo_carry_tt {
    TOPO_T_REST,
    TOPO_T_RTEMPLATES,
    TOPO_T_POLICIES,
    TOPO_T_OUTPUTS,
    TOPO_T_SUBMAP,
    TOPO_T_WORKFLOWS,
    TOPO_T_N,
};

struct topo_nreq {
    char *name, *node, *relationship; /* relationship: NULL when the topology names none */
    size_t target;                    /* index into engine_topology.nodes */
    int abstract; /* NODE names a node type, or no node: the orchestrator would select one */
    long count;   /* how many times it counts (1.3's occurrences; 1 without) */
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
    char *fnset; /* per property: set by an intrinsic function kept for the orchestrator */
    int tdef;    /* its type's TOSCA definition (index in engine_topology.tdefs), or -1 */
    int runs;    /* realised by a unikernel: unisec runs it (else it is kept, not run) */
    char **arts; /* the names of its artifacts (get_artifact) */
    size_t narts;
    char *address; /* a Compute node's attribute private_address, or NULL */
    /* Its template as written, as D_TOSCA carries it (topo_node_carry()). */
    char *carry[TOPO_C_N];
    struct topo_pos pos;
};

struct topo_group {
    char *name, *type, *description;
    char *carry; /* its other keys as written, "KEY: VALUE\n" lines (topo_group_carry()) */
    size_t *members;
    size_t nmembers;
    struct topo_pos pos;
};

/* ---- TOSCA's type kinds (topology_defs.c) ---- */

enum topo_kind {
    TOPO_K_ARTIFACT,
    TOPO_K_DATA,
    TOPO_K_CAPABILITY,
    TOPO_K_INTERFACE,
    TOPO_K_RELATIONSHIP,
    TOPO_K_NODE,
    TOPO_K_GROUP,
    TOPO_K_POLICY,
    TOPO_K_COUNT,
};

/* A requirement definition of a node type (3.7.3). */
struct topo_reqdef {
    char *name, *capability, *node, *relationship;
    long occ_min; /* the fewest assignments: 1 unless occurrences says (see
                     topo_nodes_reqs_check() for one left to the orchestrator) */
    long occ_max; /* the most assignments a node template may make: 1 unless occurrences says;
                     -1 for UNBOUNDED */
    struct topo_pos pos;
};

/* A type of any kind as TOSCA defines it: the normative ones (tosca_normative.yaml) and the
 * topology's. A node type of the topology also has its unisec record (`utype`), which holds
 * its properties. */
struct topo_tdef {
    char *name, *derived_from;
    int kind, builtin;
    int parent; /* index in engine_topology.tdefs, -1 for a root or a primitive base */
    int utype;  /* index in engine_topology.types for a node type of the topology, else -1 */
    struct topo_propdef *props, *attrs;
    size_t nprops, nattrs;
    struct topo_cap *caps, *ifaces; /* capability and interface definitions: NAME: TYPE */
    size_t ncaps, nifaces;
    struct topo_reqdef *reqs;
    size_t nreqs;
    char **ops; /* an interface type's operations */
    size_t nops;
    struct topo_cons *cons; /* a data type's own constraints */
    size_t ncons;
    char **arts; /* a node type's artifacts' names */
    size_t narts;
    char **vst; /* the types a type admits: a capability type's valid_source_types, a group
                 * type's members, a policy type's targets */
    size_t nvst;
    struct topo_pos pos, dpos; /* the name; derived_from */
    int resolving, resolved;
    int borrowed; /* a normative type: its strings and arrays are the shared model's */
    /* A type of the topology as written (topo_tdef_carry()): a node type's properties,
     * capabilities and requirements apart, its derived_from and description left to D_TOSCA;
     * every other kind whole, in TOPO_C_REST. */
    char *carry[TOPO_C_N];
};

/* An input of the topology template: its definition and the value in force (a scalar's
 * canonical text: given, else the default), or NULL. */
struct topo_input {
    struct topo_propdef def;
    char *value;
    char *shown; /* its default as one line of YAML (topo_yaml_line()), or NULL */
    int given;   /* a value was given (inputs.yaml), not taken from the default */
    int secret;  /* metadata secret: true: its value is never shown (TOPOLOGY.md 1.6) */
    char *carry; /* its definition as written, "KEY: VALUE\n" lines (topo_input_carry()) */
};

/* An intrinsic function whose references are checked once every template is read
 * (topology_function.c): NAME is its entity (a node or relationship template, or SELF,
 * SOURCE, TARGET, HOST), or get_input's input; PATH the scalar arguments after it. */
struct topo_ref {
    char *name;
    const char *function; /* static */
    struct topo_pos pos;
    char **path;           /* NULL when an argument is itself a function */
    struct topo_pos *ppos; /* each argument of PATH */
    size_t npath;
    int self; /* 1 + the node template holding the call, or 0 (none known) */
};

/* A property or attribute mapping of a substitution mapping: NAME: [INPUT_OR_OUTPUT] (INPUT
 * set), or another form. */
struct topo_pmap {
    char *name, *input;
    struct topo_pos pos, ipos;
};

/* A substitution mapping as written, checked once types are resolved. Index 0 is the property
 * side (mappings under `properties`, the template's inputs), 1 the attribute side (`attributes`,
 * outputs). */
struct topo_submap {
    char *type;
    char **names[2]; /* the template's inputs, outputs */
    size_t nnames[2];
    struct topo_pmap *maps[2];
    size_t nmaps[2];
    struct topo_pos pos; /* of node_type */
};

struct engine_topology {
    char *version, *description;
    struct topo_tdef *tdefs;
    size_t ntdefs;
    struct topo_input *inputs;
    size_t ninputs;
    int inputs_read; /* the template's inputs are known: get_input is checked */
    /* While loading: the values given to the inputs (a YAML mapping named given_name;
     * topology_inputs.c), or NULL; borrowed from the caller. */
    const char *given, *given_name;
    size_t given_len;
    int given_done;
    char **rtemplates; /* relationship templates' names */
    int *rttypes;      /* and types (index in tdefs, or -1) */
    size_t nrtemplates;
    struct topo_ref *refs; /* entities named by functions, checked once every node is read */
    size_t nrefs;
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
    struct topo_submap *submaps;
    size_t nsubmaps;
    char *carry_tt[TOPO_T_N]; /* topology_template as written (topo_template_carry()) */
    char *carry_top;          /* the file's metadata and repositories (topo_top_carry()) */
};

/* ---- placement (topology_place.c) ---- */

/* Places every unikernel node on the Compute node its `host` requirement names (sets the
 * nodes' pub.host and pub.address), once requirements are linked. Errors in D. */
int topo_nodes_place(struct engine_topology *t, struct engine_diag *d);

/* Two plans of X placed on hosts that would listen on the same address and port: an error at
 * the second node. */
struct engine_topology_derived;
int topo_place_ports_check(const struct engine_topology *t, const struct engine_topology_derived *x,
                           struct engine_diag *d);

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

#include "topology_arena.h" /* the arena derived results live in */

/* ---- the YAML reader (topology_yaml.c) ---- */

#define TOPO_PREFIX_MAX 16

struct topo_ld {
    struct engine_topology *t;
    struct engine_diag *d;
    yaml_document_t *doc;
    const char *file; /* interned */
    size_t visits;
    int errors;
    int oom;
    int builtin; /* reading the normative types (tosca_normative.yaml) */
    int version; /* of this file: 10, 12 or 13 (tosca_simple_yaml_1_x); 0 for the normative */
    int self;    /* 1 + the node template being read (SELF of its functions), or 0 */
    /* The namespace_prefix of each import of this file (3.6.8): text of the document. */
    const char *prefixes[TOPO_PREFIX_MAX];
    size_t nprefixes;
};

/* Refuses KEY (at N) in a file older than TOSCA 1.VERSION (12, 13), naming the file's
 * version and CLAUSE of 1.3. */
int topo_ld_since(struct topo_ld *ld, const yaml_node_t *n, const char *key, int version,
                  const char *clause);

/* A key that TOSCA 1.0 (VERSION 12) or 1.0 and 1.2 (VERSION 13) do not have. */
struct topo_since {
    const char *key;
    int version;
    const char *clause; /* of 1.3 */
};

/* topo_ld_since() for each key of mapping N found in V (terminated by a NULL key). */
int topo_ld_since_keys(struct topo_ld *ld, const yaml_node_t *n, const struct topo_since *v);

yaml_node_t *topo_ld_node(struct topo_ld *ld, int index);

/* Is N an empty plain scalar (`outputs:` with nothing under it)? */
int topo_ld_empty(const yaml_node_t *n);
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

/* A type's name at N: topo_ld_name(), or a qualified name PREFIX:NAME (3.1.3, 3.6.8). The
 * prefix of an import of this file gives NAME (the imported types share the topology's one
 * namespace); tosca: stays, for the normative short names. An unknown prefix is an error. */
const char *topo_ld_tname(struct topo_ld *ld, const yaml_node_t *n, const char *what);

/* Records PREFIX, an import's namespace_prefix at N, for topo_ld_tname(). */
int topo_ld_prefix(struct topo_ld *ld, const yaml_node_t *n, const char *prefix);

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

/* The scalar keys of mapping N as new strings in *OUT (*NOUT of them); 0 or -ENOMEM. */
int topo_ld_keys(struct topo_ld *ld, const yaml_node_t *n, char ***out, size_t *nout);

/* strdup that counts a failure in LD. */
char *topo_ld_strdup(struct topo_ld *ld, const char *s);

/* What a property definition may be (topology_propdef.c): TOPO_PD_LISTEN allows `listen`
 * (module manifests); TOPO_PD_TOSCA allows every TOSCA type and key (type definitions,
 * inputs), else only the four scalars. */
#define TOPO_PD_LISTEN 1
#define TOPO_PD_TOSCA  2

/* Parses a property definition {type, default, required, description, constraints, ...}. */
int topo_ld_propdef(struct topo_ld *ld, const char *name, const yaml_node_t *n, const char *what,
                    int flags, struct topo_propdef *out);

/* The type named by S, or -1. */
int topo_type_parse(const char *s);

/* ---- one file of a topology being loaded (topology_load.c), perhaps out of a CSAR
 * archive (topology_csar.c) ---- */

#define TOPO_IMPORT_DEPTH 8

struct engine_csar;

struct topo_file {
    const char *dir;            /* imports resolve here; NULL refuses imports */
    const char *name;           /* as it appears in messages */
    int depth;                  /* 0 for the topology file itself */
    const char *key;            /* its real path (in an archive: its entry), or NULL */
    const struct topo_file *up; /* the file that imports it; NULL for the topology file */
    char ***seen;               /* real paths (in an archive: entries) of the files loaded so far */
    size_t *nseen;
    /* A file out of a CSAR archive (topology_csar.c, which the loader calls back through
     * these): the archive, this file's entry, how an import is resolved and read, and how a
     * file's document is loaded. NULL for a file on disk or in memory. */
    struct engine_csar *csar;
    const char *entry;
    int (*import)(struct topo_ld *ld, const struct topo_file *f, const yaml_node_t *fv,
                  const char *rel);
    int (*doc)(struct topo_ld *ld, void *arg);
    /* The values given to the template's inputs (topo_load_root's HOW only), or NULL. */
    const char *inputs, *inputs_name;
    size_t inputs_len;
};

/* Loads the topology from BUF[0..LEN) named NAME, imports resolving in DIR (REAL: the file's
 * real path, or NULL); HOW (may be NULL) gives an archive (its csar, entry, import and doc are
 * used when csar is set) and the values of the inputs. engine_topology_load_buffer()'s
 * contract. */
int topo_load_root(struct engine_topology **out, const char *buf, size_t len, const char *name,
                   const char *dir, const char *real, const struct topo_file *how,
                   struct engine_diag *d);

/* Checks the values given to T's inputs (T->given) and puts them in force, once: called when
 * the template's inputs are read (or after the load, for a template without inputs). An input
 * required without a default needs a value. 0, -EINVAL (in D), -ENOMEM. */
int topo_inputs_given(struct engine_topology *t, struct engine_diag *d);

/* Loads the document of the imported file SUB (a copy of its importer's topo_file with its own
 * name, and dir or entry), one level deeper, from BUF[0..LEN). */
int topo_load_import(struct topo_ld *ld, struct topo_file *sub, const char *buf, size_t len);

/* The file node of the import entry ITEM into *FV (topology_import.c): FILE, {file,
 * repository, namespace_uri, namespace_prefix}, or 1.0's {NAME: FILE or the long form}; a
 * repository is refused (no fetching). 0, or -EINVAL with the error in LD. */
int topo_import_file(struct topo_ld *ld, yaml_node_t *item, yaml_node_t **fv);

/* The directory of PATH, where its imports resolve, as a new string: "/" for a file at the
 * root, "." when PATH names no directory; NULL when memory runs out. */
char *topo_dir_of(const char *path);

/* Whether the import REL (at FV) of F, the file KEY (topo_file.key), is F or one of the files
 * that import F: 0 when not, else an error at FV (an import cycle) and -EINVAL. */
int topo_import_cycle(struct topo_ld *ld, const struct topo_file *f, const yaml_node_t *fv,
                      const char *rel, const char *key);

/* Whether the file KEY (a real path, or an entry) was loaded already: 1; else records it and
 * returns 0 (-ENOMEM). */
int topo_file_seen(const struct topo_file *f, const char *key);

/* The document of the file ARG (a struct topo_file) into the model. */
int topo_load_file_doc(struct topo_ld *ld, void *arg);

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
int topo_ld_propdefs(struct topo_ld *ld, const yaml_node_t *n, const char *what, int flags,
                     struct topo_propdef **out, size_t *nout);
void topo_propdef_clear(struct topo_propdef *p);

/* ---- TOSCA types and values (topology_defs.c, topology_value.c) ---- */

/* Puts the compiled-in normative types, resolved, into T (before any file of the topology).
 * They are parsed once per process (thread-safe) and shared: T's entries are `borrowed`. */
int topo_normative_load(struct engine_topology *t, struct engine_diag *d);

/* Have the normative types been parsed in this process (for the allocation-failure sweep)? */
int topo_normative_ready(void);

/* The section key of KIND ("node_types", ...). */
const char *topo_kind_section(int kind);

/* Parses the definition of type NAME of KIND (key K, body V) into T->tdefs; *OUT gets its
 * index. A node type of the topology also gets its unisec record by the caller. */
int topo_tdef_load(struct topo_ld *ld, int kind, yaml_node_t *k, yaml_node_t *v, int *out);

/* The normative names' prefix of KIND ("tosca.nodes.", ...), or NULL (topology_lookup.c). */
const char *topo_kind_prefix(int kind);

/* The index of type NAME of KIND exactly as written, or -1. */
int topo_tdef_find_exact(const struct engine_topology *t, int kind, const char *name);

/* The index of type NAME of KIND (full name, or a normative type's short name: `Compute`,
 * `tosca:Compute`), or -1. */
int topo_tdef_find(const struct engine_topology *t, int kind, const char *name);

/* Resolves every type's derived_from (same kind, no cycle) and property types. */
int topo_tdefs_resolve(struct engine_topology *t, struct engine_diag *d);

/* Is type I (of T->tdefs) ANCESTOR or derived from it? */
int topo_tdef_is_a(const struct engine_topology *t, int i, const char *ancestor);

/* Whether type I (a group or policy type) admits type OF (a node or group type) as a member or
 * a target: I's list (topo_tdef.vst, else the nearest along derived_from) is empty or names
 * OF or one of its ancestors (TOSCA 1.3 3.7.5, 3.7.6). *LIST gets the list, *N its length. */
int topo_tdef_admits(const struct engine_topology *t, int i, int of, char *const **list, size_t *n);

/* Type I's property (or attribute when ATTR) NAME, inherited or its own, or NULL. */
const struct topo_propdef *topo_tdef_prop(const struct engine_topology *t, int i, const char *name,
                                          int attr);
/* Type I's capability / interface definition NAME, or NULL. */
const struct topo_cap *topo_tdef_cap(const struct engine_topology *t, int i, const char *name);
const struct topo_cap *topo_tdef_iface(const struct engine_topology *t, int i, const char *name);
const struct topo_reqdef *topo_tdef_req(const struct engine_topology *t, int i, const char *name);
/* Whether node type I has a capability named CAP or of capability type CAP (or one derived from
 * it): what a requirement definition's `capability` may name (TOSCA 1.3 3.7.3). */
int topo_tdef_offers(const struct engine_topology *t, int i, const char *cap);
/* Does interface type I have operation OP? */
int topo_tdef_has_op(const struct engine_topology *t, int i, const char *op);

/* Calls FN for every property (ATTR: attribute) of type I, the most derived definition of each
 * name once. Returns the first non-zero result of FN. */
int topo_tdef_props_each(const struct engine_topology *t, int i, int attr,
                         int (*fn)(const struct topo_propdef *p, void *arg), void *arg);

/* Is S a TOSCA primitive or collection type name (string, integer, ..., list, map)? */
int topo_type_primitive(const char *s);

/* Checks value V against definition P (type, entry_schema, constraints), naming WHAT. A value
 * that is an intrinsic function is checked as a function. */
int topo_value_check(struct topo_ld *ld, const yaml_node_t *v, const struct topo_propdef *p,
                     const char *what);

/* Is V an intrinsic function call ({get_input: ...}, ...)? Checks its arguments when so and
 * returns 1 (0: not a function, -EINVAL: a bad call). topo_is_function() only tells. */
int topo_function_check(struct topo_ld *ld, const yaml_node_t *v, const char *what);
int topo_is_function(struct topo_ld *ld, const yaml_node_t *v);

/* Parses a list of constraint clauses (3.6.3) checked against TYPE. */
int topo_ld_constraints(struct topo_ld *ld, const yaml_node_t *n, const char *type,
                        const char *what, struct topo_cons **out, size_t *nout);
void topo_cons_free(struct topo_cons *c, size_t n);

/* ---- the topology template beyond node templates (topology_template.c) ---- */

/* Records function FUNCTION's call (its arguments ARGS) for topo_functions_check(). */
int topo_ref_add(struct topo_ld *ld, const yaml_node_t *args, const char *function);

/* Checks every recorded function call against the model, once every template is read and
 * requirements are linked: its entity, and the property, attribute, capability, interface
 * and operation it names, along `host` for HOST (topology_function.c). */
int topo_functions_check(struct engine_topology *t, struct engine_diag *d);

/* Evaluates function V at load when all it needs is known (4.3: concat, join and token of
 * constants and of inputs with values): *OUT gets the value (caller frees) and 1 is returned;
 * 0 when it is known only at run time (then kept); -EINVAL (errors naming WHAT) or -ENOMEM. */
int topo_function_eval(struct topo_ld *ld, const yaml_node_t *v, const char *what, char **out);

/* Whether V (a value or a function, nested ones included) takes get_input of a secret input. */
int topo_function_secret(struct topo_ld *ld, const yaml_node_t *v);

/* Records the substitution mapping of topology template TT (of the topology file or of an
 * import, whose template is otherwise not read), if it has one (topology_submap.c). */
int topo_submap_record(struct topo_ld *ld, const yaml_node_t *tt);

/* Checks every recorded substitution mapping against its node type, once types are resolved
 * (3.8.13): each required property without a default is an input or is mapped; each mapped
 * property is the type's, and an input it names exists. */
int topo_submaps_check(struct engine_topology *t, struct engine_diag *d);

/* A node template's TOSCA parts (capabilities, attributes, interfaces, artifacts, node_filter,
 * copy, directives) in V; N's type is resolved. */
int topo_node_tosca(struct topo_ld *ld, struct topo_node *n, yaml_node_t *v);

/* Property NAME (key K, value V) of node N that is not one of its scalars: a TOSCA property
 * of its type, checked. Returns 1 when the type has it, 0 when not, or -EINVAL/-ENOMEM. */
int topo_node_tosca_prop(struct topo_ld *ld, struct topo_node *n, const char *name, yaml_node_t *k,
                         yaml_node_t *v);

/* Every required TOSCA property of N's type has a value among N's PROPS (a mapping or NULL). */
int topo_node_tosca_required(struct topo_ld *ld, struct topo_node *n, yaml_node_t *props,
                             yaml_node_t *at);

/* Each node template's requirement assignments against its type's requirement definitions
 * (3.7.3): at most the occurrences' maximum of each; at least the minimum of one it assigns;
 * one it leaves out is the orchestrator's to fulfil (TOSCA 2.0 8.7.4: an implicit, dangling
 * assignment), refused for a node unisec runs (it selects no target), but `host` (placement).
 * Once requirements are linked. */
int topo_nodes_reqs_check(const struct engine_topology *t, struct engine_diag *d);

/* A node filter (3.6.5): {properties: [...], capabilities: [...]}, naming WHAT. */
int topo_ld_node_filter(struct topo_ld *ld, const yaml_node_t *f, const char *what);

/* A requirement's long form (3.8.2): {node, capability, relationship, node_filter,
 * occurrences}. Sets *NODE (or NULL), *REL (or NULL), *RELN (its node) and *COUNT (its
 * occurrences, 1 without). */
int topo_nreq_long(struct topo_ld *ld, const char *node, const char *name, yaml_node_t *v,
                   yaml_node_t **target, const char **rel, yaml_node_t **reln, long *count);

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
