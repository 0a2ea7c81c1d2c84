/*
 * tender_policy.c — the policy device: versioned blobs in, acknowledgements out.
 *
 * A blob comes from the boot configuration (--policy-blob FILE, pending when the guest starts)
 * or from the control socket policy_fd: frames of an 8-byte little-endian length followed
 * by that many bytes. A newer blob replaces one the guest has not taken yet. The tender
 * never interprets a blob; the guest validates it and answers with POLICY_ACK, which the
 * tender reports on stderr (verbose) and as a line on policy_fd:
 *     ack VERSION
 *     refuse VERSION ERRNO REASON
 */
#include "tender_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

/* The largest blob accepted: a quarter of guest memory (the guest must hold it twice). */
static size_t tender_policy_max(const struct tender *t)
{
    return (size_t)((t->mem_hi ? t->mem_hi : t->cfg.mem_size) / 4);
}

/* A blob's buffer is mapped, not malloc'd: on hvt the POLL that reads a frame may run on the
 * mailbox thread (tender_ring.h), where a first malloc would map an arena of the thread's own
 * with mprotect, which the lockdown forbids; a mapping is the same on every thread, under
 * every allocator (a sanitizer's too). */
static uint8_t *tender_policy_map(size_t len)
{
    void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void tender_policy_unmap(uint8_t *p, size_t len)
{
    if (p)
        munmap(p, len ? len : 1);
}

static int tender_policy_init(struct tender *t, uint32_t id, struct engine_diag *d)
{
    int dev = tender_device_first(t, UNISEC_DEV_POLICY);
    for (int i = dev + 1; dev >= 0 && i < UNISEC_MANIFEST_MAX; i++)
        if (t->img.manifest.dev[i].type == UNISEC_DEV_POLICY)
            return engine_diag_add(d, t->cfg.image, 0, 0,
                                   "the manifest declares two policy channels");
    if (dev < 0 && (t->cfg.policy_file || t->cfg.policy_fd >= 0))
        return engine_diag_add(d, t->cfg.image, 0, 0,
                               "the image declares no policy channel: it cannot take --policy");
    if (t->cfg.policy_file) {
        uint8_t *blob;
        int rc = tender_input_read("--policy-blob", t->cfg.policy_file, tender_policy_max(t), 0,
                                   &blob, &t->policy_len, d);
        if (rc == -EFBIG)
            engine_diag_add(d, NULL, 0, 0,
                            "a blob takes at most a quarter of guest memory: give more with --mem");
        if (rc < 0)
            return rc;
        t->policy_blob = tender_policy_map(t->policy_len);
        if (t->policy_blob && t->policy_len)
            memcpy(t->policy_blob, blob, t->policy_len);
        free(blob);
        if (t->policy_blob == NULL)
            return engine_diag_add(d, NULL, 0, 0, "--policy-blob: %s", strerror(ENOMEM));
        t->policy_notify = 1;
    }
    if (t->cfg.policy_fd >= 0) {
        int fl = fcntl(t->cfg.policy_fd, F_GETFL);
        struct epoll_event ev = {EPOLLIN, {.u64 = TENDER_EP_DEVICE << 32 | id}};
        if (fl < 0 || fcntl(t->cfg.policy_fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
            epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->cfg.policy_fd, &ev) < 0)
            return engine_diag_add(d, NULL, 0, 0, "policy channel: %s", strerror(errno));
    }
    return 0;
}

static void tender_policy_fini(struct tender *t)
{
    tender_policy_unmap(t->policy_blob, t->policy_len);
    tender_policy_unmap(t->policy_in, t->policy_in_len);
    t->policy_blob = t->policy_in = NULL;
}

/* The control socket broke a rule or closed: stop reading it; the guest keeps running. */
static void tender_policy_drop(struct tender *t, const char *why)
{
    fprintf(stderr, "%s: policy channel closed: %s\n", t->name, why);
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->cfg.policy_fd, NULL);
    tender_policy_unmap(t->policy_in, t->policy_in_len);
    t->policy_in = NULL;
    t->policy_hdr_have = 0;
}

/* Reads what policy_fd has ready; sets t->policy_notify when a whole blob is in. */
static void tender_policy_input(struct tender *t)
{
    int fd = t->cfg.policy_fd;
    for (;;) {
        ssize_t n;
        if (t->policy_hdr_have < sizeof(t->policy_hdr)) {
            n = read(fd, t->policy_hdr + t->policy_hdr_have,
                     sizeof(t->policy_hdr) - t->policy_hdr_have);
            if (n > 0 && (t->policy_hdr_have += (size_t)n) == sizeof(t->policy_hdr)) {
                uint64_t len = 0;
                for (int i = 7; i >= 0; i--)
                    len = len << 8 | t->policy_hdr[i];
                if (len > tender_policy_max(t))
                    return tender_policy_drop(t, "a blob is larger than a quarter of guest "
                                                 "memory");
                t->policy_in = tender_policy_map(len);
                if (t->policy_in == NULL)
                    return tender_policy_drop(t, "out of memory");
                t->policy_in_len = len;
                t->policy_in_have = 0;
            }
        } else {
            n = read(fd, t->policy_in + t->policy_in_have, t->policy_in_len - t->policy_in_have);
            if (n > 0)
                t->policy_in_have += (size_t)n;
        }
        if (n == 0)
            return tender_policy_drop(t, "end of stream");
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? (void)0
                                                     : tender_policy_drop(t, strerror(errno));
        if (t->policy_in && t->policy_in_have == t->policy_in_len) {
            tender_policy_unmap(t->policy_blob, t->policy_len);
            t->policy_blob = t->policy_in;
            t->policy_len = t->policy_in_len;
            t->policy_in = NULL;
            t->policy_hdr_have = 0;
            t->policy_notify = 1;
        }
    }
}

