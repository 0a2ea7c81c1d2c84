/*
 * fixture.h — what the builder's tests share (tests/builder/test_builder.c,
 * test_builder_rules.c, test_pdp.c): a temporary folder with a cache, compiled rules, and a
 * builder made or run with its errors printed and asserted.
 */
#ifndef UNISEC_TESTS_BUILDER_FIXTURE_H
#define UNISEC_TESTS_BUILDER_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "builder/builder.h"

/* TMP (SIZE bytes) made as $TMPDIR/unisec-TAG-XXXXXX (/tmp without TMPDIR); CACHE (CSIZE
 * bytes) is TMP/cache. Returns 0, or -1 when the folder cannot be made. */
int fixture_dir(char *tmp, size_t size, char *cache, size_t csize, const char *tag);

/* Removes TMP and all it holds: 0, or what system(3) returned. */
int fixture_remove(const char *tmp);

/* The rules of the policy folder DIR, or (DIR NULL) of the texts ACL and CREDENTIALS (either
 * NULL: none), compiled for POLICY (NULL: every policy) as version VERSION into *BLOB (freed
 * by the caller), *LEN bytes. Returns 0, or -1 with the reasons on stderr. */
int fixture_rules(void **blob, size_t *len, const char *dir, const char *acl, const char *creds,
                  const char *policy, uint64_t version);

/* An executable script DIR/NAME (its path in PATH, SIZE bytes) holding the text FMT, ... (a
 * compiler that logs or fails, in place of cc); fails the test when it cannot be written. */
void fixture_script(char *path, size_t size, const char *dir, const char *name, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

/* A builder on CACHE with compiler CC (NULL: the default) and JOBS workers; fails the test,
 * printing why, when it cannot be made. */
struct builder *fixture_builder(const char *cache, const char *cc, unsigned jobs);

/* SPEC built into OUT by a builder of fixture_builder(CACHE, NULL, JOBS); fails the test,
 * printing the builder's errors, when the build fails. *R is freed with
 * builder_results_free(). */
void fixture_build(const char *cache, unsigned jobs, const struct builder_spec *spec,
                   const char *out, struct builder_result *r);

#endif
