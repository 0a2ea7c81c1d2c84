/*
 * loop.c — the guest's single-threaded event loop: streams (accepted and connected), timers
 * and the policy channel, driven by the tender's POLL hypercall.
 *
 * Stream I/O is batched (abi.h): each stream owns a receive buffer, lent to the tender with a
 * RECV operation and returned full by a RECV completion, and a send buffer that
 * libos_stream_write() fills and the next POLL sends with a WRITE operation. Reads and
 * writes therefore cost no exit; one POLL per turn of the loop carries every queued
 * operation out and every completion in.
 *
 * Memory: an idle stream holds only its small receive buffer, inline (LOOP_RX_SMALL: a usual
 * request head fits); a RECV that comes back full makes the next one lend a LOOP_RX_SIZE
 * buffer from the heap, until a RECV comes back less than full. The send buffer is taken
 * from the heap when something is written, grows up to LOOP_TX_SIZE, and is given back once
 * everything in it is sent.
 *
 * A stream's ready bits say which directions can move now (data or an end in the receive
 * buffer; room in the send buffer). A stream whose ready bits meet its wanted directions
 * sits on the run queue; each turn runs the queue, fires due timers, then polls, waiting
 * only when the queue is empty. A stream the guest closes lingers, invisible, until its
 * send buffer has gone out, then is closed and freed.
 *
 * Fairness: the run queue and the dirty list are both first in, first out, and a POLL
 * carries up to LOOP_SQ operations (a whole round of about a thousand busy streams); what
 * does not fit goes first in the next POLL, so no stream waits behind newer ones.
 */
#include "libos.h"
#include "libos_int.h"

#define LOOP_RX_SMALL 1024  /* inline, lent while requests are small (nginx: 1 KiB too) */
#define LOOP_RX_SIZE  32768 /* lent after a RECV that filled the buffer */
#define LOOP_TX_FIRST 512   /* the send buffer's first size; it doubles as needed */
#define LOOP_TX_SIZE  65536
#define LOOP_EVENTS   4096
#define LOOP_SQ       (LOOP_EVENTS / 2) /* every operation's completion fits in one POLL */
/* How long a closed stream may wait for a peer that does not read what was sent to it. */
#define LOOP_LINGER_NS (30ull * 1000000000ull)

struct libos_stream {
    uint32_t handle;
    unsigned ready; /* LIBOS_WANT_* directions that can move now */
    unsigned want;  /* LIBOS_WANT_* directions whose callbacks may run */
    int queued;     /* on the run queue */
    int dirty;      /* on the dirty list: has operations for the next POLL */
    int closed;     /* closed by the guest: lingers until its data is sent */
    int close_sent; /* the CLOSE operation went out: freed after this POLL */
    const struct libos_stream_ops *ops;
    void *ctx;
    struct unisec_addr peer;
    struct libos_stream *next;       /* run queue or free list */
    struct libos_stream *next_dirty; /* dirty list */

    int rx_lent;               /* the tender holds rx */
    uint32_t rx_off, rx_have;  /* rx[rx_off, rx_have) is unread data */
    long rx_end;               /* 0 open, 1 end of stream, < 0 the error */
    char *rx;                  /* rx_small, or a LOOP_RX_SIZE heap buffer */
    uint32_t rx_cap;           /* rx's size */
    int rx_full;               /* the last RECV filled rx: lend a large one next */
    char *tx;                  /* heap, NULL while nothing waits to be sent */
    uint32_t tx_cap;           /* tx's size */
    uint32_t tx_off, tx_len;   /* tx[tx_off, tx_len) waits to be sent */
    int tx_blocked;            /* the socket is full: wait for a WRITE event */
    long tx_err;               /* < 0: writing failed for good */
    struct libos_timer linger; /* armed while a closed stream still has data to send */
    char rx_small[LOOP_RX_SMALL];
};

struct loop_listener {
    libos_accept_fn fn;
    void *ctx;
    int active;
    int armed; /* the ACCEPT operation went out */
};

extern const UNISEC_NOTE(struct unisec_manifest) libos_manifest_note;

static struct libos_stream *loop_streams[UNISEC_STREAMS_MAX];
static size_t loop_nstreams; /* in the table, lingering ones included */
static struct libos_stream *loop_queue, *loop_queue_tail, *loop_free;
/* Streams with operations for the next POLL, oldest first: one POLL may not carry them all,
 * and those left over go first in the next one, so no stream waits behind newer ones. */
