/*
 * supervisor_int.h — what the supervisor's pieces share (runtime/supervisor.h is the API).
 *
 *   supervisor.c         the API: every call takes the lock, records and wakes the thread
 *   supervisor_thread.c  the thread: events, timers, the tenders' messages, swaps, restarts
 *   supervisor_inst.c    one instance: its tender's start, sockets, console, end, release
 *   supervisor_spec.c    a node's spec: the image check, listening sockets, the command line,
 *                        policy blobs
 *   supervisor_report.c  a node's state and the queue of reports the thread delivers
 *   supervisor_log.c     an instance's output: the console ring, the node's console and
 *                        access logs on disk, the counts of its access lines
 *
 * Calls go down this list only (the API starts the thread, which runs instances of specs);
 * the report queue is below them all.
 *
 * One thread (sup_main) owns every child: it starts them (so that PR_SET_PDEATHSIG, which
 * follows the starting thread, lasts as long as the supervisor), serves their sockets from
 * one epoll set and runs the timers. API calls take the same mutex, record what they ask
 * and wake the thread through an eventfd. Reports are queued under the mutex and delivered
 * after it is released.
 */
#ifndef UNISEC_RUNTIME_SUPERVISOR_INT_H
#define UNISEC_RUNTIME_SUPERVISOR_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "control.h"
#include "supervisor.h"
#include "tender.h"

/* A bounded byte ring: the newest CAP bytes written. */
struct sup_ring {
    char *buf; /* owned, CAP bytes */
    size_t cap, start, len;
};

/* A listening socket the supervisor owns; shared by every spec that names it. */
struct sup_listen {
    struct sup_listen *next; /* in the node's list */
    unsigned refs;
    int fd;
    int port;
    char *device, *addr;
};

/* A policy blob, as sent: the 8-byte little-endian length, then the bytes. */
struct sup_blob {
    unsigned refs;
    uint64_t version;
    size_t len; /* of frame[] */
    uint8_t frame[];
};

/* A copy of a struct sup_spec, with its sockets and what the image's manifest declares. */
struct sup_nspec {
    unsigned refs;
    char *image, *image_id, *level;
    char **argv; /* the tender's command line, NULL-terminated, descriptors filled at start */
    size_t argc;
    size_t ctl_arg, pol_arg; /* indexes of the --control-fd and --policy-fd values; 0: none */
    size_t dd_arg;           /* index of "--" (a start blob's --policy-blob goes before it) */
    struct sup_listen *listen[TENDER_CONFIG_MAX];
    size_t lfd_arg[TENDER_CONFIG_MAX]; /* indexes of the --listen-fd values */
    size_t nlisten;
    int has_policy;
    uint8_t *tls; /* the TLS credentials (owned, wiped when freed), TLS_LEN bytes; or NULL */
    size_t tls_len;
};

enum { SUP_W_WAKE, SUP_W_PID, SUP_W_CTL, SUP_W_POL, SUP_W_OUT, SUP_W_ERR, SUP_W_N };

struct sup_inst;
struct sup_watch {
    struct sup_inst *inst; /* NULL for the wake eventfd */
    int kind;
};

enum sup_role { SUP_I_STARTING, SUP_I_SERVING, SUP_I_DRAINING };

struct sup_node;
struct sup_inst {
    struct sup_inst *next; /* in the supervisor's list */
    struct sup_node *node;
    struct sup_nspec *spec; /* a reference */
    enum sup_role role;
    pid_t pid;
    int fd[SUP_W_N]; /* pidfd, control, policy, stdout, stderr; -1 when closed */
    struct sup_watch w[SUP_W_N];
    int dead;      /* reaped; freed at the end of the loop's turn */
    int status;    /* wait status once dead */
    int ready;     /* the tender said READY */
    int abandoned; /* a swap that a newer one replaced: its end is no failure */
    uint64_t t_start, t_ready, deadline; /* ms; deadline: to be ready, or to drain */
    uint64_t ping_seq, ping_at, pong_at;
    uint64_t want_ack, acked; /* the policy version given at start, and the last acked */
    char kill_why[256];       /* why the supervisor killed it; "" otherwise */
    struct sup_ring console;
    char out_line[1024]; /* the stdout line being gathered (supervisor_log.c) */
    size_t out_have;
    char err_line[256], last_err[256];
    size_t err_have;
    struct ctl_in ctl_in; /* the tender's control messages (control.h) */
    char pol_in[768];     /* its answer lines on the policy socket */
    size_t pol_have;
    struct sup_blob *pol_send, *pol_next; /* the frame being written and the one after */
    size_t pol_off;
};

struct sup_node {
    struct sup_node *next;
    char *name;
    struct sup_nspec *spec;             /* what a restart runs; NULL once stopped */
    struct sup_nspec *want;             /* a sup_node_run() the thread has not acted on */
    struct sup_inst *serving;           /* at most one */
    struct sup_inst *starting;          /* at most one */
    struct sup_listen *listens;         /* sockets bound for this node */
    struct sup_blob *blob, *blob_acked; /* the node's policy; the last one acknowledged */
    struct sup_blob *patch; /* a patch over BLOB (contract/acl_patch.h), or NULL: a new instance
                               gets it once it acknowledged BLOB, and is ready at its version */
    struct sup_blob *patch_acked; /* the last patch acknowledged, over BLOB_ACKED */
    uint64_t version_acked;
    enum sup_state state;
    int64_t since_ns;
    char why[512];
    char image[128], level[64];
    pid_t pid;
    unsigned restarts, backoff_ms;
    uint64_t restart_at; /* ms; 0: none scheduled */
    int stopping;
    struct sup_ring last_console; /* of the last instance that ended with none after it */
    /* supervisor_log.c: the node's logs on disk (opened at its first output) and counts */
    struct engine_rlog console_log, access_log;
    int logs; /* 0: not opened yet; 1: open; -1: none (no log_dir, or they cannot be made) */
    struct sup_traffic traffic;
};

