/*
 * supervisor.c — runs the nodes' instances as tender child processes: owned listening
 * sockets, console rings, readiness, swaps, the policy channel, restarts with back-off and
 * the reports (runtime/supervisor.h says the contract).
 *
 * One thread (sup_main) owns every child: it forks them (so that PR_SET_PDEATHSIG, which
 * follows the forking thread, lasts as long as the supervisor), serves their sockets from
 * one epoll set and runs the timers. API calls take the same mutex, record what they ask
 * and wake the thread through an eventfd. Reports are queued under the mutex and delivered
 * after it is released.
 */
#include "supervisor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "engine/grow.h"
#include "tender.h"

#define SUP_NAME_MAX 255

/* ---- small helpers ---- */

static uint64_t sup_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t sup_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A bounded byte ring: the newest CAP bytes written. */
struct sup_ring {
    char *buf; /* owned, CAP bytes */
    size_t cap, start, len;
};

static void sup_ring_put(struct sup_ring *r, const char *p, size_t n)
{
    if (r->buf == NULL || r->cap == 0)
        return;
    if (n >= r->cap) {
        memcpy(r->buf, p + n - r->cap, r->cap);
        r->start = 0;
        r->len = r->cap;
        return;
    }
    for (size_t i = 0; i < n; i++)
        r->buf[(r->start + r->len + i) % r->cap] = p[i];
    if (r->len + n > r->cap) {
        r->start = (r->start + r->len + n - r->cap) % r->cap;
        r->len = r->cap;
    } else {
        r->len += n;
    }
}

/* ---- reference-counted pieces shared by a node and its instances ---- */

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

static void sup_blob_unref(struct sup_blob *b)
{
    if (b && --b->refs == 0)
        free(b);
}

/* A new blob (refs 1) framing a copy of BLOB[0..LEN), or NULL when out of memory. */
static struct sup_blob *sup_blob_make(const void *blob, size_t len, uint64_t version)
{
    struct sup_blob *b = malloc(sizeof(*b) + 8 + len);
    if (b == NULL)
        return NULL;
    b->refs = 1;
    b->version = version;
    b->len = 8 + len;
    for (int i = 0; i < 8; i++)
        b->frame[i] = (uint8_t)((uint64_t)len >> (8 * i));
    memcpy(b->frame + 8, blob, len);
    return b;
}

/* A copy of a struct sup_spec, with its sockets and what the image's manifest declares. */
struct sup_nspec {
    unsigned refs;
    char *image, *image_id, *level;
    char **argv; /* the tender's command line, NULL-terminated, descriptors filled at fork */
    size_t argc;
    size_t ctl_arg, pol_arg; /* indexes of the --control-fd and --policy-fd values; 0: none */
    size_t dd_arg;           /* index of "--" (a start blob's --policy goes before it) */
    struct sup_listen *listen[TENDER_CONFIG_MAX];
    size_t lfd_arg[TENDER_CONFIG_MAX]; /* indexes of the --listen-fd values */
    size_t nlisten;
    int has_policy;
};

static void sup_nspec_unref(struct sup_nspec *n)
{
    if (n == NULL || --n->refs > 0)
        return;
    for (size_t i = 0; i < n->nlisten; i++)
        n->listen[i]->refs--; /* closed and unlinked by sup_node_gc_listen() */
    for (size_t i = 0; n->argv && i < n->argc; i++)
        free(n->argv[i]);
    free(n->argv);
    free(n->image);
    free(n->image_id);
    free(n->level);
    free(n);
}

/* ---- instances and nodes ---- */

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
};

struct sup_queued {
    struct sup_report r;
    char *node, *image, *level, *why; /* owned copies */
};

struct sup {
    struct sup_options opt;
    char *tender; /* the unisec-tender executable */
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

const char *sup_state_name(enum sup_state st)
{
    static const char *const names[] = {"building", "starting", "running", "failed", "stopped"};
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

static struct sup_node *sup_node_find(struct sup *s, const char *name)
{
    for (struct sup_node *n = s->nodes; n; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

static void sup_wake(struct sup *s)
{
    uint64_t one = 1;
    if (write(s->wake, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero: the thread wakes anyway */
    }
}

/* Records the node's state and queues a report; WHY is a printf format. */
static void sup_report(struct sup *s, struct sup_node *n, enum sup_state st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void sup_report(struct sup *s, struct sup_node *n, enum sup_state st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->why, sizeof(n->why), fmt, ap);
    va_end(ap);
    struct sup_inst *shown = n->serving ? n->serving : n->starting;
    pid_t pid = shown ? shown->pid : 0;
    /* SINCE: when the node entered this state with this instance. */
    if (st != n->state || pid != n->pid)
        n->since_ns = sup_wall_ns();
    if (shown) {
        snprintf(n->image, sizeof(n->image), "%s", shown->spec->image_id);
        snprintf(n->level, sizeof(n->level), "%s", shown->spec->level);
    }
    n->pid = pid;
    n->state = st;
    if (s->opt.report == NULL || s->quit)
        return;
    if (ENGINE_GROW(&s->q, &s->capq, s->nq + 1) < 0)
        return; /* the state is recorded; only this report is lost */
    struct sup_queued *e = &s->q[s->nq];
    e->node = strdup(n->name);
    e->image = strdup(n->image);
    e->level = strdup(n->level);
    e->why = strdup(n->why);
    if (!e->node || !e->image || !e->level || !e->why) {
        free(e->node), free(e->image), free(e->level), free(e->why);
        return;
    }
    e->r = (struct sup_report){e->node,          st,     e->image,    e->level,
                               n->version_acked, n->pid, n->since_ns, e->why};
    s->nq++;
}

/* Delivers the queued reports; called by the thread without the lock. */
static void sup_deliver(struct sup *s, struct sup_queued *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s->opt.report(s->opt.report_arg, &q[i].r);
        free(q[i].node), free(q[i].image), free(q[i].level), free(q[i].why);
    }
    free(q);
}

/* ---- the spec: image check, sockets, the tender's command line ---- */

/* Finds or binds the node's socket for DEVICE at ADDR ("[HOST:]PORT"). */
static int sup_listen_get(struct sup_node *n, const char *device, const char *addr,
                          struct sup_listen **out, struct engine_diag *d)
{
    for (struct sup_listen *l = n->listens; l; l = l->next)
        if (strcmp(l->device, device) == 0 && strcmp(l->addr, addr) == 0) {
            l->refs++;
            *out = l;
            return 0;
        }
    char host[256] = "127.0.0.1";
    const char *port = addr, *colon = strrchr(addr, ':');
    if (colon) {
        size_t len = (size_t)(colon - addr);
        if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']')
            memcpy(host, addr + 1, len - 2), host[len - 2] = 0;
        else if (len > 0 && len < sizeof(host))
            memcpy(host, addr, len), host[len] = 0;
        else
            return engine_diag_add(d, n->name, 0, 0, "%s: bad address '%s'", device, addr);
        port = colon + 1;
    }
    char *end;
    unsigned long p = strtoul(port, &end, 10);
    if (*port == 0 || *end || p > 65535)
        return engine_diag_add(d, n->name, 0, 0, "%s: bad port in '%s'", device, addr);
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p);
        sl = sizeof(*in4);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        sl = sizeof(*in6);
    } else {
        return engine_diag_add(d, n->name, 0, 0, "%s: '%s' is not a numeric IPv4 or IPv6 address",
                               device, host);
    }
    struct sup_listen *l = calloc(1, sizeof(*l));
    int one = 1, rc = 0;
    if (l == NULL || (l->device = strdup(device)) == NULL || (l->addr = strdup(addr)) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(l->fd, (struct sockaddr *)&ss, sl) < 0 || listen(l->fd, 1024) < 0) {
        rc = -errno;
        engine_diag_add(d, n->name, 0, 0, "%s: cannot listen on %s: %s%s", device, addr,
                        strerror(errno),
                        errno == EADDRINUSE ? " (another node or process holds that port)" : "");
        goto fail;
    }
    sl = sizeof(ss);
    getsockname(l->fd, (struct sockaddr *)&ss, &sl);
    l->port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
    l->refs = 1;
    l->next = n->listens;
    n->listens = l;
    *out = l;
    return 0;
fail:
    if (l) {
        if (l->fd >= 0)
            close(l->fd);
        free(l->device), free(l->addr), free(l);
    }
    return rc;
}

/* Unlinks and frees the node's sockets that no spec uses any more. */
static void sup_node_gc_listen(struct sup_node *n)
{
    for (struct sup_listen **p = &n->listens; *p;) {
        struct sup_listen *l = *p;
        if (l->refs > 0) {
            p = &l->next;
            continue;
        }
        *p = l->next;
        if (l->fd >= 0)
            close(l->fd);
        free(l->device), free(l->addr), free(l);
    }
}

static int sup_argv_add(struct sup_nspec *n, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int sup_argv_add(struct sup_nspec *n, size_t *cap, const char *fmt, ...)
{
    if (ENGINE_GROW(&n->argv, cap, n->argc + 2) < 0)
        return -ENOMEM;
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&n->argv[n->argc], fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -ENOMEM;
    n->argv[++n->argc] = NULL;
    return 0;
}

static int sup_name_check(const char *name, struct engine_diag *d)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > SUP_NAME_MAX)
        return engine_diag_add(d, NULL, 0, 0, "a node name must be 1 to %d bytes", SUP_NAME_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return engine_diag_add(d, NULL, 0, 0,
                                   "node '%s': a node name may hold only A-Z a-z 0-9 _ . -", name);
    }
    return 0;
}

