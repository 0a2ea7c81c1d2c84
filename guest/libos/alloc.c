/*
 * alloc.c — the guest allocator: boundary-tagged blocks over the heap the tender left free,
 * free blocks in power-of-two size bins, split on allocation and merged with free
 * neighbours on release. Single-threaded, like everything in the guest.
 *
 * Every block starts with a 16-byte header: its size (header included, a multiple of 16)
 * with bit 0 set when free, and the size of the block just before it (0 for the first).
 * A free block keeps its bin links in its payload. The heap ends with a zero-size,
 * allocated sentinel header, so walking forward never leaves the heap.
 *
 * The heap is zero at boot (abi.h), and memory the allocator never wrote nor handed out is
 * still zero: calloc clears only what lies below that mark. On hvt the first touch of a guest
 * page costs a fault in the host, so a table calloc'd at start (authn's cache: 48 KiB) is
 * touched page by page as it fills, not all at boot.
 */
#include "libos.h"
#include "libos_int.h"

struct alloc_block {
    size_t size; /* bytes of the block, header included; bit 0: free */
    size_t prev; /* size of the previous block, 0 for the first */
    /* payload; when free: */
    struct alloc_block *next_free, *prev_free;
};

#define ALLOC_HDR  16u
#define ALLOC_MIN  32u /* header + the free links */
#define ALLOC_FREE 1u
#define ALLOC_BINS 40

static struct alloc_block *alloc_bin[ALLOC_BINS];
static uintptr_t alloc_start, alloc_end;
static size_t alloc_used;
static uintptr_t alloc_clean; /* [alloc_clean, the sentinel) was never written: it is zero */

static size_t alloc_size(const struct alloc_block *b)
{
    return b->size & ~(size_t)ALLOC_FREE;
}

static struct alloc_block *alloc_next(struct alloc_block *b)
{
    return (struct alloc_block *)((char *)b + alloc_size(b));
}

/* Bin k holds free blocks of size [2^(k+5), 2^(k+6)). */
static int alloc_bin_of(size_t size)
{
    int k = 63 - __builtin_clzll(size) - 5;
    return k < 0 ? 0 : k >= ALLOC_BINS ? ALLOC_BINS - 1 : k;
}

static void alloc_unlink(struct alloc_block *b)
{
    if (b->prev_free)
        b->prev_free->next_free = b->next_free;
    else
        alloc_bin[alloc_bin_of(alloc_size(b))] = b->next_free;
    if (b->next_free)
        b->next_free->prev_free = b->prev_free;
}

/* Records SIZE as the previous size of the block after B. Not in the sentinel, whose prev
 * nothing reads (no block follows it and free() refuses it): the heap's last page stays
 * untouched until the heap grows up to it. */
static void alloc_link_next(struct alloc_block *b, size_t size)
{
    struct alloc_block *next = alloc_next(b);
    if ((uintptr_t)next != alloc_end - ALLOC_HDR)
        next->prev = size;
}

static void alloc_insert(struct alloc_block *b, size_t size)
{
    int k = alloc_bin_of(size);
    if ((uintptr_t)b + ALLOC_MIN > alloc_clean) /* the header and the free links */
        alloc_clean = (uintptr_t)b + ALLOC_MIN;
    b->size = size | ALLOC_FREE;
    alloc_link_next(b, size);
    b->prev_free = NULL;
    b->next_free = alloc_bin[k];
    if (b->next_free)
        b->next_free->prev_free = b;
    alloc_bin[k] = b;
}

void libos_heap_init(uintptr_t start, uintptr_t end)
{
    start = (start + 15) & ~(uintptr_t)15;
    end &= ~(uintptr_t)15;
    if (end < start + ALLOC_MIN + ALLOC_HDR)
        return; /* no heap: every malloc fails */
    alloc_start = start;
    alloc_end = end;
    /* The sentinel at END - ALLOC_HDR is a zero header, and the heap starts zero (abi.h): it
     * is not written. */
    struct alloc_block *first = (struct alloc_block *)start;
    first->prev = 0;
    alloc_insert(first, (size_t)(end - ALLOC_HDR - start));
}

void *malloc(size_t n)
{
    if (n > alloc_end - alloc_start)
        return NULL;
    size_t need = (n + ALLOC_HDR + 15) & ~(size_t)15;
    if (need < ALLOC_MIN)
        need = ALLOC_MIN;
    for (int k = alloc_bin_of(need); k < ALLOC_BINS; k++) {
        for (struct alloc_block *b = alloc_bin[k]; b; b = b->next_free) {
            size_t size = alloc_size(b);
            if (size < need)
                continue;
            alloc_unlink(b);
            if (size - need >= ALLOC_MIN) {
                struct alloc_block *rest = (struct alloc_block *)((char *)b + need);
                rest->prev = need;
                alloc_insert(rest, size - need);
                size = need;
            }
            b->size = size;
            alloc_link_next(b, size);
            alloc_used += size;
            if ((uintptr_t)b + size > alloc_clean)
                alloc_clean = (uintptr_t)b + size;
            return (char *)b + ALLOC_HDR;
        }
    }
    return NULL;
}

void free(void *p)
{
    if (p == NULL)
        return;
    struct alloc_block *b = (struct alloc_block *)((char *)p - ALLOC_HDR);
    if ((uintptr_t)b < alloc_start || (uintptr_t)b >= alloc_end - ALLOC_HDR ||
        (b->size & ALLOC_FREE))
        libos_panic("free(%p): not an allocated block", p);
    size_t size = alloc_size(b);
    alloc_used -= size;
    struct alloc_block *next = alloc_next(b);
    if (next->size & ALLOC_FREE) {
        alloc_unlink(next);
        size += alloc_size(next);
    }
    if (b->prev != 0) {
        struct alloc_block *prev = (struct alloc_block *)((char *)b - b->prev);
        if (prev->size & ALLOC_FREE) {
            alloc_unlink(prev);
            size += alloc_size(prev);
            b = prev;
        }
    }
    alloc_insert(b, size);
}

void *calloc(size_t count, size_t size)
{
    if (size != 0 && count > (size_t)-1 / size)
        return NULL;
    uintptr_t clean = alloc_clean; /* malloc moves the mark past the block it returns */
    char *p = malloc(count * size);
    if (p && (uintptr_t)p < clean)
        memset(p, 0, clean - (uintptr_t)p < count * size ? clean - (uintptr_t)p : count * size);
    return p;
}

void *realloc(void *p, size_t n)
{
    if (p == NULL)
        return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    struct alloc_block *b = (struct alloc_block *)((char *)p - ALLOC_HDR);
    size_t have = alloc_size(b) - ALLOC_HDR;
    if (n <= have)
        return p;
    void *q = malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, have);
    free(p);
    return q;
}

int libos_grow(char **buf, size_t *cap, size_t need, size_t first)
{
    size_t n = *cap ? *cap : first;
    if (need <= *cap)
        return 0;
    while (n < need) {
        if (n > (size_t)-1 / 2)
            return -UNISEC_ENOMEM;
        n *= 2;
    }
    char *p = realloc(*buf, n);
    if (p == NULL)
        return -UNISEC_ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

void libos_heap_stats(struct libos_heap_stats *s)
{
    s->total = alloc_end - alloc_start;
    s->used = alloc_used;
}
