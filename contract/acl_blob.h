/*
 * acl_blob.h — the compiled ACL blob's binary format: what the host writes (engine/acl_blob.c)
 * and the guest receives over the policy channel or links in as a data section. The
 * validator and the decision on it are common/acl_lookup.h.
 *
 * Freestanding: no libc. Errors are negative Linux errno values spelled out below, since the
 * guest has no errno.h.
 *
 * Format (engine/ACL.md describes it in full): little-endian, a fixed header followed by
 * eight sections in a fixed order, each starting at an 8-byte aligned offset relative to
 * the start of the blob. Offsets are stored in the header and must equal the canonical
 * layout computed from the counts, so no two sections can overlap and nothing lies outside
 * them. A SHA-256 over the whole blob (checksum field read as zeros) closes it.
 */
#ifndef UNISEC_CONTRACT_ACL_BLOB_H
#define UNISEC_CONTRACT_ACL_BLOB_H

#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ACL blob is read in place and is little-endian: big-endian hosts are not supported"
#endif

#define ENGINE_ACL_EINVAL  22 /* EINVAL: bad arguments or request */
#define ENGINE_ACL_ENOENT  2  /* ENOENT: no such user or credential */
#define ENGINE_ACL_EBADMSG 74 /* EBADMSG: the blob is corrupt or hostile */

#define ENGINE_ACL_BLOB_MAGIC  "UACLBLOB" /* 8 bytes, no NUL */
#define ENGINE_ACL_BLOB_FORMAT 2u
#define ENGINE_ACL_BLOB_ALIGN  8u /* the buffer and every section */
#define ENGINE_ACL_NO_RULE     0xffffffffu
#define ENGINE_ACL_NO_STRING   0xffffffffu
#define ENGINE_ACL_NO_CRED     0xffffffffu

/* Bounds shared by the parser and the validator. */
#define ENGINE_ACL_NAME_MAX   64   /* policy, user and group names */
#define ENGINE_ACL_METHOD_MAX 32   /* an HTTP method token */
#define ENGINE_ACL_PATH_MAX   1024 /* a path pattern or a request path */
#define ENGINE_ACL_GROUPS_MAX 4096 /* groups one user belongs to */
#define ENGINE_ACL_LINE_MAX   0x3fffffffu
#define ENGINE_ACL_SALT_MIN   16
#define ENGINE_ACL_SALT_MAX   64
#define ENGINE_ACL_ITER_MIN   1000u
#define ENGINE_ACL_ITER_MAX   10000000u

enum engine_acl_section {
    ENGINE_ACL_SEC_STR,   /* string table: NUL-terminated strings; count = bytes */
    ENGINE_ACL_SEC_RULE,  /* struct engine_acl_blob_rule, sorted by key */
    ENGINE_ACL_SEC_PSLOT, /* struct engine_acl_blob_slot: (policy, path, kind) -> first rule */
    ENGINE_ACL_SEC_SSLOT, /* struct engine_acl_blob_slot: (policy, path, kind, subject name),
                             but a path run's first subject, which its PSLOT finds */
    ENGINE_ACL_SEC_USER,  /* struct engine_acl_blob_user: users in a group or with a
                             credential (rules find a user's own rules by name) */
    ENGINE_ACL_SEC_USLOT, /* struct engine_acl_blob_slot: user name -> user */
    ENGINE_ACL_SEC_GRP,   /* uint32_t string offsets of "group:NAME" subjects */
    ENGINE_ACL_SEC_CRED,  /* struct engine_acl_blob_cred */
    ENGINE_ACL_SEC_COUNT
};

struct engine_acl_blob_section {
    uint32_t off;   /* from the start of the blob */
    uint32_t count; /* records (bytes for the string table) */
};

struct engine_acl_blob_header {
    uint8_t magic[8];        /* ENGINE_ACL_BLOB_MAGIC */
    uint32_t format;         /* ENGINE_ACL_BLOB_FORMAT */
    uint32_t header_size;    /* sizeof(struct engine_acl_blob_header) */
    uint64_t policy_version; /* chosen by whoever compiled it; the guest acks it */
    uint64_t total_size;     /* the whole blob, header included */
    uint32_t policy_count;   /* distinct policies in the rules */
    uint32_t star_off;       /* string offset of "*", or ENGINE_ACL_NO_STRING */
    uint32_t flags;          /* 0 */
    uint32_t reserved;       /* 0 */
    struct engine_acl_blob_section sec[ENGINE_ACL_SEC_COUNT];
    uint8_t sha256[32]; /* SHA-256 of the blob with these 32 bytes read as zeros */
};

/* Path kinds: an exact path, or a prefix pattern (P followed by slash-star) stored as P. */
#define ENGINE_ACL_KIND_EXACT  0u
#define ENGINE_ACL_KIND_PREFIX 1u

/* meta = line << 2 | kind << 1 | effect (1 allow, 0 deny). */
struct engine_acl_blob_rule {
    uint32_t policy, path, subject, method; /* string offsets */
    uint32_t meta;
};

struct engine_acl_blob_slot {
    uint32_t tag; /* high 32 bits of the key hash */
    uint32_t idx; /* record index + 1; 0 = empty */
};

struct engine_acl_blob_user {
    uint32_t name;      /* string offset */
    uint32_t grp_first; /* into the GRP section */
    uint32_t grp_count;
    uint32_t cred; /* index into CRED, or ENGINE_ACL_NO_CRED */
};

struct engine_acl_blob_cred {
    uint32_t user; /* string offset */
    uint32_t iterations;
    uint32_t salt_len;
    uint32_t reserved; /* 0 */
    uint8_t salt[ENGINE_ACL_SALT_MAX];
    uint8_t hash[32]; /* PBKDF2-HMAC-SHA256, 32 bytes */
};

#endif
