/* rate_limit.c — the rate_limit module: a token bucket per client address (bucket.h) with the
 * level's rate and burst; 429 with Retry-After beyond them. */
#include "../module.h"
#include "bucket.h"

static struct mod_rate_table rate_table;

/* Clients tracked at once (bucket.h says what happens beyond). */
#define RATE_CLIENTS 4096

static int rate_init(const struct mod_props *p)
{
    static struct mod_rate_slot slots[RATE_CLIENTS];
    uint64_t rps, burst;
    if (mod_prop_uint(p, "rate_limit", "requests_per_second", 1000, 1, MOD_RATE_RATE_MAX, &rps) <
            0 ||
        mod_prop_uint(p, "rate_limit", "burst", 0, 0, MOD_RATE_BURST_MAX, &burst) < 0)
        return -UNISEC_EINVAL;
    if (burst == 0) /* the manifest's default: one second's worth */
        burst = rps < MOD_RATE_BURST_MAX ? rps : MOD_RATE_BURST_MAX;
    printf("rate_limit: %llu requests/s per client, burst %llu\n", (unsigned long long)rps,
           (unsigned long long)burst);
    return mod_rate_init(&rate_table, slots, RATE_CLIENTS, (uint32_t)rps, (uint32_t)burst);
}

static int rate_handle(struct mod_req *rq)
{
    uint64_t wait = 0;
    if (mod_rate_take(&rate_table, mod_rate_client(rq->peer), libos_loop_now(), &wait))
        return MOD_NEXT;
    char hdr[48];
    snprintf(hdr, sizeof(hdr), "Retry-After: %llu\r\n",
             (unsigned long long)((wait + 999999999ull) / 1000000000ull));
    struct mod_http_response r = {429, "text/plain", hdr, "429 Too Many Requests\n", 22};
    mod_req_respond(rq, &r);
    return MOD_DONE;
}

const struct mod_module mod_rate_limit = {
    .name = "rate_limit", .phase = MOD_PHASE_LIMIT, .init = rate_init, .handle = rate_handle};
