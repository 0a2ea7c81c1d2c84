/*
 * pdp_codec.h — the pull PDP's messages (contract/pdp.h) made and read, and the PDP's
 * answer on a blob: built for both sides (the guest's acl_pep asks, the host's PDP answers).
 *
 * Freestanding (no libc, no allocation); nothing is read outside the caller's buffers.
 */
#ifndef UNISEC_COMMON_PDP_CODEC_H
#define UNISEC_COMMON_PDP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/acl_lookup.h"
#include "contract/pdp.h"

/* A request to decide; strings need no NUL. USER_LEN 0: anonymous (no password). */
struct mod_pdp_request {
    const char *policy, *user, *method, *path, *password;
    size_t policy_len, user_len, method_len, path_len, password_len;
};

/*
 * Encodes RQ as a query with ID into OUT[0..CAP). Returns its length, or -22 (EINVAL) when a
 * field is over its bound or CAP is too small.
 */
long mod_pdp_query_encode(void *out, size_t cap, uint64_t id, const struct mod_pdp_request *rq);

/*
 * The length of the complete message at the start of BUF[0..LEN): > 0 when complete, 0 when
 * more bytes are needed, -22 (EINVAL) when the stream is corrupt (bad magic or length).
 * MAGIC receives the message's magic.
 */
long mod_pdp_message_len(const void *buf, size_t len, uint32_t *magic);

/*
 * The PDP's side: decodes the query MSG[0..LEN) (a complete message) and answers it on the
 * rules L (an opened blob, and a patch over it) in force at VERSION into *OUT. Returns 0, or -22
 * (EINVAL) for a malformed query (the PDP then closes the stream). Costs one PBKDF2 when the query
 * carries a credential.
 */
int mod_pdp_answer_query(const struct engine_acl_layers *l, uint64_t version, const void *msg,
                         size_t len, struct mod_pdp_answer *out);

#endif
