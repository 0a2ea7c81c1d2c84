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

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/builder.h"
#include "common/acl_lookup.h"
#include "common/acl_patch.h"
#include "common/sha256.h"
#include "orch.h"
#include "runtime/supervisor.h"

/* A policy compiled for the guests, shared between wants while its rules do not change: a
 * whole blob, or a whole blob (its base's) and a patch over it (contract/acl_patch.h). */
struct orch_blob {
    unsigned refs; /* atomic */
    char *name;    /* the policy's name */
    void *data;    /* a whole blob: this version's, or with PATCH the base's (BASE owns it) */
    /* When not NULL, the index's share of DATA (engine_acl_index_base_share()), not malloc'd */
    struct engine_acl_base *owner;
    size_t len;
    uint64_t version;      /* the version in force with it */
    uint64_t data_version; /* DATA's: VERSION, or the base's */
    void *patch;           /* over DATA, to VERSION; NULL when DATA is this version */
    size_t patch_len;
    struct orch_blob *base; /* with PATCH: the blob that owns DATA (counted) */
    char base_head[41];     /* the store commit whose rules DATA holds; "" when not committed */
    int whole;              /* compiled whole, not kept as an index (`unisec verify`'s) */
    /* The policy's index (engine_acl_index), which the next version's compile takes over
     * (orch_policy_compile runs on one thread): NULL for a blob compiled whole. */
    struct engine_acl_index *index;
    /* The new base of INDEX being compiled on a thread of its own (orch_rebase.c), which
     * travels with INDEX: NULL when none is. */
    struct orch_rebase *rebase;
};

/*
 * A policy's new base compiled off the thread that applies changes (orch_rebase.c): the
 * index of WANT's rules (ACL_GET on its own thread, WANT's ACL_ARG held) for policy NAME (NULL:
 * every policy) as they are at VERSION, the version WANT's commit HEAD is compiled at; the base
 * is a version of its own, VERSION + 1 (orch_rebase_version(): the next change's version must
 * be above it, orch_blob_next_version()). The index records its changes meanwhile
 * (engine_acl_index_record()). Once the thread is done, orch_rebase_take() moves X onto the
 * new base (the changes since replayed) and gives its bytes (*DATA of *LEN, malloc'd), its
 * version and HEAD (41 bytes) and frees *J: 1; while it runs: 0, *J kept; when it failed or
 * is stale (X compiled a base since): a negative errno, *J freed, X unchanged.
 * orch_rebase_ready() says whether it is done and X is still at VERSION (no change since: the
 * new base is the rules in force, to deliver whole). orch_rebase_notify() has READY(ARG) called
 * once the thread is done (at once when it is), on the thread's own, once per thread (a later
 * call only changes what is called). orch_rebase_free() waits
 * for the thread.
 */
struct orch_rebase;
int orch_rebase_start(struct orch_rebase **out, const struct orch_desired *want, const char *name,
                      struct engine_acl_index *x, uint64_t version);
int orch_rebase_take(struct orch_rebase **j, struct engine_acl_index *x,
                     struct engine_acl_base **owner, const void **data, size_t *len,
                     uint64_t *version, char head[41]);
int orch_rebase_ready(const struct orch_rebase *j, uint64_t version);
uint64_t orch_rebase_version(const struct orch_rebase *j);
void orch_rebase_notify(struct orch_rebase *j, void (*ready)(void *arg), void *arg);
void orch_rebase_free(struct orch_rebase *j);

/* The name of the blob that holds every policy (the pull PDP's). */
#define ORCH_POLICY_ALL "*"

struct orch_blob *orch_blob_ref(struct orch_blob *b);
void orch_blob_put(struct orch_blob *b);
/* The lowest version the next change of B's policy may take: above B's and its new base's. */
uint64_t orch_blob_next_version(const struct orch_blob *b);

/* The blob of policy NAME among V[0..N), compiled whole or not as WHOLE says, or NULL. */
struct orch_blob *orch_policy_find(struct orch_blob *const *v, size_t n, const char *name,
                                   int whole);

/*
 * Compiles policy NAME (NULL: every policy, named ORCH_POLICY_ALL) of WANT's rules at VERSION
 * into *OUT.
 * When OLD (may be NULL) holds the same rules, *OUT is a new reference to OLD instead (its version
 * stays). When OLD has an index and WHOLE is 0, the rules that changed since OLD make a patch
 * over OLD's base (WANT's change applied to the index, or the rule sets compared) or over the
 * new base compiled on the side once it is ready (orch_rebase.c), unless the index compiles a
 * new base (engine_acl_index_sync); WHOLE asks
 * for a whole blob of VERSION (an image that links its rules in). -EINVAL with a message when
 * ACL has no rule of NAME.
 */
