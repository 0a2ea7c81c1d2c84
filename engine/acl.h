/*
 * acl.h — the ACL language of unisec (engine/ACL.md is its reference): parsing a policy
 * directory's `acl`, `groups` and `credentials` files, compiling them into the binary blob
 * that the guest enforces, deciding requests on that blob, and making credentials lines.
 *
 * The blob format is contract/acl_blob.h; its validator and the decision function are
 * common/acl_lookup.h, which the guest compiles too; this header adds what only the host needs.
 *
 * Errors: functions return 0 or a negative errno. Parse errors go to a struct engine_diag as
 * FILE:LINE:COL and a sentence; parsing collects every error of a file and then either
 * keeps the whole file or nothing of it.
 */
#ifndef UNISEC_ENGINE_ACL_H
#define UNISEC_ENGINE_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "common/acl_lookup.h"
#include "diag.h"

enum engine_acl_file {
    ENGINE_ACL_FILE_ACL,         /* "acl": rules */
    ENGINE_ACL_FILE_GROUPS,      /* "groups": NAME: member... */
    ENGINE_ACL_FILE_CREDENTIALS, /* "credentials": USER:pbkdf2-sha256:IT:SALT:HASH */
};

/* A parsed policy set: rules, groups and credentials. Opaque. */
struct engine_acl;

struct engine_acl_stats {
    size_t rules;       /* distinct rules (exact duplicates counted once) */
    size_t policies;    /* distinct policy names among the rules */
    size_t groups;      /* groups defined */
    size_t members;     /* distinct users that are members of some group */
    size_t credentials; /* users with a credential */
};

/* Allocates an empty set into *OUT; the caller frees it with engine_acl_free(). */
int engine_acl_new(struct engine_acl **out);
void engine_acl_free(struct engine_acl *a);

/* The file kind named by BASENAME ("acl", "groups", "credentials"), or -EINVAL. */
int engine_acl_file_kind(const char *basename);

/*
 * Parses BUF[0..LEN) (borrowed; need not be NUL-terminated) as a file of KIND, naming it
 * NAME in messages. Each kind can be loaded once per set (-EEXIST otherwise). On any error
 * every error of the file is appended to D, nothing of the file is kept, and -EINVAL is
 * returned. Duplicate rules (same policy, subject, method and path) with the same effect are
 * kept once; with opposite effects they are an error naming both lines.
 */
int engine_acl_parse(struct engine_acl *a, enum engine_acl_file kind, const char *name,
                     const char *buf, size_t len, struct engine_diag *d);

/*
 * Reads the file at PATH and parses it as engine_acl_parse() does, naming it NAME (PATH
 * when NULL). Unreadable files are reported in D with -errno.
 */
int engine_acl_load_file(struct engine_acl *a, enum engine_acl_file kind, const char *path,
                         const char *name, struct engine_diag *d);

/*
 * Loads DIR/groups, DIR/acl and DIR/credentials, each optional, naming them by basename in
 * messages, then checks group references (a missing groups file counts as an empty one), and
 * seals the set (engine_acl_seal()). DIR itself must exist and be a directory. Returns 0,
 * -EINVAL with D filled, or -errno.
 */
int engine_acl_load_dir(struct engine_acl *a, const char *dir, struct engine_diag *d);

/*
 * Rules from several files. The rules of a policy directory are `acl`, then every file of
 * `acl.d/` in byte order of its name (engine/ACL.md); engine_acl_parse() of a second rules
 * file into a set adds its rules after those of the first. Each file's own duplicates and
 * conflicts are checked when it is parsed; the rules of different files are compared by
 * engine_acl_finish(), which must follow before anything else uses the set.
 *
 * engine_acl_add_rules() adds the rules of PART — a set holding the rules of one file alone
 * (one engine_acl_parse() of kind ACL into a new set), kept parsed by the caller — under the
 * file name NAME, without parsing it again. Returns 0, -ENOMEM, -EINVAL (PART holds more than
 * one file's rules), or -E2BIG with D filled (more than ENGINE_ACL_LINE_MAX lines together).
 */
