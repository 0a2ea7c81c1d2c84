/*
 * orch.h — the security orchestrator (DESIGN.md section 3): it turns the desired state the
 * mount accepted (the interpreters' plans for every node, the policy) into running unikernel
 * instances, and keeps them equal to it as it changes.
 *
 * For each node it builds the image of the node's current level (builder/), starts it under
 * the supervisor (runtime/supervisor.h) on the ports the node's properties give, and, on
 * every later change, touches only the nodes the change affects:
 *  - configure_sec: the node's image stays; a push-mode node gets the new rules over its
 *    policy channel (and acknowledges their version), a pull-mode node sees the PDP's version
 *    move;
 *  - building_sec: the node needs another image (a new level, a rebuilt image with new
 *    internal rules, a new property): it is built (or found built), started beside the old
 *    instance, and swapped in once ready; the old one drains and stops.
 * Images of every declared level of every node are built ahead of time on a second thread
 * (proactive generation), so a level switch is a swap, not a compilation.
 *
 * A failed build or a new instance that never becomes ready leaves the old instance serving;
 * the node's status says why. Every realised deployment is handed to the caller as a record
 * (the text of state/deployed and a commit message naming the change it realises), which the
 * mount commits to the store: the orchestrator never writes the store itself.
 *
 * Threads: the orchestrator runs two threads of its own (reconcile, proactive builds), and
 * one per policy whose index is due a new base while it is compiled (orch_desired.acl_hold),
 * which the reconcile thread delivers once ready as a policy version of its own;
 * every function here is thread-safe. Events (one line per step) go to the callback given at
 * creation, called without any lock of the orchestrator held.
 *
 * Errors: 0 or a negative errno, with a sentence in a struct engine_diag.
 */
#ifndef UNISEC_ORCH_H
#define UNISEC_ORCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/engine.h"

struct orch;

/* The trailers of a deployment record's message: the commit it realises (40 hex digits) and
 * the target its image was built for. */
#define ORCH_TRAILER_COMMIT "Realises-commit"
#define ORCH_TRAILER_TARGET "Target"

/* A realised deployment, to be recorded (orch_options.record). Borrowed for the call only. */
struct orch_record {
    const char *node;     /* the node whose deployment it is */
    const char *deployed; /* the new text of state/deployed: one line per deployed node */
    size_t len;           /* of DEPLOYED */
    /* The commit message: "deploy: web -> image 3f2a1b2c3d4e (critical, internal v12)", then a
     * body naming the change it realises and who made it, then the trailers
     * "Realises-commit: ID" and "Target: hvt|spt". */
    const char *message;
    /* An internal PDP's image of a base blob and a patch over it: the patch (PATCH_LEN bytes),
     * which the record holds as ORCH_RECORD_PATCH beside state/deployed for `unisec verify`
     * (the image alone carries it otherwise); NULL for any other image. */
    const void *patch;
    size_t patch_len;
};

/* Where a deployment record holds the patch of its node's image, when it has one. */
#define ORCH_RECORD_PATCH "state/patch"

/* What a deployment record says: its commit message and its node's line of state/deployed. */
struct orch_record_info {
    char node[256];
    char realises[41]; /* the commit it realises */
    enum engine_target target;
    char image[41], level[256], pdp[16], policy[256];
    uint64_t version;
    /* An internal PDP's image of a base blob and a patch: the base's version (0: a whole blob)
     * and the commit whose rules it holds ("-" when none was recorded) */
    uint64_t base_version;
    char base_commit[48];
};

/*
 * Reads a deployment record: MESSAGE (as orch_record.message describes it) and DEPLOYED (the
 * record's state/deployed text, NUL-terminated; may be NULL), which must hold a line for the
 * message's node. Returns 0, or -EINVAL with the reason in D.
 */
int orch_record_parse(struct orch_record_info *out, const char *message, const char *deployed,
                      struct engine_diag *d);

struct orch_options {
    enum engine_target target; /* where instances run */
    const char *image_dir;     /* images/<id>/ go here (created if missing) */
    const char *cache_dir;     /* the builder's object cache; NULL: its default */
    const char *listen_host;   /* NULL: "127.0.0.1" */
    /* The host (a tosca.nodes.Compute node of the topology, engine/TOPOLOGY.md section 1.10)
     * this daemon serves: it runs only the nodes placed on it, each on the host's address, and
     * reaches an upstream on another host at that host's address. NULL: every node, on
     * LISTEN_HOST. */
    const char *host_name;
    /* state/deployed as the store holds it (NULL: none), read by orch_new() only: policy
     * versions go on above the highest one it records. */
    const char *deployed;
    /* One line per step (no newline). Called from the orchestrator's threads. */
    void (*event)(void *arg, const char *line);
    void *event_arg;
    /* Called (with EVENT_ARG, from the reconcile thread, no lock of the orchestrator held) for
     * every realised deployment, in the order they happen: the caller commits R->deployed as
     * state/deployed with R->message (authored by the daemon) and says in its events what
     * became of it; the reconcile thread goes on once it returns. NULL: nothing is recorded. */
    void (*record)(void *arg, const struct orch_record *r);
    /* Called (with EVENT_ARG, from the orchestrator's threads, no lock of the orchestrator
     * held) when what orch_status() says of NODE may have changed. NULL: nobody is told. */
    void (*changed)(void *arg, const char *node);
    /* Where each node's console and access log are kept (runtime/supervisor.h, sup_options:
     * LOG_DIR/NODE/console and access, LOG_KEEP files of LOG_MAX bytes); NULL: nowhere. */
    const char *log_dir;
    size_t log_max;
    unsigned log_keep;
};

