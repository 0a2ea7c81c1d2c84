/*
 * loop.c — the guest's single-threaded event loop: streams (accepted and connected), timers
 * and the policy channel, driven by the tender's POLL hypercall.
 *
 * Readiness is edge-triggered (abi.h): a stream's ready bits are set by events and cleared
 * only when a read or write returns UNISEC_EAGAIN. A stream whose ready bits meet its wanted
 * directions sits on the run queue; each turn runs the queue, fires due timers, and only
 * when the queue is empty waits in POLL (so a busy guest makes one exit per turn, not one
 * per stream).
 */
#include "libos.h"
#include "libos_int.h"

struct libos_stream {
    uint32_t handle;
    unsigned ready; /* LIBOS_WANT_* directions the tender said can move */
    unsigned want;  /* LIBOS_WANT_* directions whose callbacks may run */
    int queued;     /* on the run queue */
    int closed;     /* closed by the guest; freed at the end of the turn */
    int dead;       /* on the dead list */
    const struct libos_stream_ops *ops;
    void *ctx;
    struct unisec_addr peer;
    struct libos_stream *next; /* run queue or dead list */
};

struct loop_listener {
    libos_accept_fn fn;
    void *ctx;
    int active;
    int ready; /* connections may be pending */
};

extern const UNISEC_NOTE(struct unisec_manifest) libos_manifest_note;

static struct libos_stream *loop_streams[UNISEC_STREAMS_MAX];
static size_t loop_nstreams;
static struct libos_stream *loop_queue, *loop_queue_tail, *loop_dead;
static struct loop_listener loop_listeners[UNISEC_MANIFEST_MAX];
static int loop_nlisteners;
static int loop_table_full; /* the tender said EMFILE; retry accepts after a close */
static struct libos_timer *loop_timers;
static void (*loop_policy_fn)(void *ctx);
static void *loop_policy_ctx;
static int loop_policy_pending;
static int loop_stopped, loop_status;
static uint64_t loop_now;

int libos_manifest_find(uint32_t type, const char *name)
{
    const struct unisec_manifest *m = &libos_manifest_note.desc;
    for (int i = 0; i < UNISEC_MANIFEST_MAX && m->dev[i].type != UNISEC_DEV_END; i++)
        if (m->dev[i].type == type && strncmp(m->dev[i].name, name, UNISEC_DEVICE_NAME_MAX) == 0)
            return i;
    return -UNISEC_ENOENT;
}

static void loop_enqueue(struct libos_stream *s)
{
    if (s->queued || s->closed || (s->ready & s->want) == 0)
        return;
    s->queued = 1;
    s->next = NULL;
    if (loop_queue_tail)
        loop_queue_tail->next = s;
    else
        loop_queue = s;
    loop_queue_tail = s;
}

static struct libos_stream *loop_stream_new(uint32_t handle, unsigned ready, unsigned want)
{
    struct libos_stream *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->handle = handle;
    s->ready = ready;
    s->want = want;
    loop_streams[handle & 0xffff] = s;
    loop_nstreams++;
    return s;
}

static struct libos_stream *loop_stream_of(uint32_t handle)
{
    struct libos_stream *s = loop_streams[handle & 0xffff];
    return s && s->handle == handle && !s->closed ? s : NULL;
}

int libos_listen(const char *device, libos_accept_fn fn, void *ctx)
{
    int d = libos_manifest_find(UNISEC_DEV_LISTEN, device);
    if (d < 0)
        return d;
    if (!loop_listeners[d].active)
        loop_nlisteners++;
    loop_listeners[d] = (struct loop_listener){fn, ctx, 1, 1};
    return 0;
}

int libos_connect(struct libos_stream **out, const char *device)
{
    int d = libos_manifest_find(UNISEC_DEV_UPSTREAM, device);
    if (d < 0)
        d = libos_manifest_find(UNISEC_DEV_PDP, device);
    if (d < 0)
        return d;
    struct unisec_hc_connect a = {(uint32_t)d, 0, 0};
    libos_hypercall(UNISEC_HC_CONNECT, &a);
    if (a.ret < 0)
        return (int)a.ret;
    struct libos_stream *s = loop_stream_new(a.handle, 0, LIBOS_WANT_WRITE);
    if (s == NULL) {
        struct unisec_hc_close c = {a.handle, 0, 0};
        libos_hypercall(UNISEC_HC_CLOSE, &c);
        return -UNISEC_ENOMEM;
    }
    *out = s;
    return 0;
}

void libos_stream_set_ops(struct libos_stream *s, const struct libos_stream_ops *ops, void *ctx)
{
    s->ops = ops;
    s->ctx = ctx;
    loop_enqueue(s);
}

void libos_stream_want(struct libos_stream *s, unsigned want)
{
    s->want = want & (LIBOS_WANT_READ | LIBOS_WANT_WRITE);
    loop_enqueue(s);
}

