/* topology_arena.h — the arena the topology's derived results live in (topology_arena.c):
 * every allocation freed together. Not thread-safe: one arena per result, filled by one thread.
 * Allocation failure: NULL, or -ENOMEM where an int is returned. */
#ifndef UNISEC_TOPOLOGY_ARENA_H
#define UNISEC_TOPOLOGY_ARENA_H

#include <stddef.h>

/* Every allocation of a derived result, freed together by topo_arena_free(). A zeroed struct
 * is an empty arena. */
struct topo_arena {
    void **blocks;
    size_t nblocks;
    char *cur;   /* free space in the last small block */
    size_t left; /* bytes at cur */
};

void *topo_arena_alloc(struct topo_arena *a, size_t size); /* zeroed, 16-byte aligned */
char *topo_arena_strdup(struct topo_arena *a, const char *s);
char *topo_arena_printf(struct topo_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands P (from malloc) to the arena, which frees it with the rest; frees P and returns -ENOMEM
 * when it cannot. */
int topo_arena_adopt(struct topo_arena *a, void *p);
void topo_arena_free(struct topo_arena *a);

#endif
