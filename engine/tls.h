/*
 * tls.h — a node's TLS certificate chain and private key (PEM) checked, and made into the
 * credentials an instance takes at start (contract/tls_creds.h). Read with BearSSL.
 *
 * Accepted: a chain of 1 to 8 X.509 certificates (the server's first), each valid at the time
 * given; a private key in PKCS#8, SEC 1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY")
 * PEM, on P-256, P-384 or P-521, or RSA of 2048 to 4096 bits, whose public key is the first
 * certificate's. Every refusal names the file and the reason; none quotes the key.
 */
#ifndef UNISEC_ENGINE_TLS_H
#define UNISEC_ENGINE_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

struct engine_tls_input {
    const char *cert, *key; /* the PEM texts; KEY NULL to check the chain alone */
    size_t cert_len, key_len;
    const char *cert_name, *key_name; /* for messages */
    int64_t now;                      /* seconds since the epoch the certificates must cover */
};

struct engine_tls_info {
    uint32_t key_type;       /* UNISEC_TLS_KEY_EC or UNISEC_TLS_KEY_RSA: the certificate's */
    unsigned key_bits;       /* the curve's size, or the modulus's */
    size_t ncerts;           /* in the chain */
    int64_t not_after;       /* the earliest end of validity in the chain */
    uint8_t fingerprint[32]; /* SHA-256 of the server certificate's SubjectPublicKeyInfo (DER) */
};

/*
 * Checks IN's chain and, when IN->key is set, that the key is the chain's. Fills *INFO (may
 * be NULL). When BLOB is not NULL and the key was given, *BLOB (the caller wipes it with
 * explicit_bzero and frees it) holds the credentials, *LEN bytes. Returns 0, -EINVAL with the
 * reasons in D, or -ENOMEM.
 */
int engine_tls_check(const struct engine_tls_input *in, struct engine_tls_info *info, void **blob,
                     size_t *len, struct engine_diag *d);

/*
 * Splits the PEM text TEXT[0..LEN) into its private-key objects (a BEGIN line whose label ends
 * in "PRIVATE KEY", to its END line) and every other object, each kept whole with its BEGIN
 * and END lines; text between objects is dropped. *KEY and *CERT are new NUL-terminated
 * buffers (*KEY_LEN, *CERT_LEN bytes; the caller wipes *KEY with explicit_bzero and frees
 * both). Returns the number of private-key objects, or -ENOMEM.
 */
int engine_tls_split(const char *text, size_t len, char **key, size_t *key_len, char **cert,
                     size_t *cert_len);

/* The line of TEXT[0..LEN) where a PEM private key begins: a "-----BEGIN " whose label ends in
 * "PRIVATE KEY-----" (PKCS#8, encrypted or not, SEC 1, PKCS#1, OpenSSH, ...), anywhere on a
 * line (indented, quoted); 0 when there is none. Reads nothing past LEN. */
int engine_tls_key_line(const char *text, size_t len);

/*
 * The `pins` parameter of the tls_upstream module (engine/TOPOLOGY.md section 1.4): for each
 * node of NAMES ("NODE NODE", as derived), "NODE=" and the public key of the first certificate
 * of each chain CERT(ARG, NODE, I, &PEM, &LEN) gives (I = 0, its chain in force, then 1, its
 * previous one, until CERT returns nonzero), "ec:CURVE:HEX" (BearSSL's curve number, the
 * point) or "rsa:HEXE:HEXN", lower-case hex, space-separated, each key once, into *OUT (caller
 * frees). A node without a chain in force, or whose chain does not check at NOW, is left out,
 * with the reason in D (the builder then refuses the image, naming it); a previous chain that
 * does not check is left out alone. Returns 0 or -ENOMEM.
 */
int engine_tls_pins(const char *names,
                    int (*cert)(void *arg, const char *node, size_t i, const char **pem,
                                size_t *len),
                    void *arg, int64_t now, char **out, struct engine_diag *d);

/* Bounds of engine_tls_cert_before(): commits looked at in all, chains passed over. */
#define ENGINE_TLS_BEFORE_WALK  4096
#define ENGINE_TLS_BEFORE_SKIPS 8

struct engine_store;

/*
 * NODE's certificate chain before CERT[0..LEN), the one in force (engine_tls_pins()'s I = 1
 * after a restart, and `unisec build`'s): the version of tls/NODE/cert that main held before
 * CERT's, along the first parents of commit FROM (NULL: the head; engine_store_path_before()).
 * A version that does not check at NOW (malformed, expired: it was never served) is passed over,
 * with a line in WARN naming it, its commit and why, and the one before it taken, at most
 * ENGINE_TLS_BEFORE_SKIPS times. *PEM (the caller frees; *PEM_LEN bytes, NUL-terminated) NULL
 * when there is none: none before, the file absent or no regular file before, or nothing found
 * within ENGINE_TLS_BEFORE_WALK commits (said in WARN), or the store failed (said in WARN).
 * Returns 0, or -ENOMEM. In the engine library (it reads the store), not the tender's.
 */
int engine_tls_cert_before(const struct engine_store *s, const char *from, const char *node,
                           const char *cert, size_t len, int64_t now, char **pem, size_t *pem_len,
                           struct engine_diag *warn);

/* "sha256:" and the 64 hex digits of FP (INFO's fingerprint) into BUF (at least
 * ENGINE_TLS_FP_TEXT bytes). */
#define ENGINE_TLS_FP_TEXT 72
void engine_tls_fingerprint_text(const uint8_t fp[32], char *buf);

#endif