/* Builds the node's copy of SPEC (binding new sockets) after checking it against the image. */
static int sup_nspec_make(struct sup *s, struct sup_node *n, const struct sup_spec *spec,
                          struct sup_nspec **out, struct engine_diag *d)
{
    struct tender_image img = {0};
    struct sup_nspec *ns = NULL;
    size_t cap = 0;
    int rc;
    (void)s;
    if (spec->image == NULL)
        return engine_diag_add(d, n->name, 0, 0, "no image given");
    if ((rc = tender_image_open(&img, spec->image, d)) < 0)
        return rc;
    const struct unisec_manifest *m = &img.manifest;
    if ((ns = calloc(1, sizeof(*ns))) == NULL) {
        rc = -ENOMEM;
        goto cleanup;
    }
    ns->refs = 1;
    ns->image = strdup(spec->image);
    ns->image_id = strdup(spec->image_id ? spec->image_id : spec->image);
    ns->level = strdup(spec->level ? spec->level : "");
    if (!ns->image || !ns->image_id || !ns->level) {
        rc = -ENOMEM;
        goto cleanup;
    }
    if ((rc = sup_argv_add(ns, &cap, "%s", s->tender)) < 0 ||
        (rc = sup_argv_add(ns, &cap, "%s", spec->image)) < 0 ||
        (rc = sup_argv_add(ns, &cap, "--quiet")) < 0 ||
        (rc = sup_argv_add(ns, &cap, "--control-fd")) < 0)
        goto cleanup;
    ns->ctl_arg = ns->argc;
    if ((rc = sup_argv_add(ns, &cap, "-1")) < 0)
        goto cleanup;

    /* Every port names a listening device; every listening device has a port. */
    for (size_t k = 0; k < spec->nports; k++) {
        const struct sup_port *p = &spec->ports[k];
        int found = 0;
        for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
            found |= m->dev[i].type == UNISEC_DEV_LISTEN && p->device &&
                     strcmp(m->dev[i].name, p->device) == 0;
        if (!found) {
            rc = engine_diag_add(d, spec->image, 0, 0,
                                 "node %s: the image declares no listening device named '%s'",
                                 n->name, p->device ? p->device : "(null)");
            goto cleanup;
        }
        for (size_t j = 0; j < k; j++)
            if (strcmp(spec->ports[j].device, p->device) == 0) {
                rc = engine_diag_add(d, n->name, 0, 0, "listening device %s is given twice",
                                     p->device);
                goto cleanup;
            }
    }
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++) {
        const struct unisec_device *dev = &m->dev[i];
        if (dev->type == UNISEC_DEV_POLICY)
            ns->has_policy = 1;
        if (dev->type == UNISEC_DEV_LISTEN) {
            const struct sup_port *p = NULL;
            for (size_t k = 0; k < spec->nports && !p; k++)
                if (strcmp(spec->ports[k].device, dev->name) == 0)
                    p = &spec->ports[k];
            if (p == NULL || p->addr == NULL) {
                rc = engine_diag_add(d, spec->image, 0, 0,
                                     "node %s: the image listens on device '%s': give it a port",
                                     n->name, dev->name);
                goto cleanup;
            }
            if (ns->nlisten == TENDER_CONFIG_MAX) {
                rc = engine_diag_add(d, spec->image, 0, 0, "too many listening devices");
                goto cleanup;
            }
            if ((rc = sup_listen_get(n, dev->name, p->addr, &ns->listen[ns->nlisten], d)) < 0)
                goto cleanup;
            ns->nlisten++;
            if ((rc = sup_argv_add(ns, &cap, "--listen-fd")) < 0 ||
                (rc = sup_argv_add(ns, &cap, "%s=%d", dev->name, ns->listen[ns->nlisten - 1]->fd)) <
                    0)
                goto cleanup;
            ns->lfd_arg[ns->nlisten - 1] = ns->argc - 1;
        }
        if (dev->type == UNISEC_DEV_UPSTREAM || dev->type == UNISEC_DEV_PDP) {
            const struct sup_upstream *u = NULL;
            for (size_t k = 0; k < spec->nupstreams && !u; k++)
                if (spec->upstreams[k].device && strcmp(spec->upstreams[k].device, dev->name) == 0)
                    u = &spec->upstreams[k];
            if (u == NULL || u->addr == NULL) {
                rc = engine_diag_add(d, spec->image, 0, 0,
                                     "node %s: the image connects to %s '%s': give its address",
                                     n->name, dev->type == UNISEC_DEV_PDP ? "PDP" : "upstream",
                                     dev->name);
                goto cleanup;
            }
            if ((rc = sup_argv_add(ns, &cap, "--upstream")) < 0 ||
                (rc = sup_argv_add(ns, &cap, "%s=%s", dev->name, u->addr)) < 0)
                goto cleanup;
        }
    }
    if (ns->has_policy) {
        if ((rc = sup_argv_add(ns, &cap, "--policy-fd")) < 0)
            goto cleanup;
        ns->pol_arg = ns->argc;
        if ((rc = sup_argv_add(ns, &cap, "-1")) < 0)
            goto cleanup;
    }
    if (spec->mem_mib && (rc = sup_argv_add(ns, &cap, "--mem")) == 0)
        rc = sup_argv_add(ns, &cap, "%u", spec->mem_mib);
    ns->dd_arg = ns->argc;
    if (rc == 0)
        rc = sup_argv_add(ns, &cap, "--");
    for (size_t k = 0; rc == 0 && k < spec->nargs; k++)
        rc = sup_argv_add(ns, &cap, "%s", spec->args[k]);
    if (rc < 0)
        goto cleanup;
    *out = ns;
    ns = NULL;
