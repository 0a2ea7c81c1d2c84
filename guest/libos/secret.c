/* secret.c — what the tender gives this instance alone, once: the boot seed and the TLS
 * credentials (abi.h, "Secrets"). Each is erased from where it came as it is taken. */
#include "libos.h"
#include "libos_int.h"

/* Zeroes P[0..N) in a way the compiler cannot drop as a dead store. */
void libos_wipe(void *p, size_t n)
{
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

int libos_seed_take(uint8_t out[UNISEC_SEED_LEN])
{
    static int taken;
    /* The boot info lies in guest memory, on the stack's page: writable. */
    struct unisec_boot_info *bi = (struct unisec_boot_info *)(uintptr_t)libos_boot_info();
    if (taken)
        return -UNISEC_ENOENT;
    taken = 1;
    memcpy(out, bi->seed, UNISEC_SEED_LEN);
    libos_wipe(bi->seed, UNISEC_SEED_LEN);
    return 0;
}

int libos_tls_creds_take(void **blob, size_t *len)
{
    struct unisec_hc_tls_creds a = {0, 0, 0, 0};
    libos_hypercall(UNISEC_HC_TLS_CREDS, &a);
    if (a.ret != -UNISEC_EMSGSIZE)
        return a.ret < 0 ? (int)a.ret : -UNISEC_EIO;
    void *buf = malloc(a.len ? a.len : 1);
    if (buf == NULL)
        return -UNISEC_ENOMEM;
    a = (struct unisec_hc_tls_creds){(uint64_t)(uintptr_t)buf, a.len, 0, 0};
    libos_hypercall(UNISEC_HC_TLS_CREDS, &a);
    if (a.ret < 0) {
        free(buf);
        return (int)a.ret;
    }
    *blob = buf;
    *len = a.len;
    return 0;
}
