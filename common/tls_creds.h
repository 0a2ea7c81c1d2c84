/*
 * tls_creds.h — the TLS credential blob (contract/tls_creds.h) made and read. Freestanding:
 * the host makes blobs (engine/tls.c), the guest's tls module reads them, and the fuzzers
 * feed the reader anything.
 */
#ifndef UNISEC_COMMON_TLS_CREDS_H
#define UNISEC_COMMON_TLS_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "contract/tls_creds.h"

struct tls_creds_item {
    const uint8_t *p;
    size_t len;
};

/* A blob's parts, pointing into the blob (or, to make one, into the caller's buffers). */
struct tls_creds {
    uint32_t key_type, key_param;
    struct tls_creds_item key[UNISEC_TLS_KEY_ITEMS];
    uint32_t nkey;
    struct tls_creds_item cert[UNISEC_TLS_CERTS_MAX];
    uint32_t ncerts;
};

/*
 * Reads BUF[0..LEN) into *OUT. Returns 0, or -1 with *WHY saying what is wrong: bad magic or
 * version, an unknown key type or curve, the wrong number of key items, no certificate or
 * too many, an empty item, an item past the end, bytes after the last item.
 */
int tls_creds_parse(const void *buf, size_t len, struct tls_creds *out, const char **why);

/* Writes C as a blob into BUF[0..CAP) when it fits; returns the blob's size either way. */
size_t tls_creds_encode(void *buf, size_t cap, const struct tls_creds *c);

#endif
