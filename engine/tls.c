/*
 * tls.c — a node's certificate chain and private key checked and made into the credentials
 * an instance takes (tls.h). Every buffer that held the key is wiped before it is freed.
 */
#include "tls.h"

#include <bearssl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "common/tls_creds.h"

#define TLS_DAYS_TO_EPOCH 719528u /* BearSSL counts days from 1 January of year 0 */

/* A growing byte buffer, wiped when it grows or is freed. */
struct tls_buf {
    unsigned char *p;
    size_t len, cap;
    int nomem;
};

static void tls_buf_free(struct tls_buf *b)
{
    if (b->p)
        explicit_bzero(b->p, b->cap);
    free(b->p);
    *b = (struct tls_buf){0};
}

static void tls_buf_add(void *ctx, const void *data, size_t n)
{
    struct tls_buf *b = ctx;
    if (b->nomem)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *p = malloc(cap);
        if (p == NULL) {
            b->nomem = 1;
            return;
        }
        if (b->p) {
            memcpy(p, b->p, b->len);
            explicit_bzero(b->p, b->cap);
            free(b->p);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

/* The PEM objects of TEXT: each object's DER in OBJS[i] (up to MAX), its type in NAMES[i]. */
struct tls_pem {
    struct tls_buf obj[UNISEC_TLS_CERTS_MAX + 1];
    char name[UNISEC_TLS_CERTS_MAX + 1][128];
    size_t n;
};

static void tls_pem_free(struct tls_pem *pem)
{
    for (size_t i = 0; i < pem->n && i <= UNISEC_TLS_CERTS_MAX; i++)
        tls_buf_free(&pem->obj[i]);
    pem->n = 0;
}

/* Decodes TEXT into PEM. Returns 0, -ENOMEM, or -EINVAL with *WHY set. */
static int tls_pem_read(const char *text, size_t len, struct tls_pem *pem, const char **why)
{
    br_pem_decoder_context pc;
    int inside = 0, rc = 0, eol = 0;
    br_pem_decoder_init(&pc);
    memset(pem, 0, sizeof(*pem));
    /* The text, then a newline: BearSSL ends an object at the end of its END line. */
    while (len > 0 || !eol) {
        size_t k;
        if (len > 0) {
            k = br_pem_decoder_push(&pc, text, len);
            text += k;
            len -= k;
        } else {
            k = br_pem_decoder_push(&pc, "\n", 1);
            eol = k == 1;
        }
        int ev = br_pem_decoder_event(&pc);
        if (ev == BR_PEM_BEGIN_OBJ) {
            if (pem->n > UNISEC_TLS_CERTS_MAX) {
                *why = "holds more than 8 PEM objects";
                rc = -EINVAL;
                break;
            }
            snprintf(pem->name[pem->n], sizeof(pem->name[0]), "%s", br_pem_decoder_name(&pc));
            br_pem_decoder_setdest(&pc, tls_buf_add, &pem->obj[pem->n]);
            pem->n++;
            inside = 1;
        } else if (ev == BR_PEM_END_OBJ) {
            inside = 0;
            if (pem->obj[pem->n - 1].nomem) {
                rc = -ENOMEM;
                break;
            }
        } else if (ev == BR_PEM_ERROR) {
            *why = "is not valid PEM (base64 between BEGIN and END lines)";
            rc = -EINVAL;
            break;
        }
    }
    if (rc == 0 && inside) {
        *why = "a PEM object is not terminated by its END line";
        rc = -EINVAL;
    }
    explicit_bzero(&pc, sizeof(pc));
    if (rc == 0 && pem->n == 0) {
        *why = "holds no PEM object (-----BEGIN ...-----)";
        rc = -EINVAL;
    }
    return rc;
}

static int64_t tls_time(uint32_t days, uint32_t secs)
{
    return ((int64_t)days - TLS_DAYS_TO_EPOCH) * 86400 + secs;
}

/* Checks the chain: every object a certificate, each valid at NOW. The first one's public key
 * is copied to PK (its buffers in KEYBUF). */
static int tls_chain_check(const struct engine_tls_input *in, const struct tls_pem *pem,
                           br_x509_pkey *pk, struct tls_buf *keybuf, struct engine_tls_info *info,
                           struct engine_diag *d)
{
    for (size_t i = 0; i < pem->n; i++) {
        br_x509_decoder_context dc;
        if (strcmp(pem->name[i], "CERTIFICATE") != 0)
            return engine_diag_add(d, in->cert_name, 0, 0,
                                   "PEM object %zu is a '%s', not a CERTIFICATE (the chain holds "
                                   "certificates only; the key goes into its own file)",
                                   i + 1, pem->name[i]);
        br_x509_decoder_init(&dc, NULL, NULL);
        br_x509_decoder_push(&dc, pem->obj[i].p, pem->obj[i].len);
        const br_x509_pkey *k = br_x509_decoder_get_pkey(&dc);
        if (k == NULL && br_x509_decoder_last_error(&dc) == BR_ERR_X509_UNSUPPORTED)
            return engine_diag_add(d, in->cert_name, 0, 0,
                                   "certificate %zu has a key of a type that is neither EC nor "
                                   "RSA (Ed25519, Ed448, DSA): EC on P-256, P-384 or P-521, or RSA "
                                   "of 2048 to 4096 bits are accepted",
                                   i + 1);
        if (k == NULL)
            return engine_diag_add(d, in->cert_name, 0, 0,
                                   "certificate %zu is not a valid X.509 certificate (BearSSL "
                                   "error %d)",
                                   i + 1, br_x509_decoder_last_error(&dc));
        int64_t from = tls_time(dc.notbefore_days, dc.notbefore_seconds);
        int64_t until = tls_time(dc.notafter_days, dc.notafter_seconds);
        if (in->now < from)
            return engine_diag_add(d, in->cert_name, 0, 0,
                                   "certificate %zu is not valid yet (from %lld, now %lld: "
                                   "seconds since 1970)",
                                   i + 1, (long long)from, (long long)in->now);
        if (in->now > until)
            return engine_diag_add(d, in->cert_name, 0, 0,
                                   "certificate %zu has expired (at %lld, now %lld: seconds "
                                   "since 1970)",
                                   i + 1, (long long)until, (long long)in->now);
        if (i == 0 || until < info->not_after)
            info->not_after = until;
        if (i > 0)
            continue;
        *pk = *k; /* its buffers live in DC: copied out */
        if (k->key_type == BR_KEYTYPE_EC) {
            tls_buf_add(keybuf, k->key.ec.q, k->key.ec.qlen);
            pk->key.ec.q = keybuf->p;
        } else if (k->key_type == BR_KEYTYPE_RSA) {
            tls_buf_add(keybuf, k->key.rsa.n, k->key.rsa.nlen);
            tls_buf_add(keybuf, k->key.rsa.e, k->key.rsa.elen);
            pk->key.rsa.n = keybuf->p;
            pk->key.rsa.e = keybuf->p ? keybuf->p + k->key.rsa.nlen : NULL;
        } else {
            return engine_diag_add(d, in->cert_name, 0, 0,
                                   "the server certificate's key is neither EC nor RSA");
        }
        if (keybuf->nomem)
            return -ENOMEM;
    }
    info->ncerts = pem->n;
    return 0;
}

/* Skips leading zero bytes of a big-endian number. */
static const unsigned char *tls_trim(const unsigned char *p, size_t *len)
{
    while (*len > 0 && *p == 0) {
        p++;
        (*len)--;
    }
    return p;
}

static int tls_same(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    a = tls_trim(a, &alen);
    b = tls_trim(b, &blen);
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* The curve's size in bits, or 0 for a curve TLS cannot sign with here. */
static unsigned tls_curve_bits(int curve)
{
    return curve == BR_EC_secp256r1   ? 256
           : curve == BR_EC_secp384r1 ? 384
           : curve == BR_EC_secp521r1 ? 521
                                      : 0;
}

/* Checks that SK is the private key of PK; fills the key's part of CR and INFO. */
static int tls_key_match(const struct engine_tls_input *in, const br_skey_decoder_context *kc,
                         const br_x509_pkey *pk, struct tls_creds *cr, struct engine_tls_info *info,
                         struct engine_diag *d)
{
    int type = br_skey_decoder_key_type(kc);
    if (type != (int)pk->key_type)
        return engine_diag_add(d, in->key_name, 0, 0,
                               "is an %s key, but the certificate's key is %s: they do not match",
                               type == BR_KEYTYPE_EC ? "EC" : "RSA",
                               pk->key_type == BR_KEYTYPE_EC ? "EC" : "RSA");
    if (type == BR_KEYTYPE_EC) {
        const br_ec_private_key *sk = br_skey_decoder_get_ec(kc);
        unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
        br_ec_public_key pub;
        if ((info->key_bits = tls_curve_bits(sk->curve)) == 0)
            return engine_diag_add(d, in->key_name, 0, 0,
                                   "is on curve %d; P-256, P-384 or P-521 are accepted", sk->curve);
        if (sk->curve != pk->key.ec.curve ||
            br_ec_compute_pub(br_ec_get_default(), &pub, q, sk) == 0 ||
            !tls_same(pub.q, pub.qlen, pk->key.ec.q, pk->key.ec.qlen))
            return engine_diag_add(d, in->key_name, 0, 0,
                                   "is not the private key of the certificate in %s (their public "
                                   "keys differ)",
                                   in->cert_name);
        *cr = (struct tls_creds){.key_type = UNISEC_TLS_KEY_EC,
                                 .key_param = (uint32_t)sk->curve,
                                 .nkey = 1,
                                 .key = {{sk->x, sk->xlen}}};
        info->key_type = UNISEC_TLS_KEY_EC;
        return 0;
    }
    const br_rsa_private_key *sk = br_skey_decoder_get_rsa(kc);
    unsigned char n[4096 / 8 + 1];
    if (sk->n_bitlen < 2048 || sk->n_bitlen > 4096)
        return engine_diag_add(d, in->key_name, 0, 0,
                               "is an RSA key of %u bits; 2048 to 4096 are accepted",
                               (unsigned)sk->n_bitlen);
    /* The same modulus, and a signature made with the key verifies with the certificate's
     * public key (so the exponents agree too). */
    static const unsigned char hv[32] = "unisec: is this the certificate";
    unsigned char sig[4096 / 8], out[32];
    size_t nlen = br_rsa_compute_modulus_get_default()(NULL, sk);
    br_rsa_public_key pub = {(unsigned char *)pk->key.rsa.n, pk->key.rsa.nlen,
                             (unsigned char *)pk->key.rsa.e, pk->key.rsa.elen};
    if (nlen == 0 || nlen > sizeof(n) || br_rsa_compute_modulus_get_default()(n, sk) != nlen ||
        !tls_same(n, nlen, pk->key.rsa.n, pk->key.rsa.nlen) ||
        !br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, hv, sizeof(hv), sk, sig) ||
        !br_rsa_pkcs1_vrfy_get_default()(sig, (sk->n_bitlen + 7) / 8, BR_HASH_OID_SHA256,
                                         sizeof(out), &pub, out) ||
        memcmp(out, hv, sizeof(out)) != 0)
        return engine_diag_add(d, in->key_name, 0, 0,
                               "is not the private key of the certificate in %s (their public "
                               "keys differ)",
                               in->cert_name);
    *cr = (struct tls_creds){.key_type = UNISEC_TLS_KEY_RSA,
                             .key_param = sk->n_bitlen,
                             .nkey = 5,
                             .key = {{sk->p, sk->plen},
                                     {sk->q, sk->qlen},
                                     {sk->dp, sk->dplen},
                                     {sk->dq, sk->dqlen},
                                     {sk->iq, sk->iqlen}}};
    info->key_type = UNISEC_TLS_KEY_RSA;
    info->key_bits = sk->n_bitlen;
    return 0;
}

/* Reads the key's one PEM object and checks it against PK; on success makes the blob. */
static int tls_key_check(const struct engine_tls_input *in, const struct tls_pem *chain,
                         const br_x509_pkey *pk, struct engine_tls_info *info, void **blob,
                         size_t *len, struct engine_diag *d)
{
    struct tls_pem pem;
    br_skey_decoder_context kc;
    struct tls_creds cr;
    const char *why = NULL;
    int rc = tls_pem_read(in->key, in->key_len, &pem, &why);
    if (rc == -EINVAL)
        engine_diag_add(d, in->key_name, 0, 0, "%s", why);
    if (rc < 0)
        goto out;
    if (pem.n != 1 ||
        (strcmp(pem.name[0], "PRIVATE KEY") && strcmp(pem.name[0], "EC PRIVATE KEY") &&
         strcmp(pem.name[0], "RSA PRIVATE KEY"))) {
        rc = engine_diag_add(d, in->key_name, 0, 0,
                             "must hold exactly one PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE "
                             "KEY object (an encrypted key is not accepted)");
        goto out;
    }
    br_skey_decoder_init(&kc);
    br_skey_decoder_push(&kc, pem.obj[0].p, pem.obj[0].len);
    if (br_skey_decoder_last_error(&kc) != 0) {
        rc = engine_diag_add(d, in->key_name, 0, 0,
                             "is not a readable EC or RSA private key (BearSSL error %d)",
                             br_skey_decoder_last_error(&kc));
        goto wipe;
    }
    if ((rc = tls_key_match(in, &kc, pk, &cr, info, d)) < 0)
        goto wipe;
    cr.ncerts = (uint32_t)chain->n;
    for (size_t i = 0; i < chain->n; i++)
        cr.cert[i] = (struct tls_creds_item){chain->obj[i].p, chain->obj[i].len};
    if (blob) {
        size_t need = tls_creds_encode(NULL, 0, &cr);
        if (need > UNISEC_TLS_CREDS_MAX) {
            rc = engine_diag_add(d, in->cert_name, 0, 0,
                                 "the chain and key take %zu bytes; at most %u are accepted", need,
                                 UNISEC_TLS_CREDS_MAX);
            goto wipe;
        }
        if ((*blob = malloc(need)) == NULL) {
            rc = -ENOMEM;
            goto wipe;
        }
        *len = tls_creds_encode(*blob, need, &cr);
    }
wipe:
    explicit_bzero(&kc, sizeof(kc));
out:
    tls_pem_free(&pem);
    return rc;
}

/* One DER element at *P (of *N bytes left): its tag, and its contents in *BODY, *BODY_LEN;
 * *P and *N move past it. Returns the tag, or -1 when it does not fit. */
static int tls_der(const unsigned char **p, size_t *n, const unsigned char **body, size_t *body_len)
{
    size_t len, hdr = 2;
    if (*n < 2)
        return -1;
    int tag = (*p)[0];
    len = (*p)[1];
    if (len & 0x80) {
        size_t k = len & 0x7f;
        if (k == 0 || k > 3 || *n < 2 + k)
            return -1;
        len = 0;
        for (size_t i = 0; i < k; i++)
            len = len << 8 | (*p)[2 + i];
        hdr += k;
    }
    if (len > *n - hdr)
        return -1;
    *body = *p + hdr;
    *body_len = len;
    *p += hdr + len;
    *n -= hdr + len;
    return tag;
}

/* The SubjectPublicKeyInfo of certificate DER (a checked X.509 certificate) as DER: what
 * `openssl pkey -pubin -outform DER` prints, so the fingerprint can be compared with
 * openssl's. NULL when it is not where X.509 puts it. */
static const unsigned char *tls_spki(const unsigned char *der, size_t len, size_t *out_len)
{
    const unsigned char *cert, *tbs, *b, *at;
    size_t cn, tn, bn;
    if (tls_der(&der, &len, &cert, &cn) != 0x30 || tls_der(&cert, &cn, &tbs, &tn) != 0x30)
        return NULL;
    if (tn > 0 && tbs[0] == 0xa0 && tls_der(&tbs, &tn, &b, &bn) < 0) /* [0] version */
        return NULL;
    for (int i = 0; i < 5; i++) /* serial, signature, issuer, validity, subject */
        if (tls_der(&tbs, &tn, &b, &bn) < 0)
            return NULL;
    at = tbs;
    if (tls_der(&tbs, &tn, &b, &bn) != 0x30)
        return NULL;
    *out_len = (size_t)(tbs - at);
    return at;
}

int engine_tls_check(const struct engine_tls_input *in, struct engine_tls_info *info_out,
                     void **blob, size_t *len, struct engine_diag *d)
{
    struct tls_pem chain;
    struct tls_buf keybuf = {0};
    struct engine_tls_info info = {0};
    br_x509_pkey pk = {0};
    const char *why = NULL;
    int rc = tls_pem_read(in->cert, in->cert_len, &chain, &why);
    if (rc == -EINVAL)
        engine_diag_add(d, in->cert_name, 0, 0, "%s", why);
    if (rc < 0)
        goto out;
    if (chain.n > UNISEC_TLS_CERTS_MAX) {
        rc = engine_diag_add(d, in->cert_name, 0, 0, "holds more than %u certificates",
                             UNISEC_TLS_CERTS_MAX);
        goto out;
    }
    if ((rc = tls_chain_check(in, &chain, &pk, &keybuf, &info, d)) < 0)
        goto out;
    const unsigned char *pub = pk.key_type == BR_KEYTYPE_EC ? pk.key.ec.q : pk.key.rsa.n;
    size_t publen = pk.key_type == BR_KEYTYPE_EC ? pk.key.ec.qlen : pk.key.rsa.nlen, spki_len;
    pub = tls_trim(pub, &publen);
    const unsigned char *spki = tls_spki(chain.obj[0].p, chain.obj[0].len, &spki_len);
    if (spki == NULL) {
        rc = engine_diag_add(d, in->cert_name, 0, 0,
                             "certificate 1: its subject public key info cannot be found");
        goto out;
    }
    engine_sha256(info.fingerprint, spki, spki_len);
    info.key_type = pk.key_type == BR_KEYTYPE_EC ? UNISEC_TLS_KEY_EC : UNISEC_TLS_KEY_RSA;
    info.key_bits =
        pk.key_type == BR_KEYTYPE_EC ? tls_curve_bits(pk.key.ec.curve) : (unsigned)publen * 8;
    if (pk.key_type == BR_KEYTYPE_EC && info.key_bits == 0) {
        rc = engine_diag_add(d, in->cert_name, 0, 0,
                             "the server certificate's key is on curve %d; P-256, P-384 or P-521 "
                             "are accepted",
                             pk.key.ec.curve);
        goto out;
    }
    if (in->key)
        rc = tls_key_check(in, &chain, &pk, &info, blob, len, d);
out:
    tls_buf_free(&keybuf);
    tls_pem_free(&chain);
    if (rc == 0 && info_out)
        *info_out = info;
    return rc;
}

/* Appends "NODE=" and PK's key text to F. */
static void tls_pin_print(FILE *f, const char *node, size_t nlen, const br_x509_pkey *pk)
{
    const unsigned char *a = pk->key_type == BR_KEYTYPE_EC ? NULL : pk->key.rsa.e;
    const unsigned char *b = pk->key_type == BR_KEYTYPE_EC ? pk->key.ec.q : pk->key.rsa.n;
    size_t alen = pk->key_type == BR_KEYTYPE_EC ? 0 : pk->key.rsa.elen;
    size_t blen = pk->key_type == BR_KEYTYPE_EC ? pk->key.ec.qlen : pk->key.rsa.nlen;
    if (pk->key_type == BR_KEYTYPE_EC) {
        fprintf(f, "%.*s=ec:%d:", (int)nlen, node, pk->key.ec.curve);
    } else {
        a = tls_trim(a, &alen);
        b = tls_trim(b, &blen);
        fprintf(f, "%.*s=rsa:", (int)nlen, node);
        for (size_t i = 0; i < alen; i++)
            fprintf(f, "%02x", a[i]);
        fputc(':', f);
    }
    for (size_t i = 0; i < blen; i++)
        fprintf(f, "%02x", b[i]);
}

/* Appends "NODE=KEY" of chain PEM[0..LEN) to F (of *OUT so far) unless it holds it already.
 * 0, -EINVAL (the chain does not check: in D), -ENOMEM. */
static int tls_pin_add(FILE *f, char **out, const char *node, const char *pem, size_t len,
                       const char *label, int64_t now, struct engine_diag *d)
{
    struct engine_tls_input in = {.cert = pem, .cert_len = len, .cert_name = label, .now = now};
    struct tls_pem chain;
    struct tls_buf keybuf = {0};
    struct engine_tls_info info = {0};
    br_x509_pkey pk = {0};
    const char *why;
    char *one = NULL;
    size_t olen = 0;
    int rc;
    if ((rc = engine_tls_check(&in, NULL, NULL, NULL, d)) < 0 ||
        (rc = tls_pem_read(pem, len, &chain, &why)) < 0)
        return rc;
    FILE *g = open_memstream(&one, &olen);
    if (g == NULL)
        rc = -ENOMEM;
    else if ((rc = tls_chain_check(&in, &chain, &pk, &keybuf, &info, d)) == 0)
        tls_pin_print(g, node, strlen(node), &pk);
    if (g != NULL && fclose(g) != 0)
        rc = -ENOMEM;
    tls_pem_free(&chain);
    tls_buf_free(&keybuf);
    if (rc == 0 && fflush(f) == 0) {
        /* the same key (a renewed certificate) is pinned once */
        const char *at = *out ? strstr(*out, one) : NULL;
        int dup = at != NULL && (at == *out || at[-1] == ' ') && (at[olen] == ' ' || !at[olen]);
        if (!dup)
            fprintf(f, "%s%s", *out && **out ? " " : "", one);
    }
    free(one);
    return rc;
}

int engine_tls_pins(const char *names,
                    int (*cert)(void *arg, const char *node, size_t i, const char **pem,
                                size_t *len),
                    void *arg, int64_t now, char **out, struct engine_diag *d)
{
    size_t olen = 0;
    FILE *f;
    int rc = 0;
    *out = NULL;
    if ((f = open_memstream(out, &olen)) == NULL)
        return -ENOMEM;
    for (const char *v = names; v && *v && rc != -ENOMEM;) {
        v += strspn(v, " ");
        size_t n = strcspn(v, " ");
        char node[256], label[300];
        const char *pem;
        size_t len;
        if (n == 0)
            break;
        snprintf(node, sizeof(node), "%.*s", (int)n, v);
        snprintf(label, sizeof(label), "tls/%s/cert", node);
        v += n;
        size_t i = 0;
        int found = 0;
        for (; rc != -ENOMEM && cert(arg, node, i, &pem, &len) == 0; i++) {
            found = 1;
            struct engine_diag none;
            engine_diag_init(&none); /* a previous chain that expired is dropped, unsaid */
            rc = tls_pin_add(f, out, node, pem, len, i ? "previous certificate" : label, now,
                             i ? &none : d);
            engine_diag_free(&none);
            if (rc == -EINVAL && i == 0)
                break;
        }
        if (rc != -ENOMEM && !found)
            engine_diag_add(d, label, 0, 0, "backend %s serves HTTPS and has no certificate", node);
    }
    if (fclose(f) != 0 || rc == -ENOMEM) {
        free(*out);
        *out = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* The label of a "-----BEGIN LABEL-----" line at P (N bytes), or NULL. */
static const char *tls_begin(const char *p, size_t n, size_t *label_len)
{
    static const char pre[] = "-----BEGIN ";
    if (n < sizeof(pre) - 1 + 5 || memcmp(p, pre, sizeof(pre) - 1) != 0)
        return NULL;
    const char *label = p + sizeof(pre) - 1, *end = memchr(label, '-', n - (sizeof(pre) - 1));
    if (end == NULL)
        return NULL;
    *label_len = (size_t)(end - label);
    return label;
}

int engine_tls_split(const char *text, size_t len, char **key, size_t *key_len, char **cert,
                     size_t *cert_len)
{
    char *k = malloc(len + 2), *c = malloc(len + 2); /* an END line may need its newline */
    size_t kn = 0, cn = 0;
    int nkeys = 0;
    char *into = NULL; /* the buffer the object being read goes to */
    size_t *into_n = NULL;

    if (k == NULL || c == NULL) {
        free(k), free(c);
        return -ENOMEM;
    }
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) + 1 : len - i, ll;
        const char *label = tls_begin(text + i, n, &ll);
        if (label != NULL) {
            int is_key = ll >= 11 && memcmp(label + ll - 11, "PRIVATE KEY", 11) == 0;
            into = is_key ? k : c;
            into_n = is_key ? &kn : &cn;
            nkeys += is_key;
        }
        if (into != NULL) {
            memcpy(into + *into_n, text + i, n);
            *into_n += n;
            if (n >= 9 && memcmp(text + i, "-----END ", 9) == 0) {
                if (text[i + n - 1] != '\n')
                    into[(*into_n)++] = '\n';
                into = NULL;
            }
        }
        i += n;
    }
    k[kn] = c[cn] = 0;
    *key = k, *key_len = kn, *cert = c, *cert_len = cn;
    return nkeys;
}

void engine_tls_fingerprint_text(const uint8_t fp[32], char *buf)
{
    memcpy(buf, "sha256:", 7);
    for (int i = 0; i < 32; i++)
        snprintf(buf + 7 + 2 * i, 3, "%02x", fp[i]);
}

int engine_tls_key_line(const char *text, size_t len)
{
    static const char begin[] = "-----BEGIN ", tail[] = "PRIVATE KEY-----";
    const char *p = text, *end = text + len;

    while ((p = memmem(p, (size_t)(end - p), begin, sizeof(begin) - 1)) != NULL) {
        const char *label = p + sizeof(begin) - 1;
        const char *eol = memchr(label, '\n', (size_t)(end - label));
        const char *stop = eol != NULL ? eol : end;
        const char *close = memmem(label, (size_t)(stop - label), "-----", 5);

        if (close != NULL && (size_t)(close + 5 - label) >= sizeof(tail) - 1 &&
            memcmp(close + 5 - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0) {
            int line = 1;
            for (const char *q = text; q < p; q++)
                line += *q == '\n';
            return line;
        }
        p = label;
    }
    return 0;
}