int engine_acl_add_rules(struct engine_acl *a, const struct engine_acl *part, const char *name,
                         struct engine_diag *d);

/* Makes room in A for the rules and strings of the N sets PARTS (entries may be NULL) about to
 * be added with engine_acl_add_rules(), so that adding them never grows A's tables step by
 * step. Returns 0 or -ENOMEM. */
int engine_acl_reserve(struct engine_acl *a, const struct engine_acl *const *parts, size_t n);

/* Adds the rules of the N sets PARTS (each as engine_acl_add_rules() takes it; NULL: no file)
 * under the names NAMES, in that order, room made for all of them first (engine_acl_reserve()),
 * then compares them (engine_acl_finish()). Returns what those return. */
int engine_acl_add_parts(struct engine_acl *a, const struct engine_acl *const *parts,
                         const char *const *names, size_t n, struct engine_diag *d);

/* Sorts the rules of all files together and reports a rule that repeats one of an earlier file
 * with the other effect (FILE:LINE:COL, naming the other). Group references are checked apart
 * (engine_acl_check_groups()). Returns 0, -EINVAL with D filled, or -ENOMEM. */
int engine_acl_finish(struct engine_acl *a, struct engine_diag *d);

/* Says A is complete: frees what only parsing into it needs (the hash table that finds a string
 * already held: a fifth to a third of a whole set's bytes) and sizes its arrays exactly, so that
 * the set costs less beside what is compiled from it. A reads, compiles and decides as before;
 * a later parse or add into A still works, and first makes that table again (at the cost of
 * hashing A's strings). engine_acl_load_dir() calls it. */
void engine_acl_seal(struct engine_acl *a);

/* The file and its line of the set's line LINE (a rule's or a decision's line): 0, or -ENOENT
 * when the set has no rules file. *FILE is borrowed from A. */
int engine_acl_line_file(const struct engine_acl *a, uint32_t line, const char **file,
                         uint32_t *local);

/* Is NAME a rules file name of acl.d/: 0 yes (1 to 64 characters of [A-Za-z0-9._-], not
 * starting with '-'); 1 for what editors leave beside a file and is skipped (hidden names,
 * `x~`, `#x#`, `*.swp`, `*.tmp`); -EINVAL for anything else. */
int engine_acl_d_name(const char *name);

/* An entry NAME of a store's policy/acl.d (a directory when IS_DIR, a symbolic link when
 * IS_LINK) as the mount takes it: 0 a rules file, 1 skipped (an editor's leftover, a file), or
 * -EINVAL, refused, the reason in D naming PATH (a directory, a link, a name no rules file
 * has), so that the mount and `unisec verify` say the same. */
int engine_acl_d_entry(const char *path, const char *name, int is_dir, int is_link,
                       struct engine_diag *d);

/* The rules files of directory DIR (an acl.d/), by engine_acl_d_name(), in byte order of their
 * names: *OUT (each and the array freed with free()), *N. A missing DIR has none. Returns 0,
 * -EINVAL with D naming each refused name, or -ENOMEM. */
int engine_acl_d_list(const char *dir, char ***out, size_t *n, struct engine_diag *d);

/*
 * Checks that every `group:NAME` subject of the rules names a group of the groups file (one
 * error per undefined group, at its first use). Call once all files are loaded; a set
 * without a groups file is checked against no groups. Returns 0 or -EINVAL.
 */
int engine_acl_check_groups(const struct engine_acl *a, struct engine_diag *d);

void engine_acl_stats_get(const struct engine_acl *a, struct engine_acl_stats *st);

/* Does the set hold at least one rule of POLICY? */
int engine_acl_has_policy(const struct engine_acl *a, const char *policy);

/*
 * Compiles the set — only POLICY's rules when POLICY is not NULL, plus every group and
 * credential — into a new blob (*OUT, 8-byte aligned, freed with free(); *LEN its size)
 * carrying VERSION. Same set and arguments give the same bytes. Returns 0, -ENOMEM, or
 * -E2BIG when the blob would exceed the format's 4 GiB.
 */
