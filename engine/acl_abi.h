/*
 * acl_abi.h — the compiled ACL blob as the guest sees it: the binary format, its validator
 * and the decision on the blob's memory. Shared by the host (which writes blobs) and by the
 * unikernel guest (which receives them over the policy channel or links them in as a data
 * section).
 *
 * Freestanding: this header and acl_lookup.c / sha256.c use no libc and allocate nothing.
 * Errors are negative Linux errno values spelled out below, since the guest has no errno.h.
 *
 * Format (engine/ACL.md describes it in full): little-endian, a fixed header followed by
 * eight sections in a fixed order, each starting at an 8-byte aligned offset relative to
 * the start of the blob. Offsets are stored in the header and must equal the canonical
 * layout computed from the counts, so no two sections can overlap and nothing lies outside
 * them. A SHA-256 over the whole blob (checksum field read as zeros) closes it.
 */
#ifndef UNISEC_ENGINE_ACL_ABI_H
#define UNISEC_ENGINE_ACL_ABI_H

#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ACL blob is read in place and is little-endian: big-endian hosts are not supported"
#endif

#define ENGINE_ACL_EINVAL  22 /* EINVAL: bad arguments or request */
#define ENGINE_ACL_ENOENT  2  /* ENOENT: no such user or credential */
#define ENGINE_ACL_EBADMSG 74 /* EBADMSG: the blob is corrupt or hostile */

#define ENGINE_ACL_BLOB_MAGIC  "UACLBLOB" /* 8 bytes, no NUL */
#define ENGINE_ACL_BLOB_FORMAT 1u
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
    ENGINE_ACL_SEC_SSLOT, /* struct engine_acl_blob_slot: (policy, path, kind, subject) */
    ENGINE_ACL_SEC_USER,  /* struct engine_acl_blob_user, every user name the blob knows */
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

/* A validated blob: pointers into the caller's buffer, which must outlive this struct. */
struct engine_acl_blob {
    const uint8_t *base;
    size_t len;
    const struct engine_acl_blob_header *hdr;
    const char *str;
    uint32_t str_size;
    const struct engine_acl_blob_rule *rule;
    const struct engine_acl_blob_slot *pslot, *sslot, *uslot;
    const struct engine_acl_blob_user *user;
    const uint32_t *grp;
    const struct engine_acl_blob_cred *cred;
    uint32_t rule_count, pslot_count, sslot_count, user_count, uslot_count, grp_count, cred_count;
};

/* One request. Strings need no NUL; they must not contain NUL bytes. */
struct engine_acl_request {
    const char *policy, *user, *method, *path;
    size_t policy_len, user_len, method_len, path_len; /* user_len 0: anonymous */
};

struct engine_acl_decision {
    int allow;     /* 1 allow, 0 deny */
    uint32_t rule; /* the deciding rule's index, or ENGINE_ACL_NO_RULE (default deny) */
    uint32_t line; /* its line in the acl file, 0 for default deny */
};

/* The strings of one rule, all NUL-terminated inside the blob. */
struct engine_acl_rule_view {
    const char *policy, *subject, *method, *path; /* a prefix pattern without its slash-star */
    unsigned kind;                                /* ENGINE_ACL_KIND_* */
    int allow;
    uint32_t line;
};

/*
 * Validates BUF[0..LEN) completely (header, layout, every offset, every slot, every string
 * reference, bounds of every record, checksum) and on success fills *B to point into BUF.
 * BUF must be 8-byte aligned. Returns 0, -ENGINE_ACL_EINVAL for bad arguments, or
 * -ENGINE_ACL_EBADMSG with *WHY (if WHY is not NULL) set to a static sentence. Nothing is
 * read outside BUF[0..LEN), whatever it holds.
 */
int engine_acl_blob_open(struct engine_acl_blob *b, const void *buf, size_t len, const char **why);

/* The same check without keeping the result. */
int engine_acl_blob_check(const void *buf, size_t len, const char **why);

/*
 * Decides RQ on an opened blob, in the order documented in ACL.md: longest path pattern,
 * then user / group / `*`, then exact method / `*`, then deny over allow; default deny.
 * Returns 0 and fills *D, or -ENGINE_ACL_EINVAL when the request itself is malformed (path
 * not starting with '/', longer than ENGINE_ACL_PATH_MAX, holding a NUL, a control byte or a
 * "." or ".." segment; oversized names) — the caller must then deny. Allocates nothing;
 * costs O(path length + path depth * groups of the user) hash probes, not O(rules).
 */
int engine_acl_blob_decide(const struct engine_acl_blob *b, const struct engine_acl_request *rq,
                           struct engine_acl_decision *d);

/* Fills *V for rule I. Returns 0 or -ENGINE_ACL_EINVAL when I is out of range. */
int engine_acl_blob_rule(const struct engine_acl_blob *b, uint32_t i,
                         struct engine_acl_rule_view *v);

/*
 * Checks PASSWORD against USER's stored credential. Returns 1 when it matches, 0 when it
 * does not, -ENGINE_ACL_ENOENT when USER has no credential. Constant-time comparison.
 */
int engine_acl_blob_verify(const struct engine_acl_blob *b, const char *user, size_t user_len,
                           const void *password, size_t pw_len);

/* The key hashes of the index, shared by the compiler and the lookup. */
uint64_t engine_acl_hash_path(const char *policy, size_t policy_len, const char *path,
                              size_t path_len, unsigned kind);
uint64_t engine_acl_hash_subject(uint64_t path_hash, uint32_t subject_off);
uint64_t engine_acl_hash_user(const char *name, size_t len);

/* The slot where probing for HASH starts in a table of N slots (N > 0). */
static inline uint32_t engine_acl_slot_start(uint64_t hash, uint32_t n)
{
    return (uint32_t)(((uint64_t)(uint32_t)hash * n) >> 32);
}

#endif
