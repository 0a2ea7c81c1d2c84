/*
 * basic.h — decoding the credentials of HTTP Basic authentication (RFC 7617) for the authn
 * module. Freestanding, no allocation: the decoded "user:password" goes to a caller buffer.
 */
#ifndef UNISEC_GUEST_AUTHN_BASIC_H
#define UNISEC_GUEST_AUTHN_BASIC_H

#include <stddef.h>

/* Longest decoded "user:password" accepted; longer credentials are refused as malformed. */
#define MOD_BASIC_MAX 512

struct mod_basic_cred {
    char buf[MOD_BASIC_MAX]; /* the decoded bytes; user and password point into it */
    const char *user, *password;
    size_t user_len, password_len;
};

/*
 * Decodes the Authorization header value V[0..N): the scheme "Basic" (any case), blanks,
 * then standard base64 with padding. The user is the part before the first ':' and must be
 * 1 to 64 bytes of [A-Za-z0-9._-] (the ACL's user names); the password is the rest, without
 * control bytes. Returns 0, -2 (ENOENT) when the scheme is not Basic, or -22 (EINVAL) when
 * the value is malformed. On error *C holds nothing usable.
 */
int mod_basic_decode(struct mod_basic_cred *c, const char *v, size_t n);

/* Wipes the decoded secret. */
void mod_basic_wipe(struct mod_basic_cred *c);

#endif
