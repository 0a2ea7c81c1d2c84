/* fs_notify.c — telling a service manager how the mount is (sd_notify(3)'s protocol). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs_int.h"

/* Read once, and taken out of the environment, so that the instances and compilers the
 * daemon starts do not see it (with NotifyAccess=main systemd would ignore them anyway). */
static struct sockaddr_un notify_addr;
static socklen_t notify_len;

int fs_notify_init(void)
{
    const char *e = getenv(FS_NOTIFY_ENV);
    size_t n;

    notify_len = 0;
    if (e == NULL || e[0] == '\0')
        return 0;
    n = strlen(e);
    /* A path, or '@' and the name of an abstract socket. */
    if ((e[0] != '/' && e[0] != '@') || n >= sizeof(notify_addr.sun_path)) {
        unsetenv(FS_NOTIFY_ENV);
        return -EINVAL;
    }
    memset(&notify_addr, 0, sizeof(notify_addr));
    notify_addr.sun_family = AF_UNIX;
    memcpy(notify_addr.sun_path, e, n);
    if (e[0] == '@')
        notify_addr.sun_path[0] = '\0';
    notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (e[0] == '/'));
    unsetenv(FS_NOTIFY_ENV);
    return 1;
}

int fs_notify(const char *state)
{
    int fd, rc = 1;

    if (notify_len == 0)
        return 0;
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&notify_addr,
               notify_len) < 0)
        rc = -errno;
    close(fd);
    return rc;
}