int orch_policy_compile(struct orch_blob **out, const struct orch_desired *want, const char *name,
                        struct orch_blob *old, int whole, uint64_t version, struct engine_diag *d);

/* One level of a node: the image that realises it. */
struct orch_level {
    char *level;
    int tls; /* the image has the tls module: it needs the node's TLS credentials */
    enum engine_pdp pdp;
    char *policy;    /* NULL when no access control */
    size_t nmodules; /* owned, with every string */
    struct builder_module *modules;
    struct orch_blob *blob; /* the policy's compiled rules (counted), or NULL */
};

struct orch_want_node {
    char *name;
    char *address;  /* where it listens: its host's address (NULL: the daemon's listen_host) */
    size_t current; /* index into levels */
    void *tls;      /* the node's TLS credentials (wiped when freed), or NULL */
    size_t tls_len;
    uint8_t tls_sum[ENGINE_SHA256_LEN]; /* SHA-256 of TLS, to notice new credentials */
    char *tls_why;                      /* without credentials: why not */
    size_t nlevels;
    struct orch_level *levels;
};

struct orch_want {
    unsigned refs; /* atomic */
    uint64_t gen;  /* set by orch_apply: increases with every want */
    size_t nnodes;
    struct orch_want_node *nodes; /* the unikernel nodes this daemon runs, in topology order */
    /* Every unikernel node placed on a host (none in a topology without hosts): where it
     * runs, so that an upstream on another host is reached there and the status of a node
     * of another host says where it is. */
    struct orch_place {
        char *node, *host, *address;
        int here; /* in NODES */
    } * places;
    size_t nplaces;
    size_t npolicies;
    struct orch_blob **policies; /* counted */
    struct orch_blob *pull;      /* counted: every policy, when a node has a pull PDP */
    char *head, *who, *what;     /* the change it realises */
    /* Every node's certificate chain (public) and the one it had before (NULL: none), kept
     * from want to want: a load balancer pins the keys of both, so that it reaches the
     * backend's instance on either side of a rotation (engine/TOPOLOGY.md section 1.4). */
    struct orch_cert {
        char *node, *pem[2];
        size_t len[2];
    } * certs;
    size_t ncerts;
};

/*
 * Copies WANT into a new *OUT (refs 1), with only the nodes placed on HOST_NAME in its
 * nodes (every node when HOST_NAME is NULL). Policies are compiled at NEXT_VERSION, except those
 * whose rules OLD (may be NULL) already holds, or every policy of OLD when WANT says the
 * policy did not change.
 */
int orch_want_make(struct orch_want **out, const struct orch_desired *want,
                   const struct orch_want *old, uint64_t next_version, const char *host_name,
                   struct engine_diag *d);

/*
 * The version of W of its own that delivers the new bases compiled on the side that are ready
 * with no change since (orch_rebase_ready()): *OUT is W with each such policy's blob replaced by
 * a whole blob of its new base (which takes the index over), for push-mode levels and the pull
 * PDP; an internal level keeps its image's rules, which are the same. *OUT NULL when no base is
 * ready. One thread at a time with orch_want_make() over W (they move W's indexes).
 */
int orch_want_rebased(struct orch_want **out, const struct orch_want *w);

/* Whether LV's image pins its backends' keys (it has the tls_upstream module). */
int orch_level_pins(const struct orch_level *lv);

/* NODE's placement in W, or NULL (no such node, or no hosts). */
const struct orch_place *orch_want_place(const struct orch_want *w, const char *node);
struct orch_want *orch_want_ref(struct orch_want *w);
void orch_want_put(struct orch_want *w);

/* The node NAME of W, or NULL. */
struct orch_want_node *orch_want_node(const struct orch_want *w, const char *name);

/* The builder's spec of level L of NODE for TARGET (borrowing from L). */
void orch_level_spec(struct builder_spec *s, const char *node, const struct orch_level *l,
                     const char *target);

/* L (zeroed by the caller) as a deep copy of the plan's image IM; freed with orch_level_free()
 * (also after a failure), which leaves L's memory itself to the caller. */
