/* tls_creds.c — the TLS credential blob (contract/tls_creds.h): its framing read and made. */
#include "tls_creds.h"

static uint32_t tls_creds_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void tls_creds_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Takes one item at *OFF of BUF[0..LEN) into *IT. */
static int tls_creds_item(const uint8_t *buf, size_t len, size_t *off, struct tls_creds_item *it)
{
    if (len - *off < 4)
        return -1;
    uint32_t n = tls_creds_u32(buf + *off);
    *off += 4;
    if (n == 0 || n > len - *off)
        return -1;
    it->p = buf + *off;
    it->len = n;
    *off += n;
    return 0;
}

int tls_creds_parse(const void *blob, size_t len, struct tls_creds *out, const char **why)
{
    const uint8_t *buf = blob;
    size_t off = 6 * 4;
    uint32_t h[6];
    if (len < off || len > UNISEC_TLS_CREDS_MAX)
        return *why = "the credentials are shorter than their header or too large", -1;
    for (int i = 0; i < 6; i++)
        h[i] = tls_creds_u32(buf + 4 * i);
    if (h[0] != UNISEC_TLS_MAGIC || h[1] != UNISEC_TLS_VERSION)
        return *why = "not TLS credentials of version 1", -1;
    out->key_type = h[2];
    out->key_param = h[3];
    out->nkey = h[4];
    out->ncerts = h[5];
    if (h[2] == UNISEC_TLS_KEY_EC) {
        if (h[3] < 23 || h[3] > 25 || h[4] != 1)
            return *why = "an EC key on an unknown curve, or not one scalar", -1;
    } else if (h[2] == UNISEC_TLS_KEY_RSA) {
        if (h[3] < 1024 || h[3] > 4096 || h[4] != UNISEC_TLS_KEY_ITEMS)
            return *why = "an RSA key of other than 1024 to 4096 bits, or not 5 numbers", -1;
    } else {
        return *why = "an unknown key type", -1;
    }
    if (h[5] == 0 || h[5] > UNISEC_TLS_CERTS_MAX)
        return *why = "no certificate, or more than 8", -1;
    for (uint32_t i = 0; i < out->nkey; i++)
        if (tls_creds_item(buf, len, &off, &out->key[i]) < 0)
            return *why = "a key item is empty or runs past the end", -1;
    for (uint32_t i = 0; i < out->ncerts; i++)
        if (tls_creds_item(buf, len, &off, &out->cert[i]) < 0)
            return *why = "a certificate is empty or runs past the end", -1;
    if (off != len)
        return *why = "bytes follow the last certificate", -1;
    return 0;
}

/* Appends item IT at *OFF when it fits in CAP. */
static void tls_creds_put(uint8_t *buf, size_t cap, size_t *off, const struct tls_creds_item *it)
{
    if (*off + 4 + it->len <= cap) {
        tls_creds_put32(buf + *off, (uint32_t)it->len);
        for (size_t i = 0; i < it->len; i++)
            buf[*off + 4 + i] = it->p[i];
    }
    *off += 4 + it->len;
}

size_t tls_creds_encode(void *blob, size_t cap, const struct tls_creds *c)
{
    uint8_t *buf = blob;
    const uint32_t h[6] = {UNISEC_TLS_MAGIC, UNISEC_TLS_VERSION, c->key_type, c->key_param,
                           c->nkey,          c->ncerts};
    size_t off = 0;
    for (int i = 0; i < 6; i++, off += 4)
        if (off + 4 <= cap)
            tls_creds_put32(buf + off, h[i]);
    for (uint32_t i = 0; i < c->nkey && i < UNISEC_TLS_KEY_ITEMS; i++)
        tls_creds_put(buf, cap, &off, &c->key[i]);
    for (uint32_t i = 0; i < c->ncerts && i < UNISEC_TLS_CERTS_MAX; i++)
        tls_creds_put(buf, cap, &off, &c->cert[i]);
    return off;
}
