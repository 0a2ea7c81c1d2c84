/*
 * fuzz_acl.c — libFuzzer harness for the ACL language. The first byte picks the target:
 *   0: acl parser (then compile and decide when it parses)   1: groups parser
 *   2: credentials parser   3: blob validator + lookup on the input as is
 *   4: the same with the checksum recomputed, so that the structural checks are reached
 *   5: rules in several files (acl.d): the text cut at each "\n--\n" into files, parsed into
 *      one set and, apart, each parsed alone and added; both must compile to the same bytes
 * Anything else: all three parsers on the same text, then compile.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/acl.h"
#include "common/sha256.h"

static void fuzz_acl_decide(const struct engine_acl_blob *b)
{
    static const char *const paths[] = {"/", "/admin", "/admin/x", "/a/b/c/d", "/reports/q3"};
    static const char *const users[] = {"", "alice", "bob", "u1"};
    struct engine_acl_decision d;
    struct engine_acl_rule_view v;

    for (size_t p = 0; p < 5; p++)
        for (size_t u = 0; u < 4; u++) {
            struct engine_acl_request rq = {"regular", users[u],         "GET", paths[p],
                                            7,         strlen(users[u]), 3,     strlen(paths[p])};
            if (engine_acl_blob_decide(b, &rq, &d) == 0 && d.rule != ENGINE_ACL_NO_RULE &&
                engine_acl_blob_rule(b, d.rule, &v) != 0)
                abort();
        }
    for (uint32_t i = 0; i < b->rule_count && i < 64; i++)
        if (engine_acl_blob_rule(b, i, &v) != 0 || strlen(v.path) >= b->len)
            abort();
    /* Skip expensive credentials: a hostile blob may ask for 10 million iterations. */
    if (b->cred_count > 0 && b->cred[0].iterations <= 2000)
        engine_acl_blob_verify(b, "alice", 5, "pw", 2);
}

static void fuzz_acl_blob(const uint8_t *data, size_t size, int reseal)
{
    uint8_t *buf = NULL;
    struct engine_acl_blob b;

    if (posix_memalign((void **)&buf, 8, size ? size : 8) != 0)
        return;
    memcpy(buf, data, size);
    if (reseal && size >= sizeof(struct engine_acl_blob_header)) {
        struct engine_acl_blob_header *h = (void *)buf;
        memset(h->sha256, 0, sizeof(h->sha256));
        engine_sha256(h->sha256, buf, size);
    }
    int sealed = engine_acl_blob_open(&b, buf, size, NULL) == 0;
    if (sealed)
        fuzz_acl_decide(&b);
    /* Without its checksum (an internal PDP's region, checked by its CRC-32C) the blob is held
     * to every other check: resealed, both answers agree; else decisions on what it accepts
     * stay in bounds all the same. */
    int summed = engine_acl_blob_open_summed(&b, buf, size, NULL) == 0;
    if ((reseal && summed != sealed) || (sealed && !summed))
        abort();
    if (summed && !sealed)
        fuzz_acl_decide(&b);
    free(buf);
}

/* Target 5: the files of TEXT[0..N) cut at "\n--\n", both ways into a set. */
static void fuzz_acl_files(const char *text, size_t n)
{
    struct engine_acl *one = NULL, *added = NULL;
    struct engine_diag d1, d2;
    void *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    int ok1 = 1, ok2 = 1;
    char name[32];

    engine_diag_init(&d1);
    engine_diag_init(&d2);
    if (engine_acl_new(&one) < 0 || engine_acl_new(&added) < 0)
        goto out;
    for (unsigned k = 0; n > 0 || k == 0; k++) {
        const char *cut = memmem(text, n, "\n--\n", 4);
        size_t len = cut != NULL ? (size_t)(cut - text) + 1 : n;
        struct engine_acl *part = NULL;
        snprintf(name, sizeof(name), "acl.d/%04u", k);
        ok1 &= engine_acl_parse(one, ENGINE_ACL_FILE_ACL, name, text, len, &d1) == 0;
        if (engine_acl_new(&part) < 0)
            goto out;
        if (engine_acl_parse(part, ENGINE_ACL_FILE_ACL, name, text, len, &d2) == 0)
            ok2 &= engine_acl_add_rules(added, part, name, &d2) == 0;
        else
            ok2 = 0;
        engine_acl_free(part);
        if (cut == NULL)
            break;
        text = cut + 4;
        n -= len + 3;
    }
    if (ok1 != ok2)
        abort(); /* a file is valid or not whatever the route */
    if (!ok1)
        goto out;
    ok1 = engine_acl_finish(one, &d1) == 0;
    ok2 = engine_acl_finish(added, &d2) == 0;
    if (ok1 != ok2)
        abort();
    if (ok1 && engine_acl_compile(&b1, &l1, one, NULL, 1) == 0 &&
        engine_acl_compile(&b2, &l2, added, NULL, 1) == 0) {
        struct engine_acl_blob b;
        if (l1 != l2 || memcmp(b1, b2, l1) != 0 || engine_acl_blob_open(&b, b1, l1, NULL) != 0)
            abort(); /* the same rules, the same bytes, a valid blob */
        fuzz_acl_decide(&b);
    }
out:
    free(b1);
    free(b2);
    engine_acl_free(one);
    engine_acl_free(added);
    engine_diag_free(&d1);
    engine_diag_free(&d2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct engine_acl *a = NULL;
    struct engine_diag d;
    const char *text;
    void *blob = NULL;
    size_t len = 0;
    int ok = 1;

    if (size == 0)
        return 0;
    if (data[0] == 3 || data[0] == 4) {
        fuzz_acl_blob(data + 1, size - 1, data[0] == 4);
        return 0;
    }
    if (data[0] == 5) {
        fuzz_acl_files((const char *)data + 1, size - 1);
        return 0;
    }
    text = (const char *)data + 1;
    engine_diag_init(&d);
    if (engine_acl_new(&a) < 0)
        return 0;
    if (data[0] <= 2) {
        ok = engine_acl_parse(a, (enum engine_acl_file)data[0], "f", text, size - 1, &d) == 0;
    } else {
        ok &= engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", text, size - 1, &d) == 0;
        ok &= engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", text, size - 1, &d) == 0;
        ok &= engine_acl_parse(a, ENGINE_ACL_FILE_CREDENTIALS, "cr", text, size - 1, &d) == 0;
        engine_acl_check_groups(a, &d);
    }
    if (ok != (d.n == 0 && d.dropped == 0 && !d.oom) && data[0] <= 2)
        abort(); /* a failed parse must say why, a good one must say nothing */
    if (engine_acl_compile(&blob, &len, a, NULL, 1) == 0) {
        struct engine_acl_blob b;
        if (engine_acl_blob_open(&b, blob, len, NULL) != 0)
            abort(); /* every compiled blob must validate */
        fuzz_acl_decide(&b);
        free(blob);
    }
    engine_acl_free(a);
    engine_diag_free(&d);
    return 0;
}
