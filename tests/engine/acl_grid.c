/* acl_grid.c — the ACL property tests' generator and decision check (acl_grid.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "acl_grid.h"

uint64_t acl_grid_next(uint64_t *rng)
{
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return *rng;
}

struct engine_acl *acl_grid_parse(const char *groups, const char *text, size_t len)
{
    return acl_grid_parse_people(groups, NULL, text, len);
}

struct engine_acl *acl_grid_parse_people(const char *groups, const char *creds, const char *text,
                                         size_t len)
{
    struct engine_acl *a;
    struct engine_diag d;

    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(
        engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), &d), 0);
    if (creds != NULL)
        assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_CREDENTIALS, "credentials", creds,
                                          strlen(creds), &d),
                         0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", text, len, &d), 0);
    engine_diag_free(&d);
    return a;
}

void acl_grid_same(const struct acl_grid *g, const struct engine_acl_blob *f,
                   const struct engine_acl_layers *l)
{
    for (size_t p = 0; p < g->npols; p++)
        for (size_t u = 0; u < g->nusers; u++)
            for (size_t m = 0; m < g->nmeths; m++)
                for (size_t t = 0; t < g->npaths; t++) {
                    struct engine_acl_request rq = {g->pols[p],          g->users[u],
                                                    g->meths[m],         g->paths[t],
                                                    strlen(g->pols[p]),  strlen(g->users[u]),
                                                    strlen(g->meths[m]), strlen(g->paths[t])};
                    struct engine_acl_decision a, b;
                    assert_int_equal(engine_acl_blob_decide(f, &rq, &a), 0);
                    assert_int_equal(engine_acl_layers_decide(l, &rq, &b), 0);
                    if (a.allow != b.allow ||
                        (a.rule == ENGINE_ACL_NO_RULE) != (b.rule == ENGINE_ACL_NO_RULE))
                        fail_msg("%s %s %s %s: whole %d (line %u), layers %d (line %u)", g->pols[p],
                                 g->users[u], g->meths[m], g->paths[t], a.allow, a.line, b.allow,
                                 b.line);
                }
}

void acl_grid_auth_same(const char *const *users, size_t nusers, const char *const *pws,
                        size_t npws, const struct engine_acl_blob *f,
                        const struct engine_acl_layers *l, int full)
{
    for (size_t u = 0; u < nusers; u++)
        for (size_t p = 0; p < npws; p++) {
            struct engine_acl_layers fl = {.base = f};
            struct engine_acl_check a, b;
            memset(&a, 0, sizeof(a)); /* compared whole below, padding too */
            memset(&b, 0, sizeof(b));
            assert_int_equal(engine_acl_layers_check_start(&a, &fl, users[u], strlen(users[u]),
                                                           pws[p], strlen(pws[p])),
                             0);
            assert_int_equal(engine_acl_layers_check_start(&b, l, users[u], strlen(users[u]),
                                                           pws[p], strlen(pws[p])),
                             0);
            /* The credential in force: the same salt, iterations and hash, or none in both. */
            if (a.known != b.known ||
                (a.known && (a.iterations != b.iterations || memcmp(a.hash, b.hash, 32) != 0 ||
                             memcmp(&a.kdf, &b.kdf, sizeof(a.kdf)) != 0)))
                fail_msg("user %s: whole known %d, layers known %d", users[u], a.known, b.known);
            engine_acl_check_end(&a);
            engine_acl_check_end(&b);
            if (full)
                assert_int_equal(
                    engine_acl_blob_verify(f, users[u], strlen(users[u]), pws[p], strlen(pws[p])),
                    engine_acl_layers_verify(l, users[u], strlen(users[u]), pws[p],
                                             strlen(pws[p])));
        }
}
