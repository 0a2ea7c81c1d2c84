/*
 * topology.h — the SecTOSCA topology (engine/TOPOLOGY.md is its reference): loading a
 * topology file and the module catalogue it is built from, walking its nodes, the run-time
 * state kept beside it (each node's current security level and property overrides), and
 * what the interpreters derive from topology + state + target (NetSoft 2019, eq. 3-5).
 *
 * Ownership: every `struct engine_topology*`, `struct engine_topology_state*` and
 * `struct engine_topology_derived*` is made by one function here and freed by its `_free`
 * (which accepts NULL). Every `const char *` and every `const struct ...*` these functions
 * return is borrowed from the object it was read from and stays valid until that object is
 * freed; none of them is ever modified after it is returned.
 *
 * Errors: functions return 0 or a negative errno (-EINVAL: invalid input, with every error
 * appended to DIAG as FILE:LINE:COL and a sentence; -ENOENT: no such node, property or
 * file; -ENOMEM; -EIO). Every DIAG may be NULL when the caller does not want the messages.
 * Loading is all-or-nothing: on failure *OUT is NULL.
 *
 * Thread-safety: a loaded topology, a state and a derived result are immutable except through
 * the state setters; any number of threads may read them concurrently, a setter needs the
 * caller's exclusive access to that state.
 */
#ifndef UNISEC_ENGINE_TOPOLOGY_H
#define UNISEC_ENGINE_TOPOLOGY_H

#include <stddef.h>

#include "diag.h"

/* Largest topology or imported file read, in bytes. */
#define ENGINE_TOPOLOGY_FILE_MAX (4u << 20)

/* The environment variable that overrides the compiled-in module catalogue directory. */
#define ENGINE_TOPOLOGY_MODULES_ENV "UNISEC_MODULES_DIR"

/* The execution environment of the unikernels (DESIGN.md section 4). */
enum engine_target {
    ENGINE_TARGET_HVT, /* KVM, unisec's tender */
    ENGINE_TARGET_SPT, /* seccomp-confined process */
};

/* "hvt" / "spt"; and the reverse (returns -EINVAL for another name). */
const char *engine_target_name(enum engine_target t);
int engine_target_parse(enum engine_target *out, const char *name);

/* Scalar property types (TOSCA's names). */
enum engine_topology_type {
    ENGINE_TOPOLOGY_STRING,
    ENGINE_TOPOLOGY_INTEGER,
    ENGINE_TOPOLOGY_FLOAT,
    ENGINE_TOPOLOGY_BOOLEAN,
};

/* "string", "integer", "float", "boolean". */
const char *engine_topology_type_name(enum engine_topology_type t);

/* A loaded topology. Opaque. */
struct engine_topology;

/*
 * The directory of the module catalogue (guest/modules): $UNISEC_MODULES_DIR when set and
 * not empty, else engine_share_dir()'s guest/modules (installed, or the source tree's).
 * Borrowed (static or the environment's).
 */
const char *engine_topology_modules_dir(void);

/*
 * Loads the topology file PATH, the files it imports (relative to PATH's directory) and the
 * module catalogue (engine_topology_modules_dir()), and checks the model: types, properties,
 * levels, security functions, requirements between nodes, groups. Messages name files as
 * given (PATH itself, imports as PATH's directory joined with the import). This does not run
 * the interpreters: engine_topology_derive() checks what depends on the target.
 * On success *OUT is the topology (free with engine_topology_free()).
 */
int engine_topology_load_file(struct engine_topology **out, const char *path,
                              struct engine_diag *diag);

/*
 * The same from BUF[0..LEN) (borrowed; need not be NUL-terminated), named NAME in messages;
 * imports resolve relative to BASE_DIR (NULL: imports are refused). For the mount, which
 * validates a new topology.yaml before accepting it.
 */
int engine_topology_load_buffer(struct engine_topology **out, const char *buf, size_t len,
                                const char *name, const char *base_dir, struct engine_diag *diag);

struct engine_csar;

/*
 * The same from the CSAR archive C (csar.h): its entry definitions, imports resolved inside
 * the archive (one that leaves it is refused), every artifact file and operation
 * implementation a node template names required to be in it, and an archive without
 * TOSCA-Metadata refused for version 1.0. Messages name files "ARCHIVE/ENTRY".
 */
int engine_topology_load_csar(struct engine_topology **out, struct engine_csar *c,
                              struct engine_diag *diag);