struct sup_queued {
    struct sup_report r;
    char *node, *image, *level, *why; /* owned copies */
};

struct sup {
    struct sup_options opt; /* opt.log_dir: log_dir's */
    char *log_dir;          /* owned; NULL: none */
    char *tender;           /* the unisec-tender executable */
    pthread_t thread;
    pthread_mutex_t lock;
    int ep, wake, devnull;
    struct sup_watch wake_w;
    int quit;
    struct sup_node *nodes;
    struct sup_inst *insts;
    struct sup_queued *q; /* reports to deliver */
    size_t nq, capq;
};

/* ---- clocks ---- */

static inline uint64_t sup_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline int64_t sup_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- supervisor_log.c ---- */

/* Appends P[0..N) to ring R (the newest cap bytes stay). */
void sup_ring_put(struct sup_ring *r, const char *p, size_t n);
/* Takes BUF[0..LEN) that IN's tender wrote on KIND (SUP_W_OUT: the guest's console; SUP_W_ERR:
 * the tender's own messages) into its console ring and its node's logs; the guest's access
 * lines also go to the access log, stamped, and are counted. */
void sup_log_output(struct sup *s, struct sup_inst *in, int kind, const char *buf, size_t len);
/* A line of the supervisor's own in NODE's console log ("--- " and the text), e.g. when an
 * instance starts or ends. */
void sup_log_mark(struct sup *s, struct sup_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Closes N's logs. */
void sup_log_close(struct sup_node *n);

/* ---- supervisor_report.c ---- */

/* Records the node's state and queues a report; WHY is a printf format. */
void sup_report(struct sup *s, struct sup_node *n, enum sup_state st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Delivers Q[0..N) and frees it; called by the thread without the lock. */
void sup_deliver(struct sup *s, struct sup_queued *q, size_t n);
/* Frees Q[0..N) undelivered. */
void sup_queued_free(struct sup_queued *q, size_t n);

/* ---- supervisor_spec.c ---- */

/* A new blob (refs 1) framing a copy of BLOB[0..LEN) and, when TAIL is not NULL, zeros to the
 * next 8-byte boundary and a copy of TAIL[0..TAIL_LEN) (a blob and its patch in one message);
 * NULL when out of memory. */
struct sup_blob *sup_blob_make(const void *blob, size_t len, const void *tail, size_t tail_len,
                               uint64_t version);
void sup_blob_unref(struct sup_blob *b);
/* Checks a node's name: 1 to 255 bytes of A-Z a-z 0-9 _ . - */
int sup_name_check(const char *name, struct engine_diag *d);
/* Builds the node's copy of SPEC (binding new sockets) after checking it against the image. */
int sup_nspec_make(struct sup *s, struct sup_node *n, const struct sup_spec *spec,
                   struct sup_nspec **out, struct engine_diag *d);
void sup_nspec_unref(struct sup_nspec *n);
/* Unlinks and frees the node's sockets that no spec uses any more. */
void sup_node_gc_listen(struct sup_node *n);

/* ---- supervisor_inst.c ---- */

/* Forks the tender for node N running SPEC. Returns the instance, or NULL with *WHY set. */
struct sup_inst *sup_inst_start(struct sup *s, struct sup_node *n, struct sup_nspec *spec,
                                char *why, size_t whylen);
/* Kills IN's tender (SIGKILL); the first WHY given is the one its end reports. */
void sup_inst_kill(struct sup_inst *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends a control message (control.h) to IN's tender; best effort. */
void sup_inst_say(struct sup_inst *in, uint32_t type, const void *payload, uint32_t len);
/* Tells IN to drain, within drain_ms of NOW (ms). */
void sup_inst_drain(struct sup *s, struct sup_inst *in, uint64_t now);
/* Writes what it can of the pending policy frames. */
void sup_inst_pol_flush(struct sup_inst *in);
/* Makes B the next frame for IN's policy socket (a newer one replaces one not yet sent). */
void sup_inst_pol_queue(struct sup_inst *in, struct sup_blob *b);
/* Console (stdout) and the tender's own messages (stderr, SUP_W_ERR) into the ring. */
void sup_inst_output(struct sup *s, struct sup_inst *in, int kind);
/* The process ended: what is left on its stdout and stderr, into the ring and last_err. */
void sup_inst_last_words(struct sup *s, struct sup_inst *in);
/* Closes IN's descriptor KIND, out of the epoll set first; all of them. */
void sup_inst_close(struct sup *s, struct sup_inst *in, int kind);
void sup_inst_close_fds(struct sup *s, struct sup_inst *in);
/* How the instance ended, in words. */
void sup_inst_end_text(const struct sup_inst *in, char *buf, size_t size);
void sup_inst_free(struct sup *s, struct sup_inst *in);
int sup_node_has_insts(struct sup *s, struct sup_node *n);

/* ---- supervisor_thread.c ---- */

/* The thread (pthread_create's ARG is the struct sup). */
void *sup_main(void *arg);
/* A stopping node N has no instance left: it forgets its spec and sockets, and is STOPPED. */
void sup_node_stopped(struct sup *s, struct sup_node *n);

#endif
