/*
 * name_index.h — an index of named elements: their positions sorted by name, so that an array
 * kept in its own order (the topology's nodes and plans, the orchestrator's nodes) is searched
 * by name in O(log n). The caller owns both the array and the index; nothing here locks.
 */
#ifndef UNISEC_ENGINE_NAME_INDEX_H
#define UNISEC_ENGINE_NAME_INDEX_H

#include <stddef.h>

/*
 * *OUT is a new array (caller frees) of the positions 0..N-1 of the N elements at BASE (STRIDE
 * bytes apart), sorted by the name (a `const char *`, NULL sorts first and is never found) at
 * OFFSET in each element. Returns 0, or -ENOMEM (*OUT NULL). N may be 0 (*OUT NULL).
 */
int engine_name_index_build(size_t **out, const void *base, size_t n, size_t stride, size_t offset);

/* The position of the element named NAME in an index built by engine_name_index_build() over
 * the same elements, or -1 (also for a NULL index or name). O(log N). */
int engine_name_index_find(const size_t *index, const void *base, size_t n, size_t stride,
                           size_t offset, const char *name);

#endif
