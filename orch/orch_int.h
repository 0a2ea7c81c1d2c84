/*
 * orch_int.h — the inside of the orchestrator, shared by the files of orch/ and their tests.
 * Other parts of unisec use orch.h.
 *
 * The desired state is a `struct orch_want`: immutable once made, reference-counted, a deep
 * copy of what the interpreters derived (so the mount's snapshot may go away) with the
 * compiled policies. The reconcile thread compares each node's running instance with it.
 */
#ifndef UNISEC_ORCH_INT_H
#define UNISEC_ORCH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "builder/builder.h"
#include "common/acl_lookup.h"
#include "orch.h"

/* A policy compiled for the guests (engine_acl_compile), shared between wants while its
 * rules do not change. */
struct orch_blob {
    unsigned refs; /* atomic */
    char *name;    /* the policy's name */
    void *data;
    size_t len;
    uint64_t version; /* the version compiled into it */
};

/* The name of the blob that holds every policy (the pull PDP's). */
#define ORCH_POLICY_ALL "*"

struct orch_blob *orch_blob_ref(struct orch_blob *b);
void orch_blob_put(struct orch_blob *b);

/* The blob of policy NAME among V[0..N), or NULL. */
struct orch_blob *orch_policy_find(struct orch_blob *const *v, size_t n, const char *name);

/*
 * Compiles policy NAME (NULL: every policy, named ORCH_POLICY_ALL) of ACL at VERSION into *OUT.
 * When OLD (may be NULL) holds the same rules, *OUT is a new reference to OLD instead (its version
 * stays). -EINVAL with a message when ACL has no rule of NAME.
 */
int orch_policy_compile(struct orch_blob **out, const struct engine_acl *acl, const char *name,
                        struct orch_blob *old, uint64_t version, struct engine_diag *d);

/* One level of a node: the image that realises it. */
struct orch_level {
    char *level;
    enum engine_pdp pdp;
    char *policy;    /* NULL when no access control */
    size_t nmodules; /* owned, with every string */
    struct builder_module *modules;
    struct orch_blob *blob; /* the policy's compiled rules (counted), or NULL */
};

struct orch_want_node {
    char *name;
    size_t current; /* index into levels */
    size_t nlevels;
    struct orch_level *levels;
};

struct orch_want {
    unsigned refs; /* atomic */
    uint64_t gen;  /* set by orch_apply: increases with every want */
    size_t nnodes;
    struct orch_want_node *nodes; /* the unikernel nodes, in topology order */
    size_t npolicies;
    struct orch_blob **policies; /* counted */
    struct orch_blob *pull;      /* counted: every policy, when a node has a pull PDP */
    char *head, *who, *what;     /* the change it realises */
};

/*
 * Copies WANT into a new *OUT (refs 1). Policies are compiled at NEXT_VERSION, except those
 * whose rules OLD (may be NULL) already holds, or every policy of OLD when WANT says the
 * policy did not change.
 */
int orch_want_make(struct orch_want **out, const struct orch_desired *want,
                   const struct orch_want *old, uint64_t next_version, struct engine_diag *d);
struct orch_want *orch_want_ref(struct orch_want *w);
void orch_want_put(struct orch_want *w);

/* The node NAME of W, or NULL. */
struct orch_want_node *orch_want_node(const struct orch_want *w, const char *name);

/* The builder's spec of level L of NODE for TARGET (borrowing from L). */
void orch_level_spec(struct builder_spec *s, const char *node, const struct orch_level *l,
                     const char *target);

/* ---- the pull PDP (orch_pdp.c) ---- */

struct orch_pdp;

/* Starts a pull PDP on HOST (IPv4) and PORT (0: chosen by the kernel); it denies every query
 * until the first orch_pdp_update(). */
int orch_pdp_new(struct orch_pdp **out, const char *host, uint16_t port, struct engine_diag *d);
void orch_pdp_free(struct orch_pdp *p);
int orch_pdp_port(const struct orch_pdp *p);
/* How long orch_pdp_update() waits for every guest's acknowledgement (a hung guest is killed
 * by the supervisor within its hang_ms, 5 s, which ends its stream). */
#define ORCH_PDP_TAKE_MS 5000

/* Makes B (every policy, compiled; a new reference is taken) the one decisions are taken on,
 * and tells every connected guest its version (a guest connecting later is told at once).
 * Returns 0 once every connected guest has acknowledged it (its cache holds no older
 * answer) or the PDP is stopping, -ETIMEDOUT when some guest has not within
 * ORCH_PDP_TAKE_MS (the PDP decides on B all the same). */
int orch_pdp_update(struct orch_pdp *p, struct orch_blob *b);

#endif
