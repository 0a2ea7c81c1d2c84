/* tender_seccomp.c — the system calls a tender keeps after its lockdown, and the report of
 * one it does not. */
#include "tender_int.h"
#include "tender_io.h"

#include <errno.h>
#include <linux/audit.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <unistd.h>

/* Sanitizer builds (tests/run.sh): the runtime needs sigaltstack and madvise at exit, and
 * LeakSanitizer's end-of-process check (threads, ptrace) cannot run under the filter, so it runs
 * before. */
#if defined(__SANITIZE_ADDRESS__)
#define TENDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TENDER_ASAN 1
#endif
#endif
#ifdef TENDER_ASAN
#include <sanitizer/lsan_interface.h>
#endif

int tender_seccomp_add(struct tender *t, scmp_filter_ctx ctx)
{
    int rc = 0;
    /* What the core and every device need: stderr, the end, the clock, memory. */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                           SCMP_A0(SCMP_CMP_EQ, (unsigned)STDERR_FILENO));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clock_gettime), 0);
    /* The tender's own allocations (policy blobs): memory, never executable. */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(brk), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(munmap), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                           SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    /* Then each device's (the console's descriptor, the channels', the network's). */
    for (uint32_t i = 0; i < tender_devices.n; i++)
        if (tender_devices.dev[i]->seccomp)
            rc |= tender_devices.dev[i]->seccomp(t, ctx);
#ifdef TENDER_ASAN
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sigaltstack), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(madvise), 0);
    __lsan_do_leak_check();
#endif
    return rc < 0 ? -EINVAL : 0;
}

static const char *tender_seccomp_name;

/* Appends S, or the decimal (BASE 10) or hex (BASE 16) form of V, to BUF at *N. */
static void tender_sig_put(char *buf, size_t size, size_t *n, const char *s, uint64_t v, int base)
{
    char num[24];
    if (s == NULL) {
        int k = sizeof(num);
        num[--k] = 0;
        do
            num[--k] = "0123456789abcdef"[v % (unsigned)base];
        while ((v /= (unsigned)base) > 0 && k > 0);
        s = num + k;
    }
    for (; *s && *n < size; s++)
        buf[(*n)++] = *s;
}

/* Async-signal-safe: formats with nothing but write. The process ends here. */
static void tender_sig_report(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    char buf[256];
    size_t n = 0;
    tender_sig_put(buf, sizeof(buf), &n, tender_seccomp_name, 0, 0);
    tender_sig_put(buf, sizeof(buf), &n, ": guest killed: ", 0, 0);
    if (sig == SIGSYS) {
        tender_sig_put(buf, sizeof(buf), &n, "system call ", 0, 0);
        tender_sig_put(buf, sizeof(buf), &n, NULL, (unsigned)si->si_syscall, 10);
        if (si->si_arch != AUDIT_ARCH_X86_64)
            tender_sig_put(buf, sizeof(buf), &n, " of the 32-bit ABI", 0, 0);
        tender_sig_put(buf, sizeof(buf), &n, " is not allowed for this image (seccomp)\n", 0, 0);
    } else {
        tender_sig_put(buf, sizeof(buf), &n,
                       sig == SIGSEGV  ? "segmentation fault"
                       : sig == SIGBUS ? "bus error"
                       : sig == SIGILL ? "illegal instruction"
                                       : "arithmetic fault",
                       0, 0);
        tender_sig_put(buf, sizeof(buf), &n, " (signal ", 0, 0);
        tender_sig_put(buf, sizeof(buf), &n, NULL, (unsigned)sig, 10);
        tender_sig_put(buf, sizeof(buf), &n, ", address 0x", 0, 0);
        tender_sig_put(buf, sizeof(buf), &n, NULL, (uint64_t)(uintptr_t)si->si_addr, 16);
        tender_sig_put(buf, sizeof(buf), &n,
                       "): a privileged instruction or an access outside its memory\n", 0, 0);
    }
    if (write(STDERR_FILENO, buf, n) < 0) {
        /* nothing left to report with */
    }
    tender_exit_now(TENDER_EXIT_KILLED);
}

void tender_exit_now(int status)
{
    for (;;)
        syscall(SYS_exit_group, status);
}

int tender_lockdown(struct tender *t, int (*backend_rules)(scmp_filter_ctx ctx, void *arg),
                    void *arg, struct engine_diag *d)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (ctx == NULL)
        return engine_diag_add(d, NULL, 0, 0, "seccomp: cannot initialise a filter"), -ENOMEM;
    /* A 32-bit system call (int $0x80) is reported like any other, not a silent kill. */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
    if (rc == 0 && backend_rules != NULL)
        rc = backend_rules(ctx, arg);
    if (rc == 0)
        rc = tender_seccomp_add(t, ctx);
    if (rc == 0)
        rc = tender_seccomp_report(t->name);
    tender_io_wait_started(); /* the filter (with TSYNC) then covers the helper thread */
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0)
        return engine_diag_add(d, NULL, 0, 0, "seccomp: cannot lock the tender down: %s",
                               strerror(-rc)),
               rc;
    return 0;
}

int tender_seccomp_report(const char *name)
{
    tender_seccomp_name = name;
    /* The report runs on its own stack: a guest's fault may come with a stack pointer that
     * points nowhere (a 32-bit system call entry takes it from EBP), and a signal that cannot
     * be delivered would kill the tender without a word. */
    static char altstack[16384] __attribute__((aligned(16)));
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    if (sigaltstack(&ss, NULL) < 0)
        return -errno;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = tender_sig_report;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    static const int sigs[] = {SIGSYS, SIGSEGV, SIGBUS, SIGILL, SIGFPE};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL) < 0)
            return -errno;
    return 0;
}