static struct libos_stream *loop_dirty, *loop_dirty_tail;
static struct loop_listener loop_listeners[UNISEC_MANIFEST_MAX];
static int loop_nlisteners;
static struct libos_timer *loop_timers;
static void (*loop_policy_fn)(void *ctx);
static void *loop_policy_ctx;
static int loop_policy_pending;
static int loop_stopped, loop_status;
static uint64_t loop_now;
static uint64_t loop_turn; /* counts the turns: a timer fires in a later turn than it was armed */

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

static void loop_mark_dirty(struct libos_stream *s)
{
    if (s->dirty)
        return;
    s->dirty = 1;
    s->next_dirty = NULL;
    if (loop_dirty_tail)
        loop_dirty_tail->next_dirty = s;
    else
        loop_dirty = s;
    loop_dirty_tail = s;
}

static struct libos_stream *loop_stream_init(struct libos_stream *s, uint32_t handle,
                                             unsigned ready, unsigned want)
{
    memset(s, 0, offsetof(struct libos_stream, rx_small));
    s->rx = s->rx_small;
    s->rx_cap = LOOP_RX_SMALL;
    s->handle = handle;
    s->ready = ready;
    s->want = want;
    loop_streams[handle & 0xffff] = s;
    loop_nstreams++;
    loop_mark_dirty(s); /* lend it a receive buffer */
    return s;
}

static struct libos_stream *loop_stream_of(uint32_t handle)
{
    struct libos_stream *s = loop_streams[handle & 0xffff];
    return s && s->handle == handle ? s : NULL;
}

int libos_listen(const char *device, libos_accept_fn fn, void *ctx)
{
    int d = libos_manifest_find(UNISEC_DEV_LISTEN, device);
    if (d < 0)
        return d;
    if (!loop_listeners[d].active)
        loop_nlisteners++;
    loop_listeners[d].fn = fn;
    loop_listeners[d].ctx = ctx;
    loop_listeners[d].active = 1;
    return 0;
}

int libos_connect(struct libos_stream **out, const char *device)
{
    int d = libos_manifest_find(UNISEC_DEV_UPSTREAM, device);
    if (d < 0)
        d = libos_manifest_find(UNISEC_DEV_PDP, device);
    if (d < 0)
        return d;
    struct libos_stream *s = malloc(sizeof(*s));
    if (s == NULL)
        return -UNISEC_ENOMEM;
    struct unisec_hc_connect a = {(uint32_t)d, 0, 0};
    libos_hypercall(UNISEC_HC_CONNECT, &a);
    if (a.ret < 0) {
        free(s);
        return (int)a.ret;
    }
    /* Writable once connected: the tender reports the connection's WRITE edge. */
    *out = loop_stream_init(s, a.handle, 0, LIBOS_WANT_WRITE);
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
    if (s->rx_off < s->rx_have) {
        size_t n = s->rx_have - s->rx_off;
        if (n > len)
            n = len;
        memcpy(buf, s->rx + s->rx_off, n);
        s->rx_off += (uint32_t)n;
        if (s->rx_off == s->rx_have) {
            s->rx_off = s->rx_have = 0;
            if (s->rx_end == 0) {
                s->ready &= ~LIBOS_WANT_READ;
                loop_mark_dirty(s); /* lend the buffer again */
            }
        }
        return (long)n;
    }
    if (s->rx_end != 0)
        return s->rx_end > 0 ? 0 : s->rx_end;
    s->ready &= ~LIBOS_WANT_READ;
    return -UNISEC_EAGAIN;
}

