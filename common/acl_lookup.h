/*
 * acl_lookup.h — the validator of a compiled ACL blob (contract/acl_blob.h) and the decision
 * on its memory (acl_lookup.c), and the credential check (acl_check.c), built for both sides:
 * linked into the host's engine and into every image.
 *
 * Freestanding: this code and sha256.c use no libc and allocate nothing; nothing is read
 * outside the caller's buffer. Not thread-safe state: an opened blob is read-only, so any
 * number of threads may decide on it at once.
 */
#ifndef UNISEC_COMMON_ACL_LOOKUP_H
#define UNISEC_COMMON_ACL_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "contract/acl_blob.h"
#include "sha256.h"

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
/* The same but for the checksum, for bytes whose integrity the caller checked otherwise (an
 * internal PDP's rules region, by its CRC-32C): everything a decision relies on is still
 * bounded. */
int engine_acl_blob_open_summed(struct engine_acl_blob *b, const void *buf, size_t len,
                                const char **why);

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

/*
 * A blob with rules removed and added since it was compiled (an applied patch,
 * contract/acl_patch.h): BASE's rules but those listed in DEAD (indexes, strictly ascending),
 * and OVER's rules; a user record of OVER replaces BASE's record of that user (its groups and
 * credential: a record with neither removes them). OVER may be NULL, NDEAD 0.
 */
struct engine_acl_layers {
    const struct engine_acl_blob *base;
    const uint32_t *dead;
    uint32_t ndead;
    const struct engine_acl_blob *over;
};

/*
 * Decides RQ as engine_acl_blob_decide() would on one blob compiled from the layers' rules,
 * with the same result (allow or deny, by a rule or by default). D->rule is a rule of the base,
 * or base->rule_count + a rule of OVER. Among rules of equal rank from both layers, the base's
 * rule is named.
 */
int engine_acl_layers_decide(const struct engine_acl_layers *l, const struct engine_acl_request *rq,
                             struct engine_acl_decision *d);

/*
 * The index of the rule of RQ's policy, SUBJECT, RQ's method (as written: "*" is the rule
 * for any method) and RQ's path as a pattern of KIND (a prefix pattern without its slash-star),
 * or ENGINE_ACL_NO_RULE. RQ's user is not used. Strings are not checked: for the host.
 */
uint32_t engine_acl_blob_find(const struct engine_acl_blob *b, const struct engine_acl_request *rq,
                              const char *subject, size_t subject_len, unsigned kind);

/* User NAME[0..LEN)'s record in force in L: OVER's when it has one (a patch's changed user),
 * else BASE's, or NULL; *FROM the blob it is in. */
const struct engine_acl_blob_user *engine_acl_layers_user_find(const struct engine_acl_layers *l,
                                                               const char *name, size_t len,
                                                               const struct engine_acl_blob **from);
/* Is S[0..N) at most MAX printable ASCII bytes without blanks (a request's name)? */
int engine_acl_name_ok(const char *s, size_t n, size_t max);

/* User NAME[0..LEN)'s record in B (a group member or a user with a credential), or NULL. */
const struct engine_acl_blob_user *engine_acl_blob_user_find(const struct engine_acl_blob *b,
                                                             const char *name, size_t len);

/* Fills *V for rule I. Returns 0 or -ENGINE_ACL_EINVAL when I is out of range. */
int engine_acl_blob_rule(const struct engine_acl_blob *b, uint32_t i,
                         struct engine_acl_rule_view *v);

/*
 * Checks PASSWORD against USER's stored credential. Returns 1 when it matches, 0 when it
 * does not, -ENGINE_ACL_ENOENT when USER has no credential, -ENGINE_ACL_EINVAL for a
 * malformed name. Constant-time comparison; a user without a credential costs as much as
 * one with (engine_acl_check_start).
 */
int engine_acl_blob_verify(const struct engine_acl_blob *b, const char *user, size_t user_len,
                           const void *password, size_t pw_len);
/* The same on the layers: the user's record in force (OVER's, else BASE's). */
int engine_acl_layers_verify(const struct engine_acl_layers *l, const char *user, size_t user_len,
                             const void *password, size_t pw_len);

/*
 * The same check in slices, for a caller that must not stall: start, then step (at most MAX
 * iterations each; returns how many are left) until none are left, then end (1 match, 0
 * not, -ENGINE_ACL_ENOENT no credential), which wipes *C; end also abandons a check. The
 * check keeps no pointer into the blob, which may be replaced meanwhile. So that the time
 * taken does not tell which users exist, a user without a credential runs the same PBKDF2
 * on a fixed salt with the iterations of the blob's costliest credential. Start returns 0 or
 * -ENGINE_ACL_EINVAL (nothing to end then).
 */
struct engine_acl_check {
    struct engine_pbkdf2 kdf;
    uint8_t hash[32];    /* the credential's */
    int known;           /* the user has a credential */
    uint32_t iterations; /* the PBKDF2's in all */
};

int engine_acl_check_start(struct engine_acl_check *c, const struct engine_acl_blob *b,
                           const char *user, size_t user_len, const void *password, size_t pw_len);
/* The same on the layers (the user's record in force; the costliest credential of both). */
int engine_acl_layers_check_start(struct engine_acl_check *c, const struct engine_acl_layers *l,
                                  const char *user, size_t user_len, const void *password,
                                  size_t pw_len);
uint32_t engine_acl_check_step(struct engine_acl_check *c, uint32_t max);
int engine_acl_check_end(struct engine_acl_check *c);

/* The key hashes of the index, shared by the compiler and the lookup. */
uint64_t engine_acl_hash_path(const char *policy, size_t policy_len, const char *path,
                              size_t path_len, unsigned kind);
/* A subject's key: its path run's hash and the hash of its name (engine_acl_hash_user). */
uint64_t engine_acl_hash_subject(uint64_t path_hash, uint64_t name_hash);
/* The hash of a name: a user, a "group:NAME" or "*". */
uint64_t engine_acl_hash_user(const char *name, size_t len);

/* The slot where probing for HASH starts in a table of N slots (N > 0). */
static inline uint32_t engine_acl_slot_start(uint64_t hash, uint32_t n)
{
    return (uint32_t)(((uint64_t)(uint32_t)hash * n) >> 32);
}

#endif
