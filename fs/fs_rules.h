/*
 * fs_rules.h — the rules files of policy/acl.d (fs_rules.c), a policy's rules kept by key
 * from one served policy to the next (fs_keys.c), and the parsed policy files a snapshot
 * holds (struct fs_policy, fs_state.c). Part of the fs part's inner contract:
 * included by fs_int.h, which defines struct fs_text before it.
 */
#ifndef UNISEC_FS_RULES_H
#define UNISEC_FS_RULES_H

/* ---- rules files: policy/acl.d/NAME (fs_rules.c) ---- */

#define FS_RULES_DIR "policy/acl.d"
/* Files in policy/acl.d at most (ENOSPC beyond). */
#define FS_RULES_FILES_MAX 4096

/* One rules file, shared by the snapshots that hold it unchanged: a change of another file
 * neither reads, hashes nor parses it again. */
struct fs_rules {
    unsigned refs; /* atomic */
    char *name;    /* NAME of policy/acl.d/NAME */
    struct fs_text text;
    char blob[41];           /* its git blob id once known: read it with fs_rules_blob() */
    struct engine_acl *part; /* its rules parsed alone (fs_rules_part(), under apply_mu) */
};

/* The files of policy/acl.d, in byte order of their names: the order their rules are read. */
struct fs_rules_set {
    struct fs_rules **v; /* counted references */
    size_t n;
};

/* A new file NAME holding a copy of DATA[0..LEN), whose blob id is BLOB (NULL: not known yet;
 * a file written through the mount is hashed by its commit, not here too). */
int fs_rules_new(struct fs_rules **out, const char *name, const char *data, size_t len,
                 const char *blob);
/* The same with TEXT's bytes, shared (a copy when TEXT is not shareable). */
int fs_rules_share(struct fs_rules **out, const char *name, const struct fs_text *text,
                   const char *blob);
struct fs_rules *fs_rules_ref(struct fs_rules *r);
/* R's git blob id: the one it was made with, or hashed at the first call. */
const char *fs_rules_blob(struct fs_rules *r);
/* Do A and B (either may be NULL: no file) hold the same text, so the same blob? */
int fs_rules_same(const struct fs_rules *a, const struct fs_rules *b);
void fs_rules_put(struct fs_rules *r);
void fs_rules_set_free(struct fs_rules_set *s);
/* DST (uninitialised) as a copy of SRC's list, its files shared. */
int fs_rules_set_copy(struct fs_rules_set *dst, const struct fs_rules_set *src);
struct fs_rules *fs_rules_find(const struct fs_rules_set *s, const char *name);
/* Puts R (taking its reference) in place of NAME's file, or adds it; R NULL removes NAME.
 * Returns 0, -ENOSPC (FS_RULES_FILES_MAX files) or -ENOMEM (R is released on failure). */
int fs_rules_set_put(struct fs_rules_set *s, const char *name, struct fs_rules *r);
/* Do A and B hold the same files (names and contents)? */
int fs_rules_set_same(const struct fs_rules_set *a, const struct fs_rules_set *b);
/* The bytes of S's files (ONLY_OWN: of those no other set shares, which freeing S frees). */
size_t fs_rules_set_bytes(const struct fs_rules_set *s, int only_own);
/* "policy/acl.d/NAME" into BUF: 0 or -ENAMETOOLONG. */
int fs_rules_path(char *buf, size_t size, const char *name);
/* The files of policy/acl.d at COMMIT (NULL: the store's head) into OUT; a file whose blob id
 * is the one PREV (may be NULL) holds under that name is PREV's, not read again. Editors'
 * leftovers (engine_acl_d_name() 1) are skipped; another name that is no rules file is an
 * error. Returns 0 or a negative errno with DIAG filled. */
int fs_rules_read_store(struct fs_rules_set *out, const struct engine_store *store,
                        const char *commit, const struct fs_rules_set *prev,
                        struct engine_diag *diag);
/* R's rules parsed alone into R->part, naming it PATH in messages (kept: parsed once). */
int fs_rules_part(struct fs_rules *r, const char *path, struct engine_diag *diag);
/* The rules R holds (0 when not parsed). */
size_t fs_rules_count(const struct fs_rules *r);
/* Adds MAIN's rules (policy/acl; may be NULL) and D's into A in their order, each parsed once,
 * then compares them (engine_acl_finish()). Returns 0, -EINVAL with every reason in DIAG, or
 * -ENOMEM. */
int fs_rules_add_all(struct engine_acl *a, struct fs_rules *main, const struct fs_rules_set *d,
                     struct engine_diag *diag);

/* The write of DATA[0..LEN) to NAME (REMOVE: its removal) into CAND: 0, 1 when it changes
 * nothing, -ENOENT (removing a file that is not there), -ENOSPC or -ENOMEM. */
int fs_rules_candidate(struct fs_rules_set *cand, const char *name, const char *data, size_t len,
                       int remove);
/* The commit message of NAME's change from CUR to NS: "policy/acl.d/NAME: replaced (3 -> 4
 * rules)", "... created (4 rules)", "... removed (3 rules)" (a new string; NULL: no memory). */
char *fs_rules_msg(const struct fs_rules_set *cur, const struct fs_rules_set *ns, const char *name);
/* Appends to *CH (*N of *CAP; each path a new string the caller frees) a change for every file
 * of NS that BASE does not hold the same, and a removal for every file of BASE that NS lacks. */
