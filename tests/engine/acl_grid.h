/*
 * acl_grid.h — what the ACL property tests share (tests/engine/test_acl_index.c,
 * test_acl_keys.c): a seeded xorshift generator for their random rule sets, and the check that
 * a whole compile and an index's layers decide every request of a grid of requests alike.
 */
#ifndef UNISEC_TESTS_ENGINE_ACL_GRID_H
#define UNISEC_TESTS_ENGINE_ACL_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "engine/acl.h"

/* The next number of the xorshift sequence whose state is *RNG (not 0). */
uint64_t acl_grid_next(uint64_t *rng);

/* A new policy of the groups file GROUPS and the ACL text TEXT (LEN bytes), each parsed as the
 * mount reads them; a parse error fails the test. */
struct engine_acl *acl_grid_parse(const char *groups, const char *text, size_t len);
/* The same with the credentials file CREDS (NULL: none). */
struct engine_acl *acl_grid_parse_people(const char *groups, const char *creds, const char *text,
                                         size_t len);

/* The requests asked: every policy, user, method and path together. */
struct acl_grid {
    const char *const *pols, *const *users, *const *meths, *const *paths;
    size_t npols, nusers, nmeths, npaths;
};

/* Every request of G decided by the whole compile F and by the layers L: the same allow, and
 * a rule matched by both or by neither; a difference fails the test, naming the request. */
void acl_grid_same(const struct acl_grid *g, const struct engine_acl_blob *f,
                   const struct engine_acl_layers *l);

/* Every user of USERS with every password of PWS: the whole compile F and the layers L hold the
 * same credential in force (or none); when FULL, the PBKDF2 is run too and answers alike. */
void acl_grid_auth_same(const char *const *users, size_t nusers, const char *const *pws,
                        size_t npws, const struct engine_acl_blob *f,
                        const struct engine_acl_layers *l, int full);

#endif