int engine_acl_compile(void **out, size_t *len, const struct engine_acl *a, const char *policy,
                       uint64_t version);

/*
 * Writes RULE's text form "POLICY SUBJECT METHOD PATTERN EFFECT" into BUF (always
 * NUL-terminated when SIZE > 0). Returns the length it needs, like snprintf.
 */
int engine_acl_rule_format(char *buf, size_t size, const struct engine_acl_rule_view *rule);

/* ---- the incremental index (acl_index.c, acl_diff.c, acl_people.c) ---- */

/*
 * A compiled policy kept up to date rule by rule: the whole blob compiled once (the base), the
 * base's rules removed since and a small blob of the rules added since and of the users whose
 * groups or credential changed since (acl_people.c). Deciding on it
 * (engine_acl_layers_decide) gives what a whole compile of the rules in force would; a patch
 * (contract/acl_patch.h) carries the same to a guest that holds the base. Not thread-safe: one
 * writer; readers of the layers must not overlap a change.
 */
struct engine_acl_index;

/* One rule as written in the acl file: PATTERN with its slash-star when it is a prefix. */
struct engine_acl_change {
    const char *policy, *subject, *method, *pattern;
    int allow;
    uint32_t line;
};

/* Compiles A's rules (POLICY's only, when not NULL) at VERSION as the base of a new index. */
int engine_acl_index_new(struct engine_acl_index **out, const struct engine_acl *a,
                         const char *policy, uint64_t version);
void engine_acl_index_free(struct engine_acl_index *x);
/* A new index of X's base alone (none of X's changes since), at the base's version: what
 * engine_acl_index_new() of the base's rules gives. It shares X's base bytes (counted, never
 * written), so it costs no copy of them and either index may be freed first. */
int engine_acl_index_base_copy(struct engine_acl_index **out, const struct engine_acl_index *x);

/*
 * Removes the rules DEL[0..NDEL) from those in force, then adds ADD[0..NADD), at VERSION (which
 * must be above the index's). Rules of another policy than the index's are skipped. All or
 * nothing: 0; -EINVAL (a malformed rule, or VERSION); -ENOENT (a removed rule is not in force
 * with that effect); -EEXIST (an added rule, or its key and method, is in force); -ENOMEM.
 * Costs what the changed rules and the rules added since the base cost, not the base's.
 */
int engine_acl_index_apply(struct engine_acl_index *x, const struct engine_acl_change *del,
                           size_t ndel, const struct engine_acl_change *add, size_t nadd,
                           uint64_t version);

/*
 * Brings the index to A's rules, users, groups and credentials at VERSION: the rules that
 * differ are applied as a change and the users that differ as engine_acl_index_people() does
 * (returns 0), or the base is compiled again (returns 1) when the changes since the base would
 * exceed engine_acl_index_bound(); when no rule and no user differs nothing changes, not even
 * the version (returns 2). Costs a pass over both rule sets (no compile) when it patches.
 * Negative errno on failure, the index unchanged.
 */
int engine_acl_index_sync(struct engine_acl_index *x, const struct engine_acl *a, uint64_t version);

/*
 * The users, groups and credentials in force become PEOPLE's (a set's groups and credentials
 * files; its rules are not looked at), at VERSION: the users whose groups or credential differ
 * from the base's are carried by the added rules' blob (and so by the patch), at the cost of
 * the users, not of the rules. 0; 2 when they are those in force (nothing changes, not even the
 * version); -EINVAL (VERSION not above the index's) or -ENOMEM with the index unchanged. Each
 * changed user counts as a change (engine_acl_index_changes()): past the limit a new base is
 * due as after rule changes.
 */
int engine_acl_index_people(struct engine_acl_index *x, const struct engine_acl *people,
                            uint64_t version);

/* How many changed rules (removed from the base plus added) an index carries before a new
 * base is due: a 64th of the base's rules, at least 1024. A caller compiles it elsewhere
 * (engine_acl_index_record() below) while the index goes on patching, up to the bound. */
