/*
 * grow.h — the one growth rule of unisec's host code: an array grows by doubling.
 *
 * Library code keeps an array as (pointer, capacity in elements) and asks for room before it
 * appends; nothing else in the host reallocates by hand, but the topology model's topo_push()
 * (topology_int.h), whose arrays keep no capacity.
 */
#ifndef UNISEC_ENGINE_GROW_H
#define UNISEC_ENGINE_GROW_H

#include <stddef.h>

/*
 * Makes *V (an array of *CAP elements of SIZE bytes, NULL when *CAP is 0) hold at least NEED
 * elements: the capacity doubles from 16 until it does. On success *V and *CAP are updated
 * and 0 is returned; on overflow or allocation failure -ENOMEM, and *V and *CAP are unchanged
 * (the old array stays valid and owned by the caller).
 */
int engine_grow(void **v, size_t *cap, size_t need, size_t size);

/* engine_grow() on a typed array: ENGINE_GROW(&p, &cap, need) sizes by *p's element. */
#define ENGINE_GROW(pp, capp, need) engine_grow((void **)(pp), (capp), (need), sizeof(**(pp)))

#endif