int fs_rules_changes(struct engine_store_change **ch, size_t *n, size_t *cap,
                     const struct fs_rules_set *base, const struct fs_rules_set *ns,
                     int from_worktree);

struct fs_snap;
struct fs_policy;

/* The rules of a policy by key (engine_acl_keys), kept from one policy to the next while they
 * differ by one rules file (fs_keys.c): the parts it holds, referenced, and the groups and
 * credentials, which stay the same along such a line. Used under apply_mu. */
struct fs_keys {
    unsigned refs;             /* atomic */
    struct engine_acl_keys *k; /* as policy AT holds them */
    uint64_t at;               /* that policy's gen */
    struct fs_rules *main;     /* the parts K borrows, referenced */
    struct fs_rules_set held;
    struct engine_acl *people; /* groups and credentials alone */
};

void fs_keys_put(struct fs_keys *k);

/* The rules of PREV (a valid snapshot: every file parsed) by key, at PREV's policy, into *OUT
 * (refs 1); ends early (-ECANCELED) once *STOP (may be NULL) is set. 0 or a negative errno. */
int fs_keys_make(struct fs_keys **out, const struct fs_snap *prev, const int *stop);

/* P's rules made from PREV's (the served snapshot's) where S differs from PREV by rules files of
 * policy/acl.d alone (at most 64: an outside commit may change several, a rename two): those
 * files checked, alone and against the others' rules by key, at the cost of those files
 * (fs_keys.c). Returns 1 when S differs otherwise (P untouched), 0 with P's rules, stats and
 * change set, -EINVAL with DIAG filled, or -ENOMEM. */
int fs_keys_policy(struct fs_policy *p, const struct fs_snap *s, const struct fs_snap *prev,
                   struct engine_diag *diag);
/* P's change is applied where it goes (or goes nowhere): its rules and the old versions of the
 * files they borrow from are freed (its counts stay). */
void fs_policy_change_done(struct fs_policy *p);

/* P made from PREV's (the served snapshot's) where S differs from PREV only by policy/groups or
 * policy/credentials: those two files parsed alone, the rules PREV's (kept by key), at the cost
 * of those files, not of the rules. Returns 1 when S differs otherwise, or a group PREV defines
 * is gone (a rule may name it: the whole policy is checked); 0 with P's people, keys and stats;
 * -EINVAL with DIAG filled; or -ENOMEM. */
int fs_keys_people(struct fs_policy *p, const struct fs_snap *s, const struct fs_snap *prev,
                   struct engine_diag *diag);
/* Does S's policy have a rule of POLICY? apply_mu held. */
int fs_snap_has_policy(const void *s, const char *policy);
/* Once S is served: the kept index moves on to S's policy (apply_mu held). */
void fs_keys_installed(struct fs_snap *s);
/* S, just served, has a policy made whole with policy/acl.d files: its rules by key are made
 * now by a thread of C's (fs_keys_warm.c) (started on first use), not by the first change of a
 * rules file, which waits for them if it comes first. A newer request replaces one not yet begun.
 */
struct fs_ctx;
void fs_keys_warm(struct fs_ctx *c, struct fs_snap *s);
/* Stops that thread (at unmount): a making in progress ends at its next file. */
void fs_keys_stop(struct fs_ctx *c);
/* Every policy file of S together, made on first use (NULL: no memory). */
const struct engine_acl *fs_snap_acl(const struct fs_snap *s);

/* ---- the parsed policy files (fs_state.c, fs_keys.c) ---- */

/* The parsed policy files, shared by the snapshots whose policy files are the same. */
struct fs_policy {
    unsigned refs;         /* atomic */
    uint64_t gen;          /* unique: which policy a kept index holds */
    struct fs_rules *main; /* policy/acl, parsed alone (NULL when absent) */
    pthread_mutex_t mu;
    struct engine_acl *acl; /* mu: every file together, made on first use (fs_snap_acl()) */
    pthread_cond_t warmed;  /* with mu: KEYS made off the write path (fs_keys_warm()) */
    int warming;            /* mu: being made; a change waits for it */
    struct engine_acl_stats stats;
    /* From policy FROM by rules files: KEYS (counted; NULL made whole, till fs_keys_warm(), mu)
     * held FROM's rules (several files: this one's); CHANGED the file (NULL: several); NOW, WAS
     * (NOW_D, WAS_D) new, old rules (counted); CHANGE its effect, borrowing WAS till released. */
    struct fs_keys *keys;
    uint64_t from;
    char *changed;
    int changed_main; /* CHANGED is policy/acl */
    struct fs_rules *now, *was;
    struct fs_rules_set now_d, was_d;
    struct engine_acl_keys_change *change;
    struct engine_acl_lines lines; /* the lines of CHANGED that differ, when HAS_LINES */
    int has_lines;
    /* Made from policy FROM by its groups and credentials alone (no rules file changed):
     * PEOPLE, those two files parsed alone, for the orchestrator; PEOPLE_KEYS the same, which
     * KEYS (FROM's, counted) take once this policy is served. */
    struct engine_acl *people, *people_keys;
};

/* Counted references (fs_policy_put accepts NULL). */
struct fs_policy *fs_policy_ref(struct fs_policy *p);
void fs_policy_put(struct fs_policy *p);

#endif
