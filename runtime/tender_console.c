/* tender_console.c — the device every image has: the console, the clocks and halt. */
#include "tender_int.h"

#include <seccomp.h>

static int tender_hc_console(struct tender *t, void *arg, const struct tender_devs *all)
{
    (void)all;
    struct unisec_hc_console *a = arg;
    a->ret = 0;
    return tender_console_out(t, a->data, a->len);
}

static int tender_hc_clock(struct tender *t, void *arg, const struct tender_devs *all)
{
    (void)t, (void)all;
    struct unisec_hc_clock *a = arg;
    a->monotonic_ns = tender_now(CLOCK_MONOTONIC);
    a->wall_ns = tender_now(CLOCK_REALTIME);
    a->ret = 0;
    return TENDER_CONTINUE;
}

static int tender_hc_halt(struct tender *t, void *arg, const struct tender_devs *all)
{
    (void)all;
    struct unisec_hc_halt *a = arg;
    t->status = a->status & 0xff;
    return TENDER_HALT;
}

static int tender_console_seccomp(const struct tender *t, scmp_filter_ctx ctx)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                            SCMP_A0(SCMP_CMP_EQ, (unsigned)t->cfg.console_fd));
}

const struct tender_dev tender_console_dev = {
    .name = "console",
    .seccomp = tender_console_seccomp,
    .hc =
        {
            [UNISEC_HC_CONSOLE] = TENDER_HC("console", struct unisec_hc_console, tender_hc_console),
            [UNISEC_HC_CLOCK] = TENDER_HC("clock", struct unisec_hc_clock, tender_hc_clock),
            [UNISEC_HC_HALT] = TENDER_HC("halt", struct unisec_hc_halt, tender_hc_halt),
        },
};
