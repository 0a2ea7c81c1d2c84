/* bucket.c — per-client token buckets (generic cell rate algorithm) in a fixed table. */
#include "bucket.h"

int mod_rate_init_interval(struct mod_rate_table *t, struct mod_rate_slot *slots, uint32_t nslots,
                           uint64_t interval_ns, uint32_t burst)
{
    if (nslots < MOD_RATE_PROBE || interval_ns == 0 || interval_ns > 3600000000000ull ||
        burst == 0 || burst > MOD_RATE_BURST_MAX)
        return -22;
    for (uint32_t i = 0; i < nslots; i++)
        slots[i] = (struct mod_rate_slot){0, 0};
    t->slot = slots;
    t->nslots = nslots;
    t->interval_ns = interval_ns;
    t->window_ns = (uint64_t)(burst - 1) * t->interval_ns;
    return 0;
}

int mod_rate_init(struct mod_rate_table *t, struct mod_rate_slot *slots, uint32_t nslots,
                  uint32_t rate, uint32_t burst)
{
    if (rate == 0 || rate > MOD_RATE_RATE_MAX)
        return -22;
    return mod_rate_init_interval(t, slots, nslots, 1000000000u / rate, burst);
}

uint64_t mod_rate_key(const void *addr, size_t len)
{
    const unsigned char *p = addr;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h ? h : 1;
}

uint64_t mod_rate_client(const struct unisec_addr *addr)
{
    struct unisec_addr c = unisec_client_of(addr);
    return mod_rate_key(&c, sizeof(c));
}

static struct mod_rate_slot *rate_find(struct mod_rate_table *t, uint64_t key, uint64_t now)
{
    uint32_t start = (uint32_t)(((key & 0xffffffffu) * t->nslots) >> 32);
    struct mod_rate_slot *victim = NULL;

    for (uint32_t k = 0; k < MOD_RATE_PROBE; k++) {
        struct mod_rate_slot *s = &t->slot[(start + k) % t->nslots];
        if (s->key == key)
            return s;
        if (s->key == 0 || s->tat <= now) {
            if (victim == NULL || victim->tat > now)
                victim = s; /* an empty or full bucket: free to take */
        } else if (victim == NULL || (victim->tat > now && s->tat < victim->tat)) {
            victim = s;
        }
    }
    /* The key may sit further on only if it was never inserted in this window: start fresh. */
    victim->key = key;
    victim->tat = 0;
    return victim;
}

/* Whether client KEY has a token at NOW_NS; *S gets its slot and *TAT the bucket's time. */
static int rate_peek(struct mod_rate_table *t, uint64_t key, uint64_t now_ns, uint64_t *wait_ns,
                     struct mod_rate_slot **s, uint64_t *tat)
{
    *s = rate_find(t, key, now_ns);
    *tat = (*s)->tat > now_ns ? (*s)->tat : now_ns;
    if (*tat - now_ns > t->window_ns) {
        if (wait_ns)
            *wait_ns = *tat - now_ns - t->window_ns;
        return 0;
    }
    return 1;
}

int mod_rate_take(struct mod_rate_table *t, uint64_t key, uint64_t now_ns, uint64_t *wait_ns)
{
    struct mod_rate_slot *s;
    uint64_t tat;
    if (!rate_peek(t, key, now_ns, wait_ns, &s, &tat))
        return 0;
    s->tat = tat + t->interval_ns;
    return 1;
}

int mod_rate_has(struct mod_rate_table *t, uint64_t key, uint64_t now_ns, uint64_t *wait_ns)
{
    struct mod_rate_slot *s;
    uint64_t tat;
    return rate_peek(t, key, now_ns, wait_ns, &s, &tat);
}
