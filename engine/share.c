/* share.c — finding unisec's data beside its own executable (share.h). */
#include "share.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(UNISEC_SHARE_FROM_BINDIR) || !defined(UNISEC_SOURCE_ROOT)
#error "meson defines UNISEC_SHARE_FROM_BINDIR and UNISEC_SOURCE_ROOT"
#endif

static pthread_once_t share_once = PTHREAD_ONCE_INIT;
static char share_installed[PATH_MAX];
static const char *share_dir = UNISEC_SOURCE_ROOT;

static void share_find(void)
{
    char exe[PATH_MAX], probe[PATH_MAX + 32], *slash;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    struct stat st;

    if (n <= 0)
        return;
    exe[n] = '\0';
    if ((slash = strrchr(exe, '/')) == NULL)
        return;
    *slash = '\0';
    /* An absolute DATADIR (outside the prefix) is taken as it is: not relocatable. */
    if (UNISEC_SHARE_FROM_BINDIR[0] == '/')
        snprintf(share_installed, sizeof(share_installed), "%s", UNISEC_SHARE_FROM_BINDIR);
    else if (snprintf(share_installed, sizeof(share_installed), "%s/%s", exe,
                      UNISEC_SHARE_FROM_BINDIR) >= (int)sizeof(share_installed))
        share_installed[0] = '\0';
    if (share_installed[0] == '\0')
        return;
    snprintf(probe, sizeof(probe), "%s/guest/modules", share_installed);
    if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode) && realpath(share_installed, exe) != NULL) {
        snprintf(share_installed, sizeof(share_installed), "%s", exe);
        share_dir = share_installed;
    }
}

const char *engine_share_dir(void)
{
    pthread_once(&share_once, share_find);
    return share_dir;
}
