/*
 * bench/tls_ec — what a full TLS handshake of the tls module costs in elliptic-curve
 * arithmetic on this machine, in the code the module runs (guest/modules/tls/tls_ec.c:
 * tls_ec_impl for ECDHE, tls_ecdsa_sign for the ServerKeyExchange signature: Nettle's hogweed
 * for X25519 and P-256) and, side by side, in BearSSL's own (br_ec_all_m31 and
 * br_ecdsa_i31_sign_asn1, what the module ran before). Each operation is timed alone on one
 * core. A handshake with X25519 and a P-256 key does one X25519 key generation, one X25519
 * multiplication and one ECDSA signature: their sum bounds the handshakes one core can make.
 * bench/tls prints it beside `openssl speed`. Times are the process's CPU time, as
 * openssl speed's (without -elapsed) are: on a loaded machine the wall clock counts the other
 * processes' turns.
 *
 *     tls_ec [--seconds S]      (default 0.5 per operation)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest/modules/tls/tls.h"

/* The library OS calls tls_ec.c and tls_gmp.c make. */
void libos_wipe(void *p, size_t n)
{
    memset(p, 0, n);
}

void libos_panic(const char *fmt, ...)
{
    fprintf(stderr, "tls_ec: %s\n", fmt);
    abort();
}

static double ec_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One implementation: ECDHE's and the signer's, as the engine is given them. */
struct ec_code {
    const char *name;
    const br_ec_impl *ec;
    br_ecdsa_sign sign;
};

static const struct ec_code *ec_cur;
static unsigned char ec_scalar[32], ec_point[65], ec_hash[32], ec_sig[80];
static br_ec_private_key ec_key;

static void ec_x25519_keygen(void)
{
    ec_cur->ec->mulgen(ec_point, ec_scalar, 32, BR_EC_curve25519);
}

static void ec_x25519_mul(void)
{
    ec_cur->ec->mul(ec_point, 32, ec_scalar, 32, BR_EC_curve25519);
}

static void ec_p256_sign(void)
{
    ec_cur->sign(ec_cur->ec, &br_sha256_vtable, ec_hash, &ec_key, ec_sig);
}

/* Microseconds per call of RUN, run for about SECONDS. */
static double ec_time(void (*run)(void), double seconds)
{
    double t0 = ec_now(), t;
    unsigned long n = 0;
    do {
        run();
        n++;
    } while ((t = ec_now() - t0) < seconds);
    return t / (double)n * 1e6;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"seconds", required_argument, NULL, 's'},
                                             {NULL, 0, NULL, 0}};
    static const struct {
        const char *name;
        void (*run)(void);
    } ops[] = {
        {"x25519 key generation (mulgen)", ec_x25519_keygen},
        {"x25519 shared secret (mul)", ec_x25519_mul},
        {"ecdsa p-256 signature", ec_p256_sign},
    };
    static const struct ec_code codes[] = {
        {"the tls module (" TLS_EC_NAME ")", &tls_ec_impl, tls_ecdsa_sign},
        {"BearSSL alone (br_ec_all_m31, br_ecdsa_i31_sign_asn1)", &br_ec_all_m31,
         br_ecdsa_i31_sign_asn1},
    };
    unsigned char kbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
    br_hmac_drbg_context rng;
    double seconds = 0.5, total[2] = {0, 0};
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c != 's' || (seconds = strtod(optarg, NULL)) <= 0) {
            fprintf(stderr, "usage: tls_ec [--seconds S]\n");
            return 2;
        }
    }
    tls_ec_init();
    /* Fixed inputs: the cost does not depend on them (constant-time code). */
    br_hmac_drbg_init(&rng, &br_sha256_vtable, "bench/tls_ec", 12);
    br_hmac_drbg_generate(&rng, ec_scalar, sizeof(ec_scalar));
    br_hmac_drbg_generate(&rng, ec_hash, sizeof(ec_hash));
    if (br_ec_keygen(&rng.vtable, &br_ec_all_m31, &ec_key, kbuf, BR_EC_secp256r1) == 0) {
        fprintf(stderr, "tls_ec: BearSSL made no P-256 key\n");
        return 1;
    }
    br_ec_all_m31.mulgen(ec_point, ec_scalar, 32, BR_EC_curve25519);
    for (size_t k = 0; k < 2; k++) {
        ec_cur = &codes[k];
        printf("%s\n", codes[k].name);
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            double us = ec_time(ops[i].run, seconds);
            total[k] += us;
            printf("  %-34s %8.1f us\n", ops[i].name, us);
        }
        printf("  %-34s %8.1f us: at most %.0f handshakes/s per core\n", "a handshake's EC work",
               total[k], 1e6 / total[k]);
    }
    printf("the tls module's EC work is %.2fx faster than BearSSL's alone\n", total[1] / total[0]);
    return 0;
}
