/*
 * fuzz_tender.c — libFuzzer harness for what a tender accepts from an untrusted image or
 * guest. The first byte picks the target:
 *   odd:  the image checks (ELF headers, segments, UNISEC notes, manifest) on the rest;
 *   even: one hypercall: byte 1 is its number, bytes 2-5 the argument's offset in guest
 *         memory, the rest fills guest memory, which holds every pointer the call follows.
 * The tender declares a listener whose socket is closed and a policy channel, so every
 * handler runs its checks; POLL never waits (its deadline is forced to 0).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "runtime/tender.h"

#define FUZZ_MEM_LO  UNISEC_IMAGE_BASE
#define FUZZ_MEM_LEN (1u << 20)

static struct tender fuzz_t;

static void fuzz_tender_init(void)
{
    static uint8_t *mem;
    if (mem)
        return;
    mem = aligned_alloc(4096, FUZZ_MEM_LEN);
    fuzz_t.name = "fuzz";
    fuzz_t.mem = mem;
    fuzz_t.mem_lo = FUZZ_MEM_LO;
    fuzz_t.mem_hi = FUZZ_MEM_LO + FUZZ_MEM_LEN;
    fuzz_t.epfd = epoll_create1(EPOLL_CLOEXEC);
    tender_streams_init(&fuzz_t.streams, 8);
    fuzz_t.cfg.console_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fuzz_t.cfg.policy_fd = -1;
    fuzz_t.img.manifest.abi_version = UNISEC_ABI_VERSION;
    fuzz_t.img.manifest.dev[0] = (struct unisec_device){UNISEC_DEV_LISTEN, 0, "http"};
    fuzz_t.img.manifest.dev[1] = (struct unisec_device){UNISEC_DEV_POLICY, 0, "policy"};
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
        fuzz_t.dev[i].fd = -1;
}

static void fuzz_tender_image(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    struct tender_image img;
    struct engine_diag d;
    engine_diag_init(&d);
    if (tender_image_parse(&img, buf, size, "fuzz", &d) == 0) {
        /* What the loaders rely on. */
        if (img.entry < UNISEC_IMAGE_BASE || img.end > UNISEC_MEM_MAX ||
            (img.target != UNISEC_TARGET_HVT && img.target != UNISEC_TARGET_SPT))
            abort();
        for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
            if (img.manifest.dev[i].type != UNISEC_DEV_END &&
                strnlen(img.manifest.dev[i].name, UNISEC_DEVICE_NAME_MAX) == UNISEC_DEVICE_NAME_MAX)
                abort();
        tender_image_free(&img);
    } else if (d.n == 0) {
        abort(); /* every refusal says why */
    }
    engine_diag_free(&d);
}

static void fuzz_tender_hypercall(const uint8_t *data, size_t size)
{
    if (size < 5)
        return;
    fuzz_tender_init();
    uint32_t nr = data[0] % (UNISEC_HC_COUNT + 1), off;
    memcpy(&off, data + 1, 4);
    off %= FUZZ_MEM_LEN + 64; /* sometimes past the end */
    memset(fuzz_t.mem, 0, FUZZ_MEM_LEN);
    size_t n = size - 5 < FUZZ_MEM_LEN ? size - 5 : FUZZ_MEM_LEN;
    memcpy(fuzz_t.mem, data + 5, n);
    if (nr == UNISEC_HC_POLL && off + 8 <= FUZZ_MEM_LEN)
        memset(fuzz_t.mem + off, 0, 8);
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
        fuzz_t.dev[i].armed = fuzz_t.dev[i].pending = 0;
    fuzz_t.why[0] = 0;
    int how = tender_hypercall(&fuzz_t, nr, FUZZ_MEM_LO + off);
    if (how == TENDER_KILL && fuzz_t.why[0] == 0)
        abort(); /* every kill says why */
    free(fuzz_t.policy_blob);
    fuzz_t.policy_blob = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_tender_image(data + 1, size - 1);
    else
        fuzz_tender_hypercall(data + 1, size - 1);
    return 0;
}
