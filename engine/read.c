/* read.c — a descriptor read to its end, bounded (read.h). */
#include "read.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int engine_read_fd(int fd, size_t limit, size_t hint, char **out, size_t *len)
{
    size_t n = 0, cap = (hint < limit ? hint : limit) + 1; /* one byte past: more is seen */
    char *b;

    *out = NULL;
    *len = 0;
    if (limit >= SIZE_MAX / 2 || (b = malloc(cap + 1)) == NULL)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > limit)
                break;
            size_t ncap = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
            char *nb = realloc(b, ncap + 1);
            if (nb == NULL) {
                free(b);
                return -ENOMEM;
            }
            b = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = -errno;
            free(b);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    b[n] = '\0';
    *out = b;
    *len = n;
    return 0;
}
