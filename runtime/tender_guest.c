/* tender_guest.c — what the core and every device call on a running guest: its memory, its
 * console, its manifest, the clock, and killing it. Below the devices: it calls none. */
#include "tender_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void *tender_guest_ptr(const struct tender *t, uint64_t gpa, uint64_t len)
{
    if (len == 0) /* nothing will be touched: any address will do, NULL included */
        return t->mem;
    if (gpa < t->mem_lo || gpa > t->mem_hi || len > t->mem_hi - gpa)
        return NULL;
    return t->mem + (gpa - t->mem_lo);
}

int tender_kill(struct tender *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, sizeof(t->why), fmt, ap);
    va_end(ap);
    t->status = TENDER_EXIT_KILLED;
    return TENDER_KILL;
}

int tender_console_out(struct tender *t, uint64_t data, uint64_t len)
{
    const uint8_t *p = tender_guest_ptr(t, data, len);
    if (p == NULL)
        return tender_kill(t, "console: buffer 0x%llx+%llu lies outside guest memory",
                           (unsigned long long)data, (unsigned long long)len);
    for (uint64_t done = 0; done < len;) {
        ssize_t n = write(t->cfg.console_fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the console went away: the guest keeps running */
        done += (uint64_t)n;
    }
    return TENDER_CONTINUE;
}

int tender_device_first(const struct tender *t, uint32_t type)
{
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
        if (t->img.manifest.dev[i].type == type)
            return i;
    return -1;
}

uint64_t tender_now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* With streams, POLL shares its socket work with a helper thread (tender_io.h) and hvt offers
 * the mailbox (tender_ring.h). */
int tender_has_streams(const struct tender *t)
{
    return tender_device_first(t, UNISEC_DEV_LISTEN) >= 0 ||
           tender_device_first(t, UNISEC_DEV_UPSTREAM) >= 0 ||
           tender_device_first(t, UNISEC_DEV_PDP) >= 0;
}
