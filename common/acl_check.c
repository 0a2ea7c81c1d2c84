/*
 * acl_check.c — a password checked against the credential in force (contract/acl_blob.h's
 * CRED records; a patch's user record replaces the base's), in slices so that a guest does not
 * stall, at the same cost for a user without a credential. Freestanding, no allocation.
 */
#include "acl_lookup.h"

int engine_acl_layers_check_start(struct engine_acl_check *c, const struct engine_acl_layers *l,
                                  const char *user, size_t user_len, const void *password,
                                  size_t pw_len)
{
    static const uint8_t dummy_salt[16] = "unisec-no-user..";
    const struct engine_acl_blob *from, *bs[2];
    const struct engine_acl_blob_user *u;
    const uint8_t *salt = dummy_salt;
    uint32_t salt_len = sizeof(dummy_salt), iterations = ENGINE_ACL_ITER_MIN;

    if (l == 0 || l->base == 0 || c == 0 || (user_len && user == 0) || (pw_len && password == 0) ||
        !engine_acl_name_ok(user, user_len, ENGINE_ACL_NAME_MAX))
        return -ENGINE_ACL_EINVAL;
    /* Scanned for every user, so known and unknown ones take the same path to the PBKDF2. */
    bs[0] = l->base;
    bs[1] = l->over;
    for (int k = 0; k < 2 && bs[k] != 0; k++)
        for (uint32_t i = 0; i < bs[k]->cred_count; i++)
            if (bs[k]->cred[i].iterations > iterations)
                iterations = bs[k]->cred[i].iterations;
    u = engine_acl_layers_user_find(l, user, user_len, &from);
    c->known = u != 0 && u->cred != ENGINE_ACL_NO_CRED;
    if (c->known) {
        const struct engine_acl_blob_cred *cr = &from->cred[u->cred];
        salt = cr->salt;
        salt_len = cr->salt_len;
        iterations = cr->iterations;
        for (int i = 0; i < 32; i++)
            c->hash[i] = cr->hash[i];
    }
    c->iterations = iterations;
    if (engine_pbkdf2_sha256_start(&c->kdf, password, pw_len, salt, salt_len, iterations) < 0)
        return -ENGINE_ACL_EINVAL;
    return 0;
}

int engine_acl_check_start(struct engine_acl_check *c, const struct engine_acl_blob *b,
                           const char *user, size_t user_len, const void *password, size_t pw_len)
{
    struct engine_acl_layers l = {.base = b};

    if (b == 0)
        return -ENGINE_ACL_EINVAL;
    return engine_acl_layers_check_start(c, &l, user, user_len, password, pw_len);
}

uint32_t engine_acl_check_step(struct engine_acl_check *c, uint32_t max)
{
    return engine_pbkdf2_sha256_step(&c->kdf, max);
}

int engine_acl_check_end(struct engine_acl_check *c)
{
    uint8_t dk[32], diff = 0;
    int known = c->known, done = c->kdf.left == 0;

    engine_pbkdf2_sha256_end(&c->kdf, dk);
    for (int i = 0; i < 32; i++)
        diff |= dk[i] ^ c->hash[i];
    for (int i = 0; i < 32; i++)
        dk[i] = c->hash[i] = 0;
    c->known = 0;
    if (!known)
        return -ENGINE_ACL_ENOENT;
    return done && diff == 0;
}

int engine_acl_layers_verify(const struct engine_acl_layers *l, const char *user, size_t user_len,
                             const void *password, size_t pw_len)
{
    struct engine_acl_check c;

    if (engine_acl_layers_check_start(&c, l, user, user_len, password, pw_len) < 0)
        return -ENGINE_ACL_EINVAL;
    engine_acl_check_step(&c, c.kdf.left);
    return engine_acl_check_end(&c);
}

int engine_acl_blob_verify(const struct engine_acl_blob *b, const char *user, size_t user_len,
                           const void *password, size_t pw_len)
{
    struct engine_acl_layers l = {.base = b};

    if (b == 0)
        return -ENGINE_ACL_EINVAL;
    return engine_acl_layers_verify(&l, user, user_len, password, pw_len);
}
