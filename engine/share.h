/*
 * share.h — where unisec's data is: the guest sources the builder compiles and the module
 * catalogue the engine reads (guest/, common/, contract/ of the source tree, installed under
 * DATADIR/unisec).
 *
 * An installed unisec finds them relative to its own executable (/proc/self/exe, then the
 * path from BINDIR to DATADIR/unisec that meson compiled in, "../share/unisec" by default),
 * so that an installed tree may be moved as a whole. A unisec run from its build tree finds
 * no such directory and uses the source tree it was built from. $UNISEC_SOURCE_DIR and
 * $UNISEC_MODULES_DIR override both (builder.h, topology.h).
 */
#ifndef UNISEC_ENGINE_SHARE_H
#define UNISEC_ENGINE_SHARE_H

/* The directory holding guest/, common/ and contract/: the installed one beside the running
 * executable when it holds guest/modules, else the source tree compiled in. Computed once
 * (thread-safe); static storage. */
const char *engine_share_dir(void);

#endif
