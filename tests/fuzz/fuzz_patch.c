/*
 * fuzz_patch.c — libFuzzer harness for the ACL patch parser as the guest runs it
 * (mod_policy_install over a pushed blob at version 1; common/acl_patch.c). The first byte
 * picks the target:
 *   0..63:    the input as a patch
 *   64..127:  the input with the header's base version, base checksum and from_version set
 *             to the blob's and the checksum recomputed, so the structural checks are reached
 *   128..255: a valid patch (2 rules removed, 3 added; a user added to a group, one taken out
 *             of all, a password rotated, a credential added: user records with groups and
 *             credentials) edited by the input's (offset, byte) pairs, then resealed (the
 *             added rules' blob too), so every deeper check is reached
 * After each install: a refusal leaves the rules and credentials in force as they were (same
 * decisions, same credential found for each user); an accepted patch is decided on and its
 * credentials looked up without reading out of bounds. The same bytes are also put
 * after the blob in an internal PDP's rules region and installed as at boot, and pushed
 * after the blob as one message (a base and its patch together) to an instance that holds the
 * blob, cut short by the first byte's bits 4-5 (times its low 4 bits): taken only whole and
 * newer than the version in force (the same message again is refused; the valid patch,
 * untouched and whole, must be taken), refused with the rules, the version and the buffers in
 * force kept.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "engine/acl.h"
#include "guest/modules/acl_pep/policy.h"

static void *fuzz_base, *fuzz_patch;
static size_t fuzz_base_len, fuzz_patch_len;

/* A policy of ACL, GROUPS and a credential for each user of CRED_USERS (password "pw" and the
 * user's name, so a rotation is another password), or abort. */
static struct engine_acl *fuzz_policy(const char *acl, const char *groups,
                                      const char *const *cred_users, const char *pw)
{
    static const uint8_t salt[16] = "fuzz-patch-salt.";
    char creds[1024] = "", *line;
    struct engine_acl *a;
    struct engine_diag d;

    for (int i = 0; cred_users[i] != NULL; i++) {
        if (engine_acl_cred_line(&line, cred_users[i], pw, strlen(pw), 1000, salt, sizeof(salt)))
            abort();
        strcat(strcat(creds, line), "\n");
        free(line);
    }
    engine_diag_init(&d);
    if (engine_acl_new(&a) ||
        engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), &d) ||
        engine_acl_parse(a, ENGINE_ACL_FILE_CREDENTIALS, "credentials", creds, strlen(creds), &d) ||
        engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, strlen(acl), &d)) {
        engine_diag_print(&d, stderr);
        abort();
    }
    engine_diag_free(&d);
    return a;
}

static void fuzz_patch_init(void)
{
    static const char *const old_creds[] = {"alice", "carol", NULL}, *const new_creds[] = {
                                                                         "alice", "bob", NULL};
    struct engine_acl *a = fuzz_policy("regular * GET /pub/* allow\nregular group:g * /a/* allow\n"
                                       "regular alice POST /a/b deny\nregular * * /x deny\n",
                                       "g: alice bob\nh: carol\n", old_creds, "pw-1"),
                      *b = fuzz_policy("regular * GET /pub/* allow\nregular group:g * /a/* allow\n"
                                       "regular bob GET /a/c/* deny\n"
                                       "regular group:g PUT /x allow\nregular * * / allow\n",
                                       "g: alice bob carol\nh:\n", new_creds, "pw-2");
    struct engine_acl_index *x;
    const void *base;

    if (engine_acl_index_new(&x, a, NULL, 1) || engine_acl_index_sync(x, b, 2) ||
        engine_acl_index_patch(x, 1, &fuzz_patch, &fuzz_patch_len))
        abort();
    engine_acl_index_base(x, &base, &fuzz_base_len);
    if (posix_memalign(&fuzz_base, 8, fuzz_base_len))
        abort();
    memcpy(fuzz_base, base, fuzz_base_len);
    engine_acl_index_free(x);
    engine_acl_free(a);
    engine_acl_free(b);
}

static void fuzz_patch_reseal(uint8_t *p, size_t len)
{
    struct engine_acl_patch_header *h = (void *)p;
    const struct engine_acl_blob_header *b = fuzz_base;

    if (len < sizeof(*h))
        return;
    h->base_version = b->policy_version;
    memcpy(h->base_sha256, b->sha256, 32);
    h->from_version = 1;
    if ((uint64_t)h->over_off + h->over_len <= len && h->over_off % 8 == 0 &&
        h->over_len >= sizeof(struct engine_acl_blob_header)) {
        struct engine_acl_blob_header *o = (void *)(p + h->over_off);
        memset(o->sha256, 0, 32);
        engine_sha256(o->sha256, o, h->over_len);
    }
    memset(h->sha256, 0, 32);
    engine_sha256(h->sha256, p, len);
}

static const char *const fuzz_paths[] = {"/pub/x", "/a/b", "/a/c/d", "/x", "/", "/q/r"};
static const char *const fuzz_users[] = {"", "alice", "bob", "carol"};
static const char *const fuzz_methods[] = {"GET", "POST", "PUT"};

