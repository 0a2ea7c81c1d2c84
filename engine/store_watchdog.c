/* store_watchdog.c — how long a remote over the network may stay silent. libgit2 1.5 sets no
 * timeout on its sockets (git://, ssh://) and has no option for one, so a peer that stops
 * answering would hold the calling thread (a write, the remote's watcher, an unmount waiting
 * for it) as long as TCP retries: many minutes. A timer of the calling thread sends it a signal
 * whose handler does nothing and restarts no system call: the blocked connect, recv, send or
 * poll fails with EINTR, and libgit2 fails the call. Only while a remote call is under way. */
#include "store_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* glibc names the field so only from 2.41 (timer_create(2)). */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static __thread volatile sig_atomic_t store_watchdog_fired;
static int store_watchdog_idle_s = STORE_REMOTE_IDLE_S; /* atomic */

int engine_store_remote_timeout(int seconds)
{
    return __atomic_exchange_n(&store_watchdog_idle_s, seconds > 0 ? seconds : STORE_REMOTE_IDLE_S,
                               __ATOMIC_RELAXED);
}

static void store_watchdog_on(int sig)
{
    (void)sig;
    store_watchdog_fired = 1;
}

static pthread_once_t store_watchdog_once = PTHREAD_ONCE_INIT;

static void store_watchdog_install(void)
{
    struct sigaction sa = {.sa_handler = store_watchdog_on}; /* no SA_RESTART */

    sigemptyset(&sa.sa_mask);
    sigaction(STORE_WATCHDOG_SIG, &sa, NULL);
}

void store_watchdog_start(struct store_watchdog *w, int network)
{
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = STORE_WATCHDOG_SIG};

    memset(w, 0, sizeof(*w));
    if (!network)
        return; /* a local repository: no socket */
    pthread_once(&store_watchdog_once, store_watchdog_install);
    ev.sigev_notify_thread_id = gettid();
    if (timer_create(CLOCK_MONOTONIC, &ev, &w->timer) < 0)
        return; /* no timer: the call goes on without one, as libgit2 alone would */
    w->on = 1;
    store_watchdog_fired = 0;
    store_watchdog_feed(w);
}

void store_watchdog_feed(struct store_watchdog *w)
{
    /* Once fired it fires every second: a signal that came between two blocking calls
     * interrupted none of them. */
    struct itimerspec its = {
        .it_value = {.tv_sec = __atomic_load_n(&store_watchdog_idle_s, __ATOMIC_RELAXED)},
        .it_interval = {.tv_sec = 1}};

    if (w->on && !store_watchdog_fired)
        timer_settime(w->timer, 0, &its, NULL);
}

int store_watchdog_idle(void)
{
    return __atomic_load_n(&store_watchdog_idle_s, __ATOMIC_RELAXED);
}

int store_watchdog_stop(struct store_watchdog *w)
{
    if (!w->on)
        return 0;
    timer_delete(w->timer);
    w->on = 0;
    return store_watchdog_fired;
}
