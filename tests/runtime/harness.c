/* harness.c — the runtime tests' shared command line, target check and connection (harness.h). */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

const char *rt_image_dir, *rt_target;

int rt_harness_start(int argc, char **argv, const char *const *required_env, const char *usage)
{
    int missing = argc != 3;
    for (size_t i = 0; required_env != NULL && required_env[i] != NULL; i++)
        missing |= getenv(required_env[i]) == NULL;
    if (missing || (strcmp(argv[2], "hvt") != 0 && strcmp(argv[2], "spt") != 0)) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    rt_image_dir = argv[1];
    rt_target = argv[2];
    if (strcmp(rt_target, "hvt") == 0) {
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            printf("SKIP: hvt needs /dev/kvm: %s\n", strerror(errno));
            return 77;
        }
        close(fd);
    }
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

const char *rt_image(const char *name)
{
    static char path[4][4096];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, sizeof(path[0]), "%s/%s.%s", rt_image_dir, name, rt_target);
    return p;
}

int rt_tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Enough for any test's children at once (a guest, a client or two). */
static pid_t children[16];

void rt_child_started(pid_t pid)
{
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
        if (children[i] == 0) {
            children[i] = pid;
            return;
        }
    fail_msg("more than %zu children at once", sizeof(children) / sizeof(children[0]));
}

void rt_child_reaped(pid_t pid)
{
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
        if (children[i] == pid)
            children[i] = 0;
}

int rt_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
        if (children[i] != 0) {
            fprintf(stderr, "teardown: ending child %d, left by the test\n", (int)children[i]);
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    return 0;
}
