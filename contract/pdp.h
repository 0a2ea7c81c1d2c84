/*
 * pdp.h — the pull PDP's wire format: the messages an acl_pep (in the guest) exchanges with
 * the policy decision point (on the host) over its PDP stream. The encoder, the message
 * framing and the answer on a blob are common/pdp_codec.h; the guest's cache is
 * guest/modules/acl_pep/pdp.h.
 *
 * Freestanding: no libc.
 *
 * Wire format: little-endian, a stream of messages, each starting with {u32 magic, u32 len}
 * where LEN counts the whole message.
 *   query   (guest -> PDP): struct mod_pdp_query, then the bytes of policy, user, method,
 *           path and password in that order; LEN = header + their lengths <= MOD_PDP_QUERY_MAX.
 *   answer  (PDP -> guest): struct mod_pdp_answer with magic MOD_PDP_ANSWER_MAGIC and the
 *           query's id.
 *   notice  (PDP -> guest, unsolicited): struct mod_pdp_answer with magic MOD_PDP_NOTICE_MAGIC,
 *           id 0 and the new policy version: the guest drops its cache. Sent when the
 *           version moves, and at once to a guest that connects.
 *   ack     (guest -> PDP): struct mod_pdp_answer with magic MOD_PDP_ACK_MAGIC, id 0 and the
 *           notice's version, once the cache is dropped: from then on no answer of an older
 *           version is given, so the PDP can say the new policy is in force.
 * A user name travels only with MOD_PDP_F_AUTH and its password: the PDP checks the
 * credential (the blob's salted PBKDF2 hash) before deciding for that user, so the guest
 * never asserts an identity it has not proven. Answers may come in any order.
 */
#ifndef UNISEC_CONTRACT_PDP_H
#define UNISEC_CONTRACT_PDP_H

#include <stddef.h>
#include <stdint.h>

#include "contract/acl_blob.h"

#define MOD_PDP_QUERY_MAGIC  0x51445055u /* "UPDQ" */
#define MOD_PDP_ANSWER_MAGIC 0x41445055u /* "UPDA" */
#define MOD_PDP_NOTICE_MAGIC 0x56445055u /* "UPDV" */
#define MOD_PDP_ACK_MAGIC    0x4b445055u /* "UPDK" */
#define MOD_PDP_PASSWORD_MAX 512
#define MOD_PDP_QUERY_MAX                                                                          \
    (32 + ENGINE_ACL_NAME_MAX * 2 + ENGINE_ACL_METHOD_MAX + ENGINE_ACL_PATH_MAX +                  \
     MOD_PDP_PASSWORD_MAX)

#define MOD_PDP_F_AUTH 1u /* USER and PASSWORD are a credential to check */

struct mod_pdp_query {
    uint32_t magic, len;
    uint64_t id;
    uint16_t policy_len, user_len, method_len, password_len;
    uint32_t path_len, flags;
};

#define MOD_PDP_AUTH_OK      1  /* the password matches */
#define MOD_PDP_AUTH_BAD     0  /* it does not */
#define MOD_PDP_AUTH_UNKNOWN -1 /* no credential for that user */
#define MOD_PDP_AUTH_NONE    2  /* anonymous query */

struct mod_pdp_answer {
    uint32_t magic, len; /* len = sizeof(struct mod_pdp_answer) */
    uint64_t id;
    uint64_t version; /* the policy version that decided */
    int32_t allow;    /* 1 allow, 0 deny (always 0 unless auth is OK or NONE) */
    int32_t auth;     /* MOD_PDP_AUTH_* */
    uint32_t line;    /* the deciding rule's line, 0 for default deny */
    uint32_t reserved;
};

#endif
