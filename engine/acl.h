/* acl.h — placeholder until the ACL language lands (owned by the ACL work). */
#ifndef UNISEC_ENGINE_ACL_H
#define UNISEC_ENGINE_ACL_H
#endif