/*
 * Values given to a template's inputs: TEXT[0..LEN), a YAML mapping NAME: VALUE (a store's
 * inputs.yaml, what `unisec check --input/--inputs` make), named NAME in messages; checked as
 * engine_topology_load_inputs() checks them.
 */
struct engine_topology_given {
    const char *text;
    size_t len;
    const char *name;
};

/*
 * engine_topology_load_file() and engine_topology_load_csar() with GIVEN's values for the
 * template's inputs (as engine_topology_load_inputs(): every input required without a default
 * needs one); GIVEN NULL: as those, where no input needs a value.
 */
int engine_topology_load_file_given(struct engine_topology **out, const char *path,
                                    const struct engine_topology_given *given,
                                    struct engine_diag *diag);
int engine_topology_load_csar_given(struct engine_topology **out, struct engine_csar *c,
                                    const struct engine_topology_given *given,
                                    struct engine_diag *diag);

/*
 * engine_topology_load_buffer() with values for the template's inputs: INPUTS[0..ILEN) (a
 * store's inputs.yaml) is a YAML mapping NAME: VALUE, named INAME in messages; empty, it gives
 * no value. Each value must be of an input the template declares and valid for its
 * definition (type, entry_schema, constraints; a value, not a function); it takes the place of
 * the input's default, so get_input resolves to it. An input that is required (TOSCA's
 * default) and has no default must be given a value. INPUTS NULL: as
 * engine_topology_load_buffer(), where no input needs a value.
 */
int engine_topology_load_inputs(struct engine_topology **out, const char *buf, size_t len,
                                const char *name, const char *base_dir, const char *inputs,
                                size_t ilen, const char *iname, struct engine_diag *diag);

/*
 * The text of an inputs.yaml: FILE[0..FLEN) (a YAML mapping NAME: VALUE named FNAME in
 * messages; NULL: none) with each of ASSIGN[0..N) ("NAME=VALUE", VALUE one line read as YAML:
 * `cpus=4`, `ports=[80, 443]`, `user=web`; `NAME=` is the empty string) set in it, in a new
 * buffer (*OUT, caller frees; *LEN bytes). Without ASSIGN, FILE as it is (comments kept);
 * with, the mapping written anew. Only the form is checked: engine_topology_load_inputs()
 * checks the values. 0, -EINVAL (in DIAG), -ENOMEM.
 */
int engine_topology_inputs_text(char **out, size_t *len, const char *file, size_t flen,
                                const char *fname, char *const *assign, size_t n,
                                struct engine_diag *diag);

/*
 * engine_topology_inputs_text() of one input with the rest of FILE's text kept: NAME set to
 * VALUE (one line of YAML, as `--input NAME=VALUE` takes it) or, VALUE NULL, removed, every
 * other line (comments, order, layout) as it was: a value on its key's line is replaced there
 * (a comment after it kept), a value over several lines replaced by one line, a new name
 * appended. When the text's form does not allow that (not a block mapping, a key that
 * shares its line, an anchor the change would lose), or the edited text would not read as
 * FILE with that one change, the mapping is written anew (comments lost). Only the form is
 * checked. 0, -EINVAL (in DIAG), -ENOMEM.
 */
int engine_topology_inputs_edit(char **out, size_t *len, const char *file, size_t flen,
                                const char *fname, const char *name, const char *value,
                                struct engine_diag *diag);

/* The template's inputs: how many, and the name of the I-th (NULL for one that failed). */
size_t engine_topology_input_count(const struct engine_topology *t);
const char *engine_topology_input_name(const struct engine_topology *t, size_t i);

/*
 * The value of T's input NAME in force, one line of YAML and a newline, as `--input NAME=VALUE`
 * takes it, in a new buffer (*OUT, caller frees; *LEN bytes): the one GIVEN[0..GLEN) (the
 * inputs.yaml T was loaded with; NULL: none) gives, collections in flow style; else the
 * default of a scalar input (canonical); else empty. 0, -ENOENT (T has no input NAME),
 * -ENOMEM.
 */
int engine_topology_input_show(char **out, size_t *len, const struct engine_topology *t,
                               const char *given, size_t glen, const char *name);

void engine_topology_free(struct engine_topology *t);

/* "tosca_simple_yaml_1_0", "_1_2" or "_1_3", as the topology declares it. */
const char *engine_topology_version(const struct engine_topology *t);

