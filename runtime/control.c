/* control.c — reading and writing the control socket's messages (control.h), for both the
 * tender and the supervisor. No allocation and no system call but read and write: the
 * tender reads its control socket after the lockdown. */
#include "control.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Hands the whole messages at the start of IN to their handlers and keeps the rest. */
static int ctl_take(struct ctl_in *in, const struct ctl_handler *table, uint32_t ntypes, void *ctx,
                    struct ctl_hdr *refused)
{
    size_t off = 0;
    int rc = 0;
    for (;;) {
        if (in->skip > 0) {
            size_t k = in->have - off < in->skip ? in->have - off : (size_t)in->skip;
            off += k;
            in->skip -= k;
            if (in->skip > 0)
                break;
        }
        struct ctl_hdr h;
        if (in->have - off < sizeof(h))
            break;
        memcpy(&h, in->buf + off, sizeof(h));
        const struct ctl_handler *e = h.type < ntypes ? &table[h.type] : NULL;
        int ok = e && e->fn && h.len >= e->min && h.len <= e->max && h.len <= CTL_PAYLOAD_MAX;
        if (ok && in->have - off - sizeof(h) < h.len)
            break; /* the rest has not arrived; it fits in BUF */
        off += sizeof(h);
        if (ok && e->fn(ctx, in->buf + off, h.len) == 0) {
            off += h.len;
            continue;
        }
        *refused = h;
        in->skip = h.len;
        rc = -EPROTO;
        break;
    }
    memmove(in->buf, in->buf + off, in->have - off);
    in->have -= off;
    return rc;
}

int ctl_read(int fd, struct ctl_in *in, const struct ctl_handler *table, uint32_t ntypes, void *ctx,
             struct ctl_hdr *refused)
{
    for (;;) {
        int rc = ctl_take(in, table, ntypes, ctx, refused);
        if (rc < 0)
            return rc;
        ssize_t n = read(fd, in->buf + in->have, sizeof(in->buf) - in->have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 1;
        if (n <= 0)
            return 0;
        in->have += (size_t)n;
    }
}

ssize_t ctl_send(int fd, uint32_t type, const void *payload, uint32_t len)
{
    uint8_t buf[CTL_MSG_MAX];
    struct ctl_hdr h = {type, len};
    if (len > CTL_PAYLOAD_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    memcpy(buf, &h, sizeof(h));
    if (len > 0)
        memcpy(buf + sizeof(h), payload, len);
    return write(fd, buf, sizeof(h) + len);
}
