/*
 * fuzz_pdp.c — libFuzzer harness for what acl_pep and its PDP read from the other side. The
 * first byte picks the target:
 *   0..63:    a stream of PDP messages cut into frames (mod_pdp_message_len), each query
 *             answered on a fixed blob, as the host's PDP does with a guest's bytes
 *   64..127:  the policy loader: the input installed over a valid policy (as a pushed blob);
 *             a refusal must leave the old rules in force
 *   128..255: the same with the blob's checksum recomputed, so that the structural checks
 *             are reached
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/modules/acl_pep/pdp.h"
#include "guest/modules/acl_pep/policy.h"
#include "engine/acl.h"
#include "common/sha256.h"

static void *fuzz_blob;
static size_t fuzz_blob_len;

static void fuzz_pdp_init(void)
{
    static const char *acl = "regular * GET /pub/* allow\nregular group:g * /a/* allow\n";
    static const char *groups = "g: alice\n";
    static const char *creds = "alice:pbkdf2-sha256:1000:cdfabfb24a530f8c9d16c9ed7222267b:"
                               "5593f03740f6b67cf5b4e1fca28d44ca0058bb4237ec5f731da6760fb6ba49bd\n";
    struct engine_acl *a;
    struct engine_diag d;
    engine_diag_init(&d);
    if (engine_acl_new(&a) ||
        engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), &d) ||
        engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, strlen(acl), &d) ||
        engine_acl_parse(a, ENGINE_ACL_FILE_CREDENTIALS, "c", creds, strlen(creds), &d) ||
        engine_acl_compile(&fuzz_blob, &fuzz_blob_len, a, NULL, 1))
        abort();
    engine_acl_free(a);
    engine_diag_free(&d);
}

static void fuzz_pdp_stream(const uint8_t *data, size_t size)
{
    struct engine_acl_blob b;
    const char *why;
    size_t off = 0;
    if (engine_acl_blob_open(&b, fuzz_blob, fuzz_blob_len, &why))
        abort();
    while (off < size) {
        uint32_t magic;
        long n = mod_pdp_message_len(data + off, size - off, &magic);
        if (n <= 0)
            return;
        if ((size_t)n > size - off)
            abort();
        if (magic == MOD_PDP_QUERY_MAGIC) {
            struct mod_pdp_answer a;
            /* A credential costs 1000 PBKDF2 rounds here: keep the run fast but reach it. */
            if (mod_pdp_answer_query(&(struct engine_acl_layers){.base = &b}, b.hdr->policy_version,
                                     data + off, (size_t)n, &a) == 0 &&
                (a.allow != 0 && a.allow != 1))
                abort();
        }
        off += (size_t)n;
    }
}

static void fuzz_pdp_policy(const uint8_t *data, size_t size, int reseal)
{
    struct mod_policy p = {0};
    void *old[2], *cur = malloc(fuzz_blob_len), *buf = malloc(size ? size : 1);
    const char *why = NULL;
    if (cur == NULL || buf == NULL)
        abort();
    memcpy(cur, fuzz_blob, fuzz_blob_len);
    memcpy(buf, data, size);
    if (mod_policy_install(&p, cur, fuzz_blob_len, old, &why) != 0 || old[0] != NULL)
        abort();
    if (reseal && size >= sizeof(struct engine_acl_blob_header)) {
        struct engine_acl_blob_header *h = buf;
        memset(h->sha256, 0, sizeof(h->sha256));
        engine_sha256(h->sha256, buf, size);
    }
    uint64_t v = p.version;
    if (mod_policy_install(&p, buf, size, old, &why) == 0) {
        /* A whole blob replaces the blob; a patch goes over it. */
        if (p.patch == buf ? (old[0] != NULL || p.buf != cur)
                           : (old[0] != cur || p.buf != buf || mod_policy_current(&p) == NULL))
            abort();
        free(old[0]);
        free(p.patch);
    } else {
        if (old[0] != NULL || p.buf != cur || p.version != v || p.generation != 1 || why == NULL)
            abort();
        free(buf);
    }
    free(p.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_blob == NULL)
        fuzz_pdp_init();
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    if (sel < 64)
        fuzz_pdp_stream(data + 1, size - 1);
    else
        fuzz_pdp_policy(data + 1, size - 1, sel >= 128);
    return 0;
}