cleanup:
    sup_nspec_unref(ns);
    sup_node_gc_listen(n);
    tender_image_free(&img);
    return rc;
}

/* ---- instances ---- */

static void sup_inst_watch(struct sup *s, struct sup_inst *in, int kind, uint32_t events)
{
    in->w[kind] = (struct sup_watch){in, kind};
    struct epoll_event ev = {events, {.ptr = &in->w[kind]}};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, in->fd[kind], &ev) < 0) {
        /* Cannot happen for fresh descriptors short of memory; the timers still cover it. */
    }
}

static void sup_inst_kill(struct sup_inst *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sup_inst_kill(struct sup_inst *in, const char *fmt, ...)
{
    if (in->dead)
        return;
    if (in->kill_why[0] == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(in->kill_why, sizeof(in->kill_why), fmt, ap);
        va_end(ap);
    }
    if (in->fd[SUP_W_PID] >= 0)
        pidfd_send_signal(in->fd[SUP_W_PID], SIGKILL, NULL, 0);
    else
        kill(in->pid, SIGKILL);
}

static void sup_inst_say(struct sup_inst *in, uint32_t type, const void *payload, uint32_t len)
{
    if (in->fd[SUP_W_CTL] >= 0 && ctl_send(in->fd[SUP_W_CTL], type, payload, len) < 0) {
        /* a full or closed control socket: the ping timeout decides */
    }
}

/* Writes what it can of the pending policy frames. */
static void sup_inst_pol_flush(struct sup_inst *in)
{
    while (in->fd[SUP_W_POL] >= 0) {
        if (in->pol_send == NULL) {
            if (in->pol_next == NULL)
                return;
            in->pol_send = in->pol_next;
            in->pol_next = NULL;
            in->pol_off = 0;
        }
        ssize_t w = send(in->fd[SUP_W_POL], in->pol_send->frame + in->pol_off,
                         in->pol_send->len - in->pol_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return; /* EAGAIN: EPOLLOUT resumes; other errors: the reaper decides */
        in->pol_off += (size_t)w;
        if (in->pol_off == in->pol_send->len) {
            sup_blob_unref(in->pol_send);
            in->pol_send = NULL;
        }
    }
}

static void sup_inst_pol_queue(struct sup_inst *in, struct sup_blob *b)
{
    if (b == NULL || in->fd[SUP_W_POL] < 0)
        return;
    sup_blob_unref(in->pol_next);
    b->refs++;
    in->pol_next = b;
    if (in->role == SUP_I_STARTING)
        in->want_ack = b->version;
    sup_inst_pol_flush(in);
}

/* Forks the tender for node N running SPEC. Returns the instance, or NULL with *WHY set. */
static struct sup_inst *sup_inst_start(struct sup *s, struct sup_node *n, struct sup_nspec *spec,
                                       char *why, size_t whylen)
{
    struct sup_inst *in = calloc(1, sizeof(*in));
    int ctl[2] = {-1, -1}, pol[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, mfd = -1;
    char **argv = spec->argv, **av = NULL, mpath[32];
    if (in == NULL || (in->console.buf = malloc(s->opt.console_max)) == NULL ||
        (av = calloc(spec->argc + 3, sizeof(*av))) == NULL)
        goto fail_errno;
    for (int k = 0; k < SUP_W_N; k++)
        in->fd[k] = -1;
    in->console.cap = s->opt.console_max;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ctl) < 0 ||
        (spec->has_policy &&
         socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pol) < 0) ||
        pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0)
        goto fail_errno;
    /* The child's ends block: the tender sets what it needs itself. */
    fcntl(ctl[1], F_SETFL, 0);
    if (pol[1] >= 0)
        fcntl(pol[1], F_SETFL, 0);
    fcntl(out[1], F_SETFL, 0);
    fcntl(err[1], F_SETFL, 0);
    /* The descriptor numbers go into the command line before the fork: the child may only
     * make async-signal-safe calls. */
    free(argv[spec->ctl_arg]);
    if (asprintf(&argv[spec->ctl_arg], "%d", ctl[1]) < 0)
        argv[spec->ctl_arg] = NULL;
    if (spec->pol_arg) {
        free(argv[spec->pol_arg]);
        if (asprintf(&argv[spec->pol_arg], "%d", pol[1]) < 0)
            argv[spec->pol_arg] = NULL;
    }
    if (argv[spec->ctl_arg] == NULL || (spec->pol_arg && argv[spec->pol_arg] == NULL))
        goto fail_errno;
    /* The node's blob goes in at boot (--policy, from a memory file), so that the guest has
     * it before its first POLL and applies it before it serves a request. */
    size_t ac = 0;
    for (size_t k = 0; k < spec->argc; k++) {
        if (k == spec->dd_arg && spec->has_policy && n->blob) {
            mfd = memfd_create("unisec-policy", MFD_CLOEXEC);
            size_t off = 8;
            while (mfd >= 0 && off < n->blob->len) {
                ssize_t w = write(mfd, n->blob->frame + off, n->blob->len - off);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    goto fail_errno;
                off += (size_t)w;
            }
            if (mfd < 0)
                goto fail_errno;
            snprintf(mpath, sizeof(mpath), "/dev/fd/%d", mfd);
            av[ac++] = "--policy";
            av[ac++] = mpath;
            in->want_ack = n->blob->version;
        }
        av[ac++] = argv[k];
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        goto fail_errno;
    if (pid == 0) {
        /* The child: die with the supervisor's thread, keep only what the tender needs. */
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (dup2(s->devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
            _exit(127);
        close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
        fcntl(ctl[1], F_SETFD, 0);
        if (pol[1] >= 0)
            fcntl(pol[1], F_SETFD, 0);
        for (size_t k = 0; k < spec->nlisten; k++)
            fcntl(spec->listen[k]->fd, F_SETFD, 0);
        if (mfd >= 0)
            fcntl(mfd, F_SETFD, 0);
        execv(s->tender, av);
        static const char msg[] = "supervisor: cannot execute the tender\n";
        if (write(2, msg, sizeof(msg) - 1) < 0) {
            /* nothing left to say it with */
        }
        _exit(127);
    }
    close(ctl[1]), close(out[1]), close(err[1]);
    if (pol[1] >= 0)
        close(pol[1]);
    if (mfd >= 0)
        close(mfd);
    free(av);
    in->node = n;
    in->spec = spec;
    spec->refs++;
    in->pid = pid;
    in->role = SUP_I_STARTING;
    in->t_start = sup_now_ms();
    in->deadline = in->t_start + s->opt.ready_ms;
    in->fd[SUP_W_PID] = pidfd_open(pid, 0);
    in->fd[SUP_W_CTL] = ctl[0];
    in->fd[SUP_W_POL] = pol[0];
    in->fd[SUP_W_OUT] = out[0];
    in->fd[SUP_W_ERR] = err[0];
    if (in->fd[SUP_W_PID] >= 0)
        sup_inst_watch(s, in, SUP_W_PID, EPOLLIN);
    sup_inst_watch(s, in, SUP_W_CTL, EPOLLIN | EPOLLET);
    if (pol[0] >= 0)
        sup_inst_watch(s, in, SUP_W_POL, EPOLLIN | EPOLLOUT | EPOLLET);
    sup_inst_watch(s, in, SUP_W_OUT, EPOLLIN | EPOLLET);
    sup_inst_watch(s, in, SUP_W_ERR, EPOLLIN | EPOLLET);
    in->next = s->insts;
    s->insts = in;
    return in;

fail_errno:
    snprintf(why, whylen, "cannot start a tender: %s", strerror(errno));
    for (int k = 0; k < 2; k++) {
        if (ctl[k] >= 0)
            close(ctl[k]);
        if (pol[k] >= 0)
            close(pol[k]);
        if (out[k] >= 0)
            close(out[k]);
        if (err[k] >= 0)
            close(err[k]);
    }
    if (mfd >= 0)
        close(mfd);
    free(av);
    if (in)
        free(in->console.buf);
    free(in);
    return NULL;
}

/* ---- what the thread does ---- */

static void sup_node_restart_later(struct sup *s, struct sup_node *n, const char *what)
{
    unsigned b = n->backoff_ms ? n->backoff_ms * 2 : s->opt.backoff_min_ms;
    if (b > s->opt.backoff_max_ms)
        b = s->opt.backoff_max_ms;
    n->backoff_ms = b;
    n->restart_at = sup_now_ms() + b;
    sup_report(s, n, SUP_FAILED, "%s; restart in %u ms", what, b);
}

/* Starts an instance of SPEC for N: the first, a restart, or the new side of a swap. */
static void sup_node_launch(struct sup *s, struct sup_node *n, struct sup_nspec *spec,
                            const char *verb)
{
    char why[256];
    struct sup_inst *in = sup_inst_start(s, n, spec, why, sizeof(why));
    if (in == NULL) {
        if (n->serving)
            sup_report(s, n, SUP_RUNNING, "image %s: %s; image %s keeps serving", spec->image_id,
                       why, n->serving->spec->image_id);
        else
            sup_node_restart_later(s, n, why);
        return;
    }
    n->starting = in;
    if (n->serving)
        sup_report(s, n, SUP_RUNNING, "starting image %s (pid %d) to replace image %s (pid %d)",
                   spec->image_id, in->pid, n->serving->spec->image_id, n->serving->pid);
    else
        sup_report(s, n, SUP_STARTING, "%s image %s (pid %d)", verb, spec->image_id, in->pid);
}

/* The starting instance IN is ready: it serves, and the one it replaces drains. */
static void sup_inst_promote(struct sup *s, struct sup_inst *in)
{
    struct sup_node *n = in->node;
    struct sup_inst *old = n->serving;
    uint64_t now = sup_now_ms();
    in->role = SUP_I_SERVING;
    in->t_ready = now;
    in->pong_at = now;
    n->serving = in;
    n->starting = NULL;
    if (n->spec != in->spec) {
        sup_nspec_unref(n->spec);
        n->spec = in->spec;
        n->spec->refs++;
    }
    if (in->acked) {
        n->version_acked = in->acked;
        if (n->blob && n->blob->version == in->acked) {
            sup_blob_unref(n->blob_acked);
            n->blob_acked = n->blob;
            n->blob_acked->refs++;
        }
    }
    if (old) {
        old->role = SUP_I_DRAINING;
        old->deadline = now + s->opt.drain_ms;
        sup_inst_say(old, CTL_DRAIN, NULL, 0);
        sup_report(s, n, SUP_RUNNING, "image %s serves (pid %d); image %s (pid %d) drains",
                   in->spec->image_id, in->pid, old->spec->image_id, old->pid);
    } else {
        sup_report(s, n, SUP_RUNNING, "image %s serves (pid %d)", in->spec->image_id, in->pid);
    }
    sup_node_gc_listen(n);
}

static void sup_inst_check_ready(struct sup *s, struct sup_inst *in)
{
    if (in->role == SUP_I_STARTING && in->ready && !in->dead && !in->node->stopping &&
        (in->want_ack == 0 || in->acked == in->want_ack))
        sup_inst_promote(s, in);
}

/* ---- the tender's control messages (control.h) ---- */

struct sup_ctl_ctx {
    struct sup *s;
    struct sup_inst *in;
};

static int sup_ctl_ready(void *ctx, const void *payload, uint32_t len)
{
    struct sup_ctl_ctx *c = ctx;
    (void)payload, (void)len;
    c->in->ready = 1;
    sup_inst_check_ready(c->s, c->in);
    return 0;
}

static int sup_ctl_pong(void *ctx, const void *payload, uint32_t len)
{
    struct sup_ctl_ctx *c = ctx;
    struct ctl_seq q;
    (void)len;
    memcpy(&q, payload, sizeof(q));
    if (q.n == c->in->ping_seq) {
        c->in->ping_at = 0;
        c->in->pong_at = sup_now_ms();
    }
    return 0;
}

/* DRAINING and DRAINED need nothing: the end of the process is what counts. */
static int sup_ctl_note(void *ctx, const void *payload, uint32_t len)
{
    (void)ctx, (void)payload, (void)len;
    return 0;
}

/* What the supervisor takes from a tender; anything else kills it (sup_inst_ctl_input). */
static const struct ctl_handler sup_ctl_table[CTL_TYPES] = {
    [CTL_READY] = {0, 0, sup_ctl_ready},
    [CTL_PONG] = {sizeof(struct ctl_seq), sizeof(struct ctl_seq), sup_ctl_pong},
    [CTL_DRAINING] = {sizeof(struct ctl_count), sizeof(struct ctl_count), sup_ctl_note},
    [CTL_DRAINED] = {0, 0, sup_ctl_note},
};

/* Reads the control socket. At its end, or at a message the table refuses (a broken or
 * hostile tender, which is then killed), the socket is closed. */
static void sup_inst_ctl_input(struct sup *s, struct sup_inst *in)
{
    struct sup_ctl_ctx c = {s, in};
    struct ctl_hdr bad;
    int rc = ctl_read(in->fd[SUP_W_CTL], &in->ctl_in, sup_ctl_table, CTL_TYPES, &c, &bad);
    if (rc < 0)
        sup_inst_kill(in, "broke the control protocol (a message of type %u, %u bytes)", bad.type,
                      bad.len);
    if (rc <= 0) {
        epoll_ctl(s->ep, EPOLL_CTL_DEL, in->fd[SUP_W_CTL], NULL);
        close(in->fd[SUP_W_CTL]);
        in->fd[SUP_W_CTL] = -1;
    }
}

/* ---- the tender's answers on the policy socket (tender_policy.c) ---- */

static void sup_pol_ack(struct sup *s, struct sup_inst *in, uint64_t v, const char *rest)
{
    struct sup_node *n = in->node;
    (void)rest;
    in->acked = v;
    if (in->role == SUP_I_STARTING) {
        sup_inst_check_ready(s, in);
    } else if (in->role == SUP_I_SERVING) {
        n->version_acked = v;
        if (n->blob && n->blob->version == v && n->blob != n->blob_acked) {
            sup_blob_unref(n->blob_acked);
            n->blob_acked = n->blob;
            n->blob_acked->refs++;
        }
        sup_report(s, n, SUP_RUNNING, "policy v%llu acknowledged by image %s (pid %d)",
                   (unsigned long long)v, in->spec->image_id, in->pid);
    }
}

/* REST: "ERRNO REASON". */
static void sup_pol_refuse(struct sup *s, struct sup_inst *in, uint64_t v, const char *rest)
{
    struct sup_node *n = in->node;
    char *end;
    long err = strtol(rest, &end, 10);
    const char *reason = *end == ' ' ? end + 1 : end;
    if (in->role == SUP_I_STARTING && v == in->want_ack) {
        sup_inst_kill(in, "refused policy v%llu at start: %s (errno %ld)", (unsigned long long)v,
                      reason, err);
    } else if (in->role == SUP_I_SERVING) {
        /* The guest keeps its rules: new instances get the last acknowledged blob. */
        if (n->blob && n->blob->version == v) {
            sup_blob_unref(n->blob);
            n->blob = n->blob_acked;
            if (n->blob)
                n->blob->refs++;
        }
        sup_report(s, n, SUP_RUNNING,
                   "policy v%llu refused by image %s (pid %d): %s (errno %ld); v%llu stays "
                   "in force",
                   (unsigned long long)v, in->spec->image_id, in->pid, reason, err,
                   (unsigned long long)n->version_acked);
    }
}

/* The answer lines, "WORD VERSION [REST]" (`unisec run --policy-fd` documents them); a line
 * of another word is ignored. */
static const struct {
    const char *word;
    void (*fn)(struct sup *s, struct sup_inst *in, uint64_t version, const char *rest);
} sup_pol_words[] = {
    {"ack", sup_pol_ack},
    {"refuse", sup_pol_refuse},
};

static void sup_inst_pol_line(struct sup *s, struct sup_inst *in, const char *line)
{
    const char *sp = strchr(line, ' ');
    if (sp == NULL)
        return;
    for (size_t i = 0; i < sizeof(sup_pol_words) / sizeof(sup_pol_words[0]); i++) {
        if (strlen(sup_pol_words[i].word) != (size_t)(sp - line) ||
            memcmp(line, sup_pol_words[i].word, (size_t)(sp - line)) != 0)
            continue;
        char *end;
        uint64_t v = strtoull(sp + 1, &end, 10);
        sup_pol_words[i].fn(s, in, v, end);
        return;
    }
}

/* Reads answer lines from the policy socket; 0 at its end or on an error, 1 otherwise. */
static int sup_inst_pol_input(struct sup *s, struct sup_inst *in)
{
    char *buf = in->pol_in;
    size_t size = sizeof(in->pol_in), *have = &in->pol_have;
    for (;;) {
        ssize_t r = read(in->fd[SUP_W_POL], buf + *have, size - 1 - *have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 1;
        if (r <= 0)
            return 0;
        *have += (size_t)r;
        char *nl;
        while ((nl = memchr(buf, '\n', *have)) != NULL) {
            *nl = 0;
            sup_inst_pol_line(s, in, buf);
            size_t used = (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, *have - used);
            *have -= used;
        }
        if (*have == size - 1)
            *have = 0; /* an overlong line from a broken tender: drop it */
    }
}

/* Console (stdout) and the tender's own messages (stderr) into the ring. */
static void sup_inst_output(struct sup_inst *in, int kind)
{
    char buf[4096];
    for (;;) {
        ssize_t r = read(in->fd[kind], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        sup_ring_put(&in->console, buf, (size_t)r);
        if (kind != SUP_W_ERR)
            continue;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == '\n') {
                if (in->err_have) {
                    memcpy(in->last_err, in->err_line, in->err_have);
                    in->last_err[in->err_have] = 0;
                }
                in->err_have = 0;
            } else if (in->err_have < sizeof(in->err_line) - 1) {
                in->err_line[in->err_have++] = buf[i];
            }
        }
    }
}

static void sup_inst_close_fds(struct sup *s, struct sup_inst *in)
{
    /* Out of the epoll set first: a tender forked meanwhile holds a copy of these
     * descriptors until its exec, and a registration lives as long as any copy does, so
     * events for this (soon freed) instance would keep coming. */
    for (int k = 0; k < SUP_W_N; k++)
        if (in->fd[k] >= 0) {
            epoll_ctl(s->ep, EPOLL_CTL_DEL, in->fd[k], NULL);
            close(in->fd[k]);
            in->fd[k] = -1;
        }
}

/* The last non-empty line of ring R into BUF (NUL-terminated, truncated); "" when none. */
static void sup_ring_last_line(const struct sup_ring *r, char *buf, size_t size)
{
    size_t end = r->len;
    while (end > 0 && r->buf[(r->start + end - 1) % r->cap] == '\n')
        end--;
    size_t begin = end;
    while (begin > 0 && r->buf[(r->start + begin - 1) % r->cap] != '\n')
        begin--;
    size_t n = 0;
    for (size_t i = begin; i < end && n + 1 < size; i++)
        buf[n++] = r->buf[(r->start + i) % r->cap];
    if (size)
        buf[n] = 0;
}

/* How the instance ended, in words. */
static void sup_inst_end_text(const struct sup_inst *in, char *buf, size_t size)
{
    int st = in->status;
    char last[200];
    if (in->kill_why[0])
        snprintf(buf, size, "%s", in->kill_why);
    else if (WIFEXITED(st) && WEXITSTATUS(st) == TENDER_EXIT_KILLED && in->last_err[0])
        snprintf(buf, size, "%s", in->last_err);
    else if (WIFEXITED(st) && WEXITSTATUS(st) != 0 && in->console.buf &&
             (sup_ring_last_line(&in->console, last, sizeof(last)), last[0]))
        snprintf(buf, size, "exited with status %d after \"%s\"", WEXITSTATUS(st), last);
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 1 && in->last_err[0])
        snprintf(buf, size, "could not start: %s", in->last_err);
    else if (WIFEXITED(st))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, size, "ended");
}

/* The process of IN is gone (or is about to be reaped): take its last words and react. */
static void sup_inst_reap(struct sup *s, struct sup_inst *in)
{
    int st = 0;
    pid_t r = waitpid(in->pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return;
    in->status = st;
    in->dead = 1;
    if (in->fd[SUP_W_OUT] >= 0)
        sup_inst_output(in, SUP_W_OUT);
    if (in->fd[SUP_W_ERR] >= 0)
        sup_inst_output(in, SUP_W_ERR);
    if (in->err_have) {
        memcpy(in->last_err, in->err_line, in->err_have);
        in->last_err[in->err_have] = 0;
    }
    sup_inst_close_fds(s, in);
    struct sup_node *n = in->node;
    char end[512];
    sup_inst_end_text(in, end, sizeof(end));
    if (in->role == SUP_I_DRAINING) {
        if (!n->stopping)
            sup_report(s, n, n->serving ? SUP_RUNNING : n->state,
                       "image %s (pid %d) drained and ended%s%s", in->spec->image_id, in->pid,
                       in->kill_why[0] ? ": " : "", in->kill_why);
    } else if (in->role == SUP_I_STARTING) {
        if (n->starting == in)
            n->starting = NULL;
        if (in->abandoned || n->stopping) {
            /* replaced by a newer swap, or stopped: nothing failed */
        } else if (n->serving) {
            sup_report(s, n, SUP_RUNNING,
                       "image %s (pid %d) did not become ready: %s; image %s "
                       "keeps serving",
                       in->spec->image_id, in->pid, end, n->serving->spec->image_id);
        } else {
            char what[700];
            snprintf(what, sizeof(what), "image %s (pid %d) did not become ready: %s",
                     in->spec->image_id, in->pid, end);
            sup_node_restart_later(s, n, what);
        }
    } else {
        if (n->serving == in)
            n->serving = NULL;
        if (!n->stopping) {
            char what[700];
            snprintf(what, sizeof(what), "image %s (pid %d) %s: %s", in->spec->image_id, in->pid,
                     in->kill_why[0] ? "was killed" : "ended", end);
            if (n->starting) /* a swap under way takes over */
                sup_report(s, n, SUP_STARTING, "%s; image %s (pid %d) is starting", what,
                           n->starting->spec->image_id, n->starting->pid);
            else
                sup_node_restart_later(s, n, what);
        }
    }
    /* Keep the console of the last instance when nothing came after it. */
    if (!n->serving && !n->starting && in->role != SUP_I_DRAINING) {
        free(n->last_console.buf);
        n->last_console = in->console;
        in->console.buf = NULL;
    }
}

static void sup_inst_free(struct sup *s, struct sup_inst *in)
{
    struct sup_node *n = in->node;
    sup_inst_close_fds(s, in);
    sup_blob_unref(in->pol_send);
    sup_blob_unref(in->pol_next);
    sup_nspec_unref(in->spec);
    if (n)
        sup_node_gc_listen(n);
    free(in->console.buf);
    free(in);
}

static int sup_node_has_insts(struct sup *s, struct sup_node *n)
{
    for (struct sup_inst *in = s->insts; in; in = in->next)
        if (in->node == n)
            return 1;
    return 0;
}

static void sup_event(struct sup *s, struct sup_watch *w, uint32_t events)
{
    struct sup_inst *in = w->inst;
    if (in == NULL) {
        uint64_t v;
        if (read(s->wake, &v, sizeof(v)) < 0) {
            /* nothing was pending */
        }
        return;
    }
    if (in->dead)
        return;
    switch (w->kind) {
    case SUP_W_PID:
        sup_inst_reap(s, in);
        break;
    case SUP_W_CTL:
        sup_inst_ctl_input(s, in);
        break;
    case SUP_W_POL:
        if (events & EPOLLOUT)
            sup_inst_pol_flush(in);
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !sup_inst_pol_input(s, in)) {
            epoll_ctl(s->ep, EPOLL_CTL_DEL, in->fd[SUP_W_POL], NULL);
            close(in->fd[SUP_W_POL]);
            in->fd[SUP_W_POL] = -1;
        }
        break;
    default:
        sup_inst_output(in, w->kind);
        break;
    }
}

/* Acts on what the API recorded and on every timer; returns the next deadline (ms). */
static uint64_t sup_tick(struct sup *s)
{
    uint64_t now = sup_now_ms(), next = now + 60000;
    unsigned ping_every = s->opt.hang_ms / 4 ? s->opt.hang_ms / 4 : 1;
    for (struct sup_node *n = s->nodes; n; n = n->next) {
        if (n->want) {
            struct sup_nspec *want = n->want;
            n->want = NULL;
            n->stopping = 0;
            n->restart_at = 0;
            if (n->starting) {
                n->starting->abandoned = 1;
                sup_inst_kill(n->starting, "replaced by a newer image before it was ready");
                n->starting = NULL;
            }
            if (!n->serving) {
                sup_nspec_unref(n->spec);
                n->spec = want;
                want->refs++;
            }
            sup_node_launch(s, n, want, "starting");
            sup_nspec_unref(want);
        }
        if (n->restart_at && now >= n->restart_at && !n->serving && !n->starting && n->spec &&
            !n->stopping) {
            n->restart_at = 0;
            n->restarts++;
            sup_node_launch(s, n, n->spec, "restarting");
        } else if (n->restart_at && n->restart_at < next) {
            next = n->restart_at;
        }
        if (n->serving && n->backoff_ms && now >= n->serving->t_ready + s->opt.stable_ms)
            n->backoff_ms = 0;
        else if (n->serving && n->backoff_ms && n->serving->t_ready + s->opt.stable_ms < next)
            next = n->serving->t_ready + s->opt.stable_ms;
    }
    for (struct sup_inst *in = s->insts; in; in = in->next) {
        if (!in->dead && in->fd[SUP_W_PID] < 0) {
            sup_inst_reap(s, in); /* no pidfd: look every 100 ms */
            if (now + 100 < next)
                next = now + 100;
        }
        if (in->dead)
            continue;
        if (in->pol_send || in->pol_next)
            sup_inst_pol_flush(in);
        uint64_t due = 0;
        if (in->role == SUP_I_STARTING || in->role == SUP_I_DRAINING) {
            if (now >= in->deadline)
                sup_inst_kill(in,
                              in->role == SUP_I_STARTING ? "not ready within %u ms"
                                                         : "drain cut after %u ms",
                              in->role == SUP_I_STARTING ? s->opt.ready_ms : s->opt.drain_ms);
            else
                due = in->deadline;
        } else if (in->ping_at) {
            if (now >= in->ping_at + s->opt.hang_ms)
                sup_inst_kill(in, "hung: its event loop did not answer within %u ms",
                              s->opt.hang_ms);
            else
                due = in->ping_at + s->opt.hang_ms;
        } else if (now >= in->pong_at + ping_every) {
            struct ctl_seq q = {++in->ping_seq};
            in->ping_at = now;
            sup_inst_say(in, CTL_PING, &q, sizeof(q));
            due = now + s->opt.hang_ms;
        } else {
            due = in->pong_at + ping_every;
        }
        if (due && due < next)
            next = due;
    }
    return next;
}

/* Frees the instances reaped in this turn, and finishes the stops they complete. */
static void sup_collect(struct sup *s)
{
    for (struct sup_inst **p = &s->insts; *p;) {
        struct sup_inst *in = *p;
        if (!in->dead) {
            p = &in->next;
            continue;
        }
        *p = in->next;
        struct sup_node *n = in->node;
        sup_inst_free(s, in);
        if (n->stopping && !sup_node_has_insts(s, n)) {
            n->stopping = 0;
            sup_nspec_unref(n->spec);
            n->spec = NULL;
            sup_node_gc_listen(n);
            n->serving = n->starting = NULL;
            sup_report(s, n, SUP_STOPPED, "stopped");
        }
    }
}

static void *sup_main(void *arg)
{
    struct sup *s = arg;
    struct epoll_event ev[64];
    pthread_mutex_lock(&s->lock);
    for (;;) {
        uint64_t next = sup_tick(s);
        struct sup_queued *q = s->q;
        size_t nq = s->nq;
        s->q = NULL;
        s->nq = s->capq = 0;
        int quit = s->quit;
        pthread_mutex_unlock(&s->lock);
        if (quit) {
            for (size_t i = 0; i < nq; i++)
                free(q[i].node), free(q[i].image), free(q[i].level), free(q[i].why);
            free(q);
            return NULL;
        }
        if (nq)
            sup_deliver(s, q, nq);
        else
            free(q);
        uint64_t now = sup_now_ms();
        int timeout = next > now ? (int)(next - now < 60000 ? next - now : 60000) : 0;
        int k = epoll_wait(s->ep, ev, 64, timeout);
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < k; i++)
            sup_event(s, ev[i].data.ptr, ev[i].events);
        sup_collect(s);
    }
}

