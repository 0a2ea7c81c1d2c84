/* fault.c — the test build's engine_fault() (engine/fault.h): UNISEC_TEST_FAULT names the points
 * that happen, comma-separated; "bad-patch" damages the first patch only (the retry must get
 * through), "after-commit", "main-lock", "rebase", "rebase-deliver" and "pair" kill the daemon
 * with SIGKILL, as kill -9 would, "sync" fails the store's first 3 deferred syncs (then they
 * work), "rebase-slow" sleeps UNISEC_TEST_FAULT_MS (default 3000) milliseconds on the new base's
 * thread. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/fault.h"

int engine_fault(const char *point)
{
    static int patches, syncs;
    const char *want = getenv("UNISEC_TEST_FAULT");
    size_t n = strlen(point);

    for (const char *p = want; p != NULL && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, point, n) == 0 && (p[n] == ',' || p[n] == '\0')) {
            if (strcmp(point, ENGINE_FAULT_AFTER_COMMIT) == 0 ||
                strcmp(point, ENGINE_FAULT_MAIN_LOCK) == 0 ||
                strcmp(point, ENGINE_FAULT_REBASE) == 0 ||
                strcmp(point, ENGINE_FAULT_REBASE_DELIVER) == 0 ||
                strcmp(point, ENGINE_FAULT_PAIR) == 0)
                raise(SIGKILL);
            if (strcmp(point, ENGINE_FAULT_BAD_PATCH) == 0)
                return __atomic_fetch_add(&patches, 1, __ATOMIC_RELAXED) == 0;
            if (strcmp(point, ENGINE_FAULT_REBASE_SLOW) == 0) {
                const char *ms = getenv("UNISEC_TEST_FAULT_MS");
                long t = ms != NULL ? atol(ms) : 3000;
                struct timespec ts = {t / 1000, (t % 1000) * 1000000L};
                while (nanosleep(&ts, &ts) != 0)
                    ;
            }
            if (strcmp(point, ENGINE_FAULT_SYNC) == 0)
                return __atomic_fetch_add(&syncs, 1, __ATOMIC_RELAXED) < 3;
            return 1;
        }
    return 0;
}