int orch_level_copy(struct orch_level *l, const struct engine_topology_image *im);
void orch_level_free(struct orch_level *l);

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

/* ---- the orchestrator's state (orch.c and the files below share it) ---- */

/* What the orchestrator knows of one node. */
struct orch_node {
    char *name;
    /* what was last deployed (the state/deployed line) */
    char image[BUILDER_ID_LEN + 1]; /* "" when nothing was */
    char level[128];
    enum engine_pdp pdp;
    char policy[128];
    uint64_t version; /* the policy version in force (acknowledged, or the PDP's) */
    /* An internal PDP's image of a base and a patch: the base's version and commit (0, "" for
     * a whole blob), which the record names for `unisec verify` */
    uint64_t base_version;
    char base_commit[41];
    /* A push-mode instance's whole blob, as its last acknowledged push left it: the version of
     * the base it holds (0: not known), so that a patch goes alone only over that base */
    uint64_t held_base;
    uint8_t tls_sum[ENGINE_SHA256_LEN]; /* the TLS credentials the instance runs with (0s: none) */
    /* the supervisor's view, from its reports */
    struct sup_status sup;
    int have_sup;
    uint64_t seq; /* bumped with every report */
    int building; /* the reconcile thread builds its image */
    char building_level[128];
    char error[1024]; /* why the last change of this node failed; "" when it did not */
    int64_t error_ns;
    uint64_t pushes, pushes_failed, pushes_acked; /* for metrics */
    double push_seconds;
};

/* An image built from a spec: the builder's id for the key of the spec (orch_spec_key()). */
struct orch_built {
    uint8_t key[ENGINE_SHA256_LEN];
    char id[BUILDER_ID_LEN + 1];
};

struct orch {
    enum engine_target target;
    char *image_dir, *cache_dir, *host;
    char *host_name; /* the Compute node this daemon serves (orch_options.host_name), or NULL */
    void (*event)(void *arg, const char *line);
    void (*changed)(void *arg, const char *node); /* orch_options.changed */
    void *event_arg;
    void (*record)(void *arg, const struct orch_record *r);

    struct sup *sup;
    struct orch_pdp *pdp;        /* the pull PDP */
    char pdp_addr[300];          /* where images' PDP devices connect */
    struct builder_options bopt; /* a builder is made per pass: it reads the sources anew */

    /* The reconcile and proactive threads build at the same time, each with its own builder
     * over the one cache (the builder's temporary names are unique in the process, and equal
     * inputs give equal bytes, so either may store an entry): a level switch needing an
     * image is not held up by a batch of proactive builds. The proactive thread starts a
     * batch only once the want it builds for has been realised. */

    /* Held by orch_apply() while it makes a want from the last, and by the reconcile thread
     * while it makes the want that delivers a new base (orch_want_rebased()): both move the
     * last want's policy indexes. Taken before mu. */
    pthread_mutex_t apply_mu;
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* mu: a new want, a report, stop, a new base ready */
    pthread_cond_t settle_cv; /* mu: done_gen moved */
    struct orch_want *want;   /* mu: the desired state (NULL before the first) */
    uint64_t gen;             /* mu: want->gen */
    uint64_t done_gen;        /* mu: the last want the reconcile thread finished */
    uint64_t pro_gen;         /* mu: the last want the proactive thread finished */
    uint64_t next_version;    /* mu: the next policy version */
    uint64_t pdp_version;     /* reconcile thread: the version the pull PDP serves */
    struct orch_node *nodes;  /* mu */
    size_t *node_index;       /* mu: positions of NODES sorted by name (engine/name_index.h) */
    struct orch_built *built; /* mu: the images built so far, by spec */
    size_t nbuilt, capbuilt;
    size_t nnodes, cap;
    int stop;              /* mu */
    int rebased;           /* mu: a policy's new base is ready, to deliver */
    struct orch_metrics m; /* mu: counts (orch_metrics.c), restarts aside */
    pthread_t rec, pro;
    int threads;
};

/* ---- orch_node.c: the node table, the supervisor's reports, the events ---- */