size_t engine_acl_index_limit(const struct engine_acl_index *x);
/* The most changed rules an index carries (engine_acl_index_sync() compiles a new base past
 * it, and so must a caller of engine_acl_index_apply()): twice the limit. */
size_t engine_acl_index_bound(const struct engine_acl_index *x);

/*
 * A new base compiled off the caller's thread. engine_acl_index_record() starts recording the
 * changes applied to X from its version V on (dropping an earlier record; a base compiled
 * again by X ends it). Another thread compiles engine_acl_index_new() of the rule set of
 * version V (it touches nothing of X), at V or a later version of the base's own (below every
 * recorded change's). engine_acl_index_rebase() then applies the recorded changes to that new
 * index NX, in order, and X takes NX's base, dead rules and added rules: the same rules in
 * force at the same version, over a base of V's rules; with no change recorded, X takes NX at
 * NX's version. NX is freed in every case. Returns 0, -ESTALE (NX is of a version before the
 * record's start, or of another policy, or X records nothing), or what a change returned (X
 * unchanged either way). One writer, as for every call on X; costs what the recorded changes
 * cost.
 */
void engine_acl_index_record(struct engine_acl_index *x);
int engine_acl_index_recording(const struct engine_acl_index *x);
int engine_acl_index_rebase(struct engine_acl_index *x, struct engine_acl_index *nx);

/* How many bases (engine_acl_index_new(), or compiled again) the calling thread compiled: the
 * orchestrator counts a change's (the mount's metric unisec_policy_bases_total). */
uint64_t engine_acl_index_compiles(void);

/* The rules in force, to decide on; valid until the next change. */
void engine_acl_index_layers(const struct engine_acl_index *x, struct engine_acl_layers *l);
/* The base blob (owned by the index: valid until its next change) and its version. */
void engine_acl_index_base(const struct engine_acl_index *x, const void **blob, size_t *len);
/* The base blob's bytes, counted: a share of them (*BLOB of *LEN, never written) that stays valid
 * after X compiles another base or is freed, until engine_acl_base_put() of the share returned
 * (NULL is ignored); thread-safe. What hands a compiled base on without copying it. */
struct engine_acl_base;
struct engine_acl_base *engine_acl_index_base_share(const struct engine_acl_index *x,
                                                    const void **blob, size_t *len);
void engine_acl_base_put(struct engine_acl_base *bb);
uint64_t engine_acl_index_base_version(const struct engine_acl_index *x);
/* The version of the rules in force. */
uint64_t engine_acl_index_version(const struct engine_acl_index *x);
/* Rules removed from the base plus rules added since it. */
size_t engine_acl_index_changes(const struct engine_acl_index *x);

/*
 * Makes the patch (contract/acl_patch.h) that brings an instance holding the base, at
 * FROM_VERSION or later, to the rules in force (FROM_VERSION at least the base's version); *OUT
 * (8-byte aligned) is freed with free(). -EINVAL when FROM_VERSION is not below the index's version
 * or below the base's.
 */
int engine_acl_index_patch(const struct engine_acl_index *x, uint64_t from_version, void **out,
                           size_t *len);

/*
 * Whether PATCH[0..LEN) (contract/acl_patch.h) brings X's base to the rules X holds now, as a
 * patch X made would: over X's base, to X's version, removing the same base rules and adding
 * the same rules (by identity: policy, subject, method, pattern, effect; not their lines or
 * the added blob's layout, which depend on the order of the changes since the base). 1, or 0
 * with *WHY set. `unisec verify` checks the patch an image carries so.
 */
int engine_acl_index_patch_same(const struct engine_acl_index *x, const void *patch, size_t len,
                                const char **why);

/* ---- the rules of several files by key (acl_keys.c) ---- */

/*
 * The rules of the rules files of a policy (policy/acl, then policy/acl.d/NAME by NAME), each
 * file's held as a set parsed alone (borrowed: the caller keeps it alive while it is held),
 * indexed by key, so that one file's new rules are checked against the others' and its change
 * of the rules in force is found at the cost of that file's rules. One writer.
 */
