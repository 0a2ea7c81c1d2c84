/*
 * acl_int.h — internals shared by the ACL language's files. Not part of the engine's
 * interface: callers use acl.h.
 *
 * The files, and the direction of their calls (each calls only the ones below it):
 *   cmd_acl.c       `unisec acl`
 *   acl_blob.c      a rule set into the blob (common/acl_lookup.c validates and decides on it)
 *   acl_parse.c     the text of a policy directory into a rule set
 *   acl_keys.c      one rules file changed: checked against the others' rules kept by key
 *   acl_diff.c      an index brought to a new rule set (acl_index.c: the index itself)
 *   acl_people.c    the users whose groups or credential differ from an index's base
 *   acl_files.c     several rules files in one set: line space, adding, sorting together
 *   credentials.c   the credentials file's lines, and making one
 *   acl_lex.c       the lexical rules: fields, names, methods, path patterns
 *   acl_set.c       the rule set and its string pool
 */
#ifndef UNISEC_ENGINE_ACL_INT_H
#define UNISEC_ENGINE_ACL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "grow.h"

/* Per-string flags. */
#define ACL_F_GROUP   0x01 /* "group:NAME" defined by the groups file */
#define ACL_F_GREF    0x02 /* "group:NAME" used as a subject; first use in a->gref */
#define ACL_F_CRED    0x04 /* a user with a credential */
#define ACL_F_PENDING 0x08 /* defined by the file being parsed (rolled back on error) */
#define ACL_F_SCRATCH 0x10 /* temporary mark inside one function; always cleared again */

/* The string pool: every string once, NUL-terminated; ids index `off`. */
struct acl_pool {
    char *buf;
    size_t len, cap;
    uint32_t *off; /* id -> offset in buf */
    uint8_t *flags;
    size_t n, ncap;
    uint32_t *tab; /* open addressing: id + 1, 0 empty */
    uint32_t *tabh;
    size_t tabcap; /* power of two */
};

struct acl_rule {
    uint32_t policy, path, subject, method; /* string ids */
    uint32_t line;
    uint16_t col; /* column of the effect field, for conflict messages */
    uint8_t kind, effect;
};

struct acl_group {
    uint32_t name; /* id of "group:NAME" */
    uint32_t line;
    uint32_t first, count; /* into a->member */
};

struct acl_cred_rec {
    uint32_t user, line;
    struct engine_acl_cred c;
};

struct acl_gref {
    uint32_t id, line, col;
};

/* A rules file of the set, in rule order (acl, then acl.d files by name): its line N is the
 * set's line BASE + N, so a rule's line names its file too (engine_acl_line_file()). */
struct acl_file {
    char *name;
    uint32_t base;
};

struct engine_acl {
    struct acl_pool s;
    struct acl_rule *rule;
    size_t nrule, rulecap, npolicy;
    struct acl_group *group;
    size_t ngroup, groupcap;
    uint32_t *member; /* user ids */
    size_t nmember, membercap, nmembers_distinct;
    struct acl_cred_rec *cred;
    size_t ncred, credcap;
    struct acl_gref *gref;
    size_t ngref, grefcap;
    unsigned loaded;       /* 1 << enum engine_acl_file */
    struct acl_file *file; /* the rules files loaded, by base */
    size_t nfile, filecap;
    uint32_t nextbase; /* the base of the next rules file */
    int unsorted;      /* rules of several files, not yet sorted together: engine_acl_finish() */
    size_t *run;       /* where each file's rules begin: each file's run is sorted on its own */
    size_t nrun, runcap;
    uint32_t *recuser; /* users given a record even with no group and no credential: the
                          changed users of an index's added rules (acl_people.c) */
    size_t nrecuser, recusercap;
};

/* Records that the rules from FROM to the end are one sorted run (a file's). 0 or -ENOMEM. */
int acl_run_add(struct engine_acl *a, size_t from);