/* Makes an orchestrator; nothing runs until orch_apply(). Free with orch_free(). */
int orch_new(struct orch **out, const struct orch_options *opt, struct engine_diag *d);

/* Stops every instance (each drains), joins the threads, frees O. Accepts NULL. */
void orch_free(struct orch *o);

/* A node's TLS credentials, for the levels whose image has the tls module. */
struct orch_tls {
    const char *node;
    const void *creds; /* contract/tls_creds.h, made by engine_tls_check(); NULL: none */
    size_t len;
    const char *why;  /* without credentials: why not (the node's error when a level needs them) */
    const char *cert; /* tls/NODE/cert (PEM, public), NULL: none: a load balancer pins its key */
    size_t cert_len;
};

/* The desired state, as the mount accepted it. Everything is borrowed for the call only. */
struct orch_desired {
    const struct engine_topology_derived *x; /* plans of every node at its current level */
    const struct engine_acl *acl;            /* the policy files, parsed */
    int policy_changed; /* ACL differs from the one given last (0 lets the rules be reused) */
    const char *head;   /* the store commit this state is ("" when not committed) */
    const char *who;    /* who made that change (commit author) */
    const char *what;   /* its summary, e.g. "web: security_level default -> critical" */
    /* The nodes' TLS credentials (copied; wiped when no want holds them any more). New
     * credentials for a node that runs a TLS image (rotation) start a new instance of the same
     * image with them, swapped in as for a new level: no connection is dropped. */
    const struct orch_tls *tls;
    size_t ntls;
    /* When set: CERT_BEFORE(CERT_ARG, NODE, CERT, LEN, &PEM, &PEM_LEN) gives NODE's certificate
     * chain before CERT (its tls/NODE/cert in force) from the store's history (*PEM a new
     * buffer the orchestrator frees, NULL: none; 0 or -ENOMEM), for the load balancers that pin
     * the keys of both. Asked on the caller's thread only for a node whose certificate this
     * orchestrator holds none of (its first state: after a restart); else the one it had in
     * force before is that one. NULL: none is asked for. */
    int (*cert_before)(void *arg, const char *node, const char *cert, size_t len, char **pem,
                       size_t *pem_len);
    void *cert_arg;
    /* With ACL NULL: ACL_GET(ACL_ARG) makes the policy files parsed together, asked only when a
     * policy must be compiled whole (NULL: no memory). */
    const struct engine_acl *(*acl_get)(const void *arg);
    const void *acl_arg;
    /* When set (with ACL_GET): ACL_HOLD(ACL_CTX, ACL_ARG) keeps ACL_ARG alive past the call and
     * ACL_DROP(ACL_CTX, ACL_ARG) lets it go, so that a policy's new base is compiled from
     * ACL_GET(ACL_ARG) on a thread of the orchestrator, off the caller's (ACL_GET must then be
     * thread-safe). NULL: a new base is compiled on the caller's thread when it is due. */
    void (*acl_hold)(void *ctx, const void *arg);
    void (*acl_drop)(void *ctx, const void *arg);
    void *acl_ctx;
    /* When not NULL, what POLICY_CHANGED is: the rules in force removed and added since the
     * policy given last (one rules file changed). A policy it leaves alone keeps its blobs; one
     * it touches is patched by these rules without comparing the rule sets. */
    const struct engine_acl_keys_change *change;
    /* When not NULL (CHANGE NULL), what POLICY_CHANGED is: only the users, groups and
     * credentials changed since the policy given last, to PEOPLE's (the groups and credentials
     * files parsed alone, no rule). Every policy's index is patched by the users that differ
     * (engine_acl_index_people()), without the rule sets. */
    const struct engine_acl *people;
};

/*
 * Takes WANT as the state to converge to and returns; the work follows on the orchestrator's
 * threads (status, events, orch_settle()). Compiles the policies the nodes use (a new policy
 * version when their rules changed). Returns 0, or -ENOMEM / -EINVAL with D filled (the state
 * in force is kept).
 */
int orch_apply(struct orch *o, const struct orch_desired *want, struct engine_diag *d);