struct engine_acl_keys;
/* The rules in force that one file's change removes and adds (strings borrowed from the
 * sets involved), and its change of the count of distinct rules. */
struct engine_acl_keys_change;

/* The lines one change of a rules file touched: the old version's lines [LO, OLD_END) became
 * the new one's [LO, NEW_END) (1-based); the lines before LO are the same text in both, and so
 * are those from OLD_END on (old line L is new line L - OLD_END + NEW_END). */
struct engine_acl_lines {
    uint32_t lo, old_end, new_end;
};

/* The lines between OLD[0..OLEN) and NEU[0..NLEN) that differ, as one block (a common head and
 * tail of whole lines around it): the cost of comparing the two texts, no parse. */
void engine_acl_lines_changed(struct engine_acl_lines *out, const char *old, size_t olen,
                              const char *neu, size_t nlen);

int engine_acl_keys_new(struct engine_acl_keys **out);
void engine_acl_keys_free(struct engine_acl_keys *k);
void engine_acl_keys_change_free(struct engine_acl_keys_change *c);

/*
 * Checks PART (the rules of file PATH parsed alone; NULL: the file removed) as the new rules of
 * that file, which is policy/acl when MAIN, against the rules of the other files held: a rule
 * that repeats one of another file with the other effect is reported as engine_acl_finish()
 * reports it (the later of the two, naming the earlier). LINES (NULL: any line may differ) says
 * which lines of the file differ from the version held: only their rules are looked at. Returns
 * 0 with *OUT the change (freed with engine_acl_keys_change_free()), -EINVAL with D filled, or
 * -ENOMEM. K unchanged.
 */
int engine_acl_keys_diff(const struct engine_acl_keys *k, const char *path, int main,
                         const struct engine_acl *part, const struct engine_acl_lines *lines,
                         struct engine_acl_keys_change **out, struct engine_diag *d);

/* Holds PART as file PATH's rules (NULL: the file is gone); LINES as for engine_acl_keys_diff().
 * 0, or -ENOMEM with K unchanged. */
int engine_acl_keys_set(struct engine_acl_keys *k, const char *path, int main,
                        const struct engine_acl *part, const struct engine_acl_lines *lines);

/* Would POLICY have a rule with PART as file PATH's rules (PATH NULL: as held)? */
int engine_acl_keys_has_policy(const struct engine_acl_keys *k, const char *path,
                               const struct engine_acl *part, const char *policy);

/* The distinct rules and the policies held, after change C when not NULL (the policies'
 * count is the one held). */
void engine_acl_keys_stats(const struct engine_acl_keys *k, const struct engine_acl_keys_change *c,
                           size_t *rules, size_t *policies);

/* The rules C removes and adds. */
size_t engine_acl_keys_change_count(const struct engine_acl_keys_change *c);
/* Frees C's rules once they are applied where they go (C then changes nothing; its counts
 * for engine_acl_keys_stats() stay). Returns the bytes freed. */
size_t engine_acl_keys_change_release(struct engine_acl_keys_change *c);
/* Does C remove or add a rule of POLICY (NULL: of any)? */
int engine_acl_keys_change_touches(const struct engine_acl_keys_change *c, const char *policy);

/* Moves FROM's rules to the end of INTO's (FROM then changes nothing; its count for
 * engine_acl_keys_stats() is added to INTO's), so that the changes of several files, each found
 * once the one before is held (engine_acl_keys_set()), are applied as one; a rule that one of
 * them removes and another adds back with the same effect (a file renamed, a rule moved from one
 * file to another) is dropped from both. 0, or -ENOMEM with both unchanged. */
int engine_acl_keys_change_merge(struct engine_acl_keys_change *into,
                                 struct engine_acl_keys_change *from);

/* The rules file PATH's rules held in K (borrowed), or NULL. */
const struct engine_acl *engine_acl_keys_part(const struct engine_acl_keys *k, const char *path);