/* One scalar property of a node: its declared type and its value in the topology. */
struct engine_topology_prop {
    const char *name;
    enum engine_topology_type type;
    const char *value; /* canonical text (see TOPOLOGY.md), or NULL when it has none */
    /* Set by a function of a secret input (TOPOLOGY.md 1.6): what is shown instead of the
     * value, the function as written on one line of YAML; NULL otherwise. */
    const char *secret;
};

/* A node template, read-only. */
struct engine_topology_node {
    const char *name;
    const char *type;
    size_t nlevels;
    const char *const *levels; /* the levels it declares; levels[0] is "default" */
    size_t nprops;
    const struct engine_topology_prop *props; /* its scalar properties, sorted by name */
    /* Placement (TOPOLOGY.md section 1.10): for a unikernel node, the tosca.nodes.Compute node
     * its `host` requirement names and that host's address; for a Compute node, NULL and its
     * own address (attribute private_address). NULL when there is none. */
    const char *host;
    const char *address;
};

size_t engine_topology_node_count(const struct engine_topology *t);

/* Node I (0 <= I < count), in the order of the topology file. */
const struct engine_topology_node *engine_topology_node_at(const struct engine_topology *t,
                                                           size_t i);

/* The node named NAME, or NULL. */
const struct engine_topology_node *engine_topology_node_find(const struct engine_topology *t,
                                                             const char *name);

/*
 * Whether unisec runs node N (of a loaded topology): 1 when its type is a unikernel type (it
 * has unikernel modules), 0 for a node that stays in the model and is not run (a Compute,
 * Database, SoftwareComponent, ... node: TOPOLOGY.md section 1.5).
 */
int engine_topology_node_runs(const struct engine_topology_node *n);

/*
 * The node template NODE of the topology text BUF[0..BLEN) (as the store holds it) as YAML:
 * its type, properties, capabilities, requirements, interfaces, artifacts, ... as written
 * (anchors resolved, comments and layout not kept), in a new buffer (*OUT, caller frees; *LEN
 * bytes). With T (BUF loaded, perhaps with values for its inputs; may be NULL), get_input of a
 * scalar input with a value in force is that value; every other function is kept. -ENOENT
 * when there is no such node template, -EINVAL when BUF is not YAML, -ENOMEM.
 */
int engine_topology_node_template(char **out, size_t *len, const char *buf, size_t blen,
                                  const char *node, const struct engine_topology *t);

/* The index of LEVEL in N->levels, or -ENOENT. */
int engine_topology_node_level_index(const struct engine_topology_node *n, const char *level);

/* N's property NAME, or NULL. */
const struct engine_topology_prop *engine_topology_node_prop(const struct engine_topology_node *n,
                                                             const char *name);

/*
 * Checks TEXT as a value of type TYPE and writes its canonical form into a new string
 * (*OUT, caller frees). Returns 0, -EINVAL (with *WHY a static sentence saying what was
 * expected) or -ENOMEM.
 */
int engine_topology_value_parse(char **out, enum engine_topology_type type, const char *text,
                                const char **why);

struct engine_acl;

/*
 * Checks that every policy named by an access_control security function of T has at least one
 * rule in ACL (a policy set loaded by engine_acl_load_dir()). Returns 0 or -EINVAL with one
 * error per missing policy, at the security function.
 */
int engine_topology_check_policies(const struct engine_topology *t, const struct engine_acl *acl,
                                   struct engine_diag *diag);
/* The same, asking HAS(ARG, POLICY) whether a policy has a rule (a policy kept by file). */
int engine_topology_check_policies_fn(const struct engine_topology *t,
                                      int (*has)(const void *arg, const char *policy),
                                      const void *arg, struct engine_diag *diag);

/* ---- state: current levels and property overrides (store files state/levels and
 * state/properties; TOPOLOGY.md gives their line format) ---- */

struct engine_topology_state;

/* A state for T with every node at level "default" and no override. T is borrowed and must
 * outlive the state. */
int engine_topology_state_new(struct engine_topology_state **out, const struct engine_topology *t);
void engine_topology_state_free(struct engine_topology_state *s);

/*
 * Parses the contents of state/levels (LEVELS[0..LLEN)) and state/properties
 * (PROPS[0..PLEN)) for T; either may be NULL (empty). Messages name the files
 * "state/levels" and "state/properties". Every line is checked as the setters check it.
 * On failure *OUT is NULL.
 */
int engine_topology_state_parse(struct engine_topology_state **out, const struct engine_topology *t,
                                const char *levels, size_t llen, const char *props, size_t plen,
                                struct engine_diag *diag);