long libos_stream_write(struct libos_stream *s, const void *buf, size_t len)
{
    if (s->closed)
        return -UNISEC_EBADF;
    if (s->tx_err < 0)
        return s->tx_err;
    if (s->tx_off > 0 && s->tx_cap - s->tx_len < len) {
        memmove(s->tx, s->tx + s->tx_off, s->tx_len - s->tx_off);
        s->tx_len -= s->tx_off;
        s->tx_off = 0;
    }
    size_t room = s->tx_cap - s->tx_len;
    if (room < len && s->tx_cap < LOOP_TX_SIZE) {
        /* As much as LEN needs, at most LOOP_TX_SIZE (a power-of-two multiple of the first). */
        size_t cap = s->tx_cap, need = s->tx_len + len;
        if (libos_grow(&s->tx, &cap, need < LOOP_TX_SIZE ? need : LOOP_TX_SIZE, LOOP_TX_FIRST) <
            0) {
            if (s->tx_len == 0)
                return -UNISEC_ENOMEM; /* nothing is on its way out that would make room */
        } else {
            s->tx_cap = (uint32_t)cap;
            room = cap - s->tx_len;
        }
    }
    if (room == 0) {
        s->ready &= ~LIBOS_WANT_WRITE;
        return -UNISEC_EAGAIN;
    }
    if (len > room)
        len = room;
    memcpy(s->tx + s->tx_len, buf, len);
    s->tx_len += (uint32_t)len;
    loop_mark_dirty(s);
    return (long)len;
}

static void loop_linger_expired(struct libos_timer *t, void *ctx)
{
    (void)t;
    struct libos_stream *s = ctx;
    s->tx_err = -UNISEC_ETIMEDOUT; /* give up on the rest: the CLOSE goes out */
    loop_mark_dirty(s);
}

void libos_stream_close(struct libos_stream *s)
{
    if (s->closed)
        return;
    s->closed = 1;
    s->ops = NULL;
    if (s->tx_off < s->tx_len)
        libos_timer_arm(&s->linger, libos_loop_now() + LOOP_LINGER_NS, loop_linger_expired, s);
    loop_mark_dirty(s);
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
    t->turn = loop_turn;
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
    return loop_now ? loop_now : libos_boot_info()->monotonic_ns;
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
        if (!s->closed && s->ops)
            loop_enqueue(s);
        s = next;
    }
}

/* The operations of the dirty streams and listeners, in SQ; streams whose operations do not
 * fit stay dirty. OWNER[i] is the stream of SQ[i] (NULL for an ACCEPT). */
static struct unisec_sqe loop_sq[LOOP_SQ];
static struct libos_stream *loop_owner[LOOP_SQ];

static uint32_t loop_sq_put(uint32_t n, struct libos_stream *s, uint32_t op, uint32_t handle,
                            const void *buf, uint64_t len)
{
    loop_sq[n] = (struct unisec_sqe){op, handle, (uint64_t)(uintptr_t)buf, len};
    loop_owner[n] = s;
    return n + 1;
}

/* The SQ being built sends the last bytes of a closed stream: its CLOSE can go out only once
 * their completion is back, and a complete WRITE does not wake the guest, so that POLL must
 * not wait (else the close, and a client reading to the end, waits for some other event). */
static int loop_closing;

/* Picks the buffer S lends next: the large one while RECVs come back full, else the inline
 * one (a failed allocation keeps the inline one: the data then comes in smaller pieces). */
static void loop_rx_size(struct libos_stream *s)
{
    if (!s->rx_full && s->rx != s->rx_small) {
        free(s->rx);
        s->rx = s->rx_small;
        s->rx_cap = LOOP_RX_SMALL;
    } else if (s->rx_full && s->rx == s->rx_small) {
        char *p = malloc(LOOP_RX_SIZE);
        if (p) {
            s->rx = p;
            s->rx_cap = LOOP_RX_SIZE;
        }
    }
}

/* Frees a stream and the buffers it took from the heap. */
static void loop_stream_free(struct libos_stream *s)
{
    if (s->rx != s->rx_small)
        free(s->rx);
    free(s->tx);
    free(s);
}

static uint32_t loop_sq_build(void)
{
    uint32_t n = 0;
    loop_closing = 0;
    while (loop_dirty && n + 3 <= LOOP_SQ) {
        struct libos_stream *s = loop_dirty;
        loop_dirty = s->next_dirty;
        if (loop_dirty == NULL)
            loop_dirty_tail = NULL;
        s->dirty = 0;
        if (!s->closed && !s->rx_lent && s->rx_have == 0 && s->rx_end == 0) {
            loop_rx_size(s);
            n = loop_sq_put(n, s, UNISEC_OP_RECV, s->handle, s->rx, s->rx_cap);
            s->rx_lent = 1;
        }
        if (s->tx_off < s->tx_len && !s->tx_blocked && s->tx_err == 0) {
            n = loop_sq_put(n, s, UNISEC_OP_WRITE, s->handle, s->tx + s->tx_off,
                            s->tx_len - s->tx_off);
            loop_closing |= s->closed;
        }
        if (s->closed && !s->close_sent && (s->tx_off == s->tx_len || s->tx_err < 0)) {
            n = loop_sq_put(n, s, UNISEC_OP_CLOSE, s->handle, NULL, 0);
            s->close_sent = 1;
        }
    }
    for (int d = 0; d < UNISEC_MANIFEST_MAX && n < LOOP_SQ; d++) {
        if (loop_listeners[d].active && !loop_listeners[d].armed) {
            n = loop_sq_put(n, NULL, UNISEC_OP_ACCEPT, (uint32_t)d, NULL, 0);
            loop_listeners[d].armed = 1;
        }
    }
    return n;
}