/* Every request's answer on P, folded into one word (FNV-1a over the answers in order). */
static uint64_t fuzz_answers(const struct mod_policy *p)
{
    uint64_t bits = 0xcbf29ce484222325ull;
    for (int i = 0; i < 6; i++)
        for (int u = 0; u < 4; u++)
            for (int m = 0; m < 3; m++) {
                struct engine_acl_request rq = {"regular",
                                                fuzz_users[u],
                                                fuzz_methods[m],
                                                fuzz_paths[i],
                                                7,
                                                strlen(fuzz_users[u]),
                                                strlen(fuzz_methods[m]),
                                                strlen(fuzz_paths[i])};
                struct engine_acl_decision d;
                if (engine_acl_layers_decide(mod_policy_layers(p), &rq, &d) < 0 ||
                    (d.allow != 0 && d.allow != 1))
                    abort();
                bits = (bits ^ (uint64_t)d.allow) * 0x100000001b3ull;
            }
    /* The credential in force for each user (its record looked up; the PBKDF2 not run). */
    for (int u = 0; u < 4; u++) {
        struct engine_acl_check c;
        if (engine_acl_layers_check_start(&c, mod_policy_layers(p), fuzz_users[u],
                                          strlen(fuzz_users[u]), "pw-2", 4) < 0)
            abort();
        bits = (bits ^ (uint64_t)c.known ^ c.iterations ^ (c.known ? c.hash[0] : 0u)) *
               0x100000001b3ull;
        engine_acl_check_end(&c);
    }
    return bits;
}

/* The same bytes after the blob in an internal PDP's rules region, installed as at boot
 * (mod_policy_install_region): refused, nothing is in force; taken, decided on in bounds. */
static void fuzz_region(const void *patch, size_t len)
{
    size_t pad = (8 - fuzz_base_len % 8) % 8, n = fuzz_base_len + pad + len;
    struct mod_policy p = {0};
    const char *why = NULL;
    void *old[2];
    uint8_t *r;

    if (posix_memalign((void **)&r, 8, n))
        abort();
    memcpy(r, fuzz_base, fuzz_base_len);
    memset(r + fuzz_base_len, 0, pad);
    memcpy(r + fuzz_base_len + pad, patch, len);
    if (mod_policy_install_region(&p, r, n, old, &why) == 0)
        fuzz_answers(&p);
    else if (why == NULL || mod_policy_current(&p) != NULL)
        abort();
    free(r);
}

/* BLOB ‖ zeros ‖ PATCH[0..LEN), less CUT bytes, pushed to an instance holding the blob at
 * version 1. */
static void fuzz_pair(const void *patch, size_t len, size_t cut, int must)
{
    size_t at = (fuzz_base_len + 7) & ~(size_t)7, n = at + len;
    struct mod_policy p = {0}, keep;
    const char *why = NULL;
    void *old[2], *base;
    uint8_t *m;

    n = cut < n ? n - cut : 0;
    if (posix_memalign(&base, 8, fuzz_base_len) || posix_memalign((void **)&m, 8, at + len))
        abort();
    memcpy(base, fuzz_base, fuzz_base_len);
    memcpy(m, fuzz_base, fuzz_base_len);
    memset(m + fuzz_base_len, 0, at - fuzz_base_len);
    memcpy(m + at, patch, len);
    if (mod_policy_install(&p, base, fuzz_base_len, old, &why) != 0)
        abort();
    uint64_t before = fuzz_answers(&p);
    keep = p;
    if (mod_policy_install(&p, m, n, old, &why) == 0) {
        /* both in force at once, over the blob in the message, at a newer version */
        if (old[0] != base || old[1] != NULL || p.buf != m || p.patch_buf != NULL ||
            (p.patch != NULL && p.version <= 1))
            abort();
        fuzz_answers(&p);
        free(old[0]);
        keep = p;
        if (p.patch != NULL && (mod_policy_install(&p, m, n, old, &why) != -ENGINE_ACL_ESTALE ||
                                memcmp(&keep, &p, sizeof(p)) != 0))
            abort();
        free(p.buf);
    } else {
        if (must || why == NULL || old[0] != NULL || memcmp(&keep, &p, sizeof(p)) != 0 ||
            fuzz_answers(&p) != before)
            abort();
        free(base);
        free(m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mod_policy p = {0};
    void *old[2], *base, *buf;
    size_t len;
    const char *why = NULL;

    if (fuzz_base == NULL)
        fuzz_patch_init();
    if (size == 0)
        return 0;
    len = data[0] >= 128 ? fuzz_patch_len : size - 1;
    if (posix_memalign(&base, 8, fuzz_base_len) || posix_memalign(&buf, 8, len ? len : 1))
        abort();
    memcpy(base, fuzz_base, fuzz_base_len);
    if (data[0] >= 128) {
        memcpy(buf, fuzz_patch, len);
        for (size_t i = 1; i + 2 < size; i += 3)
            ((uint8_t *)buf)[(data[i] | (size_t)data[i + 1] << 8) % len] = data[i + 2];
    } else {
        memcpy(buf, data + 1, len);
    }
    if (data[0] >= 64)
        fuzz_patch_reseal(buf, len);
    fuzz_region(buf, len);
    /* (the valid patch untouched and whole must be taken) */
    size_t cut = data[0] & 0x30 ? (size_t)(data[0] >> 4 & 3) * (data[0] & 0x0f) : 0;
    fuzz_pair(buf, len, cut, data[0] >= 128 && size == 1 && cut == 0);
    if (mod_policy_install(&p, base, fuzz_base_len, old, &why) != 0)
        abort();
    uint64_t before = fuzz_answers(&p);
    if (mod_policy_install(&p, buf, len, old, &why) == 0) {
        if (p.patch_buf == buf ? p.buf != base || old[0] != NULL : old[0] != base)
            abort();
        fuzz_answers(&p);
        if (p.patch_buf != buf) {
            free(old[0]);
            base = NULL;
        }
        buf = NULL;
    } else if (why == NULL || p.buf != base || p.version != 1 || fuzz_answers(&p) != before) {
        abort();
    }
    free(p.patch_buf);
    free(p.buf);
    free(buf);
    return 0;
}