/* One line (newlines made blanks) to the event callback, or to the log when there is none. */
void orch_event(struct orch *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* mu held. The node NAME, added when absent and ADD is set (NULL when absent, or out of
 * memory). */
struct orch_node *orch_node_get(struct orch *o, const char *name, int add);

/* SRC (NULL: "") into DST of SIZE bytes, cut short if need be. */
void orch_copy(char *dst, size_t size, const char *src);

/* The supervisor's reports (sup_options.report; ARG is the orchestrator). */
void orch_report(void *arg, const struct sup_report *r);
/* Tells orch_options.changed that NODE's status may have changed. mu not held. */
void orch_changed(struct orch *o, const char *node);

/* mu held. Waits until DONE(N, ARG) for node NODE says 1 (success: 0) or -1 (failure: -EIO),
 * or MS pass (-ETIMEDOUT), or the orchestrator stops (-EINTR). */
int orch_wait(struct orch *o, const char *node, unsigned ms,
              int (*done)(const struct orch_node *n, const void *arg), const void *arg);

/* ---- orch_devices.c: an image's devices, from its manifest ---- */

#define ORCH_DEV_MAX 16

struct orch_devices {
    size_t nports, nups;
    struct sup_port ports[ORCH_DEV_MAX];
    struct sup_upstream ups[ORCH_DEV_MAX];
    char name[2 * ORCH_DEV_MAX][64];
    char addr[2 * ORCH_DEV_MAX][300];
    int policy; /* the image has a policy channel */
    int tls;    /* the image takes TLS credentials */
};

/* The devices of the image built in DIR, as builder_manifest_load() reads them: the listening ones,
 * each on HOST:its port (the node's property); the upstreams, each at the port of the node it
 * names, on that node's host's address in W (on HOST when W places it nowhere); a PDP device,
 * at PDP. */
int orch_devices_read(struct orch_devices *dv, const char *dir, const char *host,
                      const struct orch_want *w, const char *pdp, struct engine_diag *d);

/* ---- orch_record.c: state/deployed ---- */

/* Hands NODE's deployment (realising W) to orch_options.record, when set. mu not held. */
void orch_deployed_record(struct orch *o, const struct orch_want *w, const char *node);

/* The highest policy version DEPLOYED (state/deployed's text, may be NULL) records. */
uint64_t orch_version_recorded(const char *deployed);

/* ---- orch_built.c: the images built so far ---- */

/* The key of SPEC: everything of it that goes into the image (the module sources aside: a
 * build pass reads them anew and records what it built). */
void orch_spec_key(uint8_t key[ENGINE_SHA256_LEN], const struct builder_spec *s);

/* mu held. The id recorded for KEY whose image is still in the image directory, or
 * -ENOENT. */
int orch_built_find(struct orch *o, const uint8_t key[ENGINE_SHA256_LEN],
                    char id[BUILDER_ID_LEN + 1]);

/* mu held. Records that KEY was built as ID (a later build of the same key replaces it). */
void orch_built_add(struct orch *o, const uint8_t key[ENGINE_SHA256_LEN], const char *id);
/* mu held. Forgets every key built as ID (its image is removed). */
void orch_built_forget(struct orch *o, const char *id);

/* ---- orch_collect.c: the image directory collected ---- */

/* Images of a node's level kept beyond those in use: the newest, what undoing a change or
 * two returns to without a build. */
#define ORCH_KEEP_RECENT 2

/* Removes from the image directory every image that no instance runs (or was last deployed
 * as), no level of W is built as, and is not among the ORCH_KEEP_RECENT newest of its node's
 * level; does nothing unless both threads have finished W and no newer want is there. Run on
 * the proactive thread once it has finished W; mu not held. */
void orch_collect(struct orch *o, const struct orch_want *w);

/* ---- orch_metrics.c: counts ---- */

/* mu held. Adds SECONDS to H. */
void orch_hist_observe(struct orch_hist *h, double seconds);
/* Seconds on the monotonic clock, to time a step. */
double orch_clock(void);

/* ---- the threads (ARG is the orchestrator) ---- */

void *orch_reconcile_main(void *arg); /* orch_reconcile.c */

/* ---- orch_publish.c: a want made the desired state ---- */

/* apply_mu held, mu not. Makes W the desired state (taking the caller's reference; the next
 * policy version above its policies' and their new bases') and has every new base W's policies
 * compile on the side say when it is ready (the reconcile thread is woken). */
void orch_publish(struct orch *o, struct orch_want *w);
/* The reconcile thread's, once told a new base is ready: the want that delivers it
 * (orch_want_rebased()) made the desired state. mu not held. */
void orch_rebase_deliver(struct orch *o);
void *orch_proactive_main(void *arg); /* orch_proactive.c */

#endif