/*
 * A state for NEW_T keeping from OLD what still applies to it: the level of every node that
 * NEW_T still has with that level, every override whose node and property still exist with a
 * value valid for the property's (possibly new) type. Other entries are dropped, each one
 * described by an entry in DIAG (without position; DIAG may be NULL): a caller shows them as
 * warnings, since the carried state is valid.
 */
int engine_topology_state_carry(struct engine_topology_state **out,
                                const struct engine_topology *new_t,
                                const struct engine_topology_state *old, struct engine_diag *diag);

/* The texts of state/levels and state/properties (new strings, *LEN without the NUL; caller
 * frees). Parsing them back gives an equal state. */
int engine_topology_state_format_levels(const struct engine_topology_state *s, char **out,
                                        size_t *len);
/* The same text of S made from FROM's: FROM_TEXT[0..FROM_LEN) must be what the function above
 * gave for FROM, a state of S's topology (else S is formatted whole). Only the lines of the nodes
 * whose level differs are written again: a level write at 1,000 nodes reads one node. */
int engine_topology_state_format_levels_from(const struct engine_topology_state *s,
                                             const struct engine_topology_state *from,
                                             const char *from_text, size_t from_len, char **out,
                                             size_t *len);
int engine_topology_state_format_properties(const struct engine_topology_state *s, char **out,
                                            size_t *len);

/* NODE's current level, or NULL when T has no such node. */
const char *engine_topology_state_level(const struct engine_topology_state *s, const char *node);

/* The current level of node I of the state's topology (engine_topology_node_at()'s order),
 * without a lookup by name: for a caller that walks every node. NULL when I is out of range. */
const char *engine_topology_state_level_at(const struct engine_topology_state *s, size_t i);

/* The first node at or after I (engine_topology_node_at()'s order) whose level differs between A
 * and B, states of one topology, read from their level indexes only (a level write at 1,000
 * nodes finds its node without reading every node); the node count when none does. I itself when
 * A and B are of different topologies. */
size_t engine_topology_state_level_next_change(const struct engine_topology_state *a,
                                               const struct engine_topology_state *b, size_t i);

/*
 * Sets NODE's level. -ENOENT when there is no such node; -EINVAL when LEVEL is not one the
 * node declares, with a message in DIAG naming the allowed values ("level 'x' of node web:
 * expected default or critical"). DIAG may be NULL.
 */
int engine_topology_state_set_level(struct engine_topology_state *s, const char *node,
                                    const char *level, struct engine_diag *diag);

/*
 * NODE's property NAME as it is in force: the override if any, else the topology's value.
 * NULL when the property has neither, or when there is no such node or property.
 */
const char *engine_topology_state_property(const struct engine_topology_state *s, const char *node,
                                           const char *name);
/* The same as a reader is shown it: a value a secret input gives (the topology's, not an
 * override) reads as its engine_topology_prop.secret, never in the clear. */
const char *engine_topology_state_property_shown(const struct engine_topology_state *s,
                                                 const char *node, const char *name);

/*
 * Overrides NODE's property NAME with VALUE, checked against the property's type and stored in
 * canonical form. -ENOENT for an unknown node or property (message in DIAG), -EINVAL for a
 * value of the wrong type (message says the type expected). Setting the topology's own value
 * removes the override.
 */
int engine_topology_state_set_property(struct engine_topology_state *s, const char *node,
                                       const char *name, const char *value,
                                       struct engine_diag *diag);

/* ---- what the interpreters derive (SecTOSCA eq. 3-4, UniTOSCA eq. 5) ---- */

/* Where a node's access-control decisions are taken (NetSoft 2019, section VI). */
enum engine_pdp {
    ENGINE_PDP_NONE,     /* no access control at this level */
    ENGINE_PDP_INTERNAL, /* rules compiled into the image */
    ENGINE_PDP_PUSH,     /* rules pushed to the running instance */
    ENGINE_PDP_PULL,     /* the instance asks the orchestrator */
};

/* "none", "internal", "push", "pull". */
const char *engine_pdp_name(enum engine_pdp p);

/* One configuration value of a module (a manifest property, or a value the engine derives). */
struct engine_topology_param {
    const char *name;
    enum engine_topology_type type;
    const char *value;  /* canonical text */
    const char *secret; /* the value is a secret input's: what is shown instead, or NULL */
};

/* A module of an image with its configuration. */
struct engine_topology_module {
    const char *name;
    size_t nparams;
    const struct engine_topology_param *params; /* in the manifest's order */
};

