/*
 * check.h — the authn module's credential checks that its cache could not answer. Each is a
 * job that runs PBKDF2 in slices, one per turn of the event loop, so that a check never holds
 * up the other connections; requests for the same credential under the same policy share one
 * job. Bounded: at most checks_pending jobs at once, client_checks_pending per client address,
 * and client_failed_checks_per_minute failed per client address. Every finished check prints its
 * cost on the console with the totals, so what strangers make the guest compute is visible.
 * Guest only.
 */
#ifndef UNISEC_GUEST_AUTHN_CHECK_H
#define UNISEC_GUEST_AUTHN_CHECK_H

#include "../module.h"
#include "../acl_pep/policy.h"
#include "basic.h"

/* Called for each request waiting for a check that has finished: OK is 1 when the credential
 * matched. KEY and GENERATION are what the check was submitted with. */
typedef void (*mod_check_done_fn)(const uint8_t key[32], uint64_t generation, int ok,
                                  struct mod_req *rq);

/* Reads the properties check_slice, checks_pending, client_checks_pending and
 * client_failed_checks_per_minute. Returns 0, or a negative UNISEC_E* value after printing why. */
int mod_check_init(const struct mod_props *p, mod_check_done_fn done);

#define MOD_CHECK_WAIT    0 /* RQ waits: DONE will be called for it */
#define MOD_CHECK_REFUSED 1 /* over a budget: answer 429, Retry-After *RETRY_S */
#define MOD_CHECK_BAD     2 /* the credential cannot be checked (a malformed name): 401 */

/*
 * Checks credential C of RQ's client against policy P, KEY identifying the pair (authn's
 * cache key). C is copied into the job's PBKDF2 state at once: the caller wipes it after.
 */
int mod_check_submit(struct mod_req *rq, const uint8_t key[32], const struct mod_policy *p,
                     const struct mod_basic_cred *c, uint64_t *retry_s);

#endif
