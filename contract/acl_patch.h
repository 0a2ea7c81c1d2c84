/*
 * acl_patch.h — a change of a running instance's rules without sending them all: the binary
 * format of an ACL patch, what the host writes (engine/acl_index.c) and the guest applies
 * (common/acl_patch.h) over the policy channel that also carries whole blobs
 * (contract/acl_blob.h); the magic tells the two apart.
 *
 * A patch names the whole blob it applies to (its policy_version and its SHA-256) and says
 * which of that blob's rules are gone and which rules are added since: it is cumulative
 * against that blob, so applying it replaces the patch in force before it, and the guest
 * keeps at most one blob and one patch. It takes a patch only when the version in force is at
 * least FROM_VERSION and below the patch's VERSION, so that a patch that arrives late or out
 * of order is refused; so is one whose blob the instance does not hold, or that fails any
 * check.
 * A refused patch leaves the rules in force as they were, and the instance asks for the
 * whole blob (engine/ACL.md, "Patches").
 *
 * Freestanding: no libc. Little-endian, read in place; the buffer is 8-byte aligned.
 *
 * Layout: the header; at DEAD_OFF, DEAD_COUNT uint32_t indexes of the base blob's rules that
 * are removed, strictly ascending, each below the base's rule count; at OVER_OFF (8-aligned),
 * OVER_LEN bytes: a whole ACL blob of the added rules and of the users whose groups or
 * credential changed since the base (format 2): a user record there replaces the base's record
 * of that user whole (a record with no group and no credential takes them all away), users
 * without one keep the base's; or nothing when OVER_LEN is 0. Nothing before, between or
 * after. A SHA-256 over the whole patch (checksum field read as zeros) closes it. A guest of
 * format 1 (which read only the base's users) refuses a format 2 patch and gets the whole blob.
 *
 * A base and its patch together (what an instance that does not hold the patch's base is sent,
 * so that it goes from its version straight to the patch's, never enforcing the base alone):
 *
 *   offset                      bytes
 *   0                           a whole blob (contract/acl_blob.h), TOTAL_SIZE bytes
 *   TOTAL_SIZE                  zeros to the next 8-byte boundary
 *   that boundary               a patch (above) over that blob, to the message's end
 *
 * the layout of an internal PDP's rules region. Taken only whole: the blob passes every check
 * of a blob, the patch every check of a patch over it (its base_version and base_sha256 are the
 * blob's, its from_version the blob's version), and the patch's version is above the version in
 * force (the blob's may be below it); then both switch in at once and the patch's version is
 * acknowledged. Anything else is refused and the rules in force stay. A guest before this form
 * refuses it (a blob whose total_size is not the message's length); the host then sends the
 * whole blob and the patch one after the other.
 */
#ifndef UNISEC_CONTRACT_ACL_PATCH_H
#define UNISEC_CONTRACT_ACL_PATCH_H

#include <stdint.h>

#include "acl_blob.h"

#define ENGINE_ACL_PATCH_MAGIC  "UACLPTCH" /* 8 bytes, no NUL */
#define ENGINE_ACL_PATCH_FORMAT 2u

/* ESTALE: the reason a guest gives when it refuses a patch and wants the whole blob. */
#define ENGINE_ACL_ESTALE 116

struct engine_acl_patch_header {
    uint8_t magic[8];        /* ENGINE_ACL_PATCH_MAGIC */
    uint32_t format;         /* ENGINE_ACL_PATCH_FORMAT */
    uint32_t header_size;    /* sizeof(struct engine_acl_patch_header) */
    uint64_t base_version;   /* the whole blob's policy_version */
    uint8_t base_sha256[32]; /* the whole blob's sha256 field */
    uint64_t from_version;   /* the oldest version in force it follows; >= base_version */
    uint64_t version;        /* the version in force once applied; > from_version */
    uint64_t total_size;     /* the whole patch, header included */
    uint32_t dead_off, dead_count;
    uint32_t over_off, over_len;
    uint8_t sha256[32]; /* SHA-256 of the patch with these 32 bytes read as zeros */
};

#endif