/* What one node runs at one level: P_UG's entry (eq. 5) and P_SO's (eq. 3). */
struct engine_topology_image {
    const char *level;
    size_t nfunctions;
    const char *const *functions; /* the security functions in force, in mechanism order */
    size_t nmodules;
    const struct engine_topology_module *modules; /* ordered: every provider before its users */
    size_t nenv;
    const char *const *env; /* capabilities taken from the environment, sorted */
    enum engine_pdp pdp;
    const char *policy;          /* the access-control policy's name, or NULL */
    const char *access_function; /* the security function deciding access, or NULL */
    int authentication;          /* 1 when requests are authenticated (authn) */
    long long rate_rps;          /* rate limit: requests per second, 0 when none */
    long long rate_burst;        /* rate limit: burst (>= rate_rps when a limit is set) */
    int hardware_isolation;      /* 1 when a function demands hardware isolation */
    int tls;                     /* 1 when a confidentiality function demands TLS */
    int tls_plain;               /* with tls: plain HTTP is served too (https_port apart) */
    const char *artifact;        /* deployment artifact path, e.g. "images/web/default.hvt";
                                    NULL when the node is not a unikernel */
};

/* Everything derived for one node. */
struct engine_topology_plan {
    const char *node;
    const char *type;
    size_t current; /* index into images of the node's current level */
    size_t nimages;
    const struct engine_topology_image *images; /* one per level, in the node's level order */
    size_t nports;
    const int *ports;    /* listening ports, ascending (from properties marked listen) */
    const char *host;    /* the Compute node it is placed on, or NULL (no hosts declared) */
    const char *address; /* that host's address (where it listens), or NULL */
};

/* The interpreters' result for one (topology, state, target). Opaque. */
struct engine_topology_derived;

/*
 * Runs the SecTOSCA interpreter (isEnforceable for every security function of every node at
 * every level on TARGET) and the UniTOSCA interpreter (every module requirement met by another
 * module or the environment) and derives the plans and the five artifacts. S may be NULL (every
 * node at default, no override). T and S are only read during the call; the result holds its
 * own copies. Every failure is in DIAG, naming node, level, function and what is missing.
 */
int engine_topology_derive(struct engine_topology_derived **out, const struct engine_topology *t,
                           const struct engine_topology_state *s, enum engine_target target,
                           struct engine_diag *diag);

/* The same checks and plans without the five artifacts (engine_topology_derived_artifact()
 * then returns NULL): several times cheaper, for a caller that needs the artifacts only when
 * someone reads them. */
int engine_topology_derive_plans(struct engine_topology_derived **out,
                                 const struct engine_topology *t,
                                 const struct engine_topology_state *s, enum engine_target target,
                                 struct engine_diag *diag);

void engine_topology_derived_free(struct engine_topology_derived *x);

size_t engine_topology_derived_count(const struct engine_topology_derived *x);
/* Plan I, in the topology's node order; or the plan of NODE (NULL when absent). */
const struct engine_topology_plan *
engine_topology_derived_plan(const struct engine_topology_derived *x, size_t i);
const struct engine_topology_plan *
engine_topology_derived_find(const struct engine_topology_derived *x, const char *node);

/* The derived artifacts: what `unisec translate` writes and the mount serves under tosca/. */
enum engine_topology_artifact {
    ENGINE_ARTIFACT_UNITOSCA, /* unitosca.yaml: D_uniTOSCA (eq. 3) */
    ENGINE_ARTIFACT_TOSCA,    /* tosca.yaml: D_TOSCA, native TOSCA (eq. 5) */
    ENGINE_ARTIFACT_P_SO,     /* p_so.json: the security orchestrator's policy (eq. 3) */
    ENGINE_ARTIFACT_P_UG,     /* p_ug.json: the unikernel generation policy (eq. 5) */
    ENGINE_ARTIFACT_DOT,      /* topology.dot: Graphviz */
    ENGINE_ARTIFACT_COUNT,
};

/* The artifact's file name ("unitosca.yaml", ...), or NULL for a value out of range. */
const char *engine_topology_artifact_name(enum engine_topology_artifact a);

/* Artifact A of X as NUL-terminated text (borrowed from X; *LEN, when LEN is not NULL, gets
 * its length), or NULL (and 0) when X was made by engine_topology_derive_plans(). The five
 * reflect the state given to engine_topology_derive(). */
const char *engine_topology_derived_artifact(const struct engine_topology_derived *x,
                                             enum engine_topology_artifact a, size_t *len);

#endif
