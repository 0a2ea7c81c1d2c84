/* fixture.c — the builder's tests' shared set-up (fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "engine/acl.h"
#include "fixture.h"

int fixture_dir(char *tmp, size_t size, char *cache, size_t csize, const char *tag)
{
    const char *t = getenv("TMPDIR");

    snprintf(tmp, size, "%s/unisec-%s-XXXXXX", t && *t ? t : "/tmp", tag);
    if (mkdtemp(tmp) == NULL)
        return -1;
    snprintf(cache, csize, "%s/cache", tmp);
    return 0;
}

int fixture_remove(const char *tmp)
{
    char cmd[4200];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    return system(cmd);
}

int fixture_rules(void **blob, size_t *len, const char *dir, const char *acl, const char *creds,
                  const char *policy, uint64_t version)
{
    struct engine_acl *a;
    struct engine_diag d;
    int rc = -1;

    engine_diag_init(&d);
    if (engine_acl_new(&a) != 0)
        goto out;
    if (dir != NULL
            ? engine_acl_load_dir(a, dir, &d) == 0
            : (acl == NULL ||
               engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, strlen(acl), &d) == 0) &&
                  (creds == NULL || engine_acl_parse(a, ENGINE_ACL_FILE_CREDENTIALS, "credentials",
                                                     creds, strlen(creds), &d) == 0))
        rc = engine_acl_compile(blob, len, a, policy, version) == 0 ? 0 : -1;
    engine_acl_free(a);
out:
    if (rc != 0)
        engine_diag_print(&d, stderr);
    engine_diag_free(&d);
    return rc;
}

void fixture_script(char *path, size_t size, const char *dir, const char *name, const char *fmt,
                    ...)
{
    va_list ap;
    FILE *f;

    snprintf(path, size, "%s/%s", dir, name);
    assert_non_null(f = fopen(path, "w"));
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

struct builder *fixture_builder(const char *cache, const char *cc, unsigned jobs)
{
    struct builder *b;
    struct engine_diag d;
    struct builder_options o = {.cache_dir = cache, .cc = cc, .jobs = jobs};
    int r;

    engine_diag_init(&d);
    r = builder_new(&b, &o, &d);
    if (r != 0)
        engine_diag_print(&d, stderr);
    assert_int_equal(r, 0);
    engine_diag_free(&d);
    return b;
}

void fixture_build(const char *cache, unsigned jobs, const struct builder_spec *spec,
                   const char *out, struct builder_result *r)
{
    struct builder *b = fixture_builder(cache, NULL, jobs);
    struct engine_diag d;
    int e;

    engine_diag_init(&d);
    e = builder_build(b, spec, 1, out, r, &d);
    if (e != 0)
        engine_diag_print(&d, stderr);
    assert_int_equal(e, 0);
    engine_diag_free(&d);
    builder_free(b);
}