/* ---- the API ---- */

int sup_new(struct sup **out, const struct sup_options *opt, struct engine_diag *d)
{
    *out = NULL;
    struct sup *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->opt = *opt;
    s->ep = s->wake = s->devnull = -1;
#define SUP_DEFAULT(f, v)                                                                          \
    if (s->opt.f == 0)                                                                             \
    s->opt.f = (v)
    SUP_DEFAULT(ready_ms, 10000);
    SUP_DEFAULT(drain_ms, 10000);
    SUP_DEFAULT(hang_ms, 5000);
    SUP_DEFAULT(backoff_min_ms, 100);
    SUP_DEFAULT(backoff_max_ms, 30000);
    SUP_DEFAULT(stable_ms, 10000);
    SUP_DEFAULT(console_max, 64 * 1024);
#undef SUP_DEFAULT
    if (s->opt.backoff_max_ms < s->opt.backoff_min_ms)
        s->opt.backoff_max_ms = s->opt.backoff_min_ms;
    int rc = 0;
    if (opt->tender) {
        s->tender = strdup(opt->tender);
    } else {
        char buf[4096];
        if ((rc = tender_exe_path(buf, sizeof(buf), d)) < 0)
            goto fail;
        s->tender = strdup(buf);
    }
    if (s->tender == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if (access(s->tender, X_OK) < 0) {
        rc = engine_diag_add(d, s->tender, 0, 0,
                             "cannot execute the tender: %s (unisec-tender is installed beside "
                             "unisec)",
                             strerror(errno));
        goto fail;
    }
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (s->ep < 0 || s->wake < 0 || s->devnull < 0) {
        rc = engine_diag_add(d, NULL, 0, 0, "supervisor: %s", strerror(errno));
        goto fail;
    }
    s->wake_w = (struct sup_watch){NULL, SUP_W_WAKE};
    struct epoll_event ev = {EPOLLIN, {.ptr = &s->wake_w}};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->wake, &ev) < 0) {
        rc = engine_diag_add(d, NULL, 0, 0, "supervisor: %s", strerror(errno));
        goto fail;
    }
    pthread_mutex_init(&s->lock, NULL);
    if ((rc = -pthread_create(&s->thread, NULL, sup_main, s)) < 0) {
        pthread_mutex_destroy(&s->lock);
        engine_diag_add(d, NULL, 0, 0, "supervisor: cannot start its thread: %s", strerror(-rc));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (s->ep >= 0)
        close(s->ep);
    if (s->wake >= 0)
        close(s->wake);
    if (s->devnull >= 0)
        close(s->devnull);
    free(s->tender);
    free(s);
    return rc;
}