/* Takes back the operations the tender did not perform (it ran out of event room). Their
 * streams were the oldest on the dirty list: they go back at its head, in their order. */
static void loop_sq_unsent(uint32_t from, uint32_t n)
{
    struct libos_stream *rest = loop_dirty, *rest_tail = loop_dirty_tail;
    loop_dirty = loop_dirty_tail = NULL;
    for (uint32_t i = from; i < n; i++) {
        struct libos_stream *s = loop_owner[i];
        if (s == NULL) {
            loop_listeners[loop_sq[i].handle].armed = 0;
            continue;
        }
        if (loop_sq[i].op == UNISEC_OP_RECV)
            s->rx_lent = 0;
        else if (loop_sq[i].op == UNISEC_OP_CLOSE)
            s->close_sent = 0;
        loop_mark_dirty(s);
    }
    if (rest) {
        if (loop_dirty_tail)
            loop_dirty_tail->next_dirty = rest;
        else
            loop_dirty = rest;
        loop_dirty_tail = rest_tail;
    }
}

/* Frees the streams whose CLOSE the tender has performed. */
static void loop_reap(uint32_t done)
{
    for (uint32_t i = 0; i < done; i++) {
        struct libos_stream *s = loop_owner[i];
        if (s == NULL || loop_sq[i].op != UNISEC_OP_CLOSE)
            continue;
        libos_timer_disarm(&s->linger);
        /* The tender may have given the slot to a stream accepted in the same POLL. */
        if (loop_streams[s->handle & 0xffff] == s)
            loop_streams[s->handle & 0xffff] = NULL;
        loop_nstreams--;
        if (s->queued || s->dirty) { /* unlinked from those lists when they are next walked */
            s->handle = 0xffffffffu;
            s->closed = 1;
        }
        s->next = loop_free;
        loop_free = s;
    }
}

static void loop_accepted(const struct unisec_event *e)
{
    if (e->res < 0 || e->res >= UNISEC_MANIFEST_MAX || !loop_listeners[e->res].active)
        return;
    struct loop_listener *l = &loop_listeners[e->res];
    struct libos_stream *s = malloc(sizeof(*s));
    if (s == NULL)
        libos_panic("out of memory for a new stream");
    loop_stream_init(s, e->handle, LIBOS_WANT_WRITE, LIBOS_WANT_READ);
    s->peer = e->peer;
    l->fn(s, l->ctx);
    loop_enqueue(s);
}

static void loop_events(const struct unisec_event *ev, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const struct unisec_event *e = &ev[i];
        if (e->kind == UNISEC_EV_ACCEPTED) {
            loop_accepted(e);
            continue;
        }
        if (e->kind == UNISEC_EV_POLICY) {
            loop_policy_pending = 1;
            continue;
        }
        struct libos_stream *s = loop_stream_of(e->handle);
        if (s == NULL)
            continue;
        if (e->kind == UNISEC_EV_RECV) {
            s->rx_lent = 0;
            if (e->res > 0) {
                s->rx_have = (uint32_t)e->res;
                s->rx_off = 0;
                s->rx_full = (uint64_t)e->res >= s->rx_cap;
            } else {
                s->rx_end = e->res == 0 ? 1 : e->res;
                if (e->res < 0 && s->tx_err == 0)
                    s->tx_err = e->res;
            }
            s->ready |= LIBOS_WANT_READ | (e->res < 0 ? LIBOS_WANT_WRITE : 0);
            if (s->closed)
                loop_mark_dirty(s);
        } else if (e->kind == UNISEC_EV_SENT) {
            if (e->res > 0) {
                s->tx_off += (uint32_t)e->res;
                if (s->tx_off == s->tx_len) { /* all sent: the buffer goes back to the heap */
                    s->tx_off = s->tx_len = s->tx_cap = 0;
                    free(s->tx);
                    s->tx = NULL;
                }
            }
            if (e->res < 0 && e->res != -UNISEC_EAGAIN)
                s->tx_err = e->res;
            else if (s->tx_off < s->tx_len)
                s->tx_blocked = 1;
            if (s->tx_len < LOOP_TX_SIZE || s->tx_err < 0)
                s->ready |= LIBOS_WANT_WRITE;
            if (s->closed)
                loop_mark_dirty(s);
        } else if (e->kind == UNISEC_EV_STREAM && (e->flags & UNISEC_EV_WRITE)) {
            s->tx_blocked = 0;
            s->ready |= LIBOS_WANT_WRITE;
            loop_mark_dirty(s);
        }
        loop_enqueue(s);
    }
}

