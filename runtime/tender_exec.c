/* tender_exec.c — finding unisec-tender, and `unisec run`, which becomes it. */
#include "tender.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tender_exe_path(char *buf, size_t size, struct engine_diag *d)
{
    ssize_t len = readlink("/proc/self/exe", buf, size - 1);
    if (len <= 0 || (size_t)len >= size - 1)
        return engine_diag_add(d, "/proc/self/exe", 0, 0, "cannot find this executable: %s",
                               len < 0 ? strerror(errno) : "path too long"),
               -ENOENT;
    buf[len] = 0;
    char *slash = strrchr(buf, '/');
    size_t dir = slash ? (size_t)(slash - buf) + 1 : 0;
    if (dir + sizeof(TENDER_EXE_NAME) > size)
        return engine_diag_add(d, buf, 0, 0, "path too long"), -ENAMETOOLONG;
    memcpy(buf + dir, TENDER_EXE_NAME, sizeof(TENDER_EXE_NAME));
    return 0;
}

int tender_cmd_exec(int argc, char **argv)
{
    char path[4096];
    struct engine_diag d;
    engine_diag_init(&d);
    int rc = tender_exe_path(path, sizeof(path), &d);
    if (rc == 0) {
        /* argv[0] "unisec run" makes the tender's messages (and ps) name the command the
         * user typed; the process, and so its pid, stay the same. */
        char **av = calloc((size_t)argc + 1, sizeof(*av));
        if (av == NULL) {
            engine_diag_free(&d);
            return 1;
        }
        av[0] = "unisec run";
        for (int i = 1; i < argc; i++)
            av[i] = argv[i];
        execv(path, av);
        engine_diag_add(&d, path, 0, 0,
                        "cannot execute the tender: %s (unisec-tender is installed beside "
                        "unisec)",
                        strerror(errno));
        free(av);
    }
    engine_diag_print(&d, stderr);
    engine_diag_free(&d);
    return 1;
}