/* Before each wait: a blob that arrived is announced to the guest. */
static int tender_policy_poll(struct tender *t, struct tender_batch *b,
                              const struct tender_devs *all)
{
    (void)all;
    if (t->policy_notify && b->count < b->cap) {
        t->policy_notify = 0;
        tender_emit(b, UNISEC_EV_POLICY, (uint32_t)tender_device_first(t, UNISEC_DEV_POLICY),
                    UNISEC_EV_READ, 0, NULL, 1);
    }
    return TENDER_CONTINUE;
}

static int tender_hc_policy_recv(struct tender *t, void *arg, const struct tender_devs *all)
{
    struct unisec_hc_policy_recv *a = arg;
    (void)all;
    if (tender_device_first(t, UNISEC_DEV_POLICY) < 0)
        return tender_kill(t, "policy_recv, but the manifest declares no policy channel");
    uint8_t *p = tender_guest_ptr(t, a->buf, a->cap);
    if (p == NULL)
        return tender_kill(t, "policy_recv: buffer 0x%llx+%llu lies outside guest memory",
                           (unsigned long long)a->buf, (unsigned long long)a->cap);
    if (t->policy_blob == NULL) {
        a->ret = -ENOENT;
        return TENDER_CONTINUE;
    }
    a->len = t->policy_len;
    if (a->cap < t->policy_len) {
        a->ret = -EMSGSIZE;
        return TENDER_CONTINUE;
    }
    memcpy(p, t->policy_blob, t->policy_len);
    tender_policy_unmap(t->policy_blob, t->policy_len);
    t->policy_blob = NULL;
    a->ret = 0;
    return TENDER_CONTINUE;
}

static int tender_hc_policy_ack(struct tender *t, void *arg, const struct tender_devs *all)
{
    struct unisec_hc_policy_ack *a = arg;
    (void)all;
    if (tender_device_first(t, UNISEC_DEV_POLICY) < 0)
        return tender_kill(t, "policy_ack, but the manifest declares no policy channel");
    uint64_t rlen = a->reason_len < UNISEC_REASON_MAX ? a->reason_len : UNISEC_REASON_MAX;
    const char *r = tender_guest_ptr(t, a->reason, rlen);
    if (r == NULL)
        return tender_kill(t, "policy_ack: reason 0x%llx+%llu lies outside guest memory",
                           (unsigned long long)a->reason, (unsigned long long)rlen);
    /* The reason is guest text on its way to a terminal and a line protocol: printable
     * ASCII only. */
    char reason[UNISEC_REASON_MAX + 1];
    for (uint64_t i = 0; i < rlen; i++)
        reason[i] = r[i] >= 0x20 && r[i] < 0x7f ? r[i] : '?';
    reason[rlen] = 0;
    char line[UNISEC_REASON_MAX + 64];
    int n;
    if (a->status == 0)
        n = snprintf(line, sizeof(line), "ack %llu\n", (unsigned long long)a->version);
    else
        n = snprintf(line, sizeof(line), "refuse %llu %lld %s\n", (unsigned long long)a->version,
                     -(long long)a->status, reason); /* the guest's: INT32_MIN too */
    if (t->cfg.verbose)
        fprintf(stderr, "%s: policy %s", t->name, line);
    if (t->cfg.policy_fd >= 0 && write(t->cfg.policy_fd, line, (size_t)n) < 0) {
        /* The supervisor is gone or slow; the guest's answer stays on stderr. */
    }
    a->ret = 0;
    return TENDER_CONTINUE;
}

/* After the lockdown: the acknowledgements on policy_fd, and a broken channel leaves the
 * epoll set. */
static int tender_policy_seccomp(const struct tender *t, scmp_filter_ctx ctx)
{
    int rc = 0;
    if (t->cfg.policy_fd >= 0) {
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)t->cfg.policy_fd));
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(epoll_ctl), 2,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)t->epfd),
                               SCMP_A1(SCMP_CMP_EQ, EPOLL_CTL_DEL));
    }
    return rc;
}

const struct tender_dev tender_policy_dev = {
    .name = "policy",
    .init = tender_policy_init,
    .fini = tender_policy_fini,
    .seccomp = tender_policy_seccomp,
    .poll = tender_policy_poll,
    .event = tender_policy_input,
    .hc =
        {
            [UNISEC_HC_POLICY_RECV] =
                TENDER_HC("policy_recv", struct unisec_hc_policy_recv, tender_hc_policy_recv),
            [UNISEC_HC_POLICY_ACK] =
                TENDER_HC("policy_ack", struct unisec_hc_policy_ack, tender_hc_policy_ack),
        },
};