/*
 * Several rules files changed at once: file PATHS[i] becomes PARTS[i] (parsed alone; NULL:
 * removed); PATHS[0] is policy/acl when MAIN, the others are files of acl.d. With LINES (NULL:
 * not known), LINES[i] the lines of file i that differ from the version held (NULL: every rule,
 * as for a file made or removed): each file is changed in place by those lines, one after the
 * other, as engine_acl_keys_diff() and engine_acl_keys_set() do one. When that finds a conflict
 * (which may be with another file's old version), or without LINES, every old version is taken
 * out of K, then every new one put in, each checked against the rules held then (so two new files
 * are checked against each other, and none against another's old version). The changes are
 * merged into one (engine_acl_keys_change_merge()). Returns 0 with K holding the new files and
 * *OUT their change; -EINVAL with D filled, or -ENOMEM, with K as it was; -ENOMEM may also leave
 * K out of step with every file (when putting it back failed): then it is to be made anew.
 * Costs what the changed lines cost with LINES and no conflict; else what the rules of those
 * files cost.
 */
int engine_acl_keys_replace(struct engine_acl_keys *k, const char *const *paths,
                            const struct engine_acl *const *parts,
                            const struct engine_acl_lines *const *lines, size_t n, int main,
                            struct engine_acl_keys_change **out, struct engine_diag *d);

/* Applies C to the index at VERSION, as engine_acl_index_apply() does. */
int engine_acl_index_apply_keys(struct engine_acl_index *x, const struct engine_acl_keys_change *c,
                                uint64_t version);

/* Reports every `group:NAME` subject of PART (one file's rules parsed alone, named PATH) whose
 * group PEOPLE's groups file does not define, as engine_acl_check_groups() does. 0 or -EINVAL. */
int engine_acl_check_groups_of(const struct engine_acl *people, const struct engine_acl *part,
                               const char *path, struct engine_diag *d);

/* Does NEU define every group OLD defines (so that rules that were valid with OLD's groups
 * are with NEU's)? acl_people.c. */
int engine_acl_groups_kept(const struct engine_acl *old, const struct engine_acl *neu);

/* ---- credentials (credentials.c) ---- */

struct engine_acl_cred {
    uint32_t iterations;
    uint32_t salt_len;
    uint8_t salt[ENGINE_ACL_SALT_MAX];
    uint8_t hash[32];
};

/*
 * Parses the part of a credentials line after "USER:" (LINE[0..LEN)), i.e.
 * "pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX", into *C. On error returns -EINVAL, sets
 * *COL to the 0-based offset of the offending field and *WHY to a static sentence that never
 * quotes the line (it may hold a secret).
 */
int engine_acl_cred_parse(struct engine_acl_cred *c, const char *line, size_t len, size_t *col,
                          const char **why);

/* 1 when PASSWORD matches C, 0 when not, -EINVAL on bad arguments. Constant-time compare. */
int engine_acl_cred_verify(const struct engine_acl_cred *c, const void *password, size_t pw_len);

/*
 * Makes the credentials line "USER:pbkdf2-sha256:IT:SALT_HEX:HASH_HEX" (no newline) for
 * PASSWORD with ITERATIONS (0: the default, 600000) and SALT (NULL: 16 random bytes from
 * getrandom). *OUT is allocated; the caller frees it. Returns 0, -EINVAL (bad user name,
 * iterations or salt length) or -errno.
 */
int engine_acl_cred_line(char **out, const char *user, const void *password, size_t pw_len,
                         uint32_t iterations, const uint8_t *salt, size_t salt_len);

#define ENGINE_ACL_ITER_DEFAULT 600000u

/* Is S[0..N) a valid user or group name ([A-Za-z0-9._-], not starting with '-', <= 64)? */
int engine_acl_name_valid(const char *s, size_t n);

/* Is S[0..N) a valid policy name ([a-z0-9_-], 1 to 64)? */
int engine_acl_policy_valid(const char *s, size_t n);

#endif
