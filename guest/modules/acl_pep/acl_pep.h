/*
 * acl_pep.h — what the acl_pep module offers the modules beside it (authn): the policy it
 * enforces. Guest only.
 */
#ifndef UNISEC_GUEST_ACL_PEP_H
#define UNISEC_GUEST_ACL_PEP_H

#include "policy.h"

/* The rules in force (internal or push PDP), NULL before the first push or with a pull PDP.
 * Borrowed until the next turn of the event loop (a push may replace it). */
const struct mod_policy *mod_acl_policy(void);

/* Does this image ask a pull PDP (which then also checks credentials)? */
int mod_acl_pull(void);

#endif