int libos_loop_run(void)
{
    static struct unisec_event ev[LOOP_EVENTS];
    loop_stopped = 0;
    /* A first run starts from the boot clock: no exit before the first POLL. */
    loop_now = loop_now ? libos_clock_monotonic() : libos_loop_now();
    while (!loop_stopped) {
        if (loop_policy_pending && loop_policy_fn) {
            loop_policy_pending = 0;
            loop_policy_fn(loop_policy_ctx);
        }
        loop_turn++;
        loop_run_queue();
        /* A timer armed in this turn waits for the next (so does any due one behind it, by
         * one turn: the POLL does not wait while a timer is due). */
        while (loop_timers && loop_timers->deadline <= loop_now && loop_timers->turn != loop_turn &&
               !loop_stopped) {
            struct libos_timer *t = loop_timers;
            loop_timers = t->next;
            t->armed = 0;
            t->fn(t, t->ctx);
        }
        if (loop_stopped)
            break;
        if (loop_queue == NULL && loop_timers == NULL && loop_nlisteners == 0 &&
            loop_nstreams == 0 && loop_policy_fn == NULL)
            return 0; /* nothing can ever happen again */
        uint32_t nsq = loop_sq_build();
        struct unisec_hc_poll a = {.sq = (uint64_t)(uintptr_t)loop_sq,
                                   .sq_count = nsq,
                                   .events = (uint64_t)(uintptr_t)ev,
                                   .cap = LOOP_EVENTS};
        a.deadline_ns = loop_queue || loop_dirty || loop_closing ? 0
                        : loop_timers                            ? loop_timers->deadline
                                                                 : UINT64_MAX;
        size_t console_len;
        a.console = (uint64_t)(uintptr_t)libos_console_pending(&console_len);
        a.console_len = console_len; /* the access log goes out without an exit of its own */
        libos_poll(&a);
        libos_console_taken();
        loop_now = a.now_ns;
        uint32_t done = a.sq_done < nsq ? a.sq_done : nsq;
        loop_sq_unsent(done, nsq);
        loop_reap(done);
        loop_events(ev, a.count < LOOP_EVENTS ? a.count : LOOP_EVENTS);
        /* Freed streams may still sit on the dirty list or run queue: rebuild both without
         * them before freeing. */
        if (loop_free) {
            struct libos_stream *d = loop_dirty;
            loop_dirty = loop_dirty_tail = NULL;
            while (d) {
                struct libos_stream *next = d->next_dirty;
                d->dirty = 0;
                if (d->handle != 0xffffffffu)
                    loop_mark_dirty(d);
                d = next;
            }
            struct libos_stream *q = loop_queue;
            loop_queue = loop_queue_tail = NULL;
            while (q) {
                struct libos_stream *next = q->next;
                q->queued = 0;
                if (q->handle != 0xffffffffu)
                    loop_enqueue(q);
                q = next;
            }
            while (loop_free) {
                struct libos_stream *s = loop_free;
                loop_free = s->next;
                loop_stream_free(s);
            }
        }
    }
    /* Stopped: what the guest wrote before stopping still goes out, in one last POLL. */
    uint32_t nsq = loop_sq_build();
    if (nsq > 0) {
        struct unisec_hc_poll a = {.sq = (uint64_t)(uintptr_t)loop_sq,
                                   .sq_count = nsq,
                                   .events = (uint64_t)(uintptr_t)ev,
                                   .cap = LOOP_EVENTS};
        libos_hypercall(UNISEC_HC_POLL, &a);
    }
    return loop_status;
}
