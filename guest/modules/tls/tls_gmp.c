/*
 * tls_gmp.c — what the image needs of GMP (libgmp.a), under Nettle's EC code (tls_ec.c).
 *
 * Memory: Nettle's X25519 takes its scratch from GMP's allocator; tls_ec_init() points GMP at
 * the library OS's malloc and free, and the scratch, which holds secrets, is wiped when freed.
 *
 * Multiplication: GMP's mpn_mul_n and mpn_sqr choose among schoolbook, Toom and FFT
 * algorithms by operand size, and linking them links all of those (about 95 KB). Nettle
 * multiplies operands of 4 limbs (P-256, Curve25519), far below the first Toom threshold,
 * where mpn_mul_n runs GMP's schoolbook routine and mpn_sqr its schoolbook squaring, so the
 * image defines each as that call (the squaring routine: 2 KB of code for 2.4% of a full
 * handshake's instructions, against a square as a product); operands over
 * TLS_GMP_LIMBS_MAX, which no curve here makes, panic rather than be slow.
 */
#include "tls.h"

#ifdef TLS_EC_CHECK_DECLS
#include <gmp.h>
#endif

#define TLS_GMP_LIMBS_MAX 9 /* a P-521 element; Nettle's curves in this image use 4 */

typedef unsigned long tls_limb; /* GMP's mp_limb_t on x86_64 */

void __gmp_set_memory_functions(void *(*)(size_t), void *(*)(void *, size_t, size_t),
                                void (*)(void *, size_t));
void __gmpn_mul_n(tls_limb *rp, const tls_limb *ap, const tls_limb *bp, long n);
void __gmpn_sqr(tls_limb *rp, const tls_limb *ap, long n);
/* GMP's own schoolbook multiplication and squaring (gmp-impl.h; exported by libgmp.a). */
void __gmpn_mul_basecase(tls_limb *rp, const tls_limb *ap, long an, const tls_limb *bp, long bn);
void __gmpn_sqr_basecase(tls_limb *rp, const tls_limb *ap, long n);

void __gmpn_mul_n(tls_limb *rp, const tls_limb *ap, const tls_limb *bp, long n)
{
    if (n > TLS_GMP_LIMBS_MAX)
        libos_panic("tls: a %ld-limb multiplication", n);
    __gmpn_mul_basecase(rp, ap, n, bp, n);
}

void __gmpn_sqr(tls_limb *rp, const tls_limb *ap, long n)
{
    if (n > TLS_GMP_LIMBS_MAX)
        libos_panic("tls: a %ld-limb square", n);
    __gmpn_sqr_basecase(rp, ap, n);
}

static void *tls_gmp_alloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        libos_panic("tls: out of memory for %zu bytes of EC scratch", n);
    return p;
}

static void tls_gmp_free(void *p, size_t n)
{
    libos_wipe(p, n);
    free(p);
}

/* GMP's realloc is never called on Nettle's ECC paths; kept correct all the same. */
static void *tls_gmp_realloc(void *p, size_t old, size_t n)
{
    void *q = tls_gmp_alloc(n);
    memcpy(q, p, old < n ? old : n);
    tls_gmp_free(p, old);
    return q;
}

void tls_ec_init(void)
{
    __gmp_set_memory_functions(tls_gmp_alloc, tls_gmp_realloc, tls_gmp_free);
}
