/*
 * supervisor.h — the supervisor: runs the instances of the nodes (one tender process per
 * instance), used in-process by the mount daemon (orch/). runtime/README.md states the
 * contract in prose; this header is its reference.
 *
 * What it does for each node:
 * - runs the node's image as a child process `unisec-tender IMAGE --quiet --control-fd ...`
 *   (the tender given in the options), with its boot arguments, an inherited copy of every
 *   listening socket (`--listen-fd DEVICE=FD`), the node's policy channel (`--policy-fd`)
 *   when the image declares one, and the addresses of its upstream and PDP devices;
 * - owns the listening sockets: each (device, address) of a node is bound once, when
 *   sup_node_run() first names it, and stays open across instance generations, so that a
 *   swap never closes a port (connections queue in the kernel while no guest accepts);
 * - captures the console (the tender's stdout) and the tender's own messages (its stderr)
 *   into a bounded ring per instance;
 * - knows when an instance is ready: the tender says READY on its control socket when
 *   the guest first waits for events (its listeners are then in the tender's event set),
 *   and, when the node has a policy blob, the guest has acknowledged the blob given at its
 *   start. An instance not ready within ready_ms is killed;
 * - swaps without losing a connection: the new instance starts on the same listening
 *   sockets, both accept while it comes up, and once it is ready the old one is told to
 *   drain (its tender stops accepting and closes its copies of the listening sockets, its
 *   open streams finish, it exits when none remain); a drain longer than drain_ms is cut
 *   with SIGKILL. A new instance that fails or is not ready in time is killed and the old
 *   one keeps serving; the report says why;
 * - watches liveness: a running instance whose event loop does not answer a ping on the
 *   control socket within hang_ms is killed; a crashed or hung instance is restarted with
 *   exponential back-off (backoff_min_ms doubling up to backoff_max_ms; back to the minimum
 *   after stable_ms of running);
 * - pushes policy blobs (push PDP) over the policy channel and reports the version the
 *   guest acknowledged or its refusal; a new instance gets the node's current blob at start;
 * - never leaves an orphan: every tender dies with the supervisor (PR_SET_PDEATHSIG, and
 *   the end of its control socket), and sup_free() kills and reaps every instance.
 *
 * Threads: the supervisor runs one thread of its own, which starts the tenders, serves their
 * sockets and calls the report callback. The functions below may be called from any thread
 * (one mutex guards the state); those that change what runs return once the change is
 * recorded, and its consequences arrive through the callback.
 *
 * Errors: 0 or a negative errno; functions taking a struct engine_diag append one sentence
 * a user can act on (the entry's file is the image or the node). Nothing here prints or exits.
 */
#ifndef UNISEC_RUNTIME_SUPERVISOR_H
#define UNISEC_RUNTIME_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/engine.h"

/* A node's state as the mount shows it in nodes/<n>/status. The supervisor itself reports
 * STARTING, RUNNING, FAILED and STOPPED; BUILDING is the orchestrator's (an image is being
 * built), named here so that status has one vocabulary. */
enum sup_state {
    SUP_BUILDING,
    SUP_STARTING, /* an instance is starting and none serves yet */
    SUP_RUNNING,  /* an instance serves (a swap may be under way) */
    SUP_FAILED,   /* none serves: the last one crashed, hung or never became ready; a
                     restart is scheduled (see the report's why) */
    SUP_STOPPED,  /* sup_node_stop() finished: no instance is left */
};

/* "building", "starting", "running", "failed", "stopped". */
const char *sup_state_name(enum sup_state s);

/*
 * One report: the node's state after a change, and what changed. Every string is borrowed
 * for the duration of the callback only.
 */
struct sup_report {
    const char *node;
    enum sup_state state;
    const char *image; /* id of the image that serves (RUNNING) or was last started; "" none */
    const char *level; /* the level that image was built for; "" when not given */
    uint64_t policy_version; /* the latest version the serving instance acknowledged; 0 none */
    pid_t pid;               /* the serving (else the newest) instance's tender; 0 none */
    int64_t since_ns;        /* CLOCK_REALTIME when the node entered STATE */
    const char *why;         /* one sentence saying what happened, e.g. "image 3f2a… is
                                ready (pid 412)", "policy v12 refused: …"; never NULL */
};