/* Appends a rules file NAME whose lines start after the set's last one (*BASE). Returns 0,
 * -ENOMEM, or -E2BIG when the set would pass ENGINE_ACL_LINE_MAX lines. */
int acl_file_add(struct engine_acl *a, const char *name, uint32_t lines, uint32_t *base);

/* Sorts rules [FROM, nrule) into index order, merges duplicates, and calls CONFLICT for each
 * rule that repeats an earlier one with the other effect (that rule dropped). Returns the
 * number of rules kept or -ENOMEM. */
typedef void (*acl_conflict_fn)(void *arg, const struct acl_rule *later,
                                const struct acl_rule *earlier);
int acl_rules_sort(struct engine_acl *a, size_t from, acl_conflict_fn fn, void *arg);
/* Counts the policies of sorted rules into a->npolicy. */
void acl_count_policies(struct engine_acl *a);

/* ---- the string pool (acl_set.c) ---- */

/* Interns S[0..N) and returns its id, or -ENOMEM. */
int64_t acl_pool_intern(struct acl_pool *p, const char *s, size_t n);
/* Makes room for NSTR strings of NBYTES bytes in all (NULs included): 0 or -ENOMEM. */
int acl_pool_reserve(struct acl_pool *p, size_t nstr, size_t nbytes);
/* The id of S[0..N), or -1 when it was never interned. */
int64_t acl_pool_find(const struct acl_pool *p, const char *s, size_t n);

/* Frees the table that interning needs and sizes the arrays exactly: what a whole set keeps
 * once it is parsed (engine_acl_seal()). acl_pool_find() then scans (callers on a whole set
 * look up a policy or two: acl_policy_first() finds it among the rules instead), and the next
 * acl_pool_intern() or acl_pool_reserve() makes the table again. */
void acl_pool_seal(struct acl_pool *p);

/* The first rule whose policy is POLICY, or a->nrule when there is none: the policy's name is
 * compared once a policy, each policy's rules passed over in a binary search (sorted rules) or
 * one by one (a->unsorted). acl_set.c. */
size_t acl_policy_first(const struct engine_acl *a, const char *policy);

static inline const char *acl_pool_str(const struct acl_pool *p, uint32_t id)
{
    return p->buf + p->off[id];
}

/* The index order of rules (policy, path, kind, subject, method, line by id); acl_files.c. */
int acl_rule_cmp(const void *pa, const void *pb);

/* ---- the incremental index (acl_index.c, acl_diff.c) ---- */

/* One rule added or removed, in its stored form (PATH[0..PLEN) without a prefix's slash-star). */
struct acl_chg {
    const char *policy, *path, *subject, *method;
    size_t plen;
    unsigned kind;
    int allow;
    uint32_t line;
};

/* The rules one change of rules files removes from and adds to those in force (acl_keys.c,
 * acl_keys_many.c). */
struct engine_acl_keys_change {
    struct acl_chg *del, *add;
    size_t ndel, nadd, delcap, addcap;
    long distinct; /* distinct rules after the change less those before */
};

/* A rule's key (policy, path, kind, subject, method) hashed from its strings' hashes
 * (engine_acl_hash_user each); acl_diff.c. */
uint64_t acl_key_hash(uint64_t policy, uint64_t path, unsigned kind, uint64_t subject,
                      uint64_t method);
/* Rule R of A as a change (strings borrowed from A); acl_diff.c. */
struct acl_chg acl_chg_of(const struct engine_acl *a, const struct acl_rule *r);

/* Applies checked changes (removals first); all or nothing. 0, -ENOENT (a removed rule is not
 * in force), -EEXIST (an added one is), -EINVAL (VERSION does not increase) or -ENOMEM. */
int acl_index_change(struct engine_acl_index *x, const struct acl_chg *del, size_t ndel,
                     const struct acl_chg *add, size_t nadd, uint64_t version);
/* The same, and when PP is not NULL, the users, groups and credentials in force become PP's
 * (a user whose record differs from the base's is carried by the added rules' blob). Declared
 * after struct acl_people below. */
