/* check.c — credential checks in slices under a budget (check.h). */
#include "check.h"

#include "../rate_limit/bucket.h"

struct check_waiter {
    struct mod_req *rq;
    struct check_waiter *next;
};

struct check_job {
    uint8_t key[32];
    uint64_t generation, client;
    struct engine_acl_check check;
    uint32_t slices;
    struct check_waiter *waiters;
    struct check_job *next;
};

/* Clients whose check rate is tracked at once (bucket.h says what happens beyond). */
#define CHECK_CLIENTS 1024

static struct check_job *check_head, *check_tail; /* first in, first served */
static uint64_t check_njobs;
static uint64_t check_slice, check_max, check_client_max;
/* Failed checks per client; one pending check at a time per client (by default) keeps a
 * client from starting more than client_checks_pending beyond its tokens. */
static struct mod_rate_table check_rate;
static struct libos_timer check_timer;
static mod_check_done_fn check_done;
static uint64_t check_count, check_iterations, check_refused; /* since boot */

static void check_run(struct libos_timer *t, void *ctx);

static void check_next_turn(void)
{
    libos_timer_arm(&check_timer, libos_loop_now(), check_run, NULL);
}

/* One slice of the oldest job; a finished job answers its requests. */
static void check_run(struct libos_timer *t, void *ctx)
{
    struct check_job *j = check_head;
    (void)t;
    (void)ctx;
    if (j == NULL)
        return;
    j->slices++;
    if (engine_acl_check_step(&j->check, (uint32_t)check_slice) > 0) {
        check_next_turn();
        return;
    }
    check_head = j->next;
    if (check_head == NULL)
        check_tail = NULL;
    check_njobs--;
    uint32_t iterations = j->check.iterations;
    int ok = engine_acl_check_end(&j->check) == 1;
    if (!ok) /* the budget counts failures: a policy replaced often costs its users nothing */
        mod_rate_take(&check_rate, j->client, libos_loop_now(), NULL);
    check_count++;
    check_iterations += iterations;
    printf("authn: credential check: %u PBKDF2 iterations in %u slices (since boot: %llu "
           "checks, %llu iterations, %llu refused)\n",
           iterations, j->slices, (unsigned long long)check_count,
           (unsigned long long)check_iterations, (unsigned long long)check_refused);
    while (j->waiters) {
        struct check_waiter *w = j->waiters;
        j->waiters = w->next;
        check_done(j->key, j->generation, ok, w->rq);
        free(w);
    }
    free(j);
    if (check_head)
        check_next_turn();
}

static int check_refuse(uint64_t *retry_s, uint64_t wait_ns)
{
    check_refused++;
    *retry_s = wait_ns ? (wait_ns + 999999999ull) / 1000000000ull : 1;
    return MOD_CHECK_REFUSED;
}

int mod_check_submit(struct mod_req *rq, const uint8_t key[32], const struct mod_policy *p,
                     const struct mod_basic_cred *c, uint64_t *retry_s)
{
    uint64_t client = mod_rate_client(rq->peer), mine = 0, wait = 0;
    struct check_waiter *w = malloc(sizeof(*w));
    if (w == NULL)
        return check_refuse(retry_s, 0);
    w->rq = rq;
    w->next = NULL;
    for (struct check_job *j = check_head; j; j = j->next) {
        if (j->generation == p->generation && memcmp(j->key, key, 32) == 0) {
            w->next = j->waiters; /* the same credential: its answer is this one's */
            j->waiters = w;
            return MOD_CHECK_WAIT;
        }
        /* A check begun under an older policy is not this client's doing now: a policy
         * push while it runs must not turn the client's next request into a 429. */
        mine += j->client == client && j->generation == p->generation;
    }
    /* Failed checks take a token when they end: a client with none left starts none. */
    if (check_njobs >= check_max || mine >= check_client_max ||
        !mod_rate_has(&check_rate, client, libos_loop_now(), &wait)) {
        free(w);
        return check_refuse(retry_s, wait);
    }
    struct check_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        free(w);
        return check_refuse(retry_s, 0);
    }
    if (engine_acl_layers_check_start(&j->check, &p->layers, c->user, c->user_len, c->password,
                                      c->password_len) < 0) {
        free(j);
        free(w);
        return MOD_CHECK_BAD;
    }
    memcpy(j->key, key, 32);
    j->generation = p->generation;
    j->client = client;
    j->waiters = w;
    if (check_tail)
        check_tail->next = j;
    else
        check_head = j;
    check_tail = j;
    check_njobs++;
    if (!check_timer.armed)
        check_next_turn();
    return MOD_CHECK_WAIT;
}

int mod_check_init(const struct mod_props *p, mod_check_done_fn done)
{
    static struct mod_rate_slot slots[CHECK_CLIENTS];
    uint64_t per_minute;
    if (mod_prop_uint(p, "authn", "check_slice", 2048, 1, 10000000, &check_slice) < 0 ||
        mod_prop_uint(p, "authn", "checks_pending", 32, 1, 65536, &check_max) < 0 ||
        mod_prop_uint(p, "authn", "client_checks_pending", 1, 1, 65536, &check_client_max) < 0 ||
        mod_prop_uint(p, "authn", "client_failed_checks_per_minute", 10, 1, 60000, &per_minute) < 0)
        return -UNISEC_EINVAL;
    check_done = done;
    /* A minute's worth at once, then one every 60 s / per_minute. */
    return mod_rate_init_interval(&check_rate, slots, CHECK_CLIENTS, 60000000000ull / per_minute,
                                  (uint32_t)per_minute) < 0
               ? -UNISEC_EINVAL
               : 0;
}
