/*
 * bucket.h — per-client token buckets of the rate_limit module, as a fixed table.
 *
 * Each client has a bucket of BURST tokens refilled at RATE tokens per second; a request
 * takes one token or is refused (429). The bucket is kept as its "theoretical arrival time"
 * (the generic cell rate algorithm): one integer per client, exact integer arithmetic, no
 * overflow for any rate and burst the configuration accepts.
 *
 * Freestanding, no allocation: the caller gives the slot array. A client is found by probing
 * MOD_RATE_PROBE slots from its key's hash. A bucket whose time has passed is full, so its
 * slot can be reused without losing anything; only when every probed slot holds a bucket
 * that is still refilling is the most nearly full one given to the newcomer (whose own bucket
 * starts full). The table thus bounds memory against a client spraying source addresses;
 * size it above the number of clients expected to be limited at once.
 */
#ifndef UNISEC_GUEST_RATE_BUCKET_H
#define UNISEC_GUEST_RATE_BUCKET_H

#include <stddef.h>
#include <stdint.h>

#include "common/client_addr.h"

#define MOD_RATE_PROBE     8
#define MOD_RATE_RATE_MAX  1000000000u /* tokens per second */
#define MOD_RATE_BURST_MAX 1000000u

struct mod_rate_slot {
    uint64_t key; /* 0: empty */
    uint64_t tat; /* nanoseconds: when the bucket is full again, plus one interval */
};

struct mod_rate_table {
    struct mod_rate_slot *slot; /* borrowed, NSLOTS entries */
    uint32_t nslots;
    uint64_t interval_ns; /* time to earn one token */
    uint64_t window_ns;   /* (burst - 1) * interval: how far ahead a bucket may run */
};

/*
 * Sets up T over SLOTS[0..NSLOTS) (zeroed here), NSLOTS >= MOD_RATE_PROBE, for RATE tokens
 * per second (1..MOD_RATE_RATE_MAX) and BURST tokens (1..MOD_RATE_BURST_MAX). Returns 0 or
 * -22 (EINVAL) for values out of range.
 */
int mod_rate_init(struct mod_rate_table *t, struct mod_rate_slot *slots, uint32_t nslots,
                  uint32_t rate, uint32_t burst);

/* The same with one token earned every INTERVAL_NS (1 ms to 1 hour): rates below one a
 * second. */
int mod_rate_init_interval(struct mod_rate_table *t, struct mod_rate_slot *slots, uint32_t nslots,
                           uint64_t interval_ns, uint32_t burst);

/* The key of a client address (any bytes): never 0. */
uint64_t mod_rate_key(const void *addr, size_t len);

/* The key of ADDR's client (unisec_client_of: an IPv4 address, an IPv6 /64; no port). */
uint64_t mod_rate_client(const struct unisec_addr *addr);

/*
 * Takes a token for client KEY at time NOW_NS (monotonic). Returns 1 when the request may
 * go, 0 when it is refused; then *WAIT_NS (if not NULL) gets the time until a token is
 * available.
 */
int mod_rate_take(struct mod_rate_table *t, uint64_t key, uint64_t now_ns, uint64_t *wait_ns);

/* The same without taking the token: for a cost known only afterwards (a failed check),
 * taken then with mod_rate_take. */
int mod_rate_has(struct mod_rate_table *t, uint64_t key, uint64_t now_ns, uint64_t *wait_ns);

#endif