long libos_stream_read(struct libos_stream *s, void *buf, size_t len)
{
    if (s->closed)
        return -UNISEC_EBADF;
    struct unisec_hc_io a = {s->handle, 0, (uint64_t)(uintptr_t)buf, len, 0};
    libos_hypercall(UNISEC_HC_READ, &a);
    if (a.ret == -UNISEC_EAGAIN)
        s->ready &= ~LIBOS_WANT_READ;
    return (long)a.ret;
}

long libos_stream_write(struct libos_stream *s, const void *buf, size_t len)
{
    if (s->closed)
        return -UNISEC_EBADF;
    struct unisec_hc_io a = {s->handle, 0, (uint64_t)(uintptr_t)buf, len, 0};
    libos_hypercall(UNISEC_HC_WRITE, &a);
    if (a.ret == -UNISEC_EAGAIN)
        s->ready &= ~LIBOS_WANT_WRITE;
    return (long)a.ret;
}

void libos_stream_close(struct libos_stream *s)
{
    if (s->closed)
        return;
    struct unisec_hc_close a = {s->handle, 0, 0};
    libos_hypercall(UNISEC_HC_CLOSE, &a);
    s->closed = 1;
    loop_streams[s->handle & 0xffff] = NULL;
    loop_nstreams--;
    loop_table_full = 0;
    if (!s->queued) { /* a queued stream goes to the dead list when the queue reaches it */
        s->dead = 1;
        s->next = loop_dead;
        loop_dead = s;
    }
}

const struct unisec_addr *libos_stream_peer(const struct libos_stream *s)
{
    return &s->peer;
}

void libos_addr_format(char *buf, size_t size, const struct unisec_addr *a)
{
    if (a->family == UNISEC_AF_INET) {
        snprintf(buf, size, "%u.%u.%u.%u:%u", a->addr[0], a->addr[1], a->addr[2], a->addr[3],
                 a->port);
        return;
    }
    char tmp[48];
    size_t n = 0;
    for (int i = 0; i < 16; i += 2)
        n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, i ? ":%x" : "%x",
                              (unsigned)a->addr[i] << 8 | a->addr[i + 1]);
    snprintf(buf, size, "[%s]:%u", tmp, a->port);
}