void sup_free(struct sup *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->quit = 1;
    sup_wake(s);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    for (struct sup_inst *in = s->insts; in; in = in->next)
        if (!in->dead)
            sup_inst_kill(in, "the supervisor stops");
    while (s->insts) {
        struct sup_inst *in = s->insts;
        s->insts = in->next;
        if (!in->dead)
            while (waitpid(in->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        in->node = NULL;
        sup_inst_free(s, in);
    }
    while (s->nodes) {
        struct sup_node *n = s->nodes;
        s->nodes = n->next;
        sup_nspec_unref(n->spec);
        sup_nspec_unref(n->want);
        sup_node_gc_listen(n);
        sup_blob_unref(n->blob);
        sup_blob_unref(n->blob_acked);
        free(n->last_console.buf);
        free(n->name);
        free(n);
    }
    for (size_t i = 0; i < s->nq; i++)
        free(s->q[i].node), free(s->q[i].image), free(s->q[i].level), free(s->q[i].why);
    free(s->q);
    close(s->ep);
    close(s->wake);
    close(s->devnull);
    pthread_mutex_destroy(&s->lock);
    free(s->tender);
    free(s);
}

int sup_node_run(struct sup *s, const struct sup_spec *spec, struct engine_diag *d)
{
    struct sup_blob *b = NULL;
    int rc;
    if ((rc = sup_name_check(spec->node, d)) < 0)
        return rc;
    if (spec->policy != NULL &&
        (b = sup_blob_make(spec->policy, spec->policy_len, spec->policy_version)) == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, spec->node), *fresh = NULL;
    if (n == NULL) {
        fresh = n = calloc(1, sizeof(*n));
        if (n == NULL || (n->name = strdup(spec->node)) == NULL) {
            free(n);
            pthread_mutex_unlock(&s->lock);
            sup_blob_unref(b);
            return -ENOMEM;
        }
        n->state = SUP_STOPPED;
        n->since_ns = sup_wall_ns();
    }
    struct sup_nspec *ns = NULL;
    rc = sup_nspec_make(s, n, spec, &ns, d);
    if (rc == 0) {
        if (ns->has_policy == 0 && n->blob) {
            sup_blob_unref(n->blob);
            n->blob = NULL;
        }
        /* Under the lock that publishes the spec: the thread cannot start the instance
         * before its rules are the node's (sup_inst_start() gives them at boot). The
         * instances running now keep theirs: they are being replaced. */
        if (ns->has_policy && b != NULL) {
            sup_blob_unref(n->blob);
            n->blob = b;
            b = NULL;
        }
        sup_nspec_unref(n->want);
        n->want = ns;
        if (fresh) {
            fresh->next = s->nodes;
            s->nodes = fresh;
        }
        sup_wake(s);
    } else if (fresh) {
        free(fresh->name);
        free(fresh);
    }
    pthread_mutex_unlock(&s->lock);
    sup_blob_unref(b);
    return rc;
}

int sup_node_stop(struct sup *s, const char *node)
{
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    if (n == NULL) {
        pthread_mutex_unlock(&s->lock);
        return -ENOENT;
    }
    sup_nspec_unref(n->want);
    n->want = NULL;
    n->restart_at = 0;
    n->stopping = 1;
    uint64_t now = sup_now_ms();
    for (struct sup_inst *in = s->insts; in; in = in->next) {
        if (in->node != n || in->dead)
            continue;
        if (in->role == SUP_I_STARTING) {
            sup_inst_kill(in, "stopped before it was ready");
        } else if (in->role == SUP_I_SERVING) {
            in->role = SUP_I_DRAINING;
            in->deadline = now + s->opt.drain_ms;
            sup_inst_say(in, CTL_DRAIN, NULL, 0);
        }
    }
    n->serving = n->starting = NULL;
    if (!sup_node_has_insts(s, n)) {
        n->stopping = 0;
        sup_nspec_unref(n->spec);
        n->spec = NULL;
        sup_node_gc_listen(n);
        sup_report(s, n, SUP_STOPPED, "stopped");
    }
    sup_wake(s);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int sup_policy_push(struct sup *s, const char *node, const void *blob, size_t len, uint64_t version,
                    struct engine_diag *d)
{
    struct sup_blob *b = sup_blob_make(blob, len, version);
    if (b == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    /* The newest image counts: one still starting (swapped in for an image without a policy
     * channel) is given the blob and becomes ready only once it has acknowledged it. */
    struct sup_nspec *spec = n == NULL     ? NULL
                             : n->want     ? n->want
                             : n->starting ? n->starting->spec
                                           : n->spec;
    int rc = 0;
    if (n == NULL || spec == NULL) {
        rc = -ENOENT;
        engine_diag_add(d, node, 0, 0, "the supervisor runs no node of that name");
    } else if (!spec->has_policy) {
        rc = -ENOTSUP;
        engine_diag_add(d, spec->image, 0, 0,
                        "node %s: the image declares no policy channel: its rules cannot be "
                        "pushed",
                        node);
    } else {
        sup_blob_unref(n->blob);
        n->blob = b;
        b->refs++;
        for (struct sup_inst *in = s->insts; in; in = in->next)
            if (in->node == n && !in->dead && in->role != SUP_I_DRAINING)
                sup_inst_pol_queue(in, b);
        sup_wake(s);
    }
    pthread_mutex_unlock(&s->lock);
    sup_blob_unref(b);
    return rc;
}

int sup_node_status(struct sup *s, const char *node, struct sup_status *out)
{
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    if (n) {
        memset(out, 0, sizeof(*out));
        out->state = n->state;
        snprintf(out->image, sizeof(out->image), "%s", n->image);
        snprintf(out->level, sizeof(out->level), "%s", n->level);
        out->policy_version = n->version_acked;
        out->pid = n->pid;
        out->since_ns = n->since_ns;
        out->restarts = n->restarts;
        snprintf(out->why, sizeof(out->why), "%s", n->why);
    }
    pthread_mutex_unlock(&s->lock);
    return n ? 0 : -ENOENT;
}

int sup_node_port(struct sup *s, const char *node, const char *device)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    struct sup_nspec *spec = n ? (n->want ? n->want : n->spec) : NULL;
    for (size_t i = 0; spec && i < spec->nlisten && rc < 0; i++)
        if (strcmp(spec->listen[i]->device, device) == 0)
            rc = spec->listen[i]->port;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int sup_node_console(struct sup *s, const char *node, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    if (n == NULL) {
        pthread_mutex_unlock(&s->lock);
        return -ENOENT;
    }
    const struct sup_ring *r = n->serving    ? &n->serving->console
                               : n->starting ? &n->starting->console
                                             : &n->last_console;
    char *buf = malloc(r->len + 1);
    if (buf) {
        for (size_t i = 0; i < r->len; i++)
            buf[i] = r->buf[(r->start + i) % r->cap];
        buf[r->len] = 0;
        *out = buf;
        *len = r->len;
    }
    pthread_mutex_unlock(&s->lock);
    return buf ? 0 : -ENOMEM;
}
