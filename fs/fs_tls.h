/*
 * fs_tls.h — a node's TLS certificate chain and private key through the mount
 * (fs_tls.c, fs_tls_keys.c; fs/MOUNT.md "TLS").
 * Same contract as fs_int.h (threads, ownership, errors), which it extends.
 */
#ifndef UNISEC_FS_TLS_H
#define UNISEC_FS_TLS_H

#include "fs_int.h"

/* Largest write of nodes/<node>/tls/cert or key. */
#define FS_TLS_MAX (256u << 10)
/* The private keys: STORE/.git/FS_TLS_KEYS/NODE/HEX (0600, in 0700 directories), never
 * committed; the commit that installs one records its fingerprint, sha256:HEX, in
 * tls/NODE/key.fingerprint, which names the key in force. The node's previous key is kept
 * too, so that a git revert of a rotation has its key. */
#define FS_TLS_KEYS "unisec-keys"

/* One node's certificate chain and key. */
struct fs_tls_node {
    char *node;
    struct fs_text cert;        /* tls/NODE/cert as committed (data NULL: none) */
    struct fs_text fingerprint; /* tls/NODE/key.fingerprint as committed (data NULL: none) */
    void *creds;                /* the credentials (contract/tls_creds.h) when the chain and the
                                 * key check now, wiped when freed; else NULL */
    size_t creds_len;
    char why[512]; /* without credentials: why not */
};

/* The certificates and keys of a state, shared by snapshots while they do not change. */
struct fs_tls {
    unsigned refs; /* atomic */
    size_t n;
    struct fs_tls_node *v;
};

/* Frees P (N bytes), wiped first. */
void fs_tls_wipe(void *p, size_t n);
/* Frees N's contents (its credentials wiped) and zeroes it. */
void fs_tls_node_free(struct fs_tls_node *n);
/* The 64 hex digits of a tls/NODE/key.fingerprint text ("sha256:HEX", a newline optional)
 * into HEX: 0, or -EINVAL when it is not one (nothing else names a file). */
int fs_tls_fp_hex(const struct fs_text *fp, char hex[65]);
/* NODE's key of fingerprint HEX in the private area into *OUT (NUL-terminated; the caller
 * wipes it with fs_tls_wipe()): 0, -ENOENT or a negative errno. */
int fs_tls_key_read(const struct fs_ctx *c, const char *node, const char *hex, struct fs_text *out);
/* Keeps KEY as NODE's key of fingerprint HEX (written to a temporary name, 0600, on disk, then
 * renamed: the file is whole or absent; the directories made 0700, or closed again, a link
 * refused). *EXISTED says whether it was kept already. Returns 0 or a negative errno. */
int fs_tls_key_put(const struct fs_ctx *c, const char *node, const char *hex, const char *key,
                   size_t len, int *existed);
/* Removes NODE's kept keys but KEEP1 and KEEP2 (hex fingerprints, may be NULL). */
void fs_tls_key_prune(const struct fs_ctx *c, const char *node, const char *keep1,
                      const char *keep2);
/* Reads every tls/NODE/ of the store's head with the node's private key into *OUT (refs 1).
 * A chain and key that do not check are kept without credentials, with the reason. Returns 0
 * or -ENOMEM / -EIO. */
int fs_tls_load(struct fs_ctx *c, struct fs_tls **out);
struct fs_tls *fs_tls_ref(struct fs_tls *t);
void fs_tls_put(struct fs_tls *t);
/* NODE's entry of T (T may be NULL), or NULL. */
const struct fs_tls_node *fs_tls_find(const struct fs_tls *t, const char *node);

#endif