void libos_timer_disarm(struct libos_timer *t)
{
    if (!t->armed)
        return;
    for (struct libos_timer **p = &loop_timers; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    t->armed = 0;
}

void libos_timer_arm(struct libos_timer *t, uint64_t deadline_ns,
                     void (*fn)(struct libos_timer *t, void *ctx), void *ctx)
{
    libos_timer_disarm(t);
    t->deadline = deadline_ns;
    t->fn = fn;
    t->ctx = ctx;
    t->armed = 1;
    struct libos_timer **p = &loop_timers;
    while (*p && (*p)->deadline <= deadline_ns)
        p = &(*p)->next;
    t->next = *p;
    *p = t;
}

int libos_policy_watch(const char *device, void (*fn)(void *ctx), void *ctx)
{
    int d = libos_manifest_find(UNISEC_DEV_POLICY, device);
    if (d < 0)
        return d;
    loop_policy_fn = fn;
    loop_policy_ctx = ctx;
    loop_policy_pending = 1; /* a blob may have arrived before the watch */
    return 0;
}

int libos_policy_take(void **blob, size_t *len)
{
    struct unisec_hc_policy_recv a = {0, 0, 0, 0};
    libos_hypercall(UNISEC_HC_POLICY_RECV, &a);
    if (a.ret != -UNISEC_EMSGSIZE)
        return a.ret < 0 ? (int)a.ret : -UNISEC_EIO;
    void *buf = malloc(a.len ? a.len : 1);
    if (buf == NULL)
        return -UNISEC_ENOMEM;
    a = (struct unisec_hc_policy_recv){(uint64_t)(uintptr_t)buf, a.len, 0, 0};
    libos_hypercall(UNISEC_HC_POLICY_RECV, &a);
    if (a.ret < 0) {
        free(buf);
        return (int)a.ret;
    }
    *blob = buf;
    *len = a.len;
    return 0;
}

void libos_policy_ack(uint64_t version)
{
    struct unisec_hc_policy_ack a = {version, 0, 0, 0, 0};
    libos_hypercall(UNISEC_HC_POLICY_ACK, &a);
}

void libos_policy_refuse(uint64_t version, int error, const char *reason)
{
    size_t n = strnlen(reason, UNISEC_REASON_MAX);
    struct unisec_hc_policy_ack a = {version, error < 0 ? error : -UNISEC_EINVAL, (uint32_t)n,
                                     (uint64_t)(uintptr_t)reason, 0};
    libos_hypercall(UNISEC_HC_POLICY_ACK, &a);
}

void libos_loop_stop(int status)
{
    loop_stopped = 1;
    loop_status = status;
}

uint64_t libos_loop_now(void)
{
    return loop_now;
}

static void loop_accept(int d)
{
    struct loop_listener *l = &loop_listeners[d];
    while (l->ready && !loop_table_full && !loop_stopped) {
        struct unisec_hc_accept a = {(uint32_t)d, 0, {0, 0, {0}}, 0};
        libos_hypercall(UNISEC_HC_ACCEPT, &a);
        if (a.ret == -UNISEC_EAGAIN) {
            l->ready = 0;
            return;
        }
        if (a.ret == -UNISEC_EMFILE) {
            loop_table_full = 1;
            return;
        }
        if (a.ret < 0)
            libos_panic("accept on device %d failed: %lld", d, (long long)a.ret);
        /* Optimistically ready: a client usually sends its request with the connection. */
        struct libos_stream *s =
            loop_stream_new(a.handle, LIBOS_WANT_READ | LIBOS_WANT_WRITE, LIBOS_WANT_READ);
        if (s == NULL) {
            struct unisec_hc_close c = {a.handle, 0, 0};
            libos_hypercall(UNISEC_HC_CLOSE, &c);
            continue;
        }
        s->peer = a.peer;
        l->fn(s, l->ctx);
        loop_enqueue(s);
    }
}

/* Runs the streams queued at the start of this turn; re-queues those still ready. */
static void loop_run_queue(void)
{
    struct libos_stream *s = loop_queue;
    loop_queue = loop_queue_tail = NULL;
    while (s) {
        struct libos_stream *next = s->next;
        s->queued = 0;
        if (!s->closed && s->ops && (s->ready & s->want & LIBOS_WANT_READ) && s->ops->readable)
            s->ops->readable(s, s->ctx);
        if (!s->closed && s->ops && (s->ready & s->want & LIBOS_WANT_WRITE) && s->ops->writable)
            s->ops->writable(s, s->ctx);
        if (s->closed && !s->dead) {
            s->dead = 1;
            s->next = loop_dead;
            loop_dead = s;
        } else if (!s->closed && s->ops) {
            loop_enqueue(s);
        }
        s = next;
    }
}

static void loop_events(const struct unisec_event *ev, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (ev[i].kind == UNISEC_EV_STREAM) {
            struct libos_stream *s = loop_stream_of(ev[i].handle);
            if (s == NULL)
                continue; /* closed since the tender queued the event */
            if (ev[i].flags & (UNISEC_EV_READ | UNISEC_EV_HUP | UNISEC_EV_ERR))
                s->ready |= LIBOS_WANT_READ;
            if (ev[i].flags & (UNISEC_EV_WRITE | UNISEC_EV_ERR))
                s->ready |= LIBOS_WANT_WRITE;
            loop_enqueue(s);
        } else if (ev[i].kind == UNISEC_EV_LISTENER && ev[i].handle < UNISEC_MANIFEST_MAX) {
            loop_listeners[ev[i].handle].ready = 1;
        } else if (ev[i].kind == UNISEC_EV_POLICY) {
            loop_policy_pending = 1;
        }
    }
}

int libos_loop_run(void)
{
    static struct unisec_event ev[64];
    loop_stopped = 0;
    loop_now = libos_clock_monotonic();
    while (!loop_stopped) {
        for (int d = 0; d < UNISEC_MANIFEST_MAX; d++)
            if (loop_listeners[d].active && loop_listeners[d].ready)
                loop_accept(d);
        if (loop_policy_pending && loop_policy_fn && !loop_stopped) {
            loop_policy_pending = 0;
            loop_policy_fn(loop_policy_ctx);
        }
        loop_run_queue();
        while (loop_timers && loop_timers->deadline <= loop_now && !loop_stopped) {
            struct libos_timer *t = loop_timers;
            loop_timers = t->next;
            t->armed = 0;
            t->fn(t, t->ctx);
        }
        while (loop_dead) {
            struct libos_stream *s = loop_dead;
            loop_dead = s->next;
            free(s);
        }
        if (loop_stopped)
            break;
        if (loop_queue == NULL && loop_timers == NULL && loop_nlisteners == 0 &&
            loop_nstreams == 0 && loop_policy_fn == NULL)
            return 0; /* nothing can ever happen again */
        struct unisec_hc_poll a = {0, (uint64_t)(uintptr_t)ev, 64, 0, 0, 0};
        a.deadline_ns = loop_queue ? 0 : loop_timers ? loop_timers->deadline : UINT64_MAX;
        libos_console_flush();
        libos_hypercall(UNISEC_HC_POLL, &a);
        loop_now = a.now_ns;
        loop_events(ev, a.count < 64 ? a.count : 64);
    }
    return loop_status;
}