/* Called on the supervisor's thread, with no lock held: it may call any function below
 * except sup_free(). It should return quickly (the supervisor serves nothing meanwhile). */
typedef void (*sup_report_fn)(void *arg, const struct sup_report *r);

struct sup_options {
    const char *tender;      /* the unisec-tender executable; NULL: the one beside this
                                process's executable (tender_exe_path) */
    unsigned ready_ms;       /* 0: 10000. Time a new instance has to become ready */
    unsigned drain_ms;       /* 0: 10000. Time a draining instance has to finish its streams */
    unsigned hang_ms;        /* 0: 5000. A running instance's loop must answer a ping in this */
    unsigned backoff_min_ms; /* 0: 100 */
    unsigned backoff_max_ms; /* 0: 30000 */
    unsigned stable_ms;      /* 0: 10000 */
    size_t console_max;      /* bytes of console kept per instance; 0: 64 KiB */
    /* Where each node's console and access log are kept on disk: LOG_DIR/NODE/console and
     * LOG_DIR/NODE/access (engine/rlog.h: LOG_KEEP files of LOG_MAX bytes; 0: 4 of 1 MiB).
     * NULL: the console is kept in memory only and the access lines are counted only. */
    const char *log_dir;
    size_t log_max;
    unsigned log_keep;
    sup_report_fn report; /* may be NULL */
    void *report_arg;
};

struct sup;

/* Starts a supervisor (its thread). *OUT is freed with sup_free(). */
int sup_new(struct sup **out, const struct sup_options *opt, struct engine_diag *d);

/* Kills every instance (SIGKILL), reaps them, closes every socket and frees S. Accepts
 * NULL. No report is made from here on. */
void sup_free(struct sup *s);

/* A listening device of the image and the address the node listens on for it. */
struct sup_port {
    const char *device; /* a listening device the image's manifest declares */
    const char *addr;   /* "[HOST:]PORT", HOST defaulting to 127.0.0.1; PORT 0 picks one */
};

/* An upstream device of the image and where it connects. */
struct sup_upstream {
    const char *device;
    const char *addr; /* "HOST:PORT" */
};

/* What a node should run. Everything is borrowed for the call and copied. */
struct sup_spec {
    const char *node;     /* the node's name (a key; [A-Za-z0-9_.-], 1 to 255 bytes) */
    const char *image;    /* path of the bootable image file */
    const char *image_id; /* for reports; NULL: IMAGE */
    const char *level;    /* for reports; NULL: "" */
    const struct sup_port *ports;
    size_t nports; /* every listening device of the image must have one */
    const struct sup_upstream *upstreams;
    size_t nupstreams; /* every upstream and PDP device must have one */
    const char *const *args;
    size_t nargs;     /* boot arguments, passed to the guest's libos_main */
    unsigned mem_mib; /* 0: the tender's default */
    /* Push PDP: the rules this image serves with (a compiled ACL of POLICY_VERSION,
     * POLICY_LEN bytes, copied). They become the node's blob in the same step as the spec,
     * so the new instance boots with them and accepts no connection without them. NULL
     * keeps the node's blob; an image without a policy channel drops it. */
    const void *policy;
    size_t policy_len;
    uint64_t policy_version;
    /* With POLICY: a patch over it (contract/acl_patch.h, copied) of POLICY_PATCH_VERSION, or
     * NULL. A new instance gets it once it acknowledged POLICY and is ready only at its
     * version. */
    const void *policy_patch;
    size_t policy_patch_len;
    uint64_t policy_patch_version;
    /* An image with the tls module: its TLS credentials (contract/tls_creds.h, from
     * engine_tls_check(); copied, and wiped when no instance needs them any more). Each
     * instance gets them at start in a memory file (--tls-fd) that only its tender reads.
     * New credentials are a new spec: a swap. */
    const void *tls;
    size_t tls_len;
};

/*
 * Makes SPEC what node SPEC->node runs (and SPEC->policy, if given, its blob). When the node
 * runs nothing, its first instance is started; when it runs an instance, a new one is started and
 * swapped in as described above (a swap still starting for the node is abandoned for this newer
 * one). Checked before returning: the image (readable, well formed, its devices), the ports (every
 * listening device has one, each address binds: -EADDRINUSE when another process or node holds it)
 * and the upstreams. Returns 0 once the change is recorded; its progress and outcome come
 * as reports. On error nothing changes.
 */
