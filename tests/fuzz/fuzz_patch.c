/*
 * fuzz_patch.c — libFuzzer harness for the ACL patch parser as the guest runs it
 * (mod_policy_install over a pushed blob at version 1; common/acl_patch.c). The first byte
 * picks the target:
 *   0..63:    the input as a patch
 *   64..127:  the input with the header's base version, base checksum and from_version set
 *             to the blob's and the checksum recomputed, so the structural checks are reached
 *   128..255: a valid patch (2 rules removed, 3 added) edited by the input's (offset, byte)
 *             pairs, then resealed (the added rules' blob too), so every deeper check is
 * After each install: a refusal leaves the rules in force as they were (same decisions); an
 * accepted patch is decided on without reading out of bounds. The same bytes are also put
 * after the blob in an internal PDP's rules region and installed as at boot.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "engine/acl.h"
#include "guest/modules/acl_pep/policy.h"

static void *fuzz_base, *fuzz_patch;
static size_t fuzz_base_len, fuzz_patch_len;

static void fuzz_patch_init(void)
{
    static const char *acl = "regular * GET /pub/* allow\nregular group:g * /a/* allow\n"
                             "regular alice POST /a/b deny\nregular * * /x deny\n";
    static const char *groups = "g: alice bob\n";
    struct engine_acl_change del[2] = {{"regular", "alice", "POST", "/a/b", 0, 3},
                                       {"regular", "*", "*", "/x", 0, 4}},
                             add[3] = {{"regular", "bob", "GET", "/a/c/*", 0, 5},
                                       {"regular", "group:g", "PUT", "/x", 1, 6},
                                       {"regular", "*", "*", "/", 1, 7}};
    struct engine_acl *a;
    struct engine_acl_index *x;
    struct engine_diag d;
    const void *base;

    engine_diag_init(&d);
    if (engine_acl_new(&a) ||
        engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), &d) ||
        engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, strlen(acl), &d) ||
        engine_acl_index_new(&x, a, NULL, 1) || engine_acl_index_apply(x, del, 2, add, 3, 2) ||
        engine_acl_index_patch(x, 1, &fuzz_patch, &fuzz_patch_len))
        abort();
    engine_acl_index_base(x, &base, &fuzz_base_len);
    if (posix_memalign(&fuzz_base, 8, fuzz_base_len))
        abort();
    memcpy(fuzz_base, base, fuzz_base_len);
    engine_acl_index_free(x);
    engine_acl_free(a);
    engine_diag_free(&d);
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
    if (mod_policy_install(&p, base, fuzz_base_len, old, &why) != 0)
        abort();
    uint64_t before = fuzz_answers(&p);
    if (mod_policy_install(&p, buf, len, old, &why) == 0) {
        if (p.patch == buf ? p.buf != base || old[0] != NULL : old[0] != base)
            abort();
        fuzz_answers(&p);
        if (p.patch != buf) {
            free(old[0]);
            base = NULL;
        }
        buf = NULL;
    } else if (why == NULL || p.buf != base || p.version != 1 || fuzz_answers(&p) != before) {
        abort();
    }
    free(p.patch);
    free(p.buf);
    free(buf);
    return 0;
}
