/*
 * bench/tls_ec — what a full TLS handshake of the tls module costs in elliptic-curve
 * arithmetic on this machine: BearSSL's code as the module calls it (guest/modules/tls:
 * br_ec_get_default() for ECDHE, br_ecdsa_i31_sign_asn1 with it for the ServerKeyExchange
 * signature), each operation timed alone on one core. A handshake with X25519 and a P-256 key
 * does one X25519 key generation, one X25519 multiplication and one ECDSA signature: their sum
 * bounds the handshakes one core can make. bench/tls prints it beside `openssl speed`.
 *
 *     tls_ec [--seconds S]      (default 0.5 per operation)
 */
#include <bearssl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double ec_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct ec_op {
    const char *name;
    void (*run)(void);
};

static unsigned char ec_scalar[32], ec_point[65], ec_hash[32], ec_sig[80];
static size_t ec_point_len;
static br_ec_private_key ec_key;

static void ec_x25519_keygen(void)
{
    ec_point_len = br_ec_get_default()->mulgen(ec_point, ec_scalar, 32, BR_EC_curve25519);
}

static void ec_x25519_mul(void)
{
    br_ec_get_default()->mul(ec_point, ec_point_len, ec_scalar, 32, BR_EC_curve25519);
}

static void ec_p256_sign(void)
{
    br_ecdsa_i31_sign_asn1(br_ec_get_default(), &br_sha256_vtable, ec_hash, &ec_key, ec_sig);
}

/* Microseconds per call of OP, run for about SECONDS. */
static double ec_time(const struct ec_op *op, double seconds)
{
    double t0 = ec_now(), t;
    unsigned long n = 0;
    do {
        op->run();
        n++;
    } while ((t = ec_now() - t0) < seconds);
    return t / (double)n * 1e6;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"seconds", required_argument, NULL, 's'},
                                             {NULL, 0, NULL, 0}};
    static const struct ec_op ops[] = {
        {"x25519 key generation (mulgen)", ec_x25519_keygen},
        {"x25519 shared secret (mul)", ec_x25519_mul},
        {"ecdsa p-256 signature (i31)", ec_p256_sign},
    };
    unsigned char kbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
    br_hmac_drbg_context rng;
    double seconds = 0.5, total = 0;
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c != 's' || (seconds = strtod(optarg, NULL)) <= 0) {
            fprintf(stderr, "usage: tls_ec [--seconds S]\n");
            return 2;
        }
    }
    /* Fixed inputs: the cost does not depend on them (constant-time code). */
    br_hmac_drbg_init(&rng, &br_sha256_vtable, "bench/tls_ec", 12);
    br_hmac_drbg_generate(&rng, ec_scalar, sizeof(ec_scalar));
    br_hmac_drbg_generate(&rng, ec_hash, sizeof(ec_hash));
    if (br_ec_keygen(&rng.vtable, br_ec_get_default(), &ec_key, kbuf, BR_EC_secp256r1) == 0) {
        fprintf(stderr, "tls_ec: BearSSL made no P-256 key\n");
        return 1;
    }
    ec_x25519_keygen();
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        double us = ec_time(&ops[i], seconds);
        total += us;
        printf("%-34s %8.1f us\n", ops[i].name, us);
    }
    printf("%-34s %8.1f us: at most %.0f handshakes/s per core\n", "a handshake's EC work", total,
           1e6 / total);
    return 0;
}