int sup_node_run(struct sup *s, const struct sup_spec *spec, struct engine_diag *d);

/*
 * Stops NODE: every instance drains (at most drain_ms, then SIGKILL); the node's listening
 * sockets are closed once none is left, and a STOPPED report follows. -ENOENT when the
 * supervisor has no such node.
 */
int sup_node_stop(struct sup *s, const char *node);

/*
 * Push PDP: makes BLOB (LEN bytes, copied; a compiled ACL of VERSION, engine/acl.h) the
 * node's policy and sends it to its running and starting instances. A report says when the
 * serving instance acknowledges VERSION, or that it refused the blob and why (the guest
 * keeps its old rules; new instances then get the last acknowledged blob). Instances started
 * later get the node's current blob at start. -ENOENT: no such node; -ENOTSUP: its image
 * declares no policy channel (with a message in D).
 */
int sup_policy_push(struct sup *s, const char *node, const void *blob, size_t len, uint64_t version,
                    struct engine_diag *d);

/*
 * Push PDP: the same for BLOB and PATCH (an ACL patch over BLOB, to VERSION) in one message
 * (contract/acl_patch.h, "A base and its patch together"), which the instance checks whole and
 * puts in force at once, so that it goes from the version it holds straight to VERSION without
 * enforcing BLOB alone. It becomes the node's blob, of VERSION; instances started later get it.
 */
int sup_policy_push_pair(struct sup *s, const char *node, const void *blob, size_t len,
                         const void *patch, size_t patch_len, uint64_t version,
                         struct engine_diag *d);

/*
 * Push PDP: sends PATCH (LEN bytes, copied; an ACL patch of VERSION over the node's blob,
 * contract/acl_patch.h) to the node's instances that hold the node's blob, and keeps it for
 * instances started later (after the blob). Reports as sup_policy_push(); a refused patch is
 * dropped (the guest keeps its rules; it wants the whole blob). A later sup_policy_push()
 * drops it too. -ENOENT: no such node, or it holds no blob.
 */
int sup_policy_patch(struct sup *s, const char *node, const void *patch, size_t len,
                     uint64_t version, struct engine_diag *d);

/* A copy of the node's state, as the last report gave it, with strings copied into the
 * struct. -ENOENT when the supervisor has no such node. */
struct sup_status {
    enum sup_state state;
    char image[128];
    char level[64];
    uint64_t policy_version;
    pid_t pid;
    int64_t since_ns;
    unsigned restarts; /* restarts after a crash or hang since the node was first run */
    /* The node's instances besides the serving one (starting, draining) and a run the
     * supervisor's thread has not acted on yet: 0 once a swap is over, its old instance gone. */
    unsigned others;
    char why[512];
};
int sup_node_status(struct sup *s, const char *node, struct sup_status *out);

/* The longest a swap may take once its new instance runs: ready_ms and drain_ms, as in force
 * (defaults included). After it, a node's sup_status.others is 0 unless something new came. */
unsigned sup_swap_bound_ms(const struct sup *s);

/* What a node's instances answered, from the access lines of their guests (the log module's,
 * runtime/README.md "Access log"), since the node was first run. */
#define SUP_RULESETS_MAX 8
struct sup_traffic {
    uint64_t requests[6]; /* by status class: [1] 1xx ... [5] 5xx, [0] any other */
    uint64_t bytes;       /* bytes of the answers */
    struct {
        char policy[64]; /* the rule set that decided ("" after the first SUP_RULESETS_MAX:
                            the others together) */
        uint64_t allow, deny;
    } rules[SUP_RULESETS_MAX + 1];
    size_t nrules;
};
int sup_node_traffic(struct sup *s, const char *node, struct sup_traffic *out);

/*
 * The port the node's listening device DEVICE is bound to (useful with PORT 0), or a
 * negative errno (-ENOENT: no such node or device).
 */
int sup_node_port(struct sup *s, const char *node, const char *device);

/*
 * The console of NODE's serving instance (else its newest): at most console_max bytes, the
 * oldest dropped first. *OUT is a new buffer of *LEN bytes plus a NUL (caller frees).
 * -ENOENT when the supervisor has no such node.
 */
int sup_node_console(struct sup *s, const char *node, char **out, size_t *len);

#endif
