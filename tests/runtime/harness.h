/*
 * harness.h — what the runtime tests (test_tender, test_supervisor) share: their command line
 * `IMAGEDIR hvt|spt`, the skip of the hvt run where /dev/kvm cannot be opened, the path of a
 * test guest for the target, and a loopback connection.
 */
#ifndef UNISEC_TESTS_RUNTIME_HARNESS_H
#define UNISEC_TESTS_RUNTIME_HARNESS_H

#include <sys/types.h>

/* Set by rt_harness_start(): where the guests were built, and "hvt" or "spt". */
extern const char *rt_image_dir, *rt_target;

/*
 * Reads IMAGEDIR and the target from ARGV (USAGE is printed when they are missing or
 * REQUIRED_ENV, a NULL-terminated list of variables, lacks one), then checks the target can
 * run here, and ignores SIGPIPE. Returns 0 to go on, else the exit status for main(): 2 for a
 * bad command line, 77 (with the reason printed) when the hvt run has no /dev/kvm.
 */
int rt_harness_start(int argc, char **argv, const char *const *required_env, const char *usage);

/* The path of test guest NAME for the target (one of four static buffers, in turn). */
const char *rt_image(const char *name);

/* A connection to 127.0.0.1:PORT: the descriptor (close-on-exec), or -1 when refused. */
int rt_tcp_connect(int port);

/*
 * The children a test has started and not yet reaped (a guest's `unisec run`, a client, a
 * forked daemon): rt_child_started() when forked, rt_child_reaped() once waited for.
 * rt_teardown(), every test's cmocka teardown, kills (SIGKILL) and reaps those left, so that
 * a failed assertion, which leaves the test where it stood, leaves nothing running.
 */
void rt_child_started(pid_t pid);
void rt_child_reaped(pid_t pid);
int rt_teardown(void **state);

#endif