struct acl_people;
int acl_index_change_people(struct engine_acl_index *x, const struct acl_chg *del, size_t ndel,
                            const struct acl_chg *add, size_t nadd, const struct acl_people *pp,
                            uint64_t version);
/* Compiles A's rules as a new base; nothing changes on failure. */
int acl_index_rebuild(struct engine_acl_index *x, const struct engine_acl *a, uint64_t version);
/* Is SUM (struct acl_people's) that of X's users, groups and credentials in force? */
int acl_index_people_sum_is(const struct engine_acl_index *x, const uint8_t sum[32]);
const char *acl_index_policy(const struct engine_acl_index *x);

/* ---- the users, groups and credentials of a patch (acl_people.c) ---- */

/* No policy is named so: a compile of it holds the users, groups and credentials alone. */
#define ACL_NO_POLICY "\x01"

/* A set's users, groups and credentials compiled alone (a blob of no rule), and its SHA-256. */
struct acl_people {
    void *blob;
    size_t len;
    struct engine_acl_blob b;
    uint8_t sum[32];
};
int acl_people_of(struct acl_people *pp, const struct engine_acl *a);
/* A copy of PP's blob into *OUT (opened again). 0 or -ENOMEM. */
int acl_people_copy(struct acl_people *out, const struct acl_people *pp);
void acl_people_free(struct acl_people *pp);

/* The users, groups and credentials of a set, held apart to be swapped in. */
struct acl_people_parts {
    struct acl_group *group;
    size_t ngroup, groupcap;
    uint32_t *member;
    size_t nmember, membercap;
    struct acl_cred_rec *cred;
    size_t ncred, credcap;
    uint32_t *recuser;
    size_t nrecuser, recusercap;
};

/* Fills *O with the records of every user whose groups or credential in PEOPLE differ from
 * BASE's (a user in neither: none), each a recuser, its names interned in OVER: what a patch
 * over BASE carries for the users of PEOPLE. O(users of both), never O(rules). 0 or -ENOMEM. */
int acl_people_overlay(struct acl_people_parts *o, struct engine_acl *over,
                       const struct engine_acl_blob *base, const struct engine_acl_blob *people);
/* Exchanges A's users, groups and credentials with *O's. */
void acl_people_swap(struct engine_acl *a, struct acl_people_parts *o);
void acl_people_parts_free(struct acl_people_parts *o);
/* Do blobs A and B hold the same record of every user of A's (and B no other)? */
int acl_people_same_users(const struct engine_acl_blob *a, const struct engine_acl_blob *b);

/* ---- the lexical rules (acl_lex.c) ---- */

/* A field separator: space or tab (a CR is allowed only before LF, and taken off the line
 * before it is split). */
static inline int acl_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A field of a line: S[0..N), at 1-based column COL. */
struct acl_field {
    const char *s;
    size_t n, col;
};

/* Splits LINE up to E into blank-separated fields up to a '#' at a field start; stores at most
 * MAX of them in F and returns how many there are. */
size_t acl_fields(const char *line, const char *e, struct acl_field *f, size_t max);

/* Is S[0..N) an HTTP method or '*'? */
int acl_method_valid(const char *s, size_t n);

/* S[0..N) quoted for a message when it is short printable ASCII, else described; in BUF. */
const char *acl_quote(char *buf, size_t size, const char *s, size_t n);

/* Checks path pattern S[0..N): NULL with its stored form (*PLEN bytes of S, *KIND), or a
 * message and in *BAD the offset of the offending byte. */
const char *acl_path_check(const char *s, size_t n, size_t *plen, unsigned *kind, size_t *bad);

/* ---- the credentials file (credentials.c) ---- */

/* Parses one credentials line; used by acl_parse.c's line loop. Returns 0 or -EINVAL. */
int acl_cred_line(struct engine_acl *a, const char *name, uint32_t lineno, const char *p,
                  const char *e, struct engine_diag *d);

#endif
