/* grow.c — engine_grow(): doubling, with the overflow checked once here (grow.h). */
#include "grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int engine_grow(void **v, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 16;
    void *p;

    if (need <= *cap)
        return 0;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return -ENOMEM;
        n *= 2;
    }
    if (size != 0 && n > SIZE_MAX / size)
        return -ENOMEM;
    p = realloc(*v, n * size);
    if (p == NULL)
        return -ENOMEM;
    *v = p;
    *cap = n;
    return 0;
}
