/*
 * client_addr.h — which client an address belongs to, for per-client limits (connections,
 * request rate, failed password checks). Freestanding, header only.
 *
 * An IPv4 address is one client. An IPv6 address is its /64: the smallest prefix a provider
 * hands one subscriber, who can use every address in it, so a cap per exact IPv6 address
 * would be a cap per connection. (The tender gives an IPv4 client of a dual-stack socket to
 * the guest as IPv4, so it is never mistaken for a /64.)
 */
#ifndef UNISEC_COMMON_CLIENT_ADDR_H
#define UNISEC_COMMON_CLIENT_ADDR_H

#include "contract/abi.h"

/* The client of ADDR: family and the address's client bytes, the rest and the port 0. */
static inline struct unisec_addr unisec_client_of(const struct unisec_addr *addr)
{
    struct unisec_addr c = {.family = addr->family};
    unsigned n = addr->family == UNISEC_AF_INET ? 4 : 8;
    for (unsigned i = 0; i < n; i++)
        c.addr[i] = addr->addr[i];
    return c;
}

/* 1 when A and B belong to the same client. */
static inline int unisec_same_client(const struct unisec_addr *a, const struct unisec_addr *b)
{
    struct unisec_addr x = unisec_client_of(a), y = unisec_client_of(b);
    if (x.family != y.family)
        return 0;
    for (unsigned i = 0; i < sizeof(x.addr); i++)
        if (x.addr[i] != y.addr[i])
            return 0;
    return 1;
}

#endif
