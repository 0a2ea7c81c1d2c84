/*
 * topology_gen.h — a large generated topology, for the tests and benchmarks that need one
 * (tests/engine/test_topology_index.c, bench/fs.c): NODES web servers of the paper's type,
 * named n0 to n<NODES-1>, each on port 10000 + its place in the file, with a default level
 * (push PDP, policy regular) and a critical one (internal PDP, policy restricted). The nodes
 * are listed in an order that is not name order, so that an index is what finds them.
 */
#ifndef UNISEC_TESTS_ENGINE_TOPOLOGY_GEN_H
#define UNISEC_TESTS_ENGINE_TOPOLOGY_GEN_H

#include <stdio.h>

/* Writes the topology to F; SHIFT (>= 0) gives another file order of the same nodes. NODES
 * must not be a multiple of 7919. Returns 0, or -EIO when F reports an error. */
int topology_gen_write(FILE *f, int nodes, int shift);

#endif
