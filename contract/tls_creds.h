/*
 * tls_creds.h — a TLS server's credentials as the tender hands them to a guest
 * (UNISEC_HC_TLS_CREDS, abi.h): made on the host from the node's PEM certificate chain and
 * private key (engine.h, engine_tls_creds()), read by the guest's tls module. Freestanding.
 *
 * Little-endian, no padding: a struct unisec_tls_creds_hdr, then NKEY items of the private key,
 * then NCERTS DER certificates (the server's first, then its issuers), each item a uint32_t
 * length and that many bytes. The key's items, big-endian integers:
 *   UNISEC_TLS_KEY_EC   (KEY_PARAM: the curve, as TLS numbers it: 23 secp256r1,
 *                        24 secp384r1, 25 secp521r1)      x, the private scalar
 *   UNISEC_TLS_KEY_RSA  (KEY_PARAM: the modulus's bits)   p, q, dp, dq, iq
 * common/tls_creds.c checks the framing; the host checked the rest (the key matches the
 * certificate) before making it.
 */
#ifndef UNISEC_CONTRACT_TLS_CREDS_H
#define UNISEC_CONTRACT_TLS_CREDS_H

#include <stdint.h>

#define UNISEC_TLS_MAGIC     0x534c5455u /* "UTLS" */
#define UNISEC_TLS_VERSION   1u
#define UNISEC_TLS_KEY_EC    1u
#define UNISEC_TLS_KEY_RSA   2u
#define UNISEC_TLS_KEY_ITEMS 5u          /* RSA's; EC has 1 */
#define UNISEC_TLS_CERTS_MAX 8u          /* certificates in a chain */
#define UNISEC_TLS_CREDS_MAX (64u << 10) /* bytes of a whole blob */

struct unisec_tls_creds_hdr {
    uint32_t magic;     /* UNISEC_TLS_MAGIC */
    uint32_t version;   /* UNISEC_TLS_VERSION */
    uint32_t key_type;  /* UNISEC_TLS_KEY_* */
    uint32_t key_param; /* see above */
    uint32_t nkey;      /* 1 for EC, 5 for RSA */
    uint32_t ncerts;    /* 1 to UNISEC_TLS_CERTS_MAX */
};

#endif
