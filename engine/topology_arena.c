/* topology_arena.c — the arena that owns every allocation of a derived result (topology_int.h). */
#include "topology_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Small allocations are carved from blocks of this many bytes (a derived result holds many
 * thousands of short strings); large ones get a block of their own. */
#define TOPO_ARENA_BLOCK (64u << 10)

int topo_arena_adopt(struct topo_arena *a, void *p)
{
    void **slot;

    if ((slot = topo_push(&a->blocks, a->nblocks, sizeof(*slot))) == NULL) {
        free(p);
        return -ENOMEM;
    }
    *slot = p;
    a->nblocks++;
    return 0;
}

void *topo_arena_alloc(struct topo_arena *a, size_t size)
{
    char *p;

    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    if (size > TOPO_ARENA_BLOCK / 4) {
        /* a large object gets its own block, so the current block keeps its free space */
        if ((p = calloc(1, size)) == NULL || topo_arena_adopt(a, p) < 0)
            return NULL;
        return p;
    }
    if (size > a->left) {
        if ((p = calloc(1, TOPO_ARENA_BLOCK)) == NULL || topo_arena_adopt(a, p) < 0)
            return NULL;
        a->cur = p;
        a->left = TOPO_ARENA_BLOCK;
    }
    p = a->cur;
    a->cur += size;
    a->left -= size;
    return p; /* zero: blocks come from calloc and are never reused */
}

char *topo_arena_strdup(struct topo_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = topo_arena_alloc(a, n);
    return p ? memcpy(p, s, n) : NULL;
}

char *topo_arena_printf(struct topo_arena *a, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL, *p;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    p = topo_arena_strdup(a, s);
    free(s);
    return p;
}

void topo_arena_free(struct topo_arena *a)
{
    for (size_t i = 0; i < a->nblocks; i++)
        free(a->blocks[i]);
    free(a->blocks);
    memset(a, 0, sizeof(*a));
}