/*
 * Blocks until every node has converged to the last desired state (or failed to) and the
 * images of the other levels are built (proactive generation), then writes the outcome to
 * OUT: "settled at COMMIT: ..." and one line per node. Returns 0 when every node
 * runs what is desired, -EIO when some failed (the lines say why), -EINTR when O is stopping.
 */
int orch_settle(struct orch *o, FILE *out);
/* The same as one JSON object: commit, settled (false only when O is stopping), nodes, failed,
 * status (each node's object as orch_status_json() makes it). Returns as orch_settle(). */
int orch_settle_json(struct orch *o, FILE *out);

/* NODE's status as text (one line: state, image, level, policy version, pid, since, why)
 * or as a JSON object, into OUT. -ENOENT for a node the orchestrator does not know. */
int orch_status(struct orch *o, const char *node, FILE *out);
int orch_status_json(struct orch *o, const char *node, FILE *out);

/* The id of the image NODE runs (into ID, BUFFER of 41 bytes), or -ENOENT when none. */
int orch_node_image(struct orch *o, const char *node, char id[41]);

/* A node's console and access log are on disk (orch_options.log_dir): the mount reads them
 * there (engine/rlog.h). */

/* Counts of what the orchestrator did since it was made, for the mount's `metrics` file.
 * A histogram counts observations (seconds) at most each bound of orch_hist_bounds (cumulative,
 * as Prometheus has it); COUNT and SUM cover them all. */
#define ORCH_HIST_N 12
extern const double orch_hist_bounds[ORCH_HIST_N];
struct orch_hist {
    uint64_t le[ORCH_HIST_N];
    uint64_t count;
    double sum;
};

enum orch_build_kind { ORCH_BUILD_CHANGE, ORCH_BUILD_PROACTIVE, ORCH_BUILD_KINDS };

struct orch_metrics {
    uint64_t builds[ORCH_BUILD_KINDS];        /* images compiled (a cache hit is not a build) */
    uint64_t builds_failed[ORCH_BUILD_KINDS]; /* images that failed to build */
    struct orch_hist build_seconds;           /* a change's build of one image, compiled */
    uint64_t starts;                          /* first instances of a node that became ready */
    uint64_t swaps;                           /* new instances swapped in for a running one */
    uint64_t start_failures;                  /* instances that never became ready */
    uint64_t restarts;             /* restarts after a crash or hang (the supervisor's count) */
    uint64_t pushes;               /* policy blobs pushed to a running instance */
    uint64_t pushes_failed;        /* refused or not acknowledged in time */
    struct orch_hist push_seconds; /* from a push to its acknowledgement */
    uint64_t bases_write;     /* policy bases compiled whole on a change's thread (orch_apply) */
    uint64_t bases_side;      /* new bases compiled on a thread of their own */
    uint64_t bases_delivered; /* new bases delivered once ready, as a version of their own */
};

/* A copy of O's counts into OUT. */
void orch_metrics(struct orch *o, struct orch_metrics *out);

/* One node's counts: its restarts, the pushes to it, and what its instances answered (from
 * their access lines: runtime/README.md, "Access log"). */
#define ORCH_RULESETS_MAX 9 /* the supervisor's 8, then "" for any other */
struct orch_node_metrics {
    char node[256];
    unsigned restarts;
    uint64_t pushes, pushes_failed, pushes_acked;
    double push_seconds;  /* the acknowledged pushes' time, summed */
    uint64_t requests[6]; /* by status class: [1] 1xx ... [5] 5xx, [0] any other */
    uint64_t bytes;
    struct {
        char policy[64]; /* the rule set that decided; "": the others */
        uint64_t allow, deny;
    } rules[ORCH_RULESETS_MAX];
    size_t nrules;
};

/* Every node's counts: *OUT a new array of *N (caller frees; NULL when N is 0). Returns 0 or
 * -ENOMEM. */
int orch_metrics_nodes(struct orch *o, struct orch_node_metrics **out, size_t *n);

/* The directory images are kept in (borrowed). */
const char *orch_image_dir(const struct orch *o);

/* The best target on this machine: hvt when /dev/kvm can be opened, else spt. */
enum engine_target orch_target_best(void);

/* `unisec pdp POLICYDIR --listen [HOST:]PORT [--version N]`: the pull PDP on its own, until
 * killed (SIGHUP compiles POLICYDIR again as the next version). Returns the exit status of a
 * bad command line (2) or of a policy or address it cannot use (1). */
int orch_cmd_pdp(int argc, char **argv);

/* `unisec verify --store STORE [--cache DIR]`: checks that every commit of main is signed by
 * an allowed signer and that every deployment record names a commit of main's history whose
 * rebuilt image is the recorded one. Prints a line per record; names the first commit or
 * record that does not hold on stderr and returns 1; 2 for a bad command line. */
int orch_cmd_verify(int argc, char **argv);

#endif
